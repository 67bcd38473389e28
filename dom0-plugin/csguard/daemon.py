"""The csguard daemon: list every VM, protect the aliens, then keep it that way.

One loop, one thread (plus a watchdog pinger):

    connect -> event.from(vm, pool, task, token "") = the listing and a token
            -> if this host is the pool master: reconcile every VM
            -> READY=1
            -> event.from(token, timeout) ... reconcile each changed VM

Every decision is made from a VM's full current snapshot (level-triggered), so our
own writes come back as events that plan nothing. Any doubt about the stream (lost
connection or session, token errors, EVENTS_LOST) ends the session: reconnect with
capped exponential backoff and resync from scratch.

One writer per pool: every host runs the daemon, each follows the whole pool's
events through its own host's socket, but only the daemon on the pool master
writes. A standby that sees the master become its own host reconciles everything
from its cache at once; a leader that sees another master stops writing.

Signals: SIGTERM/SIGINT stop the daemon at any point (exit 0); SIGHUP asks for a
config reload, which interrupts an event.from wait. systemd: READY=1 once the first
full reconcile is done, STATUS= with role and counts, WATCHDOG=1 pings while the
loop makes progress (each blocking step declares how long it may take).
"""
import argparse
import collections
import logging
import os
import random
import signal
import sys
import threading
import time

import cachetools
import sdnotify

from csguard import __version__, classify, plan, records, report
from csguard import config as configuration
from csguard.credentials import credentials_for
from csguard.xapi import Xapi, XapiError, XapiUnavailable, shown_url

log = logging.getLogger("csguard")

CLASSES = ("vm", "pool", "task")
# Longest event.from wait; shorter when a timer (exemption expiry, status file,
# watchdog) needs the loop sooner.
EVENT_WAIT = 30.0
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 30.0
# Extra seconds granted to each blocking step before the watchdog stops pinging.
WATCHDOG_SLACK = 5.0
# Failed tasks already reported; a task is seen in several events until destroyed.
SEEN_TASKS = 4096

ROLE_CONNECTING, ROLE_LEADER, ROLE_STANDBY, ROLE_STOPPED = (
    "connecting", "leader", "standby", "stopped")


class _Stop(BaseException):
    """SIGTERM/SIGINT: unwind from wherever the loop is."""


class _Wakeup(BaseException):
    """SIGHUP during a wait: go and look at the reload request."""


class _Reconnect(Exception):
    """The config changed: start a fresh session with it."""


class Backoff:
    """Capped exponential delays with jitter, so a pool's daemons do not retry
    in lockstep after a xapi restart."""

    def __init__(self, first=BACKOFF_FIRST, cap=BACKOFF_CAP):
        self.first = first
        self.cap = cap
        self.failures = 0

    def next_delay(self):
        delay = min(self.cap, self.first * (2 ** self.failures))
        self.failures += 1
        return delay * random.uniform(0.5, 1.0)

    def reset(self):
        self.failures = 0


