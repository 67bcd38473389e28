"""The daemon's loop: list every VM, protect the aliens, then keep it that way.

One loop, one thread (plus a watchdog pinger):

    connect -> event.from(vm, pool, task, token "") = the listing and a token
            -> if this host is the pool master: reconcile every VM
            -> READY=1
            -> event.from(token, timeout) ... reconcile each changed VM

Any doubt about the stream (lost connection or session, token errors, EVENTS_LOST)
ends the session: reconnect with capped exponential backoff and resync from
scratch. The jobs the loop calls live next to it: reconcile.py (one VM),
leadership.py (who writes), attempts.py (blocked attempts from task events),
systemd.py (sd_notify, watchdog, signals), backoff.py.
"""
import logging
import time

from csguard import __version__, classify, records
from csguard import config as configuration
from csguard.credentials import credentials_for
from csguard.daemon import poolconfig, readiness
from csguard.daemon.attempts import Attempts
from csguard.daemon.auditfollow import AuditFollower
from csguard.daemon.backoff import BACKOFF_CAP, Backoff
from csguard.daemon.leadership import Leadership
from csguard.daemon.masterwatch import MasterWatch
from csguard.daemon.ownership import Ownership
from csguard.daemon.poolclock import pool_clock
from csguard.daemon.reconcile import Reconciler
from csguard.daemon.systemd import Signals, Stop, Systemd, Wakeup
from csguard.journal import set_level
from csguard.messages import Messenger
from csguard.poolroute import Route
from csguard.statusfile import StatusFile
from csguard.transport import shown_url
from csguard.xapi import Xapi, XapiError, XapiUnavailable, tls_options

log = logging.getLogger("csguard")

CLASSES = ("vm", "pool", "task")
# Longest event.from wait; shorter when a timer (exemption expiry, status file,
# watchdog) needs the loop sooner.
EVENT_WAIT = 30.0

ROLE_CONNECTING, ROLE_LEADER, ROLE_STANDBY, ROLE_STOPPED = (
    "connecting", "leader", "standby", "stopped")


class _Reconnect(Exception):
    """The config changed: start a fresh session with it."""


