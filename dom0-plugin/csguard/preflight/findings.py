"""Each finding of the report: one function per thing that can go wrong when a
host connects to CloudStack, from the rows analyse made (report.py). A finding
says what is wrong, what CloudStack will do, and what fixes it."""
import collections

from csguard import classify, records
from csguard.optionchecks import DISRUPTIVE_OPERATIONS
from csguard.preflight.connect import CLOUDSTACK_43_OWN, SUCCEEDS
from csguard.preflight.facts import (
    BY_CSGUARD,
    BY_OTHER,
    as_mapping,
    as_text,
    host_label,
)

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)

# classify's rules that make a VM CloudStack's by its name alone.
_NAME_RULES = frozenset(("cloudstack-user-vm", "cloudstack-system-vm", "cloudstack-netscaler",
                         "name-pattern"))

Item = collections.namedtuple("Item", "uuid name note")
Item.__doc__ = "One VM or host a finding is about, and what applies to it."

Finding = collections.namedtuple("Finding", "severity code summary fix vms hosts")
Finding.__doc__ = """severity: ERROR, WARNING or INFO; code: a stable id for scripts;
summary: what is wrong and what CloudStack will do; fix: what resolves or
overrides it ("" when nothing can); vms, hosts: tuples of Item."""


def unprotected_aliens(refs, vms, rows, config):
    """Aliens not fully blocked now: CloudStack stops and destroys them."""
    items = []
    for ref in refs:
        row = rows[ref]
        if row.kind != classify.ALIEN or row.protected_by in (BY_CSGUARD, BY_OTHER):
            continue
        blocked = as_mapping(vms[ref].get("blocked_operations"))
        missing = ", ".join(op for op in config.block_operations if op not in blocked)
        items.append(Item(row.uuid, row.name, f"{_where(row)}; not blocked: {missing}"))
    if not items:
        return []
    return [Finding(
        ERROR, "alien-unprotected",
        f"{len(items)} alien VM(s) not protected: CloudStack 4.0 - 4.2 will shut them down "
        "and destroy their records (only the disks remain)",
        "start csguard on every host (systemctl enable --now csguard) and wait until "
        "`csguard status` says it leads, or protect them once now with `csguard scan`; "
        "then run preflight again",
        tuple(items), ())]


def failing_connects(connects, rows, hosts, config):
    """Per host whose connect fails: the halted VMs whose affinity is the host and
    whose destroy is refused, and why csguard does not clear their affinity."""
    findings = []
    for host_ref in sorted(connects, key=lambda ref: host_label(hosts[ref])):
        result = connects[host_ref]
        if result.outcome == SUCCEEDS:
            continue
        items = []
        for ref in result.blocking:
            row = rows[ref]
            why = ("protection.clear_halted_affinity is false"
                   if row.kind == classify.ALIEN and not config.clear_halted_affinity
                   else f"csguard does not protect it ({row.kind})")
            notes = [f"destroy blocked; {why}"]
            if CLOUDSTACK_43_OWN.fullmatch(row.name):
                notes.append("CloudStack 4.3+ destroys it too (its name matches "
                             "^[ivs]-<n>-...)")
            notes.append(f"to clear: xe vm-param-set uuid={row.uuid} affinity=")
            items.append(Item(row.uuid, row.name, "; ".join(notes)))
        host = hosts[host_ref]
        findings.append(Finding(
            WARNING, "halted-alien-affinity",
            f"host {host_label(host)}'s connect to CloudStack {result.outcome}: its "
            f"ReadyCommand destroys the {len(items)} halted VM(s) whose home server "
            "(affinity) it is, the destroy is refused, and CloudStack leaves the host "
            "Disconnected",
            ("" if config.clear_halted_affinity else
             "set protection.clear_halted_affinity: true (the default) in "
             f"{config_name(config)} so that csguard clears the affinity of the VMs it "
             "protects, or ")
            + "clear each VM's home server by hand: xe vm-param-set uuid=<vm uuid> "
            "affinity=  (the VM then starts on any host)",
            tuple(items), (Item(as_text(host.get("uuid")), host_label(host), ""),)))
    return findings


