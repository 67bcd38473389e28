"""`csguard preflight`: is this pool safe to hand to CloudStack?

A read-only report to run before a host is added to CloudStack: what CloudStack
will do to every VM, which VMs are protected now and by whose blocks, and what to
fix first. The riskiest moment is a host's first connect, so the pool is judged as
CloudStack 4.0 - 4.2 will treat it: aliens are stopped and destroyed by the
minute-by-minute sync, and halted ones whose home server is the connecting host
are destroyed by its ReadyCommand.

`analyse` is pure (records in, Report out) so every finding is tested without a
server; `collect` is the part that reads XAPI. Verdicts come from
`classify.classify`, the daemon's own function, so the report cannot disagree with
the guard.

The `preflight` command (csguard.cli.scanning) of the CLI and of the host plugin
(fn preflight) answers the JSON of `to_dict`. Exit codes: 0 ready, 1 ready with
warnings, 2 not ready; the CLI's own errors use sysexits codes (64 bad arguments,
69 XAPI unreachable, 78 bad configuration), so a script never mistakes one for a
verdict.
"""
import collections
import json
import re

from csguard import classify, records
from csguard.xapi import NULL_REF, XapiError, XapiUnavailable

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)
READY, READY_WITH_WARNINGS, NOT_READY = "ready", "ready with warnings", "not ready"
EXIT_CODES = {READY: 0, READY_WITH_WARNINGS: 1, NOT_READY: 2}

# Who blocks a VM's configured operations now.
BY_CSGUARD, BY_OTHER, PARTIALLY, NOBODY = "csguard", "another tool", "partially", "nobody"

# How a host's csguard plugin answered (Probe.state) ...
ANSWERED, NOT_INSTALLED, NO_ANSWER = "answered", "not installed", "no answer"
# ... and what that says about its daemon (HostRow.csguard; also NOT_INSTALLED).
LEADING, STANDING_BY, CONNECTING = "leading", "standing by", "connecting"
NOT_RUNNING, UNKNOWN = "not running", "unknown"

# Operations whose block breaks something the pool itself needs.
DISRUPTIVE_OPERATIONS = collections.OrderedDict([
    ("start", "HA cannot restart the VM after a host failure, nor can anyone start it"),
    ("start_on", "HA cannot restart the VM on a chosen host, nor can anyone"),
    ("pool_migrate", "maintenance mode (host evacuate) cannot move the VM off its host"),
    ("migrate_send", "live migration with storage (to another SR or pool) fails"),
])

# classify's rules that make a VM CloudStack's by its name alone.
_NAME_RULES = frozenset(("cloudstack-user-vm", "cloudstack-system-vm", "cloudstack-netscaler",
                         "name-pattern"))
# CloudStack 4.3+ (isAlienVm) takes such a name for its own whatever the suffix, so
# its connect-time clean-up still destroys these halted VMs.
_CLOUDSTACK_43_OWN = re.compile(r"[ivs]-[0-9]+-.+")
_VERSION = re.compile(r"([0-9]+)\.([0-9]+)")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")

Facts = collections.namedtuple("Facts", "vms hosts pool daemons")
Facts.__doc__ = """What collect() read: vms and hosts as {ref: XAPI record}, the pool
record, daemons as {host ref: Probe}."""

Probe = collections.namedtuple("Probe", "state status error")
Probe.__doc__ = """A host's answer to the csguard plugin's status fn: state ANSWERED
(status: the JSON object), NOT_INSTALLED or NO_ANSWER (error: why)."""

Item = collections.namedtuple("Item", "uuid name note")
Item.__doc__ = "One VM or host a finding is about, and what applies to it."

Finding = collections.namedtuple("Finding", "severity code summary fix vms hosts")
Finding.__doc__ = """severity: ERROR, WARNING or INFO; code: a stable id for scripts;
summary: what is wrong and what CloudStack will do; fix: what resolves or
overrides it ("" when nothing can); vms, hosts: tuples of Item."""

VmRow = collections.namedtuple(
    "VmRow", "uuid name power_state host affinity kind rule reason protected_by blocked")
VmRow.__doc__ = """One VM: where it runs (host) and its home server (affinity), its
verdict, who protects it (None for ignored VMs) and every blocked operation
({operation: "csguard" or the other tool's reason})."""