class Daemon:
    """The loop and its state: the config, the session, the role."""

    def __init__(self, config, load_config):
        """`load_config()` returns a new Config (or raises ConfigError) on SIGHUP."""
        self.config = config
        self._credentials = credentials_for(config.xapi_url, config)
        self._route = Route(config.xapi_url)
        self._load_config = load_config
        self.systemd = Systemd()
        self.signals = Signals()
        self.messenger = Messenger()
        self.status = StatusFile(config.state_dir)
        self.leadership = Leadership()
        self.reconciler = Reconciler(self.messenger, self.systemd.beat)
        self.ownership = self.reconciler.ownership = Ownership(config, self.messenger)
        self.attempts = Attempts(self.messenger, config.state_dir)
        self.masterwatch = MasterWatch(lambda: self.systemd.beat(self.config.call_timeout))
        self.audit = AuditFollower(config.audit_log)
        self.role = ROLE_CONNECTING
        self.ready = False
        self.host_uuid = None
        self._xapi = None
        self._backoff = Backoff()
        self._outage = None
        self._last_event_at = None
        self._status_line = None
        self._loaded = config           # as read; self.config is it fitted to the pool

    def run(self):
        """Protect until SIGTERM; returns the exit status."""
        self.signals.install()
        self.systemd.start_watchdog()
        log.info("csguard %s starting: XAPI %s, mode %s, config %s", __version__,
                 shown_url(self.config.xapi_url), self.config.mode,
                 self.config.source or "(defaults)")
        try:
            while True:
                delay = self._session()
                if delay:
                    self.systemd.beat(delay)
                    try:
                        self.signals.wait(time.sleep, delay)
                    except Wakeup:
                        pass
                if self.signals.reload_requested:
                    self._reload()
        except Stop:
            pass
        finally:
            self.signals.stopping = self.signals.shutting_down = True
            self._shut_down()
        return 0

    def _session(self):
        """One XAPI session from login to its end; returns the delay before the
        next attempt (0 when a good config reload asked for a fresh session)."""
        xapi = None
        try:
            xapi = self._connect()
            self._resync(xapi)
            self._watch(xapi)
        except _Reconnect:
            return 0.0
        except (XapiUnavailable, XapiError) as e:
            self._connection_lost(e)
        except Exception:  # a bug met on one record must not end protection
            log.exception("unexpected error; reconnecting and resyncing every VM")
            self.leadership.leader = False
            self._set_role(ROLE_CONNECTING, "recovering from an internal error")
        finally:
            # Also after a failed login, or a SIGHUP in the backoff sleep would take
            # the never-connected client for a live session and ask it to reconnect.
            self._xapi = None
            if xapi is not None:
                xapi.logout()
        return self._backoff.next_delay()

    def _resync(self, xapi):
        """The listing: every VM, the pool and tasks in one event.from call, then a
        full reconcile (leader) and READY=1."""
        self.systemd.beat(self.config.call_timeout + EVENT_WAIT)
        events, token = xapi.event_from(CLASSES, "", 0.0)
        self.reconciler.reset()
        tasks = []
        for event in events:
            cls = event.get("class")
            snapshot = event.get("snapshot")
            if cls == "vm" and snapshot:
                self.reconciler.vms[event["ref"]] = snapshot
            elif cls == "pool" and snapshot:
                self.leadership.pool_changed(snapshot)
            elif cls == "task":
                tasks.append(event)
        if self._outage is not None:
            log.info("connected to XAPI again; resyncing every VM")
            self._outage = None
        self._backoff.reset()
        self.systemd.beat(self.ownership.budget() + self.config.call_timeout)
        self.ownership.start()  # before the first reconcile: READY=1 covers leftovers
        takeover = self.leadership.elect(xapi)
        self.config = poolconfig.fit(xapi, self.leadership.master, self._loaded)
        self._set_role(ROLE_LEADER if self.leadership.leader else ROLE_STANDBY, "connected")
        self._token = token
        self._reconcile_all(xapi, "takeover" if takeover
                            else "initial adoption" if not self.ready else "resync")
        self.attempts.listed(event.get("ref") for event in tasks)
        for event in tasks:
            self._task_event(xapi, event)
        self._audit_poll(xapi)
        self.masterwatch.check(xapi, self.leadership, self.reconciler.unprotected)
        self._flush_status(force=True)
        self._maybe_ready()

    def _watch(self, xapi):
        while True:
            self._flush_status()
            if self.signals.reload_requested:
                self._reload()
            timeout = self._wait_timeout()
            self.systemd.beat(timeout + self.config.call_timeout + EVENT_WAIT)
            try:
                events, token = self.signals.wait(xapi.event_from, CLASSES, self._token,
                                                  timeout)
            except Wakeup:
                xapi.close()
                continue
            except XapiError as e:
                raise XapiUnavailable(f"the event stream broke ({e})")
            if events:
                self._last_event_at = time.time()
                self.status.update(last_event_at=records.format_time(self._last_event_at))
            for event in events:
                self._event(xapi, event)
            self._audit_poll(xapi)
            self._token = token
            self.reconciler.expire(xapi, self.config, self.leadership.leader)
            self.systemd.beat(self.config.call_timeout)  # tick may raise an alert
            if self.ownership.tick(xapi, self.leadership.pool_uuid, self.leadership.leader):
                self._reconcile_all(xapi, "CloudStack's inventory changed")
            self.reconciler.retry(xapi, self.config, self.leadership.leader)
            self.masterwatch.check(xapi, self.leadership, self.reconciler.unprotected)
            self._maybe_ready()

    def _maybe_ready(self):
        """READY=1 once every alien is protected (see readiness.py); until then
        STATUS= says what the start waits for."""
        if self.ready or not readiness.is_ready(self.config.mode, self.reconciler):
            self._flush_status()
            return
        self.ready = True
        self._flush_status(force=True)
        self.systemd.notify(f"READY=1\nSTATUS={self._status_text()}")
        log.info("ready: %s", self._status_text())

    def _event(self, xapi, event):
        cls = event.get("class")
        ref = event.get("ref")
        snapshot = event.get("snapshot")
        if cls == "vm":
            if event.get("operation") == "del" or not snapshot:
                self.reconciler.forget(ref)
            else:
                self.reconciler.vms[ref] = snapshot
                self.reconciler.reconcile(xapi, ref, snapshot, self.reconciler.clock(),
                                          self.config, self.leadership.leader, batch=None)
        elif cls == "pool" and snapshot:
            self.leadership.pool_changed(snapshot)
            leader = self.leadership.follow(xapi)
            if leader is not None:
                self._set_role(ROLE_LEADER if leader else ROLE_STANDBY, "connected")
            if leader:
                self._reconcile_all(xapi, "takeover")
        elif cls == "task":
            self._task_event(xapi, event)

    def _reconcile_all(self, xapi, why):
        self.reconciler.reconcile_all(xapi, self.config, lambda: self.leadership.leader,
                                      self.leadership.pool_uuid, why,
                                      poll=lambda: self._poll(xapi))

    def _poll(self, xapi):
        """Between the VMs of a long pass: the events that came meanwhile, at once."""
        self.systemd.beat(self.config.call_timeout * 2)
        events, self._token = xapi.event_from(CLASSES, self._token, 0.0)
        for event in events:
            self._event(xapi, event)

    def _task_event(self, xapi, event):
        self.attempts.task_event(xapi, event, self.reconciler.vms, self.status,
                                 self.leadership.leader and self.config.mode == "enforce")

    def _audit_poll(self, xapi):
        for refusal in self.audit.poll():
            self.attempts.audit_refusal(xapi, refusal, self.reconciler.vms, self.status,
                                        self.leadership.leader and self.config.mode == "enforce")

    # ---- the session's edges ---------------------------------------------------

    def _connect(self):
        config = self.config
        self._set_role(ROLE_CONNECTING, f"connecting to {shown_url(config.xapi_url)}")
        xapi = Xapi(config.xapi_url, credentials=self._credentials,
                    timeout=config.call_timeout, route=self._route, **tls_options(config),
                    other_config_keys=[config.override_key] if config.override_key else ())
        self._xapi = xapi
        self.systemd.beat(config.call_timeout * 2)
        xapi.login()
        self.leadership.this_host = xapi.this_host()
        self.host_uuid = xapi.call("host.get_uuid", self.leadership.this_host)
        self.reconciler.clock = pool_clock(xapi, config.xapi_url)
        return xapi

    def _connection_lost(self, error):
        text = str(error)
        if self._outage != text:
            level = logging.WARNING if self._outage is None else logging.INFO
            log.log(level, "XAPI unavailable: %s; reconnecting with backoff "
                    "(up to %d s between attempts), then resyncing every VM", text, BACKOFF_CAP)
            self._outage = text
        else:
            log.debug("still no XAPI: %s", text)
        self.leadership.leader = False
        self._set_role(ROLE_CONNECTING, f"disconnected: {text}")
        self._flush_status(force=True)

    def _wait_timeout(self):
        now = time.time()
        timeout = EVENT_WAIT
        if self.reconciler.expiries:
            ends = min(self.reconciler.expiries.values()) - self.reconciler.clock()
            timeout = min(timeout, max(0.0, ends) + 0.1)
        retry = self.reconciler.retries.next_due()
        if retry is not None:
            timeout = min(timeout, max(0.0, retry - now) + 0.01)
        due = self.status.due_in(time.monotonic())
        if due is not None:
            timeout = min(timeout, due + 0.05)
        due = self.ownership.due_in()
        if due is not None:
            timeout = min(timeout, due + 0.05)
        if self.systemd.watchdog_interval:
            timeout = min(timeout, self.systemd.watchdog_interval / 2.0)
        return timeout

    def _shut_down(self):
        log.info("csguard stopping")
        self.systemd.notify("STOPPING=1")
        if self._xapi is not None:
            self._xapi.logout()
            self._xapi = None
        self.systemd.stop_watchdog()
        self.attempts.save(force=True)
        self.role = ROLE_STOPPED
        self.status.update(role=ROLE_STOPPED, connection="stopped")
        self.status.flush(force=True)

    def _reload(self):
        self.signals.reload_requested = False
        try:
            new = self._load_config()
            if new.state_dir != self.config.state_dir:
                log.warning("SIGHUP: state_dir stays %s until csguard restarts (systemctl "
                            "restart csguard): this daemon's lock is held there",
                            self.config.state_dir)
                new = new.with_overrides(state_dir=self.config.state_dir)
            credentials = credentials_for(new.xapi_url, new)
            ownership = Ownership(new, self.messenger)
        except configuration.ConfigError as e:
            log.error("SIGHUP: the new configuration is not valid, keeping the old one: %s", e)
            return
        for warning in getattr(new, "warnings", ()):
            log.warning("configuration: %s", warning)
        set_level(new.log_level)
        if new.xapi_url != self.config.xapi_url:
            self._route = Route(new.xapi_url)
        if new.audit_log != self.config.audit_log:
            self.audit.close()
            self.audit = AuditFollower(new.audit_log)
        self.config = self._loaded = new
        self._credentials = credentials
        self.ownership = self.reconciler.ownership = ownership
        log.info("SIGHUP: configuration reloaded from %s; resyncing every VM",
                 new.source or "(defaults)")
        if self._xapi is not None:
            raise _Reconnect()

    # ---- status ----------------------------------------------------------------

    def _set_role(self, role, connection):
        self.role = role
        self.status.update(role=role, connection=connection)

    def _status_text(self):
        return readiness.status_line(self.role, self.config.mode, self.reconciler,
                                     self.leadership, self.ready, self.masterwatch.problem)

    def _flush_status(self, force=False):
        counts = self.reconciler.kind_counts()
        self.status.update(
            mode=self.config.mode, host_uuid=self.host_uuid,
            xapi_url=shown_url(self._route.master),
            counts={kind: counts[kind] for kind in (
                classify.ALIEN, classify.CLOUDSTACK, classify.EXEMPT, classify.IGNORED)},
            protected=self.reconciler.protected,
            unprotected_aliens=self.reconciler.unprotected,
            **self.ownership.status_fields())
        if self.status.due_in(time.monotonic()) is None:
            return
        if force or self.status.due_in(time.monotonic()) == 0:
            line = self._status_text()
            if line != self._status_line:
                self._status_line = line
                self.systemd.notify("STATUS=" + line)
            self.status.flush(force=force)
        self.attempts.save(force=force)
