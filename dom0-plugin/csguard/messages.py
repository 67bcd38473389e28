"""The daemon's XAPI messages (alerts in XenCenter and Xen Orchestra): a VM became
protected or unprotected, one summary after a full reconcile instead of thousands
of alerts, and blocked attempts, rate-limited per VM and operation because
CloudStack retries a failed stop every minute. A message that cannot be created is
logged; it never stops protection."""
import logging

import cachetools

from csguard import records
from csguard.xapi import XapiError

log = logging.getLogger("csguard")

MSG_PROTECTED = "CSGUARD_VM_PROTECTED"
MSG_UNPROTECTED = "CSGUARD_VM_UNPROTECTED"
MSG_SUMMARY = "CSGUARD_POOL_RECONCILED"
MSG_BLOCKED_ATTEMPT = "CSGUARD_BLOCKED_ATTEMPT"
MSG_INVENTORY_STALE = "CSGUARD_INVENTORY_STALE"
# XAPI message priorities: 1 = data loss imminent ... 5 = informational.
PRIORITY_BLOCKED_ATTEMPT = 3
PRIORITY_CHANGE = 4
PRIORITY_SUMMARY = 5


class Messenger:
    """Creates csguard's XAPI messages; never lets a failed message stop protection."""

    def __init__(self, attempt_interval=3600.0, max_tracked=4096):
        # (vm uuid, operation) -> when last reported; an entry expiring re-allows it.
        self._recent_attempts = cachetools.TTLCache(max_tracked, attempt_interval)

    def vm_protected(self, xapi, vm, verdict, operations):
        body = ("csguard blocked {} on VM {} (uuid {}) so that CloudStack cannot shut it "
                "down or destroy it: {}. To let CloudStack act on it, run on a pool host: "
                "csguard vm-unblock uuid={} reason=<why> duration=<how long>".format(
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

    def inventory_stale(self, xapi, pool_uuid, body):
        """CloudStack's inventory has not been read for cloudstack.api.stale_alert_after."""
        self._send(xapi, MSG_INVENTORY_STALE, PRIORITY_BLOCKED_ATTEMPT, "Pool", pool_uuid, body)

    def first_attempt(self, vm_uuid, operation):
        """True (and remembered) unless this VM and operation was reported within
        the rate-limit interval."""
        key = (vm_uuid, operation)
        if key in self._recent_attempts:
            return False
        self._recent_attempts[key] = True
        return True

    def blocked_attempt(self, xapi, vm_uuid, vm_name, operation, by=None):
        someone = (f"XAPI user {records.show(by)}" if by else "Someone")
        body = (f"{someone} (probably CloudStack's clean-up of VMs it did not create) tried "
                f"{operation} on VM {records.show(vm_name)} (uuid {vm_uuid}); csguard's block refused it and the VM is "
                "unchanged. If CloudStack should manage this VM, run on a pool host: "
                f"csguard vm-unblock uuid={vm_uuid} reason=<why> duration=<how long>. Otherwise nothing needs doing; "
                "further attempts on this VM are reported at most once an hour.")
        self._send(xapi, MSG_BLOCKED_ATTEMPT, PRIORITY_BLOCKED_ATTEMPT, "VM", vm_uuid, body)

    def _send(self, xapi, name, priority, cls, obj_uuid, body):
        try:
            xapi.call("message.create", name, str(priority), cls, obj_uuid, body)
        except XapiError as e:
            log.warning("could not create XAPI message %s for %s %s: %s",
                        name, cls, obj_uuid, e)