HostRow = collections.namedtuple("HostRow", "uuid name is_master version csguard detail")
HostRow.__doc__ = """One host: product version ("XenServer 8.2.1"), its csguard's state
(LEADING, STANDING_BY, CONNECTING, NOT_RUNNING, NOT_INSTALLED or UNKNOWN) and why."""

Report = collections.namedtuple("Report", "verdict exit_code pool mode vms hosts findings")
Report.__doc__ = """verdict: READY, READY_WITH_WARNINGS or NOT_READY, and its exit code;
the pool's uuid, name and HA flag; the configured mode; VmRows, HostRows and
Findings, most severe first."""


def analyse(vms, hosts, pool, config, daemons, now):
    """The Report for one pool: vms and hosts {ref: XAPI record}, the pool record,
    daemons {host ref: Probe}, under config at time now (exemptions run out)."""
    rows = {ref: _vm_row(vm, classify.classify(vm, config, now), hosts, config)
            for ref, vm in vms.items()}
    host_rows = {ref: _host_row(ref, host, pool, daemons.get(ref))
                 for ref, host in hosts.items()}
    by_name = sorted(vms, key=lambda ref: (rows[ref].name, rows[ref].uuid))
    findings = (
        _audit_mode(config, host_rows, daemons)
        + _unprotected_aliens(by_name, vms, rows, config)
        + _halted_aliens_with_affinity(by_name, vms, rows, hosts)
        + _exempted(by_name, rows)
        + _lookalike_aliens(by_name, rows, config)
        + _cloudstack_by_name(by_name, vms, rows, config)
        + _disruptive_blocks(by_name, vms, rows, config)
        + _daemons(host_rows, pool)
        + _old_hosts(by_name, vms, rows, hosts, host_rows)
        + _unenforceable(rows))
    findings.sort(key=lambda f: SEVERITIES.index(f.severity))
    severities = {f.severity for f in findings}
    verdict = (NOT_READY if ERROR in severities
               else READY_WITH_WARNINGS if WARNING in severities else READY)
    kinds = (classify.ALIEN, classify.EXEMPT, classify.CLOUDSTACK, classify.IGNORED)
    vm_rows = sorted(rows.values(), key=lambda r: (kinds.index(r.kind), r.name, r.uuid))
    host_list = sorted(host_rows.values(), key=lambda h: (not h.is_master, h.name, h.uuid))
    return Report(verdict, EXIT_CODES[verdict], _pool_summary(pool), config.mode,
                  tuple(vm_rows), tuple(host_list), tuple(findings))


def protected_by(vm, config):
    """Who blocks the configured operations on vm: BY_CSGUARD (all of them, some by
    us), BY_OTHER (all, by someone else only), PARTIALLY or NOBODY."""
    blocked = _mapping(vm.get("blocked_operations"))
    present = [op for op in config.block_operations if op in blocked]
    if not present:
        return NOBODY
    if len(present) < len(config.block_operations):
        return PARTIALLY
    if any(records.is_ours(blocked[op]) for op in present):
        return BY_CSGUARD
    return BY_OTHER


def daemon_state(probe):
    """(state, detail) of a host's daemon from its plugin's status answer: the
    `status` command's data, the daemon's status file plus "running" and "error"."""
    if probe is None:
        return UNKNOWN, "not asked"
    if probe.state == NOT_INSTALLED:
        return NOT_INSTALLED, "no csguard host plugin"
    if probe.state == NO_ANSWER:
        return UNKNOWN, f"the csguard host plugin did not answer: {probe.error}"
    status = probe.status
    role = status.get("role")
    if status.get("running") is not True or role == "stopped":
        return NOT_RUNNING, _text(status.get("error")) or "see: systemctl status csguard"
    detail = ", ".join(f"{key} {status[key]}" for key in ("mode", "connection")
                       if isinstance(status.get(key), str))
    states = {"leader": LEADING, "standby": STANDING_BY, "connecting": CONNECTING}
    if role in states:
        return states[role], detail
    return UNKNOWN, f"the daemon reports role {records.show(role)}"


