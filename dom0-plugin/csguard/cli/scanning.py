"""The commands that look at the whole pool: scan (one reconcile pass, as the
daemon's first) and preflight (the read-only report of csguard.preflight)."""
import collections

from csguard import classify, inventory, plan, preflight, records
from csguard.cli.args import KINDS, parse_bool
from csguard.cli.xe import printable_lines
from csguard.outcome import Result
from csguard.records import show
from csguard.xapi import XapiError


def scan(args, ctx):
    """One reconcile pass over every VM, as the daemon's first pass does; for a
    pool whose daemon is not running yet (before a host is added to CloudStack)."""
    dry = parse_bool(args.values["dry-run"], "dry-run") if "dry-run" in args.values else False
    now = ctx.pool_now()
    counts = collections.OrderedDict((kind, 0) for kind in KINDS)
    changes, failed = [], 0
    vms = ctx.xapi.vm_records()
    hosts = ctx.xapi.hosts()
    for ref, vm in sorted(vms.items(), key=lambda item: (item[1].get("name_label", ""),
                                                         item[0])):
        verdict = classify.classify(vm, ctx.config, now, ctx.inventory)
        counts[verdict.kind] += 1
        writes = plan.plan(vm, verdict, ctx.config, now, hosts)
        if not writes:
            continue
        change = collections.OrderedDict([
            ("uuid", vm.get("uuid", "")), ("name-label", vm.get("name_label", "")),
            ("class", verdict.kind), ("rule", verdict.rule),
            ("writes", [w._asdict() for w in writes])])
        if not dry:
            try:
                ctx.xapi.apply(ref, writes)
            except XapiError as e:
                change["error"] = str(e)
                failed += 1
        changes.append(change)
    verb = "would change" if dry else "changed"
    lines = []
    for change in changes:
        what = "; ".join(_describe_write(w) for w in change["writes"])
        error = f" FAILED: {change['error']}" if "error" in change else ""
        lines.append(f"{verb} {change['uuid']} ({show(change['name-label'])}, "
                     f"{change['class']}): {what}{error}")
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    mode = "" if ctx.config.mode == "enforce" else f" (mode {ctx.config.mode}: nothing is blocked)"
    lines.append(f"{len(vms)} VMs: {summary}. {len(changes)} {verb}{mode}.")
    data = collections.OrderedDict([("dry-run", dry), ("mode", ctx.config.mode),
                                    ("counts", counts), ("changes", changes)])
    return Result(data, printable_lines(lines), 1 if failed else 0)


def _describe_write(write):
    if write["call"] == plan.CLEAR_AFFINITY:
        return f"clear affinity (host {write['value']}, recorded in {records.KEY_AFFINITY})"
    if write["call"] == plan.RESTORE_AFFINITY:
        return (f"restore affinity (host {write['value']})" if write["key"] is not None
                else f"remove {records.KEY_AFFINITY} (nothing to restore)")
    verbs = {plan.ADD_BLOCK: "block", plan.REMOVE_BLOCK: "unblock",
             plan.ADD_OTHER: "record", plan.REMOVE_OTHER: "remove"}
    return f"{verbs.get(write['call'], write['call'])} {write['key']}"


def run_preflight(args, ctx):
    """Read-only: what CloudStack will do to this pool's VMs when a host connects,
    and what to fix first; run it before adding a host to CloudStack. Exit status 0:
    ready, 1: ready with warnings, 2: not ready."""
    facts = preflight.collect(ctx.xapi)
    found, cloudstack = inventory.for_report(ctx.config, ctx.now())
    report = preflight.analyse(facts.vms, facts.hosts, facts.pool, ctx.config,
                               facts.daemons, ctx.now(), found, cloudstack)
    return Result(preflight.to_dict(report), preflight.format_text(report),
                  report.exit_code)
