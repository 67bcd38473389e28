"""The XAPI client: the only module that imports XenAPI.

Everything that can go wrong on the wire is turned into one of two exceptions, so
callers decide with two `except` clauses:

- `XapiError`: XAPI answered with a Failure (a refused call, a bad ref...).
- `XapiUnavailable`: no usable answer (refused or reset connection, timeout,
  garbled reply) or the session is gone. The remedy is always the same: reconnect
  and resync.

Every call is bounded by a socket timeout, including the connect (the transports
of transport.py).

XenAPI's Session silently logs in again when a call fails with SESSION_INVALID
and repeats the call. That hides a lost session from the caller, who then misses
that a full resync is due, and a repeated event.from waits its whole timeout
before anyone notices. `Xapi` makes the Session forget how it logged in (so it
also keeps no password in memory): SESSION_INVALID then surfaces at once, as
`XapiUnavailable`.
"""
import calendar
import logging
import sys
import time
import xmlrpc.client

import XenAPI

from csguard import classify, plan_affinity, records
from csguard.optionvalues import PLAIN_HTTP_REFUSED, is_loopback
from csguard.poolroute import Route, with_host
from csguard.transport import (
    WIRE_ERRORS,
    HttpsTransport,
    HttpTransport,
    UnixTransport,
    describe,
    shown_url,
)

_log = logging.getLogger("csguard")

API_VERSION = "2.0"
DEFAULT_URL = "unix:///var/lib/xcp/xapi"
NULL_REF = plan_affinity.NULL_REF
# Extra seconds an event.from call may take beyond the timeout it asks the server for.
EVENT_MARGIN = 5.0
# How long a logout on the way out may take; exit must stay fast.
LOGOUT_TIMEOUT = 2.0

# other_config keys starting with this are csguard's own and always kept.
OWN_KEY_PREFIX = records.MARKER + ":"


class XapiError(Exception):
    """XAPI refused a call; `code` is the error code, `params` the rest."""

    def __init__(self, details):
        details = [str(d) for d in (details or ["UNKNOWN_ERROR"])]
        self.code = details[0]
        self.params = details[1:]
        Exception.__init__(self, self.code, *self.params)

    def __str__(self):
        if not self.params:
            return self.code
        return f"{self.code}: {', '.join(self.params)}"


class XapiUnavailable(Exception):
    """XAPI cannot be reached, did not answer in time, or our session is gone."""


# XenAPI's Fault for SESSION_INVALID when it has no login to repeat.
_NOT_LOGGED_IN = 401


def tls_options(config):
    """The Xapi keyword arguments of the configuration's TLS options."""
    return {"ca_file": config.xapi_ca_file, "fingerprints": config.xapi_tls_fingerprints,
            "allow_plain_http": config.xapi_allow_plain_http}


def _session_for(url, timeout, tls):
    """A XenAPI Session for `url` ("unix:///path" or "http(s)://host[:port]/")."""
    if url.startswith("unix://"):
        path = url[len("unix://"):]
        if not path.startswith("/"):
            raise ValueError(f"XAPI URL {shown_url(url)!r}: a unix socket URL needs an "
                             "absolute path, e.g. unix:///var/lib/xcp/xapi")
        return XenAPI.Session("http://localhost/", transport=UnixTransport(path, timeout))
    if url.startswith("http://"):
        if not tls["allow_plain_http"] and not is_loopback(url):
            raise ValueError(f"XAPI URL {shown_url(url)} {PLAIN_HTTP_REFUSED}")
        return XenAPI.Session(url, transport=HttpTransport(timeout))
    if url.startswith("https://"):
        return XenAPI.Session(url, transport=HttpsTransport(timeout, tls["ca_file"],
                                                            tls["fingerprints"]))
    raise ValueError(f"XAPI URL {shown_url(url)!r} is not understood: use "
                     "unix:///path/to/socket or http(s)://host[:port]/")