def daemon_mode(probe):
    """The mode ("enforce", "audit") a running daemon reports, else None."""
    if probe is None or probe.state != ANSWERED or probe.status.get("running") is not True:
        return None
    mode = probe.status.get("mode")
    return mode if isinstance(mode, str) else None


def _vm_row(vm, verdict, hosts, config):
    blocked = {op: ("csguard" if records.is_ours(reason) else reason)
               for op, reason in _mapping(vm.get("blocked_operations")).items()}
    return VmRow(
        uuid=_text(vm.get("uuid")), name=_text(vm.get("name_label")),
        power_state=_text(vm.get("power_state")),
        host=_host_name(hosts, vm.get("resident_on")),
        affinity=_host_name(hosts, vm.get("affinity")),
        kind=verdict.kind, rule=verdict.rule, reason=verdict.reason,
        protected_by=None if verdict.kind == classify.IGNORED else protected_by(vm, config),
        blocked=blocked)


def _host_row(ref, host, pool, probe):
    state, detail = daemon_state(probe)
    return HostRow(uuid=_text(host.get("uuid")), name=_host_label(host),
                   is_master=pool.get("master") == ref, version=_product(host),
                   csguard=state, detail=detail)


# ---------------------------------------------------------------- findings

def _audit_mode(config, host_rows, daemons):
    """Audit mode classifies and reports but blocks nothing: it does not protect."""
    auditing = sorted((host_rows[ref] for ref, probe in daemons.items()
                       if ref in host_rows and daemon_mode(probe) == "audit"),
                      key=lambda row: row.name)
    if config.mode != "audit" and not auditing:
        return []
    return [Finding(
        ERROR, "audit-mode",
        "csguard is in audit mode: it classifies and reports but blocks nothing, so "
        "CloudStack 4.0 - 4.2 will shut down and destroy every alien VM",
        f"set protection.mode: enforce in {_config_name(config)} on every host and "
        "reload csguard (systemctl reload csguard), then run preflight again",
        (), tuple(_host_item(row) for row in auditing))]


def _unprotected_aliens(refs, vms, rows, config):
    """Aliens not fully blocked now: CloudStack stops and destroys them."""
    items = []
    for ref in refs:
        row = rows[ref]
        if row.kind != classify.ALIEN or row.protected_by in (BY_CSGUARD, BY_OTHER):
            continue
        blocked = _mapping(vms[ref].get("blocked_operations"))
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


def _halted_aliens_with_affinity(refs, vms, rows, hosts):
    """Per host: the halted aliens whose home server it is. Its ReadyCommand
    destroys them (4.0 - 4.2); protected, the destroy fails and so does the connect."""
    by_host = collections.defaultdict(list)
    for ref in refs:
        affinity = vms[ref].get("affinity")
        if (rows[ref].kind == classify.ALIEN and rows[ref].power_state == "Halted"
                and affinity in hosts):
            by_host[affinity].append(rows[ref])
    findings = []
    for host_ref in sorted(by_host, key=lambda ref: _host_label(hosts[ref])):
        items = []
        for row in by_host[host_ref]:
            notes = [f"protected by {row.protected_by}"
                     if row.protected_by in (BY_CSGUARD, BY_OTHER)
                     else "NOT protected: it will be destroyed"]
            if _CLOUDSTACK_43_OWN.fullmatch(row.name):
                notes.append("CloudStack 4.3+ destroys it too (its name matches "
                             "^[ivs]-<n>-...)")
            notes.append(f"to clear: xe vm-param-set uuid={row.uuid} affinity=")
            items.append(Item(row.uuid, row.name, "; ".join(notes)))
        host = hosts[host_ref]
        findings.append(Finding(
            WARNING, "halted-alien-affinity",
            f"when host {_host_label(host)} connects, CloudStack 4.0 - 4.2 destroys the "
            f"{len(items)} halted VM(s) whose home server (affinity) it is; a protected VM "
            "survives, but its failed destroy fails the host's ReadyCommand and CloudStack "
            "leaves the host Disconnected",
            "before adding the host, clear each VM's home server: xe vm-param-set "
            "uuid=<vm uuid> affinity=  (the VM then starts on any host); or accept that "
            "the host cannot connect while such a VM's affinity points at it",
            tuple(items), (Item(_text(host.get("uuid")), _host_label(host), ""),)))
    return findings


