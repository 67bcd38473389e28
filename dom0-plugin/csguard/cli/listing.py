"""The read-only VM commands: vm-list and vm-classify, the fields they show
(describe), and finding the VM a command names (resolve_vm)."""
import collections

from csguard import classify, records
from csguard.cli.args import KINDS, UUID, parse_bool, parse_uuid
from csguard.cli.xe import xe_minimal, xe_records
from csguard.options import closest
from csguard.outcome import AMBIGUOUS_VM, BAD_ARGUMENT, UNKNOWN_VM, CommandError, Result
from csguard.records import show
from csguard.xapi import XapiError

FIELDS = ("uuid", "name-label", "power-state", "class", "protected", "rule", "reason",
          "blocked-operations", "csguard-blocked", "exempt-until", "exempt-by",
          "exempt-reason")
DEFAULT_FIELDS = ("uuid", "name-label", "power-state", "class", "protected")


# --- finding a VM -------------------------------------------------------------

def resolve_vm(args, ctx):
    """(ref, record) of the VM named by uuid= or by vm= (a name-label or a uuid)."""
    uuid, name = args.values.get("uuid"), args.values.get("vm")
    if uuid is not None and name is not None:
        raise CommandError(BAD_ARGUMENT, "give either uuid= or vm=, not both")
    if uuid is None and name is None:
        raise CommandError(BAD_ARGUMENT, "missing argument: uuid=<VM uuid> or "
                           "vm=<name-label or uuid>")
    if uuid is not None:
        uuid = parse_uuid(uuid)
        ref = _ref_by_uuid(ctx, uuid)
        if ref is None:
            raise CommandError(UNKNOWN_VM, f"no VM has uuid {uuid}", uuid)
        return ref, _record(ctx, ref)
    if not name:
        raise CommandError(BAD_ARGUMENT, "vm= is empty: give a name-label or a uuid")
    if UUID.fullmatch(name):
        ref = _ref_by_uuid(ctx, name.lower())
        if ref is not None:
            return ref, _record(ctx, ref)
    refs = ctx.xapi.call("VM.get_by_name_label", name)
    if not refs:
        names = sorted({vm.get("name_label", "") for vm in ctx.xapi.vm_records().values()})
        close = closest(name, names)
        hint = f"; did you mean {show(close)}?" if close else ""
        raise CommandError(UNKNOWN_VM, f"no VM is named {show(name)}{hint}", name)
    if len(refs) > 1:
        matches = sorted(_record(ctx, ref)["uuid"] for ref in refs)
        raise CommandError(AMBIGUOUS_VM, f"{len(matches)} VMs are named {show(name)}: "
                           f"{', '.join(matches)}; use uuid=<one of them>", *matches)
    return refs[0], _record(ctx, refs[0])


def _ref_by_uuid(ctx, uuid):
    try:
        return ctx.xapi.call("VM.get_by_uuid", uuid)
    except XapiError as e:
        if e.code == "UUID_INVALID":
            return None
        raise


def _record(ctx, ref):
    return ctx.xapi.slim_vm(ctx.xapi.call("VM.get_record", ref))


def vm_name(vm):
    return show(vm.get("name_label", ""))


# --- what vm-list shows -------------------------------------------------------

def describe(vm, config, now, inventory=None):
    """The FIELDS of one VM, as plain values. protected: every configured
    operation is blocked, by csguard or anyone else."""
    verdict = classify.classify(vm, config, now, inventory)
    blocked = vm.get("blocked_operations") or {}
    exemption = records.granted_exemption(vm)
    if exemption is None:
        until = by = why = ""
    else:
        until = ("indefinite" if exemption.until is None
                 else records.format_time(exemption.until))
        by, why = exemption.by, exemption.reason
    return collections.OrderedDict([
        ("uuid", vm.get("uuid", "")),
        ("name-label", vm.get("name_label", "")),
        ("power-state", str(vm.get("power_state", "")).lower()),
        ("class", verdict.kind),
        ("protected", all(op in blocked for op in config.block_operations)),
        ("rule", verdict.rule),
        ("reason", verdict.reason),
        ("blocked-operations", dict(blocked)),
        ("csguard-blocked", sorted(op for op, text in blocked.items()
                                   if records.is_ours(text))),
        ("exempt-until", until),
        ("exempt-by", by),
        ("exempt-reason", why),
    ])


def _select(row, fields):
    return collections.OrderedDict((field, row[field]) for field in fields)


def _fields(args, default):
    text = args.values.get("params")
    if text is None:
        return default
    if text == "all":
        return FIELDS
    fields = [f.strip() for f in text.split(",")]
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        raise CommandError(BAD_ARGUMENT, f"params={show(text)}: unknown field "
                           f"{', '.join(show(f) for f in unknown)}; fields are: "
                           f"{', '.join(FIELDS)}, or all")
    return tuple(collections.OrderedDict.fromkeys(fields))


# --- the commands -------------------------------------------------------------

def vm_list(args, ctx):
    """Every VM with csguard's verdict. Templates and snapshots are listed only for
    class=ignored or uuid=, as xe vm-list leaves templates out."""
    want = args.values
    kind = want.get("class")
    if kind is not None and kind not in KINDS:
        raise CommandError(BAD_ARGUMENT, f"class={show(kind)}: use one of {', '.join(KINDS)}")
    protected = parse_bool(want["protected"], "protected") if "protected" in want else None
    uuid = parse_uuid(want["uuid"]) if "uuid" in want else None
    power = want.get("power-state")
    fields = _fields(args, DEFAULT_FIELDS)
    now = ctx.pool_now()
    rows = []
    for vm in ctx.xapi.vm_records().values():
        if uuid is not None and vm.get("uuid") != uuid:
            continue
        if "name-label" in want and vm.get("name_label") != want["name-label"]:
            continue
        if power is not None and str(vm.get("power_state", "")).lower() != power.lower():
            continue
        hidden = vm.get("is_a_template") or vm.get("is_a_snapshot")
        if hidden and uuid is None and kind != classify.IGNORED:
            continue
        row = describe(vm, ctx.config, now, ctx.inventory)
        if kind is not None and row["class"] != kind:
            continue
        if protected is not None and row["protected"] != protected:
            continue
        rows.append(row)
    rows.sort(key=lambda r: (r["name-label"], r["uuid"]))
    rows = [_select(row, fields) for row in rows]
    if "--minimal" in args.flags:
        return Result(rows, xe_minimal([next(iter(row.values())) for row in rows]))
    return Result(rows, xe_records(rows))


def vm_classify(args, ctx):
    """The verdict the daemon gives the VM now, the rule that decided it, and
    whether the VM is protected."""
    _, vm = resolve_vm(args, ctx)
    row = _select(describe(vm, ctx.config, ctx.pool_now(), ctx.inventory),
                  ("uuid", "name-label", "class", "rule", "reason", "protected",
                   "exempt-until"))
    return Result(row, xe_records([row]))
