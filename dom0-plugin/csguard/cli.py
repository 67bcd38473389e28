"""xe-style command line: `csguard <command> key=value ... [--flag ...]`.

Every command is a function `run(args, ctx) -> Result` listed in COMMANDS. The host
plugin (hostplugin.py) calls the same functions, so a command behaves the same on
the command line and through `xe host-call-plugin`. Adding a command is one line in
COMMANDS.

Argument values are data: they are validated, never passed to a shell, and every
check happens before the first write, so a refused command changes nothing. Text
from VM records (names, reasons) is escaped before it reaches a terminal.
"""
import collections
import json
import os
import pwd
import re
import sys
import textwrap
import time

from csguard import classify, plan, preflight, records, report
from csguard import config as configuration
from csguard.xapi import Xapi, XapiError, XapiUnavailable

ENV_XAPI_URL = "CSGUARD_XAPI_URL"
ENV_CONFIG = "CSGUARD_CONFIG"
MESSAGE_UNBLOCKED = "CSGUARD_VM_UNBLOCKED"
# XAPI message priority 3, "service degraded": the VM lost its protection.
UNBLOCK_PRIORITY = "3"
MAX_REASON = 500
MAX_DURATION = 366 * 86400

BAD_ARGUMENT = "CSGUARD_BAD_ARGUMENT"
UNKNOWN_VM = "CSGUARD_UNKNOWN_VM"
AMBIGUOUS_VM = "CSGUARD_AMBIGUOUS_VM"
FORCED_PROTECTION = "CSGUARD_FORCED_PROTECTION"
NOT_ALIEN = "CSGUARD_NOT_ALIEN"
CONFIG_ERROR = "CSGUARD_CONFIG_ERROR"
XAPI_UNAVAILABLE = "CSGUARD_XAPI_UNAVAILABLE"
XAPI_ERROR = "CSGUARD_XAPI_ERROR"
WRITE_FAILED = "CSGUARD_WRITE_FAILED"
STATUS_UNREADABLE = "CSGUARD_STATUS_UNREADABLE"
# Exit statuses of errors (sysexits.h), apart from the low numbers a command's own
# outcome uses (1: refused or not OK; preflight: 1 warnings, 2 not ready).
EXIT_REFUSED = 1
EXIT_STATUSES = {BAD_ARGUMENT: 64, CONFIG_ERROR: 78, XAPI_UNAVAILABLE: 69, XAPI_ERROR: 69}

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}")
_DURATION_PART = re.compile(r"([0-9]{1,6})([smhdw])")
_UNITS = collections.OrderedDict([("w", 604800), ("d", 86400), ("h", 3600), ("m", 60),
                                  ("s", 1)])
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_KINDS = (classify.ALIEN, classify.CLOUDSTACK, classify.EXEMPT, classify.IGNORED)
_BOOLEANS = {"true": True, "false": False}
# What the commands read of a VM record: classify/plan's fields plus what vm-list
# and preflight show.
VM_FIELDS = tuple(collections.OrderedDict.fromkeys(
    classify.FIELDS + ("uuid", "name_label", "power_state", "blocked_operations")
    + preflight.VM_FIELDS))


class CommandError(Exception):
    """A refusal: a stable code (the plugin's Failure code), one clear message, and
    parameters for scripts (the plugin's ErrorDescription after the message)."""

    def __init__(self, code, message, *params):
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = [str(p) for p in params]


Result = collections.namedtuple("Result", "data text status")
Result.__new__.__defaults__ = (0,)
Result.__doc__ = """data: JSON-able (--json and the plugin); text: what a person reads;
status: the exit status."""

Args = collections.namedtuple("Args", "values flags")
Args.__doc__ = "values: {key: value} of the key=value arguments; flags: the set of --flags."

Command = collections.namedtuple("Command", "name run keys flags summary plugin")
Command.__doc__ = """run(args, ctx) -> Result; keys and flags: ((name, help), ...);
plugin: whether the host plugin offers it as fn=<name>."""


