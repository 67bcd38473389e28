"""analyse: a pool's records in, the Report out; pure, so every finding is tested
without a server. Verdicts come from classify.classify, the daemon's own function,
so the report cannot disagree with the guard."""
import collections

from csguard import classify, records
from csguard.preflight import connect, findings, hostfindings, ownership
from csguard.preflight.facts import (
    as_mapping,
    as_text,
    daemon_state,
    host_label,
    host_name,
    product,
    protected_by,
)
from csguard.preflight.findings import ERROR, SEVERITIES, WARNING

READY, READY_WITH_WARNINGS, NOT_READY = "ready", "ready with warnings", "not ready"
EXIT_CODES = {READY: 0, READY_WITH_WARNINGS: 1, NOT_READY: 2}

VmRow = collections.namedtuple(
    "VmRow", "uuid name power_state host affinity kind rule reason protected_by blocked "
             "cloudstack_owns")
VmRow.__doc__ = """One VM: where it runs (host) and its home server (affinity), its
verdict, who protects it (None for ignored VMs), every blocked operation
({operation: "csguard" or the other tool's reason}) and, with cloudstack.api, whether
CloudStack's inventory holds it ("yes", "no", "no inventory"; else None)."""

HostRow = collections.namedtuple(
    "HostRow", "uuid name is_master version csguard detail connect clears cleared")
HostRow.__doc__ = """One host: product version ("XenServer 8.2.1"), its csguard's state
(LEADING, STANDING_BY, CONNECTING, NOT_RUNNING, NOT_INSTALLED or UNKNOWN) and why,
whether CloudStack's connect succeeds with csguard as configured (connect.SUCCEEDS,
FAILS_OLD, FAILS_ALL), the names of the VMs whose affinity csguard clears for it and
of those it has cleared (recorded in csguard:affinity)."""

Report = collections.namedtuple(
    "Report", "verdict exit_code pool mode vms hosts findings cloudstack")
Report.__doc__ = """verdict: READY, READY_WITH_WARNINGS or NOT_READY, and its exit code;
the pool's uuid, name and HA flag; the configured mode; VmRows, HostRows and
Findings, most severe first; with cloudstack.api, what was read of CloudStack
(url, version, inventory, vms, error), else None."""


def analyse(vms, hosts, pool, config, daemons, now, inventory=None, cloudstack=None):
    """The Report for one pool: vms and hosts {ref: XAPI record}, the pool record,
    daemons {host ref: Probe}, under config at time now (exemptions run out), with
    CloudStack's inventory and what was read of it (csguard.inventory.for_report)."""
    rows = {ref: _vm_row(vm, classify.classify(vm, config, now, inventory), hosts, config,
                         inventory)
            for ref, vm in vms.items()}
    connects = connect.connects(vms, rows, hosts, config)
    host_rows = {ref: _host_row(ref, host, pool, daemons.get(ref), connects[ref], rows)
                 for ref, host in hosts.items()}
    by_name = sorted(vms, key=lambda ref: (rows[ref].name, rows[ref].uuid))
    found = (
        hostfindings.audit_mode(config, host_rows, daemons)
        + findings.unprotected_aliens(by_name, vms, rows, config)
        + findings.failing_connects(connects, rows, hosts, config)
        + findings.cleared_affinities(connects, rows, hosts)
        + findings.exempted(by_name, rows)
        + findings.lookalike_aliens(by_name, rows, config)
        + findings.cloudstack_by_name(by_name, vms, rows, config)
        + findings.disruptive_blocks(by_name, vms, rows, config)
        + hostfindings.daemon_coverage(host_rows, pool)
        + hostfindings.old_hosts(by_name, vms, rows, hosts, host_rows)
        + findings.unenforceable(rows)
        + ownership.findings(config, cloudstack, inventory, vms))
    found.sort(key=lambda f: SEVERITIES.index(f.severity))
    severities = {f.severity for f in found}
    verdict = (NOT_READY if ERROR in severities
               else READY_WITH_WARNINGS if WARNING in severities else READY)
    kinds = (classify.ALIEN, classify.EXEMPT, classify.CLOUDSTACK, classify.IGNORED)
    vm_rows = sorted(rows.values(), key=lambda r: (kinds.index(r.kind), r.name, r.uuid))
    host_list = sorted(host_rows.values(), key=lambda h: (not h.is_master, h.name, h.uuid))
    return Report(verdict, EXIT_CODES[verdict], _pool_summary(pool), config.mode,
                  tuple(vm_rows), tuple(host_list), tuple(found), cloudstack)


def _vm_row(vm, verdict, hosts, config, inventory):
    blocked = {op: ("csguard" if records.is_ours(reason) else reason)
               for op, reason in as_mapping(vm.get("blocked_operations")).items()}
    return VmRow(
        uuid=as_text(vm.get("uuid")), name=as_text(vm.get("name_label")),
        power_state=as_text(vm.get("power_state")),
        host=host_name(hosts, vm.get("resident_on")),
        affinity=host_name(hosts, vm.get("affinity")),
        kind=verdict.kind, rule=verdict.rule, reason=verdict.reason,
        protected_by=None if verdict.kind == classify.IGNORED else protected_by(vm, config),
        blocked=blocked, cloudstack_owns=ownership.owns(vm, verdict, config, inventory))


def _host_row(ref, host, pool, probe, connects, rows):
    state, detail = daemon_state(probe)
    return HostRow(uuid=as_text(host.get("uuid")), name=host_label(host),
                   is_master=pool.get("master") == ref, version=product(host),
                   csguard=state, detail=detail, connect=connects.outcome,
                   clears=tuple(rows[vm].name for vm in connects.clears),
                   cleared=tuple(rows[vm].name for vm in connects.cleared))


def _pool_summary(pool):
    return {"uuid": as_text(pool.get("uuid")), "name_label": as_text(pool.get("name_label")),
            "ha_enabled": pool.get("ha_enabled") is True}
