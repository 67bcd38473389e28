"""The commands that change a VM's protection by hand: vm-unblock records an
operator's exemption, vm-block ends it. Every check comes before the first write,
and the record comes before the unblock, so a failure leaves the VM protected or
exempt, never unprotected without a record."""
import collections

from csguard import classify, plan, plan_affinity, records
from csguard.cli.args import format_duration, parse_bool, parse_duration, parse_reason
from csguard.cli.listing import resolve_vm, vm_name
from csguard.cli.xe import printable_lines
from csguard.outcome import (
    ALREADY_EXEMPT,
    BAD_ARGUMENT,
    FORCED_PROTECTION,
    NOT_ALIEN,
    WRITE_FAILED,
    CommandError,
    Result,
)
from csguard.xapi import XapiError, XapiUnavailable

MESSAGE_UNBLOCKED = "CSGUARD_VM_UNBLOCKED"
# XAPI message priority 3, "service degraded": the VM lost its protection.
UNBLOCK_PRIORITY = "3"


def vm_unblock(args, ctx):
    """Records the exemption on the VM (who, when, why, until) first, then removes
    csguard's blocks and no one else's, then leaves an audit message: the VM is
    never unblocked without a record, and a failure in between leaves it protected
    or exempt. Every exemption ends (duration=, else exemptions.default_duration):
    the daemon protects the VM again then. A running exemption is never lengthened
    or shortened unless replace=true says so."""
    ref, vm = resolve_vm(args, ctx)
    duration = (parse_duration(args.values["duration"]) if "duration" in args.values
                else ctx.config.exemption_default_duration)
    replace = parse_bool(args.values.get("replace", "false"), "replace")
    if "reason" not in args.values:
        raise CommandError(BAD_ARGUMENT, "missing argument: reason=<why> (recorded on the VM "
                           "and in the audit message)")
    reason = parse_reason(args.values["reason"])
    now = ctx.pool_now()
    _refuse_unprotected(vm, ctx.config, now, ctx.inventory)
    current = _running_exemption(vm, now)
    if current is not None and not replace:
        raise CommandError(ALREADY_EXEMPT, (
            f"VM {vm['uuid']} ({vm_name(vm)}) is already exempt until "
            f"{_end(current)} (by {current.by}: {current.reason}). An exemption is never "
            "lengthened or shortened silently: to replace it run csguard vm-unblock "
            f"uuid={vm['uuid']} reason=<why> duration=<how long> replace=true, or end it "
            f"with csguard vm-block uuid={vm['uuid']}. Nothing was changed."),
            vm["uuid"], _end(current))
    until = now + duration
    exemption = records.Exemption(ctx.who, now, until, reason, vm["uuid"])
    try:
        record = records.format_exemption(exemption)
    except ValueError as e:
        raise CommandError(BAD_ARGUMENT, str(e))
    other_config = dict(vm.get("other_config") or {})
    verdict = classify.classify(dict(vm, other_config=dict(
        other_config, **{records.KEY_EXEMPTION: record})), ctx.config, now)
    if verdict.kind == classify.ALIEN:
        raise CommandError(FORCED_PROTECTION, f"VM {vm['uuid']} ({vm_name(vm)}) stays "
                           f"protected: {verdict.reason}. Remove that override first; "
                           "nothing was changed.", vm["uuid"], verdict.rule)
    blocked = vm.get("blocked_operations") or {}
    ours = sorted(op for op, text in blocked.items() if records.is_ours(text))
    theirs = sorted(op for op in blocked if op not in ours)
    writes = []
    if records.KEY_EXEMPTION in other_config:
        writes.append(plan.Write(plan.REMOVE_OTHER, records.KEY_EXEMPTION, None))
    writes.append(plan.Write(plan.ADD_OTHER, records.KEY_EXEMPTION, record))
    writes.extend(plan.Write(plan.REMOVE_BLOCK, op, None) for op in ours)
    if records.KEY_VERDICT in other_config:
        writes.append(plan.Write(plan.REMOVE_OTHER, records.KEY_VERDICT, None))
    affinity = [plan.Write(*w) for w in plan_affinity.plan(vm, verdict, ctx.config,
                                                           _hosts(ctx, vm))]
    made = _apply(ctx, ref, vm, writes + affinity)
    restored = [w.value for w in made if w.call == plan.RESTORE_AFFINITY and w.key]
    until_text = f"until {records.format_time(until)} ({format_duration(duration)})"
    audit = _audit(ctx, vm, f"VM {vm_name(vm)} unblocked by {exemption.by} {until_text}: "
                            f"{reason}")
    lines = [(f"VM {vm['uuid']} ({vm_name(vm)}): exemption recorded by {exemption.by} "
              f"{until_text}: {reason}."),
             f"Removed csguard's blocks: {', '.join(ours) or 'none were set'}."]
    if current is not None:
        lines.append(f"Replaced the exemption by {current.by} until {_end(current)}: "
                     f"{current.reason}.")
    if theirs:
        lines.append(f"Kept blocks set by others: {', '.join(theirs)}.")
    if restored:
        lines.append(f"Restored its affinity (home server) to host {restored[0]}.")
    elif affinity:
        lines.append(f"Removed {records.KEY_AFFINITY}; its affinity was not restored "
                     f"(record {records.show(affinity[0].value)}: no such host, or the "
                     "affinity was set since).")
    lines.append("The csguard daemon protects it again when the exemption ends.")
    lines.append(f"To protect it now: csguard vm-block uuid={vm['uuid']}")
    if audit is not None:
        lines.append(f"Warning: the audit message {MESSAGE_UNBLOCKED} could not be created "
                     f"({audit}); the exemption record on the VM says who unblocked it.")
    data = collections.OrderedDict([
        ("uuid", vm["uuid"]), ("name-label", vm.get("name_label", "")),
        ("exempt-by", exemption.by), ("exempt-at", records.format_time(now)),
        ("exempt-until", records.format_time(until)),
        ("exempt-reason", reason),
        ("replaced-until", None if current is None else _end(current)),
        ("removed", ours), ("kept", theirs),
        ("affinity-restored", restored[0] if restored else None),
        ("audit-message-error", audit)])
    return Result(data, printable_lines(lines), 0 if audit is None else 1)