class Context:
    """What a command needs besides its arguments: the config, who acts (for the
    audit record), a XAPI connection made on first use, and the clock."""

    def __init__(self, config, who, connect, now=time.time):
        self.config = config
        self.who = who
        self.now = now
        self._connect = connect
        self._xapi = None

    @property
    def xapi(self):
        if self._xapi is None:
            self._xapi = self._connect()
        return self._xapi

    def close(self):
        if self._xapi is not None:
            self._xapi.logout()
            self._xapi = None


# --- arguments ----------------------------------------------------------------

def parse_tokens(command, tokens):
    """Args from command-line tokens; CommandError for a token that is not
    key=value or a known --flag, and for a key given twice."""
    values, flags = {}, set()
    known_flags = [flag for flag, _ in command.flags]
    for token in tokens:
        if token.startswith("--"):
            if token not in known_flags:
                raise CommandError(BAD_ARGUMENT, f"unknown option {show(token)} for "
                                   f"{command.name}; it takes: "
                                   f"{', '.join(known_flags) or 'no options'}")
            flags.add(token)
            continue
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise CommandError(BAD_ARGUMENT, f"argument {show(token)} is not of the form "
                               f"key=value (see: csguard {command.name} --help)")
        if key in values:
            raise CommandError(BAD_ARGUMENT, f"argument {show(key)} is given more than once")
        values[key] = value
    return check_keys(command, values, flags)


def check_keys(command, values, flags=()):
    """Args for values whose keys the command takes; CommandError naming an unknown key."""
    known = [key for key, _ in command.keys]
    for key in values:
        if key not in known:
            raise CommandError(BAD_ARGUMENT, f"unknown argument {show(key)} for "
                               f"{command.name}; it takes: {', '.join(known) or 'none'}")
    return Args(dict(values), set(flags))


def parse_uuid(value, key="uuid"):
    if not _UUID.fullmatch(value):
        raise CommandError(BAD_ARGUMENT, f"{key}={show(value)} is not a uuid (a uuid looks "
                           "like 6f1b7a3c-0d2e-4b8a-9c1d-2e3f4a5b6c7d)")
    return value.lower()


def parse_bool(value, key):
    if value not in _BOOLEANS:
        raise CommandError(BAD_ARGUMENT, f"{key}={show(value)}: use true or false")
    return _BOOLEANS[value]


def parse_duration(value):
    """Seconds in "30m", "2h", "1d", "1h30m", "1w" (units s, m, h, d, w)."""
    parts = _DURATION_PART.findall(value)
    if not value or "".join(n + u for n, u in parts) != value:
        raise CommandError(BAD_ARGUMENT, f"duration={show(value)} is not a duration: use a "
                           "number and a unit (s, m, h, d, w), e.g. 30m, 2h, 1d, 1h30m")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if not 0 < seconds <= MAX_DURATION:
        raise CommandError(BAD_ARGUMENT, f"duration={show(value)} must be more than 0 and "
                           "at most 366d; leave duration out for an exemption without end")
    return seconds


def format_duration(seconds):
    seconds, text = int(seconds), ""
    for unit, size in _UNITS.items():
        if seconds >= size:
            text += f"{seconds // size}{unit}"
            seconds %= size
    return text or "0s"


def parse_reason(value):
    if not value.strip():
        raise CommandError(BAD_ARGUMENT, "reason= is empty: say why, or leave reason out")
    if len(value) > MAX_REASON or _CONTROL.search(value):
        raise CommandError(BAD_ARGUMENT, f"reason= must be one line of at most {MAX_REASON} "
                           "printable characters")
    return value


def show(value):
    """Untrusted text for a message: quoted, escaped, bounded."""
    return records.show(value)


