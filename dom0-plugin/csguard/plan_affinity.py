"""The affinity writes that keep every host connectable to CloudStack (pure).

At every host connect CloudStack's ReadyCommand destroys each halted VM whose
affinity is the connecting host. On a protected VM that destroy is refused, the
ReadyAnswer fails and CloudStack leaves the host Disconnected. So for every
protected Halted VM whose affinity is a host, csguard first records that host's
uuid in other_config["csguard:affinity"], then sets the affinity to
OpaqueRef:NULL: the clean-up skips the VM, which only loses the host it prefers
when started. Level-triggered like the blocks: an affinity set again (CloudStack's
StopCommand sets a running VM's to its host, an operator may set one) is recorded
and cleared again once the VM is halted.

When csguard stops protecting the VM (exempt, CloudStack's, the option turned
off) the affinity is put back if it is still NULL and the recorded host still
exists, and the record goes. Control domains, templates and snapshots are never
touched, and no affinity csguard did not clear is ever changed.
"""
from csguard import records
from csguard.classify import ALIEN, IGNORED

NULL_REF = "OpaqueRef:NULL"
HALTED = "Halted"

# (CLEAR, host ref the affinity must still be, host uuid to record): the record is
# written before the affinity is cleared, never the other way round.
CLEAR = "clear_affinity"
# (RESTORE, host ref to put back or None, the record's text): the affinity is set
# only if still NULL; the record is removed either way.
RESTORE = "restore_affinity"


def plan(vm, verdict, config, hosts):
    """The affinity writes for vm as (call, key, value) (plan.plan makes them
    Writes); hosts is {ref: uuid} of the pool's hosts. () in audit mode and for
    ignored VMs."""
    if config.mode != "enforce" or verdict.kind == IGNORED:
        return ()
    if verdict.kind == ALIEN and config.clear_halted_affinity:
        host = due(vm, hosts)
        return () if host is None else ((CLEAR, host, hosts[host]),)
    recorded = _other_config(vm).get(records.KEY_AFFINITY)
    if recorded is None:
        return ()
    return ((RESTORE, restore_to(vm, recorded, hosts), recorded),)


def due(vm, hosts):
    """The host ref to clear from a Halted VM's affinity, or None. A ref that is no
    host of the pool cannot match a connecting host and is left alone."""
    affinity = vm.get("affinity")
    if vm.get("power_state") == HALTED and affinity != NULL_REF and affinity in hosts:
        return affinity
    return None


def restore_to(vm, recorded, hosts):
    """The host ref to put back, or None: the affinity was set again since csguard
    cleared it, the record is not a host uuid (edited by hand), or that host has
    left the pool."""
    if vm.get("affinity") != NULL_REF:
        return None
    uuid = records.parse_affinity(recorded)
    for ref, host_uuid in sorted(hosts.items()):
        if uuid is not None and host_uuid.lower() == uuid:
            return ref
    return None


def wanted_hosts(vm):
    """What of the pool's hosts planning this VM reads: (affinity ref, recorded
    uuid), each None when it does not matter; the daemon reads the hosts again when
    one of them is new to it."""
    affinity = vm.get("affinity")
    ref = affinity if vm.get("power_state") == HALTED and affinity not in (
        None, NULL_REF) else None
    recorded = records.parse_affinity(_other_config(vm).get(records.KEY_AFFINITY))
    return ref, recorded


def _other_config(vm):
    value = vm.get("other_config")
    return value if isinstance(value, dict) else {}