def _exempted(refs, rows):
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


def _lookalike_aliens(refs, rows, config):
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
            f"{_config_name(config)}, or allow this VM "
            f"({_override_hint(config, row.uuid, 'allow')}). If not, keep it protected and "
            "rename it so that CloudStack never takes it for its own: "
            f"xe vm-param-set uuid={row.uuid} name-label=<new name>",
            (Item(row.uuid, row.name, _where(row)),), ()))
    return findings


def _cloudstack_by_name(refs, vms, rows, config):
    """VMs that are CloudStack's by their name alone. CloudStack acts on VMs by
    name, so one made by hand under such a name is stopped and destroyed as if it
    were CloudStack's."""
    by_name = collections.OrderedDict()
    for ref in refs:
        if rows[ref].rule in _NAME_RULES:
            by_name.setdefault(rows[ref].name, []).append(ref)
    marked = {ref for same in by_name.values() for ref in same
              if "vm_uuid" in _mapping(vms[ref].get("other_config"))}

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


def _disruptive_blocks(refs, vms, rows, config):
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
            f"{_config_name(config)} (clean_shutdown, hard_shutdown, shutdown and destroy "
            "are what CloudStack's clean-up needs) and reload csguard "
            "(systemctl reload csguard)",
            (), ()))
    for op, harm in DISRUPTIVE_OPERATIONS.items():
        items = []
        for ref in refs:
            reason = _mapping(vms[ref].get("blocked_operations")).get(op)
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


_DAEMON_PROBLEMS = (
    (NOT_INSTALLED, "csguard-not-installed",
     ("csguard is not installed on {n} host(s): should one become pool master, nobody "
      "protects new alien VMs"),
     ("install the csguard RPM on every host of the pool and start it "
      "(systemctl enable --now csguard)")),
    (NOT_RUNNING, "csguard-not-running",
     ("csguard is not running on {n} host(s): should one become pool master, nobody "
      "protects new alien VMs"),
     "start it (systemctl enable --now csguard); journalctl -u csguard says why it stopped"),
    (CONNECTING, "csguard-not-connected",
     "csguard runs on {n} host(s) but is not connected to XAPI",
     "see `csguard status` and journalctl -u csguard on each; it retries by itself"),
    (UNKNOWN, "csguard-unknown",
     "could not tell whether csguard runs on {n} host(s)",
     "run `csguard status` on each of them"),
)


def _daemons(host_rows, pool):
    """csguard should run on every host, and exactly one, the master's, lead."""
    rows = sorted(host_rows.values(), key=lambda row: (not row.is_master, row.name))
    leaders = [row for row in rows if row.csguard == LEADING]
    master = host_rows.get(pool.get("master"))
    findings = []
    if not leaders:
        findings.append(Finding(
            ERROR, "no-leader",
            "no csguard daemon leads this pool: nobody protects new alien VMs",
            "start csguard on every host (systemctl enable --now csguard); the one on the "
            "pool master leads",
            (), tuple(_host_item(row) for row in rows)))
    elif len(leaders) > 1:
        findings.append(Finding(
            WARNING, "several-leaders",
            f"{len(leaders)} csguard daemons say they lead; only the pool master's should",
            "this clears itself within seconds of a pool master change; otherwise restart "
            "csguard on the hosts that are not the pool master",
            (), tuple(_host_item(row) for row in leaders)))
    elif master is not None and not leaders[0].is_master:
        findings.append(Finding(
            WARNING, "leader-not-master",
            f"the csguard daemon on {leaders[0].name} leads, but {master.name} is the "
            "pool master",
            "this clears itself within seconds of a pool master change; otherwise restart "
            f"csguard on {master.name}",
            (), (_host_item(leaders[0]), _host_item(master))))
    for state, code, summary, fix in _DAEMON_PROBLEMS:
        hosts = [row for row in rows if row.csguard == state]
        if hosts:
            findings.append(Finding(WARNING, code, summary.format(n=len(hosts)), fix, (),
                                    tuple(_host_item(row) for row in hosts)))
    return findings


