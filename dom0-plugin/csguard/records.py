"""The text formats csguard writes on VMs, and their strict parsers.

Four things live on a VM record:
- a blocked_operations reason (``blocked_reason``): what CloudStack's operator reads
  in CloudStack's log when a stop fails, so it says what protected the VM and how to
  unblock it. It starts with ``MARKER + ":"``, which is how we recognise our own
  entries (``is_ours``) and never touch anyone else's.
- the verdict record ``other_config["csguard:verdict"]``: "alien since <time>:
  <reason>", readable in XenCenter, Xen Orchestra and ``xe vm-param-list``.
- the exemption record ``other_config["csguard:exemption"]``: an operator's decision
  to let CloudStack act on the VM (JSON; who, when, until, why, and the uuid of the
  VM it was granted for: clone, copy and import carry other_config to new VMs, and
  a record on any other VM is void). csguard writes one too, with ``via`` naming
  the rule, whenever it lifts its blocks for any other reason than an operator's
  exemption (an allow override, a VM found to be CloudStack's): every lifted block
  leaves a record of who, when and why. Only ``via: vm-unblock`` records exempt.
- the affinity record ``other_config["csguard:affinity"]``: the uuid of the host
  that was a protected halted VM's affinity before csguard cleared it
  (plan_affinity), so that it can be put back.

Everything read back from a VM may have been written by anyone, so the parsers
accept only exactly what the formatters produce.
"""
import calendar
import collections
import json
import re
import time

MARKER = "csguard"
KEY_VERDICT = MARKER + ":verdict"
KEY_EXEMPTION = MARKER + ":exemption"
KEY_AFFINITY = MARKER + ":affinity"

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TIME_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_VERDICT_SHAPE = re.compile(
    r"([a-z]+) since ([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z): (.*)",
    re.DOTALL)
UUID_SHAPE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                         re.IGNORECASE)
_EXEMPTION_FIELDS = ("by", "at", "until", "reason", "vm", "via")
VIA_UNBLOCK = "vm-unblock"
_VIA_SHAPE = re.compile(r"[a-z0-9-]{1,64}")
MAX_EXEMPTION_LENGTH = 4096


def format_time(epoch):
    """UTC, whole seconds, ISO 8601 with Z: what XAPI tools and people read easily."""
    return time.strftime(_TIME_FORMAT, time.gmtime(epoch))


def parse_time(text):
    """Inverse of format_time; ValueError for anything else (no other ISO variants)."""
    if not isinstance(text, str) or not _TIME_SHAPE.fullmatch(text):
        raise ValueError(f"time {show(text)} is not of the form 2026-11-25T04:10:05Z")
    try:
        return float(calendar.timegm(time.strptime(text, _TIME_FORMAT)))
    except ValueError:
        raise ValueError(f"time {show(text)} is not a valid date and time") from None


def blocked_reason(vm_uuid):
    """The reason stored on each operation we block; CloudStack logs it verbatim.

    It depends on the VM alone (no timestamp), so rewriting it never changes it.
    """
    return (f"{MARKER}: VM protected from CloudStack (not created by it). To allow "
            f"shutdown/destroy run on a pool host: csguard vm-unblock uuid={vm_uuid} "
            "reason=<why> duration=<how long, e.g. 2h>")


def names_another_vm(reason, vm_uuid):
    """True for a reason whose unblock hint names a VM other than vm_uuid (blocks
    carried over from the VM an import or copy came from)."""
    named = re.search(r"vm-unblock uuid=(\S+)", reason or "")
    return named is not None and named.group(1).lower() != str(vm_uuid).lower()


def is_ours(reason):
    """True for a blocked_operations reason csguard wrote (any version of its text)."""
    return isinstance(reason, str) and reason.startswith(MARKER + ":")


def parse_affinity(text):
    """The host uuid (lower case) of an affinity record, or None if it is not one."""
    if isinstance(text, str) and UUID_SHAPE.fullmatch(text):
        return text.lower()
    return None


def format_verdict(kind, since, reason):
    return f"{kind} since {format_time(since)}: {reason}"


def parse_verdict(text):
    """(kind, since, reason) of a verdict record, or None if it is not one we wrote."""
    match = _VERDICT_SHAPE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    try:
        since = parse_time(match.group(2))
    except ValueError:
        return None
    return match.group(1), since, match.group(3)