class Daemon:
    """The daemon's state: the VM cache, each VM's verdict, the leadership."""

    def __init__(self, config, load_config):
        """`load_config()` returns a new Config (or raises ConfigError) on SIGHUP."""
        self.config = config
        self._credentials = credentials_for(config.xapi_url, config)
        self._load_config = load_config
        self.notifier = sdnotify.SystemdNotifier()
        self.messenger = report.Messenger()
        self.status = report.StatusFile(config.state_dir)
        self.role = ROLE_CONNECTING
        self.leader = False
        self.ready = False
        self.this_host = None
        self.host_uuid = None
        self.master = None
        self.pool_uuid = None
        self.vms = {}            # ref -> slim record
        self._state = {}         # ref -> (kind, protected)
        self._counts = collections.Counter()
        self._expiries = {}      # ref -> epoch when its exemption runs out
        self._seen_tasks = cachetools.LRUCache(SEEN_TASKS)
        self._xapi = None
        self._backoff = Backoff()
        self._outage = None
        self._last_event_at = None
        self._status_line = None
        self._waiting = False
        self._stopping = False
        self._reload_requested = False
        self._alive_until = time.monotonic() + WATCHDOG_SLACK
        self._watchdog_interval = None
        self._watchdog_stop = threading.Event()

    # ---- signals and systemd -------------------------------------------------

    def _on_stop(self, signum, frame):
        if self._stopping:
            return
        self._stopping = True
        raise _Stop()

    def _on_reload(self, signum, frame):
        self._reload_requested = True
        if self._waiting:
            self._waiting = False
            raise _Wakeup()

    def _install_signals(self):
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)

    def _wait(self, blocking_call, *args):
        """Run a blocking wait that SIGHUP may interrupt (raising _Wakeup)."""
        self._waiting = True
        try:
            if self._reload_requested:
                raise _Wakeup()
            return blocking_call(*args)
        finally:
            self._waiting = False

    def _beat(self, budget):
        """Declare that the next step finishes within `budget` seconds; the watchdog
        pings systemd only while such a promise holds."""
        self._alive_until = time.monotonic() + budget + WATCHDOG_SLACK

    def _start_watchdog(self):
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return
        try:
            interval = int(usec) / 1e6
        except ValueError:
            log.warning("ignoring WATCHDOG_USEC=%r: not a number of microseconds", usec)
            return
        self._watchdog_interval = interval
        thread = threading.Thread(target=self._watchdog_loop, args=(interval / 2.0,),
                                  name="watchdog", daemon=True)
        thread.start()

    def _watchdog_loop(self, period):
        while not self._watchdog_stop.wait(period):
            if time.monotonic() < self._alive_until:
                self.notifier.notify("WATCHDOG=1")

    # ---- the loop ------------------------------------------------------------

    def run(self):
        """Protect until SIGTERM; returns the exit status."""
        self._install_signals()
        self._start_watchdog()
        log.info("csguard %s starting: XAPI %s, mode %s, config %s", __version__,
                 shown_url(self.config.xapi_url), self.config.mode,
                 self.config.source or "(defaults)")
        try:
            while True:
                delay = self._session()
                if delay:
                    self._beat(delay)
                    try:
                        self._wait(time.sleep, delay)
                    except _Wakeup:
                        pass
                if self._reload_requested:
                    self._reload()
        except _Stop:
            pass
        finally:
            self._stopping = True
            self._shut_down()
        return 0

    def _shut_down(self):
        log.info("csguard stopping")
        self.notifier.notify("STOPPING=1")
        if self._xapi is not None:
            self._xapi.logout()
            self._xapi = None
        self._watchdog_stop.set()
        self.role = ROLE_STOPPED
        self.status.update(role=ROLE_STOPPED, connection="stopped")
        self.status.flush(force=True)

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
            self.leader = False
            self._set_role(ROLE_CONNECTING, "recovering from an internal error")
        finally:
            # Also after a failed login, or a SIGHUP in the backoff sleep would take
            # the never-connected client for a live session and ask it to reconnect.
            self._xapi = None
            if xapi is not None:
                xapi.logout()
        return self._backoff.next_delay()

    def _connect(self):
        config = self.config
        self._set_role(ROLE_CONNECTING, f"connecting to {shown_url(config.xapi_url)}")
        xapi = Xapi(config.xapi_url, credentials=self._credentials,
                    timeout=config.call_timeout,
                    other_config_keys=[config.override_key] if config.override_key else ())
        self._xapi = xapi
        self._beat(config.call_timeout * 2)
        xapi.login()
        self.this_host = xapi.this_host()
        self.host_uuid = xapi.call("host.get_uuid", self.this_host)
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
        self.leader = False
        self._set_role(ROLE_CONNECTING, f"disconnected: {text}")
        self._flush_status(force=True)

    def _resync(self, xapi):
        """The listing: every VM, the pool and tasks in one event.from call, then a
        full reconcile (leader) and READY=1."""
        self._beat(self.config.call_timeout + EVENT_WAIT)
        events, token = xapi.event_from(CLASSES, "", 0.0)
        self.vms = {}
        self._state = {}
        self._counts = collections.Counter()
        self._expiries = {}
        tasks = []
        for event in events:
            cls = event.get("class")
            snapshot = event.get("snapshot")
            if cls == "vm" and snapshot:
                self.vms[event["ref"]] = snapshot
            elif cls == "pool" and snapshot:
                self._pool_changed(snapshot)
            elif cls == "task":
                tasks.append(event)
        if self._outage is not None:
            log.info("connected to XAPI again; resyncing every VM")
            self._outage = None
        self._backoff.reset()
        self.leader = self.master == self.this_host
        self._set_role(ROLE_LEADER if self.leader else ROLE_STANDBY, "connected")
        self._reconcile_all(xapi, "initial adoption" if not self.ready else "resync")
        for event in tasks:
            self._task_event(xapi, event)
        if not self.ready:
            self.ready = True
            self._flush_status(force=True)
            self.notifier.notify(f"READY=1\nSTATUS={self._status_text()}")
            log.info("ready: %s", self._status_text())
        self._token = token

    def _watch(self, xapi):
        while True:
            self._flush_status()
            if self._reload_requested:
                self._reload()
            timeout = self._wait_timeout()
            self._beat(timeout + self.config.call_timeout + EVENT_WAIT)
            try:
                events, token = self._wait(xapi.event_from, CLASSES, self._token, timeout)
            except _Wakeup:
                xapi.close()
                continue
            except XapiError as e:
                raise XapiUnavailable(f"the event stream broke ({e})")
            if events:
                self._last_event_at = time.time()
                self.status.update(last_event_at=records.format_time(self._last_event_at))
            for event in events:
                self._event(xapi, event)
            self._token = token
            self._expire(xapi)

    def _wait_timeout(self):
        now = time.time()
        timeout = EVENT_WAIT
        if self._expiries:
            timeout = min(timeout, max(0.0, min(self._expiries.values()) - now) + 0.1)
        due = self.status.due_in(time.monotonic())
        if due is not None:
            timeout = min(timeout, due + 0.05)
        if self._watchdog_interval:
            timeout = min(timeout, self._watchdog_interval / 2.0)
        return timeout

    # ---- events --------------------------------------------------------------

    def _event(self, xapi, event):
        cls = event.get("class")
        ref = event.get("ref")
        snapshot = event.get("snapshot")
        if cls == "vm":
            if event.get("operation") == "del" or not snapshot:
                self._forget(ref)
            else:
                self.vms[ref] = snapshot
                self._reconcile(xapi, ref, snapshot, time.time(), batch=None)
        elif cls == "pool" and snapshot:
            self._pool_changed(snapshot)
            self._leadership(xapi)
        elif cls == "task":
            self._task_event(xapi, event)

    def _pool_changed(self, pool):
        self.pool_uuid = pool.get("uuid")
        self.master = pool.get("master")

    def _leadership(self, xapi):
        leader = self.master == self.this_host
        if leader == self.leader:
            return
        self.leader = leader
        if leader:
            log.warning("this host is now the pool master: csguard takes over protecting "
                        "the pool")
            self._set_role(ROLE_LEADER, "connected")
            self._reconcile_all(xapi, "takeover")
        else:
            log.warning("this host is no longer the pool master (now host %s): csguard "
                        "stops writing and stands by", self._host_name(xapi, self.master))
            self._set_role(ROLE_STANDBY, "connected")

    def _host_name(self, xapi, ref):
        """A host's name for a log line; its ref if XAPI cannot say."""
        try:
            return records.show(xapi.call("host.get_name_label", ref))
        except XapiError:
            return ref

    def _task_event(self, xapi, event):
        """A failed task whose error is one of our blocks is a blocked attempt."""
        task = event.get("snapshot") or {}
        error = task.get("error_info") or []
        if (task.get("status") != "failure" or len(error) < 3
                or error[0] != "OPERATION_BLOCKED" or not records.is_ours(error[2])):
            return
        if event.get("ref") in self._seen_tasks:
            return
        self._seen_tasks[event.get("ref")] = True
        vm = self.vms.get(error[1]) or {}
        vm_uuid = vm.get("uuid") or error[1]
        name = task.get("name_label") or "an operation"
        operation = name.rpartition(".")[2] if name.startswith("Async.VM.") else name
        self.status.add_attempt({
            "at": records.format_time(time.time()), "vm_uuid": vm_uuid,
            "vm_name": vm.get("name_label"), "operation": operation,
        })
        if not self.messenger.first_attempt(vm_uuid, operation):
            log.debug("blocked %s on VM %s again", operation, vm_uuid)
            return
        log.warning("blocked attempt: %s on VM %s (uuid %s) was refused by csguard's "
                    "block; further attempts on it are reported at most hourly",
                    operation, records.show(vm.get("name_label")), vm_uuid)
        if self.leader and self.config.mode == "enforce":
            self.messenger.blocked_attempt(xapi, vm_uuid, vm.get("name_label"), operation)

    # ---- reconcile -----------------------------------------------------------

    def _reconcile_all(self, xapi, why):
        now = time.time()
        outcome = collections.Counter()
        for ref, vm in list(self.vms.items()):
            self._reconcile(xapi, ref, vm, now, batch=outcome)
        aliens = self._counts[(classify.ALIEN, True)] + self._counts[(classify.ALIEN, False)]
        log.info("%s: %d VMs checked, %d newly protected, %d unprotected, %d aliens (%d "
                 "protected)%s", why, len(self.vms), outcome["protected"],
                 outcome["unprotected"], aliens, self._counts[(classify.ALIEN, True)],
                 "" if self.leader else "; standing by (this host is not the pool master)")
        if self.leader and (outcome["protected"] or outcome["unprotected"]):
            self.messenger.summary(xapi, self.pool_uuid, outcome["protected"],
                                   outcome["unprotected"], aliens)

    def _reconcile(self, xapi, ref, vm, now, batch):
        """Classify one VM and, as the leader, make XAPI match. `batch` is a
        Counter for a full reconcile (one summary message), None for a live event."""
        config = self.config
        verdict = classify.classify(vm, config, now)
        writes = plan.plan(vm, verdict, config, now) if self.leader else ()
        applied = False
        if writes:
            self._beat(config.call_timeout * (len(writes) + 1))
            try:
                made = xapi.apply(ref, writes)
                applied = True
            except XapiError as e:
                if e.code == "HANDLE_INVALID":
                    log.debug("VM %s vanished while being reconciled", vm.get("uuid"))
                    self._forget(ref)
                    return
                log.error("could not update VM %s (uuid %s): %s; retried on its next change "
                          "and at the next resync", records.show(vm.get("name_label")),
                          vm.get("uuid"), e)
            if applied:
                self._report_change(xapi, vm, verdict, made, batch)
        blocked = vm.get("blocked_operations") or {}
        protected = verdict.kind == classify.ALIEN and (
            applied or all(op in blocked for op in config.block_operations))
        self._set_state(ref, verdict, protected, vm, batch)
        expiry = plan.next_expiry(vm, now)
        if expiry is None:
            self._expiries.pop(ref, None)
        else:
            self._expiries[ref] = expiry

    def _report_change(self, xapi, vm, verdict, writes, batch):
        """Log and announce a VM that gained blocks it lacked or lost ours; a mere
        rewrite of our own entry's text is no news."""
        before = vm.get("blocked_operations") or {}
        added = [w.key for w in writes if w.call == plan.ADD_BLOCK and w.key not in before]
        removed = [w.key for w in writes if w.call == plan.REMOVE_BLOCK]
        name = records.show(vm.get("name_label"))
        if verdict.kind == classify.ALIEN and added:
            change = "protected"
            log.log(logging.DEBUG if batch is not None else logging.INFO,
                    "protected VM %s (uuid %s): blocked %s; %s", name, vm.get("uuid"),
                    ", ".join(added), verdict.reason)
            if batch is None:
                self.messenger.vm_protected(xapi, vm, verdict, added)
        elif verdict.kind != classify.ALIEN and removed:
            change = "unprotected"
            log.log(logging.DEBUG if batch is not None else logging.INFO,
                    "unprotected VM %s (uuid %s): removed our blocks on %s; %s", name,
                    vm.get("uuid"), ", ".join(removed), verdict.reason)
            if batch is None:
                self.messenger.vm_unprotected(xapi, vm, verdict)
        else:
            return
        if batch is not None:
            batch[change] += 1

    def _set_state(self, ref, verdict, protected, vm, batch):
        state = (verdict.kind, protected)
        old = self._state.get(ref)
        if old == state:
            return
        if old is not None:
            self._counts[old] -= 1
            if batch is None and old[0] != verdict.kind:
                log.info("VM %s (uuid %s) is now %s: %s", records.show(vm.get("name_label")),
                         vm.get("uuid"), verdict.kind, verdict.reason)
        self._state[ref] = state
        self._counts[state] += 1
        if (batch is None and self.leader and verdict.kind == classify.ALIEN
                and not protected and self.config.mode == "audit"):
            log.info("audit: VM %s (uuid %s) would be protected: %s",
                     records.show(vm.get("name_label")), vm.get("uuid"), verdict.reason)

    def _forget(self, ref):
        self.vms.pop(ref, None)
        self._expiries.pop(ref, None)
        old = self._state.pop(ref, None)
        if old is not None:
            self._counts[old] -= 1

    def _expire(self, xapi):
        """Reclassify VMs whose exemption ran out: no event announces that."""
        now = time.time()
        for ref in [r for r, t in self._expiries.items() if t <= now]:
            vm = self.vms.get(ref)
            if vm is None:
                self._expiries.pop(ref, None)
                continue
            log.info("the exemption of VM %s (uuid %s) ran out", records.show(
                vm.get("name_label")), vm.get("uuid"))
            self._reconcile(xapi, ref, vm, now, batch=None)

    # ---- config reload -------------------------------------------------------

    def _reload(self):
        self._reload_requested = False
        try:
            new = self._load_config()
            credentials = credentials_for(new.xapi_url, new)
        except configuration.ConfigError as e:
            log.error("SIGHUP: the new configuration is not valid, keeping the old one: %s", e)
            return
        for warning in getattr(new, "warnings", ()):
            log.warning("configuration: %s", warning)
        report.set_level(new.log_level)
        if new.state_dir != self.config.state_dir:
            self.status = report.StatusFile(new.state_dir)
        self.config = new
        self._credentials = credentials
        log.info("SIGHUP: configuration reloaded from %s; resyncing every VM",
                 new.source or "(defaults)")
        if self._xapi is not None:
            raise _Reconnect()

    # ---- status --------------------------------------------------------------

    def _set_role(self, role, connection):
        self.role = role
        self.status.update(role=role, connection=connection)

    def _status_text(self):
        counts = self._kind_counts()
        return (f"{self.role} ({self.config.mode}): "
                f"{self._counts[(classify.ALIEN, True)]} aliens protected, "
                f"{self._counts[(classify.ALIEN, False)]} unprotected; "
                f"{counts[classify.CLOUDSTACK]} cloudstack, {counts[classify.EXEMPT]} exempt, "
                f"{counts[classify.IGNORED]} ignored")

    def _kind_counts(self):
        counts = collections.Counter()
        for (kind, _), n in self._counts.items():
            counts[kind] += n
        return counts

    def _flush_status(self, force=False):
        counts = self._kind_counts()
        self.status.update(
            mode=self.config.mode, host_uuid=self.host_uuid,
            xapi_url=shown_url(self.config.xapi_url),
            counts={kind: counts[kind] for kind in (
                classify.ALIEN, classify.CLOUDSTACK, classify.EXEMPT, classify.IGNORED)},
            protected=self._counts[(classify.ALIEN, True)],
            unprotected_aliens=self._counts[(classify.ALIEN, False)])
        if self.status.due_in(time.monotonic()) is None:
            return
        if force or self.status.due_in(time.monotonic()) == 0:
            line = self._status_text()
            if line != self._status_line:
                self._status_line = line
                self.notifier.notify("STATUS=" + line)
            self.status.flush(force=force)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="csguard daemon",
        description="Protect the VMs of this XenServer / XCP-ng pool that CloudStack did "
                    "not create. Runs in the foreground, logs to stderr, talks to systemd "
                    "through NOTIFY_SOCKET.")
    parser.add_argument("--config", help=f"configuration file (default {configuration.DEFAULT_PATH}; a missing default "
                        "file means built-in defaults)")
    parser.add_argument("--xapi-url", help="unix:///path/to/socket or http(s)://host[:port]/ "
                        "(overrides the configuration)")
    parser.add_argument("--state-dir", help="where status.json is written (overrides the "
                        "configuration)")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                        help="overrides the configuration")
    return parser.parse_args(argv)


def load_config(args):
    """The Config from --config (or the default file, if present) plus the flags."""
    path = args.config or configuration.DEFAULT_PATH
    if args.config is None and not os.path.exists(path):
        config = configuration.Config()
    else:
        config = configuration.load(path)
    overrides = {}
    if args.xapi_url:
        overrides["xapi_url"] = args.xapi_url
    if args.state_dir:
        overrides["state_dir"] = args.state_dir
    if args.log_level:
        overrides["log_level"] = args.log_level
    return config.with_overrides(**overrides) if overrides else config


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    report.setup_logging(args.log_level or "info")
    try:
        config = load_config(args)
    except configuration.ConfigError as e:
        log.error("not starting: %s", e)
        return 2
    except OSError as e:
        log.error("not starting: cannot read the configuration: %s", e)
        return 2
    report.set_level(config.log_level)
    for warning in config.warnings:
        log.warning("configuration: %s", warning)
    try:
        daemon = Daemon(config, lambda: load_config(args))
    except configuration.ConfigError as e:
        log.error("not starting: %s", e)
        return 2
    return daemon.run()