def _old_hosts(refs, vms, rows, hosts, host_rows):
    """XenServer before 6.1 (no xenopsd) still has the xenops tool that CloudStack's
    last-resort forced kill runs, outside XAPI and its blocks."""
    findings = []
    for host_ref in sorted(hosts, key=lambda ref: host_rows[ref].name):
        if not _before_xenopsd(hosts[host_ref]):
            continue
        row = host_rows[host_ref]
        items = tuple(Item(rows[ref].uuid, rows[ref].name, "running alien on this host")
                      for ref in refs if vms[ref].get("resident_on") == host_ref
                      and rows[ref].kind == classify.ALIEN)
        findings.append(Finding(
            WARNING, "forced-kill-outside-xapi",
            f"host {row.name} runs {row.version}: there CloudStack's last resort "
            "(vmopspremium forceShutdownVM, xenops destroy_domain) kills a protected running "
            "VM outside XAPI; its record and disks survive (destroy stays blocked), but the "
            "VM goes down",
            "upgrade the host to XenServer 6.1 or later, or keep alien VMs off it "
            "(xe vm-migrate uuid=<vm uuid> host=<other host>)",
            items, (_host_item(row),)))
    return findings


def _unenforceable(rows):
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


# ---------------------------------------------------------------- output

def to_dict(report):
    """The report as JSON-able data (the --json output and the plugin's answer)."""
    counts = collections.Counter(row.kind for row in report.vms)
    return {
        "verdict": report.verdict,
        "exit_code": report.exit_code,
        "pool": report.pool,
        "mode": report.mode,
        "counts": {
            "vms": {kind: counts[kind] for kind in (
                classify.ALIEN, classify.EXEMPT, classify.CLOUDSTACK, classify.IGNORED)},
            "findings": {severity: sum(1 for f in report.findings if f.severity == severity)
                         for severity in SEVERITIES},
        },
        "hosts": [row._asdict() for row in report.hosts],
        "vms": [row._asdict() for row in report.vms],
        "findings": [dict(f._asdict(), vms=[i._asdict() for i in f.vms],
                          hosts=[i._asdict() for i in f.hosts]) for f in report.findings],
    }


_HEADINGS = {
    ERROR: "Errors (fix before any host connects to CloudStack)",
    WARNING: "Warnings",
    INFO: "Notes",
}


def format_text(report):
    """Hosts, VMs (ignored ones counted, not listed), findings by severity, and the
    verdict as the last line. Control characters from names are made visible."""
    name = report.pool.get("name_label") or report.pool.get("uuid")
    lines = [f"csguard preflight: pool {records.show(name)}, mode {report.mode}", "",
             "Hosts:"]
    lines += _table(("HOST", "MASTER", "VERSION", "CSGUARD", "DETAIL"), [
        (h.name, "yes" if h.is_master else "", h.version or "?", h.csguard, h.detail)
        for h in report.hosts])
    shown = [v for v in report.vms if v.kind != classify.IGNORED]
    lines += ["", "VMs:"]
    lines += _table(("UUID", "NAME", "POWER", "CLASS", "PROTECTED BY", "REASON"), [
        (v.uuid, records.show(v.name), v.power_state, v.kind, v.protected_by, v.reason)
        for v in shown])
    ignored = len(report.vms) - len(shown)
    if ignored:
        lines.append(f"  ({ignored} control domain(s), template(s) and snapshot(s) "
                     "ignored: csguard never touches them)")
    for severity in SEVERITIES:
        found = [f for f in report.findings if f.severity == severity]
        if found:
            lines += ["", _HEADINGS[severity] + ":"]
        for finding in found:
            lines.append(f"- [{finding.code}] {finding.summary}")
            for item in finding.hosts + finding.vms:
                note = ": " + item.note if item.note else ""
                lines.append(f"    {item.uuid} {records.show(item.name)}{note}")
            if finding.fix:
                lines.append("  fix: " + finding.fix)
    counts = collections.Counter(f.severity for f in report.findings)
    lines += ["", (f"Verdict: {report.verdict} ({counts[ERROR]} error(s), "
                   f"{counts[WARNING]} warning(s))")]
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", "\n".join(lines)) + "\n"


def _table(header, rows):
    if not rows:
        return ["  (none)"]
    cells = [["-" if cell is None else str(cell) for cell in row] for row in [header] + rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header) - 1)]
    return ["  " + "  ".join([c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]).rstrip()
            for row in cells]


