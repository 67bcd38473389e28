"""The XAPI writes that make one VM match its verdict (pure; the daemon applies them).

The plan is computed from the VM's full current record every time (level-
triggered), and a VM already in the wanted state plans nothing, so the events our
own writes cause come back as empty plans. Only map add/remove calls are used, so a
concurrent writer's keys are never lost, and only entries carrying our marker are
ever changed or removed. An exemption record that came with a clone, copy or
import from the VM it was granted for is void and csguard's own, so it is removed;
blocks lifted by a rule leave a record of their own (records.lift_record).
The affinity writes that keep hosts connectable come from plan_affinity and
follow the blocks. Nothing is written while an import runs on the VM.
"""
import collections

from csguard import plan_affinity, records
from csguard.classify import ALIEN, CLOUDSTACK, EXEMPT, IGNORED

Write = collections.namedtuple("Write", "call key value")
Write.__doc__ = """One XAPI call on the VM: call is add_to_/remove_from_ +
blocked_operations/other_config (value is None for removes), or one of
plan_affinity's CLEAR and RESTORE (key and value as it says)."""

ADD_BLOCK = "add_to_blocked_operations"
REMOVE_BLOCK = "remove_from_blocked_operations"
ADD_OTHER = "add_to_other_config"
REMOVE_OTHER = "remove_from_other_config"
CLEAR_AFFINITY = plan_affinity.CLEAR
RESTORE_AFFINITY = plan_affinity.RESTORE


def plan(vm, verdict, config, now, hosts):
    """The tuple of Writes for vm (an XAPI record) given its verdict; () if none.
    hosts is {ref: uuid} of the pool's hosts (for the affinity)."""
    if config.mode != "enforce" or _arriving(vm):
        return ()
    blocked = _mapping(vm.get("blocked_operations"))
    other_config = _mapping(vm.get("other_config"))
    writes = ()
    if verdict.kind == ALIEN:
        writes = _protect(vm, verdict, config, now, blocked, other_config)
    elif verdict.kind in (CLOUDSTACK, EXEMPT):
        writes = _unprotect(blocked, other_config)
    if verdict.kind != IGNORED:
        writes += _exemption_record(vm, verdict, now, other_config,
                                    any(w.call == REMOVE_BLOCK for w in writes)
                                    and verdict.kind != ALIEN)
    return writes + tuple(Write(*w) for w in plan_affinity.plan(vm, verdict, config, hosts))


def _arriving(vm):
    """An import or incoming migration is under way: XAPI then refuses every other
    operation on the VM (xapi_vm_lifecycle.ml), and a destroy block would only make
    its clean-up of a failed import leave the VM behind. Its end is a change of
    current_operations, so the VM is planned again at once."""
    return "import" in _mapping(vm.get("current_operations")).values()


def protect_order(operations):
    """The configured operations, `destroy` first: it is the one that loses data,
    so it must not wait behind (or be skipped after) another write."""
    return sorted(operations, key=lambda op: op != "destroy")


def _protect(vm, verdict, config, now, blocked, other_config):
    """Block every configured op, destroy first (anyone's entry counts), rewrite our
    entries that name another VM, drop ours from ops no longer configured; then the
    verdict record. Our entries in an older wording stay: a rewrite is a remove and
    an add, with the operation unblocked in between."""
    wanted = records.blocked_reason(vm.get("uuid"))
    writes = []
    for op in protect_order(config.block_operations):
        current = blocked.get(op)
        if op not in blocked:
            writes.append(Write(ADD_BLOCK, op, wanted))
        elif records.is_ours(current) and records.names_another_vm(current, vm.get("uuid")):
            writes.append(Write(REMOVE_BLOCK, op, None))
            writes.append(Write(ADD_BLOCK, op, wanted))
    for op in sorted(blocked):
        if op not in config.block_operations and records.is_ours(blocked[op]):
            writes.append(Write(REMOVE_BLOCK, op, None))
    current = other_config.get(records.KEY_VERDICT)
    previous = records.parse_verdict(current)
    since = previous[1] if previous is not None and previous[0] == ALIEN else now
    record = records.format_verdict(ALIEN, since, verdict.reason)
    if current != record:
        if records.KEY_VERDICT in other_config:
            writes.append(Write(REMOVE_OTHER, records.KEY_VERDICT, None))
        writes.append(Write(ADD_OTHER, records.KEY_VERDICT, record))
    return tuple(writes)


def _unprotect(blocked, other_config):
    writes = [Write(REMOVE_BLOCK, op, None) for op in sorted(blocked)
              if records.is_ours(blocked[op])]
    if records.KEY_VERDICT in other_config:
        writes.append(Write(REMOVE_OTHER, records.KEY_VERDICT, None))
    return tuple(writes)


def _exemption_record(vm, verdict, now, other_config, lifting):
    """A copy's record goes; lifting blocks by a rule (not an operator's exemption)
    leaves a record of who, when and why, which goes when the VM is protected again."""
    stale = records.foreign_exemption(vm) is not None or (
        verdict.kind == ALIEN and records.lift_record(vm) is not None)
    writes = [Write(REMOVE_OTHER, records.KEY_EXEMPTION, None)] if stale else []
    uuid = vm.get("uuid")
    if (lifting and verdict.rule != "exemption" and isinstance(uuid, str)
            and records.UUID_SHAPE.fullmatch(uuid)
            and (stale or records.KEY_EXEMPTION not in other_config)):
        who = "; XAPI does not say who set it" if verdict.rule.startswith("override-") \
            and verdict.rule != "override-config" else ""
        lift = records.Exemption("csguard", now, None, f"csguard lifted its blocks: "
                                 f"{verdict.reason[:1000]}{who}", uuid, verdict.rule)
        writes.append(Write(ADD_OTHER, records.KEY_EXEMPTION, records.format_exemption(lift)))
    return tuple(writes)


def next_expiry(vm, now):
    """When this VM's exemption runs out (epoch), if it is valid and still running;
    the daemon reclassifies the VM then, since no event will tell it."""
    exemption = records.granted_exemption(vm)
    if exemption is None or exemption.until is None or exemption.until <= now:
        return None
    return exemption.until


def _mapping(value):
    return value if isinstance(value, dict) else {}