def printable(text):
    """Text with control characters (terminal escapes, newlines) made visible."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _lines(lines):
    """Output text of lines, each made printable."""
    return "".join(printable(line) + "\n" for line in lines)


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
    if _UUID.fullmatch(name):
        ref = _ref_by_uuid(ctx, name.lower())
        if ref is not None:
            return ref, _record(ctx, ref)
    refs = ctx.xapi.call("VM.get_by_name_label", name)
    if not refs:
        raise CommandError(UNKNOWN_VM, f"no VM is named {show(name)}", name)
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


def _exemption(vm):
    text = (vm.get("other_config") or {}).get(records.KEY_EXEMPTION)
    if text is None:
        return None
    try:
        return records.parse_exemption(text)
    except ValueError:
        return None


def _name(vm):
    return show(vm.get("name_label", ""))


# --- what vm-list shows -------------------------------------------------------

FIELDS = ("uuid", "name-label", "power-state", "class", "protected", "rule", "reason",
          "blocked-operations", "csguard-blocked", "exempt-until", "exempt-by",
          "exempt-reason")
DEFAULT_FIELDS = ("uuid", "name-label", "power-state", "class", "protected")
_MAP_FIELDS = ("blocked-operations",)
_SET_FIELDS = ("csguard-blocked",)


def describe(vm, config, now):
    """The FIELDS of one VM, as plain values. protected: every configured
    operation is blocked, by csguard or anyone else."""
    verdict = classify.classify(vm, config, now)
    blocked = vm.get("blocked_operations") or {}
    exemption = _exemption(vm)
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


# --- xe's output formats (xen-api ocaml/xapi-cli-server/cli_printer.ml) -------

def xe_value(value):
    """A value as xe prints it: maps "k: v; k2: v2", sets "a; b", booleans lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _xe_label(field):
    kind = "MRO" if field in _MAP_FIELDS else "SRO" if field in _SET_FIELDS else " RO"
    return f"{field} ({kind})"


def xe_records(rows):
    """Records as xe prints them: labels padded to the longest plus 4, the first
    left-aligned and the others right-aligned, two empty lines after each record."""
    out = []
    for row in rows:
        labels = [(_xe_label(field), value) for field, value in row.items()]
        width = 4 + max(len(label) for label, _ in labels)
        lines = []
        for i, (label, value) in enumerate(labels):
            label = label.ljust(width) if i == 0 else label.rjust(width)
            lines.append(f"{label}: {printable(xe_value(value))}")
        out.append("\n".join(lines) + "\n\n\n")
    return "".join(out)


def xe_minimal(values):
    """xe --minimal: one line of comma-separated values, with "\\" and "," escaped."""
    return ",".join(printable(xe_value(v)).replace("\\", "\\\\").replace(",", "\\,")
                    for v in values) + "\n"


# --- the commands -------------------------------------------------------------

def vm_list(args, ctx):
    """Every VM with csguard's verdict. Templates and snapshots are listed only for
    class=ignored or uuid=, as xe vm-list leaves templates out."""
    want = args.values
    kind = want.get("class")
    if kind is not None and kind not in _KINDS:
        raise CommandError(BAD_ARGUMENT, f"class={show(kind)}: use one of {', '.join(_KINDS)}")
    protected = parse_bool(want["protected"], "protected") if "protected" in want else None
    uuid = parse_uuid(want["uuid"]) if "uuid" in want else None
    power = want.get("power-state")
    fields = _fields(args, DEFAULT_FIELDS)
    now = ctx.now()
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
        row = describe(vm, ctx.config, now)
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
    row = _select(describe(vm, ctx.config, ctx.now()),
                  ("uuid", "name-label", "class", "rule", "reason", "protected",
                   "exempt-until"))
    return Result(row, xe_records([row]))


