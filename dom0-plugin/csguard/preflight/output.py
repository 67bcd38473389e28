"""The report for people (format_text) and for scripts and the host plugin
(to_dict, the JSON of --json)."""
import collections
import re

from csguard import classify, records
from csguard.preflight.findings import ERROR, INFO, SEVERITIES, WARNING

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


# JSON keys: the names `vm-list --json` uses for the same things, and xe's hyphens.
_RENAMED = {"name": "name-label", "kind": "class", "blocked": "blocked-by"}


def _key(field):
    return _RENAMED.get(field, field.replace("_", "-"))


def _row(row):
    data = collections.OrderedDict((_key(field), value) for field, value in row.items())
    if "power-state" in data:
        data["power-state"] = str(data["power-state"]).lower()
    return data


def to_dict(report):
    """The report as JSON-able data (the --json output and the plugin's answer)."""
    counts = collections.Counter(row.kind for row in report.vms)
    return {
        "verdict": report.verdict,
        "exit-code": report.exit_code,
        "pool": _row(report.pool),
        "mode": report.mode,
        "counts": {
            "vms": {kind: counts[kind] for kind in (
                classify.ALIEN, classify.EXEMPT, classify.CLOUDSTACK, classify.IGNORED)},
            "findings": {severity: sum(1 for f in report.findings if f.severity == severity)
                         for severity in SEVERITIES},
        },
        "hosts": [_row(row._asdict()) for row in report.hosts],
        "vms": [_row(row._asdict()) for row in report.vms],
        "findings": [_row(dict(f._asdict(), vms=[_row(i._asdict()) for i in f.vms],
                               hosts=[_row(i._asdict()) for i in f.hosts]))
                     for f in report.findings],
        "cloudstack": report.cloudstack,
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
    lines += _table(("HOST", "MASTER", "VERSION", "CSGUARD", "CLOUDSTACK CONNECT", "DETAIL"), [
        (h.name, "yes" if h.is_master else "", h.version or "?", h.csguard,
         _connect(h), h.detail) for h in report.hosts])
    cloudstack = report.cloudstack
    if cloudstack is not None:
        lines += ["", (f"CloudStack: {cloudstack['url']}, version "
                      f"{cloudstack['version'] or 'unknown'}; inventory: "
                      f"{cloudstack['inventory']} ({cloudstack['vms']} VMs)")]
    shown = [v for v in report.vms if v.kind != classify.IGNORED]
    lines += ["", "VMs:"]
    owns = () if cloudstack is None else ("CLOUDSTACK OWNS IT",)
    lines += _table(("UUID", "NAME", "POWER", "CLASS") + owns + ("PROTECTED BY", "REASON"), [
        (v.uuid, records.show(v.name), v.power_state, v.kind)
        + (() if cloudstack is None else (v.cloudstack_owns,))
        + (v.protected_by, v.reason) for v in shown])
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


def _connect(host):
    """"succeeds", "FAILS" or "FAILS on 4.0 - 4.2", and how many affinities csguard
    clears for it or has cleared."""
    text = host.connect.replace("fails", "FAILS")
    notes = ([f"csguard clears {len(host.clears)} VM affinity"] if host.clears else []) + (
        [f"{len(host.cleared)} cleared"] if host.cleared else [])
    return text + (f" ({', '.join(notes)})" if notes else "")


def _table(header, rows):
    if not rows:
        return ["  (none)"]
    cells = [["-" if cell is None else str(cell) for cell in row] for row in [header] + rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header) - 1)]
    return ["  " + "  ".join([c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]).rstrip()
            for row in cells]