def cleared_affinities(connects, rows, hosts):
    """Per host: the halted VMs whose affinity csguard records and clears so that
    the host's connect succeeds, and those it has cleared."""
    findings = []
    for host_ref in sorted(connects, key=lambda ref: host_label(hosts[ref])):
        clears, cleared = connects[host_ref].clears, connects[host_ref].cleared
        if not clears and not cleared:
            continue
        host = hosts[host_ref]
        parts = []
        if clears:
            parts.append(f"clears the home server (affinity) of {len(clears)} halted VM(s) "
                         "it protects: " + ", ".join(records.show(rows[r].name) for r in clears))
        if cleared:
            parts.append(f"has cleared that of {len(cleared)}: "
                         + ", ".join(records.show(rows[r].name) for r in cleared))
        findings.append(Finding(
            INFO, "affinity-cleared",
            f"for host {host_label(host)} to connect, csguard " + "; it ".join(parts)
            + f". The host is recorded in other_config:{records.KEY_AFFINITY} and put back "
            "when csguard stops protecting the VM; until then the VM starts on any host",
            "to keep the home servers (and the host unable to connect), set "
            "protection.clear_halted_affinity: false",
            tuple(Item(rows[r].uuid, rows[r].name, "halted: csguard clears it") for r in clears)
            + tuple(Item(rows[r].uuid, rows[r].name, f"cleared, recorded in "
                         f"{records.KEY_AFFINITY}") for r in cleared),
            (Item(as_text(host.get("uuid")), host_label(host), ""),)))
    return findings


def exempted(refs, rows):
    """VMs an operator exempted are unprotected: CloudStack may destroy them."""
    items = [Item(rows[ref].uuid, rows[ref].name, f"{_where(rows[ref])}; {rows[ref].reason}")
             for ref in refs if rows[ref].rule == "exemption"]
    if not items:
        return []
    return [Finding(
        WARNING, "exempt-unprotected",
        f"{len(items)} VM(s) exempted by an operator are not protected: CloudStack "
        "4.0 - 4.2 stops and destroys any of them it did not create",
        "to protect one again, end its exemption: csguard vm-block uuid=<vm uuid>; or let "
        "a timed exemption run out before the host connects",
        tuple(items), ())]


def lookalike_aliens(refs, rows, config):
    """Aliens whose name is a near miss of CloudStack's (case, spaces, another
    instance name). If CloudStack did create one, protecting it fails its stops."""
    findings = []
    for ref in refs:
        row = rows[ref]
        if row.kind != classify.ALIEN or row.rule.startswith("override-"):
            continue
        near_miss = classify.near_miss(row.name, config)
        if near_miss is None:
            continue
        findings.append(Finding(
            WARNING, "cloudstack-lookalike-alien",
            f"csguard protects VM {records.show(row.name)} as an alien: its {near_miss}. "
            "If CloudStack did create it, CloudStack's stops of it will fail",
            "if CloudStack created it: add its instance name to cloudstack.instance_names in "
            f"{config_name(config)}, or allow this VM "
            f"({_override_hint(config, row.uuid, 'allow')}). If not, keep it protected and "
            "rename it so that CloudStack never takes it for its own: "
            f"xe vm-param-set uuid={row.uuid} name-label=<new name>",
            (Item(row.uuid, row.name, _where(row)),), ()))
    return findings