def vm_unblock(args, ctx):
    """Records the exemption on the VM (who, when, why, until) first, then removes
    csguard's blocks and no one else's, then leaves an audit message: the VM is
    never unblocked without a record, and a failure in between leaves it protected
    or exempt. With duration=, the daemon protects the VM again when it ends."""
    reason = parse_reason(args.values["reason"]) if "reason" in args.values else (
        "no reason given")
    duration = parse_duration(args.values["duration"]) if "duration" in args.values else None
    ref, vm = resolve_vm(args, ctx)
    now = ctx.now()
    until = None if duration is None else now + duration
    exemption = records.Exemption(ctx.who, now, until, reason)
    try:
        record = records.format_exemption(exemption)
    except ValueError as e:
        raise CommandError(BAD_ARGUMENT, str(e))
    other_config = dict(vm.get("other_config") or {})
    verdict = classify.classify(dict(vm, other_config=dict(
        other_config, **{records.KEY_EXEMPTION: record})), ctx.config, now)
    if verdict.kind == classify.ALIEN:
        raise CommandError(FORCED_PROTECTION, f"VM {vm['uuid']} ({_name(vm)}) stays "
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
    _apply(ctx, ref, vm, writes)
    if until is None:
        until_text = "indefinitely"
    else:
        until_text = f"until {records.format_time(until)} ({format_duration(duration)})"
    audit = _audit(ctx, vm, f"VM {_name(vm)} unblocked by {exemption.by} {until_text}: "
                            f"{reason}")
    lines = [(f"VM {vm['uuid']} ({_name(vm)}): exemption recorded by {exemption.by} "
              f"{until_text}: {reason}."),
             f"Removed csguard's blocks: {', '.join(ours) or 'none were set'}."]
    if theirs:
        lines.append(f"Kept blocks set by others: {', '.join(theirs)}.")
    if until is not None:
        lines.append("The csguard daemon protects it again when the exemption ends.")
    lines.append(f"To protect it now: csguard vm-block uuid={vm['uuid']}")
    if audit is not None:
        lines.append(f"Warning: the audit message {MESSAGE_UNBLOCKED} could not be created "
                     f"({audit}); the exemption record on the VM says who unblocked it.")
    data = collections.OrderedDict([
        ("uuid", vm["uuid"]), ("name-label", vm.get("name_label", "")),
        ("exempt-by", exemption.by), ("exempt-at", records.format_time(now)),
        ("exempt-until", "indefinite" if until is None else records.format_time(until)),
        ("exempt-reason", reason), ("removed", ours), ("kept", theirs),
        ("audit-message-error", audit)])
    return Result(data, _lines(lines), 0 if audit is None else 1)


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
    now = ctx.now()
    other_config = dict(vm.get("other_config") or {})
    had_exemption = other_config.pop(records.KEY_EXEMPTION, None) is not None
    unexempted = dict(vm, other_config=other_config)
    verdict = classify.classify(unexempted, ctx.config, now)
    if verdict.kind != classify.ALIEN:
        if ctx.config.protect_tag:
            how = (f"tag it: xe vm-param-add uuid={vm['uuid']} param-name=tags "
                   f"param-key={ctx.config.protect_tag}")
        else:
            how = "add its uuid to overrides.protect.uuids in the configuration"
        raise CommandError(NOT_ALIEN, f"VM {vm['uuid']} is {verdict.kind}, not alien: "
                           f"{verdict.reason}. csguard blocks only aliens; to protect it "
                           f"anyway {how}. Nothing was changed.", vm["uuid"], verdict.kind)
    protect = plan.plan(unexempted, verdict, ctx.config, now)
    writes = [plan.Write(plan.REMOVE_OTHER, records.KEY_EXEMPTION, None)] if had_exemption else []
    _apply(ctx, ref, vm, writes + list(protect))
    blocked = sorted(w.key for w in protect if w.call == plan.ADD_BLOCK)
    lines = [(f"VM {vm['uuid']} ({_name(vm)}): "
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
    return Result(data, _lines(lines))


def _apply(ctx, ref, vm, writes):
    try:
        ctx.xapi.apply(ref, writes)
    except XapiError as e:
        raise CommandError(WRITE_FAILED, f"XAPI refused a change to VM {vm['uuid']}: {e}. "
                           "Run the command again once that is resolved.",
                           e.code, *e.params)


def scan(args, ctx):
    """One reconcile pass over every VM, as the daemon's first pass does; for a
    pool whose daemon is not running yet (before a host is added to CloudStack)."""
    dry = parse_bool(args.values["dry-run"], "dry-run") if "dry-run" in args.values else False
    now = ctx.now()
    counts = collections.OrderedDict((kind, 0) for kind in _KINDS)
    changes, failed = [], 0
    vms = ctx.xapi.vm_records()
    for ref, vm in sorted(vms.items(), key=lambda item: (item[1].get("name_label", ""),
                                                         item[0])):
        verdict = classify.classify(vm, ctx.config, now)
        counts[verdict.kind] += 1
        writes = plan.plan(vm, verdict, ctx.config, now)
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
    return Result(data, _lines(lines), 1 if failed else 0)


def _describe_write(write):
    verbs = {plan.ADD_BLOCK: "block", plan.REMOVE_BLOCK: "unblock",
             plan.ADD_OTHER: "record", plan.REMOVE_OTHER: "remove"}
    return f"{verbs.get(write['call'], write['call'])} {write['key']}"


def attempts(args, ctx):
    """Blocked attempts (which operation hit which VM, when), from the XAPI messages
    the daemon leaves: this works whether or not the daemon runs."""
    uuid = parse_uuid(args.values["uuid"]) if "uuid" in args.values else None
    found = []
    for message in ctx.xapi.call("message.get_all_records").values():
        if message.get("name") != report.MSG_BLOCKED_ATTEMPT:
            continue
        if uuid is not None and message.get("obj_uuid") != uuid:
            continue
        found.append(collections.OrderedDict([
            ("timestamp", _message_time(message.get("timestamp"))),
            ("vm-uuid", message.get("obj_uuid", "")),
            ("body", message.get("body", ""))]))
    found.sort(key=lambda m: m["timestamp"])
    if not found:
        only = f" for VM {uuid}" if uuid else ""
        return Result(found, f"No blocked attempts recorded{only}.\n")
    return Result(found, xe_records(found))


def _message_time(value):
    """XAPI's DateTime (20261125T04:10:05Z) as 2026-11-25T04:10:05Z."""
    text = str(getattr(value, "value", value) or "")
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})T(\d{2}:\d{2}:\d{2})Z?", text)
    return "{}-{}-{}T{}Z".format(*match.groups()) if match else text


def status(args, ctx):
    """The daemon's own report (state_dir/status.json): role, connection, counts,
    last event, recent blocked attempts. The daemon rewrites the file only when
    something changes, so whether it runs is told by its pid, not the file's age."""
    path = os.path.join(ctx.config.state_dir, report.STATUS_FILE)
    try:
        with open(path) as handle:
            daemon = json.load(handle)
        written = os.stat(path).st_mtime
    except FileNotFoundError:
        error = (f"the csguard daemon is not running on this host: it has never written "
                 f"{path} (see: systemctl status csguard)")
        return Result({"running": False, "error": error, "status_file": path},
                      f"{error[0].upper()}{error[1:]}.\n", 1)
    except (OSError, ValueError) as e:
        raise CommandError(STATUS_UNREADABLE, f"cannot read the daemon's status file "
                           f"{path}: {e}")
    if not isinstance(daemon, dict):
        raise CommandError(STATUS_UNREADABLE, f"{path} is not a csguard status report")
    now = ctx.now()
    running = _pid_alive(daemon.get("pid")) and daemon.get("role") != "stopped"
    data = collections.OrderedDict(sorted(daemon.items()))
    data.update([("running", running), ("status_file", path),
                 ("written_seconds_ago", round(now - written, 1))])
    lines = []
    if not running:
        data["error"] = (f"the csguard daemon is not running (pid {daemon.get('pid')}); its "
                         f"last report was written {format_duration(now - written)} ago")
        lines.append(f"NOT RUNNING: {data['error']}. Nothing protects new VMs; see: "
                     "systemctl status csguard")
    lines.extend(_status_text(daemon, now))
    return Result(data, _lines(lines), 0 if running else 1)


def _pid_alive(pid):
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_STATUS_FIRST = ("role", "connection", "mode", "counts", "last_event_at", "pid", "version",
                 "started_at", "updated_at")


def _status_text(daemon, now):
    """Lines: the report as one xe record (times with their age), then the recent
    blocked attempts, one per line."""
    row = collections.OrderedDict()
    first = [key for key in _STATUS_FIRST if key in daemon]
    for key in first + sorted(set(daemon) - set(first)):
        value = daemon[key]
        if key == "blocked_attempts":
            continue
        if key.endswith("_at") and isinstance(value, str):
            value = _with_age(value, now)
        row[key.replace("_", "-")] = value
    lines = xe_records([row]).rstrip("\n").split("\n") if row else []
    seen = daemon.get("blocked_attempts") or []
    lines.append(f"recent blocked attempts: {len(seen) or 'none'}")
    for attempt in seen:
        if isinstance(attempt, dict):
            lines.append("  " + " ".join(f"{k}={attempt[k]}" for k in sorted(attempt)))
        else:
            lines.append(f"  {attempt}")
    return lines


def _with_age(text, now):
    try:
        return f"{text} ({format_duration(max(0, now - records.parse_time(text)))} ago)"
    except ValueError:
        return text


_BASH_COMPLETION = """\
# bash completion for csguard (generated by: csguard completion)
_csguard() {
    local cur="${COMP_WORDS[COMP_CWORD]}" key="" words=""
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=( $(compgen -W "@COMMANDS@ --help" -- "$cur") )
        return
    fi
    # bash splits "key=value" at "=" (COMP_WORDBREAKS): the key is two words back.
    if [ "$cur" = "=" ]; then
        key="${COMP_WORDS[COMP_CWORD-1]}"; cur=""
    elif [ "${COMP_WORDS[COMP_CWORD-1]}" = "=" ]; then
        key="${COMP_WORDS[COMP_CWORD-2]}"
    fi
    if [ -n "$key" ]; then
        case "$key" in
            class) words="@KINDS@" ;;
            protected|dry-run) words="true false" ;;
            uuid|vm) words="$("${COMP_WORDS[0]}" vm-list --minimal 2>/dev/null | tr , ' ')" ;;
        esac
        COMPREPLY=( $(compgen -W "$words" -- "$cur") )
        return
    fi
    case "${COMP_WORDS[1]}" in
@CASES@
    esac
    COMPREPLY=( $(compgen -W "$words --help" -- "$cur") )
    if [ "${COMPREPLY[0]: -1}" = "=" ]; then compopt -o nospace 2>/dev/null; fi
}
complete -F _csguard csguard
"""


def completion(args, ctx):
    """A bash completion script for csguard: commands, their keys and options, and
    values of class=, protected=, dry-run=, uuid= and vm=. Install it with:
    csguard completion > /etc/bash_completion.d/csguard"""
    cases = []
    for entry in COMMANDS:
        words = [key + "=" for key, _ in entry.keys] + [flag for flag, _ in entry.flags]
        if words:
            cases.append(f'        {entry.name}) words="{" ".join(words)}" ;;')
    script = (_BASH_COMPLETION
              .replace("@COMMANDS@", " ".join([c.name for c in COMMANDS] + ["daemon"]))
              .replace("@KINDS@", " ".join(_KINDS))
              .replace("@CASES@", "\n".join(cases)))
    return Result(script, script)


_VM = (("uuid", "the VM's uuid"), ("vm", "the VM's name-label or uuid"))
_JSON = ("--json", "JSON for scripts")

COMMANDS = (
    Command("vm-list", vm_list, (
        ("class", "alien, cloudstack, exempt or ignored (ignored also lists templates)"),
        ("protected", "true or false: every configured operation is blocked"),
        ("uuid", "only this VM"), ("name-label", "VMs with exactly this name"),
        ("power-state", "running, halted, paused or suspended"),
        ("params", "fields to show, comma-separated, or all: " + ", ".join(FIELDS))),
        (("--minimal", "only the first field, comma-separated, as xe --minimal"), _JSON),
        "list VMs with csguard's verdict", True),
    Command("vm-unblock", vm_unblock, _VM + (
        ("reason", "why (recorded on the VM and in the audit message)"),
        ("duration", "how long, e.g. 30m, 2h, 1d (default: until vm-block)")),
        (_JSON,), "exempt a VM and remove csguard's blocks", True),
    Command("vm-block", vm_block, _VM, (_JSON,),
            "end a VM's exemption and protect it now", True),
    Command("vm-classify", vm_classify, _VM, (_JSON,),
            "show a VM's verdict and the rule that decided it", True),
    Command("status", status, (), (_JSON,),
            "the daemon's role, connection, counts and recent attempts", True),
    Command("attempts", attempts, (("uuid", "only this VM"),), (_JSON,),
            "blocked attempts: which operation hit which VM, when", True),
    Command("scan", scan, (("dry-run", "true: only print what would change"),), (_JSON,),
            "one reconcile pass without the daemon", False),
    Command("completion", completion, (), (), "print a bash completion script", False),
    Command("preflight", preflight.run, (), (_JSON,),
            "is this pool safe to hand to CloudStack? (read-only report)", True),
)


def command(name):
    """The Command called name, or None."""
    for entry in COMMANDS:
        if entry.name == name:
            return entry
    return None


# --- the program --------------------------------------------------------------

GLOBAL_OPTIONS = (
    ("--xapi-url", (f"unix:///path or http(s)://host[:port]/ (env {ENV_XAPI_URL}; "
                    "default: the configuration's, else the local xapi socket)")),
    ("--config", (f"configuration file (env {ENV_CONFIG}; default "
                  f"{configuration.DEFAULT_PATH}, built-in defaults if it is absent)")),
    ("--state-dir", "where the daemon writes status.json (default: the configuration's)"),
)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        options, name, rest = split_global_options(argv)
    except CommandError as e:
        return _fail(e)
    if name == "daemon":
        from csguard import daemon
        forwarded = [token for option, value in options.items() for token in (option, value)]
        return daemon.main(forwarded + rest)
    if name in (None, "help", "--help", "-h"):
        topic = command(rest[0]) if name == "help" and rest else None
        sys.stdout.write(command_help(topic) if topic else overview())
        return 0
    if name == "--version":
        from csguard import __version__
        sys.stdout.write(f"csguard {__version__}\n")
        return 0
    entry = command(name)
    if entry is None:
        names = ", ".join([c.name for c in COMMANDS] + ["daemon"])
        return _fail(CommandError(BAD_ARGUMENT, f"unknown command {show(name)}; commands: "
                                  f"{names} (csguard --help)"))
    if "--help" in rest or "-h" in rest:
        sys.stdout.write(command_help(entry))
        return 0
    try:
        args = parse_tokens(entry, rest)
        config = load_config(options)
        url = options.get("--xapi-url") or os.environ.get(ENV_XAPI_URL) or config.xapi_url
        credentials = _credentials(url, config)
    except CommandError as e:
        return _fail(e)
    ctx = Context(config, local_user(), lambda: connect(url, credentials, config))
    try:
        result = entry.run(args, ctx)
    except CommandError as e:
        return _fail(e)
    except XapiUnavailable as e:
        return _fail(CommandError(XAPI_UNAVAILABLE, f"cannot reach XAPI at {url}: {e}"))
    except XapiError as e:
        return _fail(CommandError(XAPI_ERROR, f"XAPI refused: {e}"))
    finally:
        ctx.close()
    if "--json" in args.flags:
        sys.stdout.write(json.dumps(result.data, indent=2) + "\n")
    else:
        sys.stdout.write(result.text)
    return result.status


def split_global_options(argv):
    """({option: value}, command name or None, the command's own tokens). Global
    options go anywhere, except after `daemon`, which gets its tokens untouched."""
    options, rest, name = collections.OrderedDict(), [], None
    known = [option for option, _ in GLOBAL_OPTIONS]
    tokens = iter(argv)
    for token in tokens:
        if name == "daemon":
            rest.append(token)
            continue
        option, sep, value = token.partition("=")
        if option not in known:
            if name is None:
                name = token
            else:
                rest.append(token)
            continue
        if not sep:
            value = next(tokens, "")
        if not value:
            raise CommandError(BAD_ARGUMENT, f"{option} needs a value")
        options[option] = value
    return options, name, rest


def load_config(options):
    """The Config. An explicit --config (or CSGUARD_CONFIG) must exist; the default
    file may be absent, then the built-in defaults apply."""
    path = options.get("--config") or os.environ.get(ENV_CONFIG)
    try:
        if path is None and not os.path.exists(configuration.DEFAULT_PATH):
            config = configuration.Config()
        else:
            config = configuration.load(path or configuration.DEFAULT_PATH)
        if options.get("--state-dir"):
            config = config.with_overrides(state_dir=options["--state-dir"])
    except configuration.ConfigError as e:
        raise CommandError(CONFIG_ERROR, str(e))
    return config


def _credentials(url, config):
    """(user, password) for an http(s) XAPI, from the configured credentials file."""
    if url.startswith("unix://") or not config.credentials_file:
        return None
    try:
        return configuration.load_credentials(config.credentials_file)
    except configuration.ConfigError as e:
        raise CommandError(CONFIG_ERROR, str(e))


def xapi_options(config):
    """Xapi keyword arguments: keep what the commands read of VM records, including
    a configured override key outside csguard's own "csguard:" keys."""
    override = (config.override_key,) if config.override_key else ()
    return {"vm_fields": VM_FIELDS,
            "other_config_keys": override + preflight.OTHER_CONFIG_KEYS}


def connect(url, credentials, config):
    try:
        xapi = Xapi(url, credentials=credentials, timeout=config.call_timeout,
                    originator="csguard-cli", **xapi_options(config))
    except ValueError as e:
        raise CommandError(BAD_ARGUMENT, str(e))
    xapi.login()
    return xapi


def local_user():
    """Who runs the command, for the audit record: the sudo caller, else the login
    user, else the account of this process."""
    if os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]
    try:
        return os.getlogin()
    except OSError:
        pass
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


