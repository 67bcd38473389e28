"""Blocked attempts, from task events: a failed task whose error is one of
csguard's blocks is someone's attempt on a protected VM; and from xapi's audit log
(daemon/auditfollow.py), which also has the synchronous calls that leave no task
and says who made each. Each is recorded in the status file; it is logged and
announced (an XAPI message) at most hourly per VM and operation, because
CloudStack retries a failed stop every minute. An asynchronous call is seen both
ways: the second sighting only adds who made it.

A failed task stays in XAPI until its caller destroys it, so the listing after a
restart shows it again: the tasks already reported are remembered in
`<state_dir>/reported-tasks.json` (written at most every few seconds, and only
the ones XAPI still has) and are not reported twice."""
import json
import logging
import os
import tempfile
import time

import cachetools

from csguard import records

log = logging.getLogger("csguard")

# Failed tasks already reported; a task is seen in several events until destroyed.
SEEN_TASKS = 4096
REPORTED_FILE = "reported-tasks.json"
SAVE_EVERY = 5.0
# Seconds within which a task and an audit line on one VM and operation are one call.
SAME_CALL = 120.0


class Attempts:
    def __init__(self, messenger, state_dir):
        self.messenger = messenger
        self._seen_tasks = cachetools.LRUCache(SEEN_TASKS)
        # (vm_uuid, operation) -> (source, attempt) seen from one source only so far
        self._single = cachetools.TTLCache(SEEN_TASKS, SAME_CALL, timer=time.monotonic)
        self._path = os.path.join(state_dir, REPORTED_FILE)
        for ref in _load(self._path):
            self._seen_tasks[ref] = True
        self._dirty = False
        self._saved_at = 0.0

    def listed(self, task_refs):
        """After a listing: forget reported tasks XAPI no longer has."""
        present = set(task_refs)
        for ref in [r for r in self._seen_tasks if r not in present]:
            del self._seen_tasks[ref]
            self._dirty = True

    def save(self, force=False):
        """Write the reported tasks if they changed (at most every SAVE_EVERY s)."""
        now = time.monotonic()
        if self._dirty and (force or now - self._saved_at >= SAVE_EVERY):
            _save(self._path, list(self._seen_tasks))
            self._dirty = False
            self._saved_at = now

    def task_event(self, xapi, event, vms, status, announce):
        """A failed task whose error is one of our blocks is a blocked attempt.
        vms: the daemon's cache; announce: leave an XAPI message (the leader, in
        enforce mode)."""
        task = event.get("snapshot") or {}
        error = task.get("error_info") or []
        if (task.get("status") != "failure" or len(error) < 3
                or error[0] != "OPERATION_BLOCKED" or not records.is_ours(error[2])):
            return
        if event.get("ref") in self._seen_tasks:
            return
        self._seen_tasks[event.get("ref")] = True
        self._dirty = True
        vm = vms.get(error[1]) or {}
        name = task.get("name_label") or "an operation"
        operation = name.rpartition(".")[2] if name.startswith("Async.VM.") else name
        self._report(xapi, "task", vm.get("uuid") or error[1], vm.get("name_label"),
                     operation, None, status, announce)

    def audit_refusal(self, xapi, refusal, vms, status, announce):
        """A call refused by one of our blocks, from xapi's audit log (auditlog.Refusal)."""
        vm = vms.get(refusal.vm_ref) or {}
        self._report(xapi, "audit", vm.get("uuid") or refusal.vm_uuid or refusal.vm_ref,
                     vm.get("name_label") or refusal.vm_name, refusal.operation, refusal.by,
                     status, announce)

    def _report(self, xapi, source, vm_uuid, vm_name, operation, by, status, announce):
        key = (vm_uuid, operation)
        other = self._single.pop(key, None)
        if other is not None and other[0] != source:
            if by is not None:
                other[1]["by"] = by
                status.attempts_changed()
            return
        attempt = {"at": records.format_time(time.time()), "vm_uuid": vm_uuid,
                   "vm_name": vm_name, "operation": operation}
        if by is not None:
            attempt["by"] = by
        self._single[key] = (source, attempt)
        status.add_attempt(attempt)
        if not self.messenger.first_attempt(vm_uuid, operation):
            log.debug("blocked %s on VM %s again", operation, vm_uuid)
            return
        log.warning("blocked attempt: %s on VM %s (uuid %s)%s was refused by csguard's "
                    "block; further attempts on it are reported at most hourly",
                    operation, records.show(vm_name), vm_uuid,
                    f" by {records.show(by)}" if by else "")
        if announce:
            self.messenger.blocked_attempt(xapi, vm_uuid, vm_name, operation, by)


def _load(path):
    """The task refs reported before this start; none if the file is missing or bad."""
    try:
        with open(path) as f:
            refs = json.load(f)
    except (OSError, ValueError):
        return []
    if not isinstance(refs, list):
        return []
    return [ref for ref in refs if isinstance(ref, str)][-SEEN_TASKS:]


def _save(path, refs):
    """Atomically. A state directory that cannot be written costs at most a repeated
    report after the next restart (the status file's error says the rest)."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".reported-", suffix=".tmp",
                                   dir=os.path.dirname(path))
        with os.fdopen(fd, "w") as out:
            json.dump(refs, out)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except OSError as e:
        log.debug("cannot remember the reported tasks in %s: %s", path, e)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
