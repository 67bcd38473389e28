"""The findings about the pool's hosts: audit mode, which hosts run csguard and
which leads, and hosts too old for their blocks to hold."""
import re

from csguard import classify
from csguard.preflight.facts import (
    CONNECTING,
    LEADING,
    NOT_INSTALLED,
    NOT_RUNNING,
    UNKNOWN,
    as_mapping,
    as_text,
    daemon_mode,
)
from csguard.preflight.findings import ERROR, WARNING, Finding, Item, config_name

_VERSION = re.compile(r"([0-9]+)\.([0-9]+)")


def audit_mode(config, host_rows, daemons):
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
        f"set protection.mode: enforce in {config_name(config)} on every host and "
        "reload csguard (systemctl reload csguard), then run preflight again",
        (), tuple(_host_item(row) for row in auditing))]


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


def daemon_coverage(host_rows, pool):
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


def old_hosts(refs, vms, rows, hosts, host_rows):
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


def _before_xenopsd(host):
    """XenServer older than 6.1 (product_version 5.x, 6.0.x)."""
    software = as_mapping(host.get("software_version"))
    if as_text(software.get("product_brand")) not in ("", "XenServer"):
        return False
    match = _VERSION.match(as_text(software.get("product_version")))
    return match is not None and (int(match.group(1)), int(match.group(2))) < (6, 1)


def _host_item(row):
    return Item(row.uuid, row.name, f"csguard {row.csguard}"
                + (f" ({row.detail})" if row.detail else ""))