class Xapi:
    """One logged-in XAPI session with bounded calls and two kinds of errors.

    `vm_fields` are the VM record fields kept in listings and event snapshots
    (by default what classify and plan read: a 5,000-VM cache stays small on
    dom0); of other_config only csguard's own keys ("csguard:...") and
    `other_config_keys` are kept. Over https the certificate is checked against
    `fingerprints`, else `ca_file`, else the system's CAs; plain http to another
    machine is refused (ValueError) unless `allow_plain_http`.
    """

    def __init__(self, url, credentials=None, timeout=30.0, originator="csguard",
                 vm_fields=classify.FIELDS, other_config_keys=(), route=None,
                 ca_file=None, fingerprints=(), allow_plain_http=False):
        self.timeout = float(timeout)
        self.originator = originator
        self.route = route or Route(url)
        self._tls = {"ca_file": ca_file, "fingerprints": tuple(fingerprints),
                     "allow_plain_http": allow_plain_http}
        self._credentials = credentials or ("root", "")
        self._use(url)
        self._handle = None
        self._owns_session = True
        self._vm_fields = tuple(sys.intern(f) for f in vm_fields)
        self._other_config_keys = frozenset(other_config_keys) | classify.OTHER_CONFIG_KEYS

    @classmethod
    def from_session_id(cls, url, session_id, timeout=30.0, **kwargs):
        """Act with a session somebody else opened (the host plugin's caller)."""
        xapi = cls(url, timeout=timeout, **kwargs)
        xapi._session._session = session_id
        xapi._handle = session_id
        xapi._owns_session = False
        return xapi

    def __enter__(self):
        self.login()
        return self

    def __exit__(self, *exc):
        self.logout()

    @property
    def logged_in(self):
        return self._handle is not None

    def _use(self, url):
        """Talk to `url` from now on (a new connection, no session yet)."""
        self.url = url
        self.shown_url = shown_url(url)
        self._session = _session_for(url, self.timeout, self._tls)
        self._transport = self._session.transport
        self._transport.reduce_struct = self._slim_if_vm

    def login(self):
        """Log in; over http(s) at the pool master wherever the route finds it."""
        if not self.route.remote:
            self._login_here()
            return
        tried, failures = set(), []
        for url in self.route.candidates():
            while url not in tried:
                tried.add(url)
                try:
                    if url != self.url:
                        self._use(url)
                except ValueError as e:
                    failures.append(str(e))
                    break
                try:
                    self._login_here()
                except XapiError as e:
                    if e.code != "HOST_IS_SLAVE" or not e.params:
                        raise
                    url = with_host(url, e.params[0])
                    _log.info("XAPI at %s is a pool member; the master is %s",
                              self.shown_url, e.params[0])
                    continue
                except XapiUnavailable as e:
                    failures.append(str(e))
                    break
                self.route.connected(url, self._host_addresses())
                return
        raise XapiUnavailable("; ".join(failures) or "the pool's hosts each name another "
                              f"as master (tried {', '.join(sorted(map(shown_url, tried)))})")

    def _login_here(self):
        user, password = self._credentials
        try:
            self._transport.timeout = self.timeout
            self._session.login_with_password(user, password, API_VERSION, self.originator)
        except XenAPI.Failure as e:
            raise XapiError(e.details)
        except WIRE_ERRORS as e:
            raise XapiUnavailable(f"cannot log in to XAPI at {self.shown_url}: {describe(e)}")
        self._handle = self._session._session
        self._session.last_login_method = None
        self._session.last_login_params = None

    def _host_addresses(self):
        """The pool's hosts' addresses, to try when the master does not answer."""
        try:
            hosts = self.call("host.get_all_records")
        except (XapiError, XapiUnavailable) as e:
            _log.debug("cannot read the pool's host addresses: %s", e)
            return self.route.addresses
        return [record.get("address", "") for record in hosts.values()]

    def logout(self):
        """Log out if we logged in; never raises, never waits long."""
        if not self._owns_session or self._handle is None:
            self._handle = None
            return
        self._handle = None
        self.close()  # an interrupted call may have left the connection mid-request
        self._transport.timeout = LOGOUT_TIMEOUT
        try:
            # The raw call: XenAPI's own logout needs the login it was made to forget.
            getattr(self._session, "session.logout")(self._session._session)
        except WIRE_ERRORS as e:
            _log.debug("logout failed (the session ends anyway): %s", describe(e))
        finally:
            self._session._session = None
            self.close()

    def close(self):
        """Drop the connection (not the session): the next call reconnects."""
        self._transport.close()

    def call(self, name, *args, timeout=None):
        """Call XAPI method `name` (e.g. "VM.get_by_uuid") with the session."""
        if self._handle is None:
            raise XapiUnavailable("not logged in to XAPI")
        self._transport.timeout = self.timeout if timeout is None else timeout
        try:
            result = self._session.xenapi_request(name, args)
        except XenAPI.Failure as e:
            raise XapiError(e.details)
        except xmlrpc.client.Fault as e:
            if e.faultCode != _NOT_LOGGED_IN:
                raise XapiUnavailable(f"XAPI call {name} failed: {describe(e)}")
            raise XapiUnavailable(f"the XAPI session is no longer valid (SESSION_INVALID) "
                                  f"during {name}")
        except WIRE_ERRORS as e:
            self.close()
            raise XapiUnavailable(f"XAPI call {name} failed: {describe(e)}")
        return result

    def this_host(self):
        return self.call("session.get_this_host", self._handle)

    def pool(self):
        return self.call("pool.get_all")[0]

    def pool_master(self):
        return self.call("pool.get_master", self.pool())

    def master_time(self):
        """The pool master's clock (epoch, host.get_servertime): the daemon that
        ends exemptions runs there, so their times are taken on it."""
        value = self.call("host.get_servertime", self.pool_master())
        text = str(getattr(value, "value", value))
        try:
            return float(calendar.timegm(time.strptime(text.rstrip("Z"), "%Y%m%dT%H:%M:%S")))
        except ValueError:
            raise XapiError(["CSGUARD_BAD_SERVERTIME", text]) from None

    def vm_records(self):
        """{ref: record} of every VM, reduced to the fields we keep."""
        return self.call("VM.get_all_records")

    def event_from(self, classes, token, timeout):
        """(events, token): events since `token` ("" = everything, as adds).

        VM snapshots are reduced like `vm_records`. The socket may wait the
        requested timeout plus a margin, and no longer.
        """
        timeout = float(timeout)
        result = self.call("event.from", list(classes), token, timeout,
                           timeout=timeout + max(EVENT_MARGIN, self.timeout))
        return result["events"], result["token"]

    def hosts(self):
        """{ref: uuid} of the pool's hosts."""
        return {ref: record["uuid"] for ref, record in self.call("host.get_all_records").items()}

    def apply(self, vm_ref, writes):
        """Make the `writes` (plan.Write) on one VM, stopping at the first refusal;
        returns the writes this call made (see `write`)."""
        made = (self.write(vm_ref, write) for write in writes)
        return [write for write in made if write is not None]

    def write(self, vm_ref, write):
        """Make one plan.Write; returns it as made, or None if there was nothing to
        do. XapiError if XAPI refused it.

        An add that finds the key already present did nothing: someone (maybe a
        second daemon during a master change) made the same decision, and announced
        it. So did an affinity write that finds the affinity changed since the plan
        was made: the next event plans again. A remove of a block first re-reads
        the entry and goes ahead only if it is still csguard's: the decision was
        made from an older snapshot, and XAPI has no conditional remove, so this
        leaves the smallest window it allows for someone else's entry (Xen
        Orchestra's "true") to be taken away.
        """
        if write.call == plan_affinity.CLEAR:
            return write if self._clear_affinity(vm_ref, write.key, write.value) else None
        if write.call == plan_affinity.RESTORE:
            restored = self._restore_affinity(vm_ref, write.key)
            return write if restored else write._replace(key=None)
        if write.value is not None:
            try:
                self.call("VM." + write.call, vm_ref, write.key, write.value)
            except XapiError as e:
                if e.code != "MAP_DUPLICATE_KEY":
                    raise
                return None
            return write
        if write.call == "remove_from_blocked_operations":
            current = self.call("VM.get_blocked_operations", vm_ref).get(write.key)
            if not records.is_ours(current):
                return None
        self.call("VM." + write.call, vm_ref, write.key)
        return write

    def _clear_affinity(self, vm_ref, host_ref, host_uuid):
        """Record the host, then clear the affinity, so the old host is never lost;
        only while the affinity is still host_ref, which the record names."""
        if self.call("VM.get_affinity", vm_ref) != host_ref:
            return False
        self.call("VM.remove_from_other_config", vm_ref, records.KEY_AFFINITY)
        self.call("VM.add_to_other_config", vm_ref, records.KEY_AFFINITY, host_uuid)
        self.call("VM.set_affinity", vm_ref, NULL_REF)
        return True

    def _restore_affinity(self, vm_ref, host_ref):
        """Put the host back if the affinity is still the NULL csguard left, then
        drop the record; True if the affinity is that host again (also when the
        daemon and the CLI both released the VM and the other one was first)."""
        restored = False
        if host_ref is not None:
            current = self.call("VM.get_affinity", vm_ref)
            if current == NULL_REF:
                self.call("VM.set_affinity", vm_ref, host_ref)
            restored = current in (NULL_REF, host_ref)
        self.call("VM.remove_from_other_config", vm_ref, records.KEY_AFFINITY)
        return restored

    def _slim_if_vm(self, struct):
        """Every VM record in any answer is reduced while it is parsed."""
        if "is_control_domain" in struct and "is_a_template" in struct:
            return self.slim_vm(struct)
        return struct

    def slim_vm(self, record):
        """The record with only the fields (and other_config keys) we keep.

        Keys are interned, a protected VM's identical block reasons share one
        string, and an empty current_operations is left out: a 5,000-VM cache is
        mostly these small dicts and strings.
        """
        slim = {}
        for field in self._vm_fields:
            # current_operations is almost always empty, and an eleventh key would
            # double every record's hash table.
            if field in record and (record[field] or field != "current_operations"):
                slim[field] = record[field]
        other = slim.get("other_config")
        if other:
            slim["other_config"] = {
                sys.intern(k): v for k, v in other.items()
                if k.startswith(OWN_KEY_PREFIX) or k in self._other_config_keys
            }
        for field in ("power_state", "affinity"):  # a few values shared by many VMs
            if isinstance(slim.get(field), str):
                slim[field] = sys.intern(slim[field])
        blocked = slim.get("blocked_operations")
        if blocked:
            reasons = {}
            slim["blocked_operations"] = {
                sys.intern(op): reasons.setdefault(reason, reason)
                for op, reason in blocked.items()
            }
        return slim