Exemption = collections.namedtuple("Exemption", "by at until reason vm via")
Exemption.__new__.__defaults__ = (VIA_UNBLOCK,)
Exemption.__doc__ = """Who lifted csguard's blocks, when (epoch), until (epoch, or None
while the rule that lifted them holds), why, the uuid of the VM, and via: vm-unblock
for an operator's exemption, else the rule that lifted them."""


def format_exemption(exemption):
    """The exemption record; ValueError if it would be too long to parse back."""
    text = json.dumps({
        "by": exemption.by,
        "at": format_time(exemption.at),
        "until": None if exemption.until is None else format_time(exemption.until),
        "reason": exemption.reason,
        "vm": exemption.vm.lower(),
        "via": exemption.via,
    }, sort_keys=True)
    if len(text) > MAX_EXEMPTION_LENGTH:
        raise ValueError(f"the exemption record would be longer than {MAX_EXEMPTION_LENGTH} "
                         "characters: give a shorter reason")
    return text


def parse_exemption(text):
    """The Exemption in an exemption record; ValueError(why) for anything malformed.

    An exemption lets CloudStack destroy a VM, so only a record with exactly our
    fields and types counts: a near miss is no exemption.
    """
    # Every malformation is a ValueError, wrong types included: callers catch one thing.
    if not isinstance(text, str):
        raise ValueError("it is not text")  # noqa: TRY004
    if len(text) > MAX_EXEMPTION_LENGTH:
        raise ValueError(f"it is longer than {MAX_EXEMPTION_LENGTH} characters")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"it is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError("it is not a JSON object")  # noqa: TRY004
    missing = [name for name in _EXEMPTION_FIELDS if name not in data]
    if missing:
        raise ValueError("missing field " + ", ".join(missing))
    extra = sorted(set(data) - set(_EXEMPTION_FIELDS))
    if extra:
        raise ValueError("unknown field " + ", ".join(show(name) for name in extra))
    for name in ("by", "reason"):
        if not isinstance(data[name], str) or not data[name].strip():
            raise ValueError(f"field {name!r} must be non-empty text")
    vm = data["vm"]
    if not isinstance(vm, str) or not UUID_SHAPE.fullmatch(vm) or vm != vm.lower():
        raise ValueError(f"field 'vm' must be a VM uuid in lower case, not {show(vm)}")
    via = data["via"]
    if not isinstance(via, str) or not _VIA_SHAPE.fullmatch(via):
        raise ValueError(f"field 'via' must name a rule, not {show(via)}")
    at = parse_time(data["at"])
    until = None if data["until"] is None else parse_time(data["until"])
    if until is not None and until <= at:
        raise ValueError(f"it ends ({data['until']}) before it starts ({data['at']})")
    return Exemption(data["by"], at, until, data["reason"], vm, via)


def foreign_exemption(vm):
    """The valid exemption record on vm that was written for another VM (it came
    with a clone, copy or import), or None."""
    exemption = _valid_exemption(vm)
    uuid = vm.get("uuid")
    if exemption is None or (isinstance(uuid, str) and exemption.vm == uuid.lower()):
        return None
    return exemption


def granted_exemption(vm):
    """The exemption an operator granted this very VM (vm-unblock), run out or not;
    None for none, a malformed one, a copy's, or csguard's record of lifted blocks."""
    exemption = _valid_exemption(vm)
    if exemption is None or exemption.via != VIA_UNBLOCK or foreign_exemption(vm):
        return None
    return exemption


def lift_record(vm):
    """The record csguard left on this VM when it lifted its blocks by a rule (no
    operator's exemption), or None."""
    exemption = _valid_exemption(vm)
    if exemption is None or exemption.via == VIA_UNBLOCK or foreign_exemption(vm):
        return None
    return exemption


def _valid_exemption(vm):
    other_config = vm.get("other_config")
    if not isinstance(other_config, dict):
        return None
    try:
        return parse_exemption(other_config.get(KEY_EXEMPTION))
    except ValueError:
        return None


def _no_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"field {show(key)} appears twice")
    return dict(pairs)


def show(value, limit=64):
    """A safe, bounded rendering of untrusted text (VM names, other_config values)
    for reasons, messages and logs: repr-escaped, at most ``limit`` characters."""
    if not isinstance(value, str):
        return repr(value)[:limit]
    if len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    return repr(value)