def _refuse_unprotected(vm, config, now, inventory):
    """Refuse an exemption for a VM csguard never blocks: an exemption on a template
    or snapshot would travel to every VM made from it."""
    other_config = dict(vm.get("other_config") or {})
    other_config.pop(records.KEY_EXEMPTION, None)
    verdict = classify.classify(dict(vm, other_config=other_config), config, now, inventory)
    if verdict.kind == classify.IGNORED:
        why = ("csguard never blocks it, and an exemption on it would come with every VM "
               "made from it")
    elif verdict.kind == classify.CLOUDSTACK:
        why = "csguard does not block CloudStack's VMs, so there is nothing to unblock"
    else:
        return
    raise CommandError(NOT_ALIEN, f"VM {vm['uuid']} ({vm_name(vm)}) is {verdict.kind}: "
                       f"{verdict.reason}; {why}. Nothing was changed.", vm["uuid"],
                       verdict.kind)


def _running_exemption(vm, now):
    """The VM's own valid exemption that has not run out yet, or None."""
    exemption = records.granted_exemption(vm)
    if exemption is None or (exemption.until is not None and exemption.until <= now):
        return None
    return exemption


def _end(exemption):
    return "indefinitely" if exemption.until is None else records.format_time(exemption.until)


def _audit(ctx, vm, body):
    """Create the unblock's XAPI message; None, or why it could not be created."""
    try:
        ctx.xapi.call("message.create", MESSAGE_UNBLOCKED, UNBLOCK_PRIORITY, "VM",
                      vm["uuid"], body)
    except (XapiError, XapiUnavailable) as e:
        return str(e)
    return None


def vm_block(args, ctx):
    """Ends the VM's exemption and protects it now, as the daemon would. Refused
    (nothing changed) for a VM that csguard would not protect without an exemption."""
    ref, vm = resolve_vm(args, ctx)
    now = ctx.pool_now()
    other_config = dict(vm.get("other_config") or {})
    had_exemption = other_config.pop(records.KEY_EXEMPTION, None) is not None
    unexempted = dict(vm, other_config=other_config)
    verdict = classify.classify(unexempted, ctx.config, now, ctx.inventory)
    if verdict.kind != classify.ALIEN:
        if had_exemption:
            return _remove_only(ctx, ref, vm, verdict)
        if ctx.config.protect_tag:
            how = (f"tag it: xe vm-param-add uuid={vm['uuid']} param-name=tags "
                   f"param-key={ctx.config.protect_tag}")
        else:
            how = "add its uuid to overrides.protect.uuids in the configuration"
        raise CommandError(NOT_ALIEN, f"VM {vm['uuid']} is {verdict.kind}, not alien: "
                           f"{verdict.reason}. csguard blocks only aliens; to protect it "
                           f"anyway {how}. Nothing was changed.", vm["uuid"], verdict.kind)
    protect = plan.plan(unexempted, verdict, ctx.config, now, _hosts(ctx, vm))
    writes = [plan.Write(plan.REMOVE_OTHER, records.KEY_EXEMPTION, None)] if had_exemption else []
    _apply(ctx, ref, vm, writes + list(protect))
    blocked = sorted(w.key for w in protect if w.call == plan.ADD_BLOCK)
    lines = [(f"VM {vm['uuid']} ({vm_name(vm)}): "
              f"{'exemption removed' if had_exemption else 'it had no exemption'}.")]
    if ctx.config.mode != "enforce":
        lines.append(f"Mode is {ctx.config.mode}: csguard blocks nothing "
                     f"(see {ctx.config.source or 'the configuration'}).")
    elif blocked:
        lines.append(f"Blocked: {', '.join(blocked)}.")
    else:
        lines.append(f"Already protected: {', '.join(ctx.config.block_operations)}.")
    data = collections.OrderedDict([
        ("uuid", vm["uuid"]), ("name-label", vm.get("name_label", "")),
        ("exemption-removed", had_exemption), ("blocked", blocked),
        ("mode", ctx.config.mode)])
    return Result(data, printable_lines(lines))


def _remove_only(ctx, ref, vm, verdict):
    """End the exemption record of a VM csguard does not protect (a template's, a
    copied one): nothing else changes."""
    _apply(ctx, ref, vm, [plan.Write(plan.REMOVE_OTHER, records.KEY_EXEMPTION, None)])
    lines = [f"VM {vm['uuid']} ({vm_name(vm)}): exemption removed.",
             f"It is {verdict.kind} ({verdict.reason}), so csguard blocks nothing on it."]
    data = collections.OrderedDict([
        ("uuid", vm["uuid"]), ("name-label", vm.get("name_label", "")),
        ("exemption-removed", True), ("blocked", []), ("mode", ctx.config.mode)])
    return Result(data, printable_lines(lines))


def _hosts(ctx, vm):
    """The pool's hosts, read only if the VM's affinity or record needs them."""
    return ctx.xapi.hosts() if plan_affinity.wanted_hosts(vm) != (None, None) else {}


def _apply(ctx, ref, vm, writes):
    try:
        return ctx.xapi.apply(ref, writes)
    except XapiError as e:
        raise CommandError(WRITE_FAILED, f"XAPI refused a change to VM {vm['uuid']}: {e}. "
                           "Run the command again once that is resolved.",
                           e.code, *e.params)