# ---------------------------------------------------------------- reading the pool

# What analyse reads of a VM record beyond classify's fields, and the
# other_config keys it needs (CloudStack 4.3+ marks its VMs with vm_uuid): the
# CLI keeps these when it slims VM records.
VM_FIELDS = ("uuid", "name_label", "power_state", "blocked_operations", "affinity",
             "resident_on")
OTHER_CONFIG_KEYS = ("vm_uuid",)


def collect(xapi):
    """Read what analyse needs: full VM and host records (affinity, resident_on and
    software_version are not in the daemon's slim records), the pool, and each
    host's csguard status through the host plugin."""
    vms = xapi.call("VM.get_all_records")
    hosts = xapi.call("host.get_all_records")
    pools = xapi.call("pool.get_all_records")
    pool = next(iter(pools.values())) if pools else {}
    return Facts(vms, hosts, pool, {ref: probe_daemon(xapi, ref) for ref in hosts})


def probe_daemon(xapi, host_ref):
    """A host's csguard status, asked through its host plugin (fn status)."""
    try:
        answer = xapi.call("host.call_plugin", host_ref, "csguard", "status", {})
    except XapiError as e:
        if e.code == "XENAPI_MISSING_PLUGIN":
            return Probe(NOT_INSTALLED, None, str(e))
        return Probe(NO_ANSWER, None, _one_line(e))
    except XapiUnavailable as e:
        return Probe(NO_ANSWER, None, str(e))
    try:
        status = json.loads(answer)
    except (TypeError, ValueError):
        status = None
    if not isinstance(status, dict):
        return Probe(NO_ANSWER, None, f"its answer is not a JSON object: {records.show(answer)}")
    return Probe(ANSWERED, status, None)


# ---------------------------------------------------------------- helpers

def _one_line(error, limit=200):
    """A XAPI error on one line: the plugin's output and log (a traceback) reduced to
    their last line, which says what went wrong."""
    lasts = [param.strip().splitlines()[-1] for param in error.params if param.strip()]
    text = ": ".join([error.code] + lasts)
    return text if len(text) <= limit else text[:limit] + "..."


def _config_name(config):
    return config.source or "/etc/csguard/csguard.yaml"


def _override_hint(config, uuid, action):
    """The ways to protect or allow one VM whatever its name, as commands to type."""
    ways = [f"add {uuid} to overrides.{action}.uuids in {_config_name(config)}"]
    tag = config.protect_tag if action == "protect" else config.allow_tag
    if tag:
        ways.append(f"xe vm-param-add uuid={uuid} param-name=tags param-key={tag}")
    if config.override_key:
        ways.append(f"xe vm-param-set uuid={uuid} other-config:{config.override_key}={action}")
    return ", or ".join(ways)


def _before_xenopsd(host):
    """XenServer older than 6.1 (product_version 5.x, 6.0.x)."""
    software = _mapping(host.get("software_version"))
    if _text(software.get("product_brand")) not in ("", "XenServer"):
        return False
    match = _VERSION.match(_text(software.get("product_version")))
    return match is not None and (int(match.group(1)), int(match.group(2))) < (6, 1)


def _pool_summary(pool):
    return {"uuid": _text(pool.get("uuid")), "name_label": _text(pool.get("name_label")),
            "ha_enabled": pool.get("ha_enabled") is True}


def _product(host):
    software = _mapping(host.get("software_version"))
    version = _text(software.get("product_version"))
    return f"{_text(software.get('product_brand'))} {version}".strip() if version else ""


def _host_label(host):
    return _text(host.get("name_label")) or _text(host.get("uuid"))


def _host_name(hosts, ref):
    if ref in (None, NULL_REF) or ref not in hosts:
        return None
    return _host_label(hosts[ref])


def _host_item(row):
    return Item(row.uuid, row.name, f"csguard {row.csguard}"
                + (f" ({row.detail})" if row.detail else ""))


def _where(row):
    return f"{row.power_state} on {row.host}" if row.host else row.power_state


def _count_aliens(rows):
    return sum(1 for row in rows.values() if row.kind == classify.ALIEN)


def _mapping(value):
    return value if isinstance(value, dict) else {}


def _text(value):
    return value if isinstance(value, str) else ""
