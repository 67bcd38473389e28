"""Each host's connect to CloudStack with csguard as configured (pure).

At every host connect CloudStack's ReadyCommand destroys each halted VM (not a
template, not dom0) whose affinity is that host: in 4.0 - 4.2 every such VM, from
4.3 only names matching ^[ivs]-<n>-... . One refused destroy fails the connect and
CloudStack leaves the host Disconnected. csguard clears the affinity of the
halted VMs it protects (protection.clear_halted_affinity), so only a VM whose
destroy is blocked and whose affinity csguard leaves can fail a connect.
"""
import collections
import re

from csguard import classify, plan_affinity, records
from csguard.preflight.facts import as_mapping, as_text

# CloudStack 4.3+ (CitrixReadyCommandWrapper, isAlienVm) cleans up only these.
CLOUDSTACK_43_OWN = re.compile(r"[ivs]-[0-9]+-.+")
SUCCEEDS, FAILS_OLD, FAILS_ALL = "succeeds", "fails on 4.0 - 4.2", "fails"

Connect = collections.namedtuple("Connect", "outcome clears cleared blocking")
Connect.__doc__ = """outcome: SUCCEEDS, FAILS_OLD (only 4.0 - 4.2 destroy these names)
or FAILS_ALL; clears: refs of the VMs whose affinity (this host) csguard records
and clears; cleared: refs of those it has cleared (the record names this host, the
affinity is NULL); blocking: refs of the halted VMs whose refused destroy fails it."""


def connects(vms, rows, hosts, config):
    """{host ref: Connect} for every host, from the VM records and their rows."""
    host_uuids = {ref: as_text(host.get("uuid")) for ref, host in hosts.items()}
    by_uuid = {uuid.lower(): ref for ref, uuid in host_uuids.items()}
    clears = collections.defaultdict(list)
    cleared = collections.defaultdict(list)
    blocking = collections.defaultdict(list)
    for ref in sorted(vms, key=lambda r: (rows[r].name, rows[r].uuid)):
        vm = vms[ref]
        if vm.get("is_a_template") is True or vm.get("is_control_domain") is True:
            continue
        host = plan_affinity.due(vm, host_uuids)
        if host is None:
            recorded = records.parse_affinity(
                as_mapping(vm.get("other_config")).get(records.KEY_AFFINITY))
            if recorded in by_uuid and vm.get("affinity") == plan_affinity.NULL_REF:
                cleared[by_uuid[recorded]].append(ref)
            continue
        if will_clear(rows[ref], config):
            clears[host].append(ref)
        elif destroy_refused(vm, rows[ref], config):
            blocking[host].append(ref)
    result = {}
    for host in hosts:
        names = [rows[ref].name for ref in blocking[host]]
        outcome = (SUCCEEDS if not names
                   else FAILS_ALL if any(CLOUDSTACK_43_OWN.fullmatch(n) for n in names)
                   else FAILS_OLD)
        result[host] = Connect(outcome, tuple(clears[host]), tuple(cleared[host]),
                               tuple(blocking[host]))
    return result


def will_clear(row, config):
    """csguard, as configured, records and clears this halted VM's affinity."""
    return (row.kind == classify.ALIEN and config.mode == "enforce"
            and config.clear_halted_affinity)


def destroy_refused(vm, row, config):
    """VM.destroy on it fails: blocked now by anyone, or soon by csguard."""
    if "destroy" in as_mapping(vm.get("blocked_operations")):
        return True
    return (row.kind == classify.ALIEN and config.mode == "enforce"
            and "destroy" in config.block_operations)
