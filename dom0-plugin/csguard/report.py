"""Where the daemon's decisions are reported, besides the VM records plan writes:

- XAPI messages (alerts in XenCenter and Xen Orchestra): a VM became protected or
  unprotected, one summary after a full reconcile instead of thousands of alerts,
  and blocked attempts, rate-limited per VM and operation because CloudStack
  retries a failed stop every minute;
- the status file `<state_dir>/status.json`, written atomically, for the CLI and
  for monitoring;
- logging set up for the journal.
"""
import collections
import json
import logging
import os
import sys
import tempfile
import time

import cachetools

from csguard import __version__, records
from csguard.xapi import XapiError

log = logging.getLogger("csguard")

MSG_PROTECTED = "CSGUARD_VM_PROTECTED"
MSG_UNPROTECTED = "CSGUARD_VM_UNPROTECTED"
MSG_SUMMARY = "CSGUARD_POOL_RECONCILED"
MSG_BLOCKED_ATTEMPT = "CSGUARD_BLOCKED_ATTEMPT"
# XAPI message priorities: 1 = data loss imminent ... 5 = informational.
PRIORITY_BLOCKED_ATTEMPT = 3
PRIORITY_CHANGE = 4
PRIORITY_SUMMARY = 5

STATUS_FILE = "status.json"
RECENT_ATTEMPTS = 20

_JOURNAL_PRIORITY = {
    logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class _JournalFormatter(logging.Formatter):
    """"<priority>message": journald takes the level from the prefix and adds
    its own timestamp and unit name."""

    def format(self, record):
        priority = _JOURNAL_PRIORITY.get(record.levelno, 6)
        return f"<{priority}>{logging.Formatter.format(self, record)}"


def setup_logging(level="info", stream=None):
    """Log to stderr: bare lines with a syslog priority prefix under systemd
    (JOURNAL_STREAM set), timestamped lines otherwise."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(message)s"))
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                      "%Y-%m-%dT%H:%M:%SZ")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    log.handlers[:] = [handler]
    log.propagate = False
    set_level(level)


def set_level(level):
    log.setLevel(getattr(logging, str(level).upper(), logging.INFO))


class Messenger:
    """Creates csguard's XAPI messages; never lets a failed message stop protection."""

    def __init__(self, attempt_interval=3600.0, max_tracked=4096):
        # (vm uuid, operation) -> when last reported; an entry expiring re-allows it.
        self._recent_attempts = cachetools.TTLCache(max_tracked, attempt_interval)

    def vm_protected(self, xapi, vm, verdict, operations):
        body = ("csguard blocked {} on VM {} (uuid {}) so that CloudStack cannot shut it "
                "down or destroy it: {}. To let CloudStack act on it, run on a pool host: "
                "csguard vm-unblock uuid={} reason=<why>".format(
                    ", ".join(operations), records.show(vm.get("name_label")),
                    vm.get("uuid"), verdict.reason, vm.get("uuid")))
        self._send(xapi, MSG_PROTECTED, PRIORITY_CHANGE, "VM", vm.get("uuid"), body)

    def vm_unprotected(self, xapi, vm, verdict):
        body = ("csguard removed its blocks from VM {} (uuid {}): {}.".format(
            records.show(vm.get("name_label")), vm.get("uuid"), verdict.reason))
        self._send(xapi, MSG_UNPROTECTED, PRIORITY_CHANGE, "VM", vm.get("uuid"), body)

    def summary(self, xapi, pool_uuid, protected, unprotected, aliens):
        """One pool-level message for a full reconcile (adoption, takeover, resync)."""
        body = (f"csguard reconciled the pool: {protected} VM(s) newly protected, "
                f"{unprotected} unprotected; {aliens} VM(s) not created by CloudStack are "
                "protected in total. See `csguard vm-list` on a pool host for every decision.")
        self._send(xapi, MSG_SUMMARY, PRIORITY_SUMMARY, "Pool", pool_uuid, body)

    def first_attempt(self, vm_uuid, operation):
        """True (and remembered) unless this VM and operation was reported within
        the rate-limit interval."""
        key = (vm_uuid, operation)
        if key in self._recent_attempts:
            return False
        self._recent_attempts[key] = True
        return True

    def blocked_attempt(self, xapi, vm_uuid, vm_name, operation):
        body = ("Someone (probably CloudStack's clean-up of VMs it did not create) tried "
                f"{operation} on VM {records.show(vm_name)} (uuid {vm_uuid}); csguard's block refused it and the VM is "
                "unchanged. If CloudStack should manage this VM, run on a pool host: "
                f"csguard vm-unblock uuid={vm_uuid} reason=<why>. Otherwise nothing needs doing; "
                "further attempts on this VM are reported at most once an hour.")
        self._send(xapi, MSG_BLOCKED_ATTEMPT, PRIORITY_BLOCKED_ATTEMPT, "VM", vm_uuid, body)

    def _send(self, xapi, name, priority, cls, obj_uuid, body):
        try:
            xapi.call("message.create", name, str(priority), cls, obj_uuid, body)
        except XapiError as e:
            log.warning("could not create XAPI message %s for %s %s: %s",
                        name, cls, obj_uuid, e)


class StatusFile:
    """`<state_dir>/status.json`: what the daemon is doing, for the CLI and monitoring.

    Written atomically (temporary file + rename), only when something changed and
    at most once per `min_interval` seconds. A state directory that cannot be
    written is logged once and otherwise ignored: reporting must never stop
    protection.
    """

    def __init__(self, state_dir, min_interval=1.0):
        self.path = os.path.join(state_dir, STATUS_FILE)
        self.state_dir = state_dir
        self.min_interval = min_interval
        self._data = {
            "pid": os.getpid(),
            "version": __version__,
            "started_at": records.format_time(time.time()),
            "blocked_attempts": [],
        }
        self._attempts = collections.deque(maxlen=RECENT_ATTEMPTS)
        self._dirty = True
        self._written_at = None
        self._failing = False

    def update(self, **fields):
        for key, value in fields.items():
            if self._data.get(key) != value:
                self._data[key] = value
                self._dirty = True

    def add_attempt(self, attempt):
        self._attempts.append(attempt)
        self._data["blocked_attempts"] = list(self._attempts)
        self._dirty = True

    def due_in(self, now):
        """Seconds until a pending write may happen, None if nothing is pending."""
        if not self._dirty:
            return None
        if self._written_at is None:
            return 0.0
        return max(0.0, self._written_at + self.min_interval - now)

    def flush(self, now=None, force=False):
        now = time.monotonic() if now is None else now
        if not self._dirty or (not force and self.due_in(now) > 0):
            return
        self._data["updated_at"] = records.format_time(time.time())
        try:
            self._write(json.dumps(self._data, indent=1, sort_keys=True) + "\n")
        except OSError as e:
            if not self._failing:
                log.error("cannot write the status file %s (%s); protection carries on, "
                          "the file is tried again on the next change", self.path, e)
            self._failing = True
        else:
            if self._failing:
                log.info("status file %s written again", self.path)
            self._failing = False
        self._dirty = False
        self._written_at = now

    def _write(self, text):
        os.makedirs(self.state_dir, mode=0o750, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".status-", suffix=".tmp", dir=self.state_dir)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(text)
            os.chmod(tmp, 0o644)
            os.rename(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