def cloudstack_by_name(refs, vms, rows, config):
    """VMs that are CloudStack's by their name alone. CloudStack acts on VMs by
    name, so one made by hand under such a name is stopped and destroyed as if it
    were CloudStack's."""
    by_name = collections.OrderedDict()
    for ref in refs:
        if rows[ref].rule in _NAME_RULES:
            by_name.setdefault(rows[ref].name, []).append(ref)
    marked = {ref for same in by_name.values() for ref in same
              if "vm_uuid" in as_mapping(vms[ref].get("other_config"))}

    def fix(uuid):
        return (f"if it is not CloudStack's: rename it (xe vm-param-set uuid={uuid} "
                f"name-label=<new name>), or protect it "
                f"({_override_hint(config, uuid, 'protect')})")

    findings, unmarked = [], []
    for name, same in by_name.items():
        if len(same) > 1:
            findings.append(Finding(
                WARNING, "cloudstack-name-duplicate",
                f"{len(same)} VMs are named {records.show(name)}: at most one is "
                "CloudStack's, and a CloudStack stop of that name acts on all of them "
                "(and destroys the halted ones)",
                "keep the name on CloudStack's own VM only; for each other one: "
                + fix("<vm uuid>"),
                tuple(Item(rows[ref].uuid, name, _where(rows[ref])) for ref in same), ()))
        elif same[0] not in marked:
            unmarked.append(rows[same[0]])
    if marked:
        findings += [Finding(
            WARNING, "cloudstack-name-unmarked",
            f"VM {records.show(row.name)} has a CloudStack name but, unlike this pool's other "
            "CloudStack VMs, no other_config:vm_uuid (CloudStack 4.3+ writes one): it may "
            "have been made by hand, and CloudStack would stop and destroy it as its own",
            fix(row.uuid), (Item(row.uuid, row.name, _where(row)),), ()) for row in unmarked]
    elif unmarked:
        findings.append(Finding(
            INFO, "cloudstack-by-name",
            f"{len(unmarked)} VM(s) are CloudStack's by their name alone (CloudStack "
            "4.0 - 4.2 leaves no other mark on its VMs): one made by hand under such a name "
            "is stopped and destroyed by CloudStack as its own",
            "for any VM listed that CloudStack did not create: " + fix("<vm uuid>"),
            tuple(Item(row.uuid, row.name, _where(row)) for row in unmarked), ()))
    return findings


def disruptive_blocks(refs, vms, rows, config):
    """Blocks that break HA restarts or maintenance mode: configured ones (csguard
    puts them on every alien) and other tools' existing ones."""
    findings = []
    configured = [op for op in DISRUPTIVE_OPERATIONS if op in config.block_operations]
    if configured:
        aliens = _count_aliens(rows)
        harms = "; ".join(f"{op}: {DISRUPTIVE_OPERATIONS[op]}" for op in configured)
        findings.append(Finding(
            WARNING, "disruptive-block-configured",
            f"csguard is configured to block {', '.join(configured)} on every alien VM "
            f"({aliens} now): {harms}",
            f"remove {', '.join(configured)} from protection.block_operations in "
            f"{config_name(config)} (clean_shutdown, hard_shutdown, shutdown and destroy "
            "are what CloudStack's clean-up needs) and reload csguard "
            "(systemctl reload csguard)",
            (), ()))
    for op, harm in DISRUPTIVE_OPERATIONS.items():
        items = []
        for ref in refs:
            reason = as_mapping(vms[ref].get("blocked_operations")).get(op)
            if rows[ref].kind == classify.IGNORED or reason is None or records.is_ours(reason):
                continue
            items.append(Item(rows[ref].uuid, rows[ref].name,
                              f"blocked by another tool ({records.show(reason)})"))
        if items:
            findings.append(Finding(
                WARNING, "disruptive-block-existing",
                f"{len(items)} VM(s) already have {op} blocked by another tool: {harm}",
                "if that block is not wanted, remove it: xe vm-param-remove uuid=<vm uuid> "
                f"param-name=blocked-operations param-key={op}",
                tuple(items), ()))
    return findings


def unenforceable(rows):
    """What no block can stop: worth knowing, nothing to fix."""
    aliens = _count_aliens(rows)
    return [
        Finding(INFO, "power-state-reset",
                "VM.power_state_reset cannot be blocked; XAPI itself refuses it for a live "
                "domain, so it can only mark VMs Halted whose domain is already gone",
                "", (), ()),
        Finding(INFO, "guest-shutdown",
                "a shutdown from inside a guest is not an XAPI operation and is never "
                f"blocked: the {aliens} alien VM(s) are protected from CloudStack only",
                "", (), ()),
    ]


def config_name(config):
    return config.source or "/etc/csguard/csguard.yaml"


def _override_hint(config, uuid, action):
    """The ways to protect or allow one VM whatever its name, as commands to type."""
    ways = [f"add {uuid} to overrides.{action}.uuids in {config_name(config)}"]
    tag = config.protect_tag if action == "protect" else None  # tags never allow
    if tag:
        ways.append(f"xe vm-param-add uuid={uuid} param-name=tags param-key={tag}")
    if config.override_key:
        ways.append(f"xe vm-param-set uuid={uuid} other-config:{config.override_key}={action}")
    return ", or ".join(ways)


def _where(row):
    return f"{row.power_state} on {row.host}" if row.host else row.power_state


def _count_aliens(rows):
    return sum(1 for row in rows.values() if row.kind == classify.ALIEN)
