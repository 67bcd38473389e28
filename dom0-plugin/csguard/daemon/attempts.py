"""Blocked attempts, from task events: a failed task whose error is one of
csguard's blocks is someone's attempt on a protected VM. Each is recorded in the
status file; it is logged and announced (an XAPI message) at most hourly per VM
and operation, because CloudStack retries a failed stop every minute."""
import logging
import time

import cachetools

from csguard import records

log = logging.getLogger("csguard")

# Failed tasks already reported; a task is seen in several events until destroyed.
SEEN_TASKS = 4096


class Attempts:
    def __init__(self, messenger):
        self.messenger = messenger
        self._seen_tasks = cachetools.LRUCache(SEEN_TASKS)

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
        vm = vms.get(error[1]) or {}
        vm_uuid = vm.get("uuid") or error[1]
        name = task.get("name_label") or "an operation"
        operation = name.rpartition(".")[2] if name.startswith("Async.VM.") else name
        status.add_attempt({
            "at": records.format_time(time.time()), "vm_uuid": vm_uuid,
            "vm_name": vm.get("name_label"), "operation": operation,
        })
        if not self.messenger.first_attempt(vm_uuid, operation):
            log.debug("blocked %s on VM %s again", operation, vm_uuid)
            return
        log.warning("blocked attempt: %s on VM %s (uuid %s) was refused by csguard's "
                    "block; further attempts on it are reported at most hourly",
                    operation, records.show(vm.get("name_label")), vm_uuid)
        if announce:
            self.messenger.blocked_attempt(xapi, vm_uuid, vm.get("name_label"), operation)