def _fail(error):
    sys.stderr.write(f"Error: {printable(error.message)}\n")
    return EXIT_STATUSES.get(error.code, EXIT_REFUSED)


def overview():
    lines = ["usage: csguard [global options] <command> [key=value ...] [--flag ...]", "",
             "commands:"]
    lines += [f"  {entry.name:<12} {entry.summary}" for entry in COMMANDS]
    lines += [f"  {'daemon':<12} run the daemon (csguard daemon --help)", "",
              "global options:"]
    lines += [textwrap.fill(text, 79, initial_indent=f"  {option:<12} ",
                            subsequent_indent=" " * 15) for option, text in GLOBAL_OPTIONS]
    lines += ["", "exit status: 0 done; 1 refused or not OK (e.g. unknown VM, daemon not",
              "running); 64 bad arguments; 69 XAPI unreachable or refusing; 78 bad",
              "configuration.", "", "csguard <command> --help describes a command."]
    return "\n".join(lines) + "\n"


def command_help(entry):
    keys = " ".join(f"[{key}=...]" for key, _ in entry.keys)
    flags = " ".join(f"[{flag}]" for flag, _ in entry.flags)
    lines = [f"usage: csguard {entry.name} {keys} {flags}".rstrip(), "",
             entry.summary[0].upper() + entry.summary[1:] + "."]
    if entry.run.__doc__:
        lines += ["", textwrap.fill(" ".join(entry.run.__doc__.split()), 79)]
    if entry.keys:
        lines += ["", "arguments:"] + [f"  {key:<12} {text}" for key, text in entry.keys]
    if entry.flags:
        lines += ["", "options:"] + [f"  {flag:<12} {text}" for flag, text in entry.flags]
    return "\n".join(lines) + "\n"
