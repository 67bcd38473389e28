"""plan_affinity (through plan.plan): a protected halted VM's affinity is recorded and
cleared, given back on release only if still NULL and the host still exists, and
nothing else's affinity is ever touched."""
import copy

import pytest
from csguard import config, records
from csguard.classify import ALIEN, CLOUDSTACK, EXEMPT, IGNORED, Verdict, classify
from csguard.plan import (
    ADD_BLOCK,
    CLEAR_AFFINITY,
    RESTORE_AFFINITY,
    Write,
    plan,
)
from csguard.plan_affinity import NULL_REF

NOW = 1795579805.0
UUID = "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b3f"
HOST_A, HOST_B, GONE = "OpaqueRef:host-a", "OpaqueRef:host-b", "OpaqueRef:host-gone"
UUID_A = "8a8c4d7e-1b2f-4c3d-9e4f-5a6b7c8d9e0f"
UUID_B = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
UUID_GONE = "6c5b4a39-2817-4f06-9e5d-4c3b2a1f0e9d"
HOSTS = {HOST_A: UUID_A, HOST_B: UUID_B}
DEFAULT = config.Config()
OFF = config.Config(clear_halted_affinity=False)
AUDIT = config.Config(mode="audit")
ALIEN_VERDICT = Verdict(ALIEN, "no-cloudstack-name", "name 'web01' is not a CloudStack name")
EXEMPT_VERDICT = Verdict(EXEMPT, "exemption", "exempted by root")
OPS = DEFAULT.block_operations


def vm(power_state="Halted", affinity=HOST_A, other_config=None, protected=True, **fields):
    blocked = {op: records.blocked_reason(UUID) for op in OPS} if protected else {}
    record = {"uuid": UUID, "name_label": "web01", "is_control_domain": False,
              "is_a_template": False, "is_a_snapshot": False, "tags": [],
              "other_config": dict(other_config or {}), "blocked_operations": blocked,
              "power_state": power_state, "affinity": affinity}
    record.update(fields)
    return record


def affinity_writes(record, verdict=ALIEN_VERDICT, cfg=DEFAULT, hosts=HOSTS):
    return tuple(w for w in plan(record, verdict, cfg, NOW, hosts)
                 if w.call in (CLEAR_AFFINITY, RESTORE_AFFINITY))


def apply(record, writes):
    """What xapi.apply does with the writes, on a copy of the record."""
    record = copy.deepcopy(record)
    for write in writes:
        if write.call == CLEAR_AFFINITY:
            assert record["affinity"] == write.key
            record["other_config"][records.KEY_AFFINITY] = write.value
            record["affinity"] = NULL_REF
        elif write.call == RESTORE_AFFINITY:
            if write.key is not None and record["affinity"] == NULL_REF:
                record["affinity"] = write.key
            record["other_config"].pop(records.KEY_AFFINITY, None)
        elif write.call.endswith("blocked_operations"):
            if write.value is None:
                record["blocked_operations"].pop(write.key, None)
            else:
                record["blocked_operations"][write.key] = write.value
        elif write.value is None:
            record["other_config"].pop(write.key, None)
        else:
            record["other_config"][write.key] = write.value
    return record


# ---- clearing ----

def test_a_protected_halted_vm_gives_up_its_host_affinity_recorded_first():
    assert affinity_writes(vm()) == (Write(CLEAR_AFFINITY, HOST_A, UUID_A),)


def test_the_affinity_is_cleared_after_the_blocks_are_set():
    writes = plan(vm(protected=False), ALIEN_VERDICT, DEFAULT, NOW, HOSTS)
    assert [w.call for w in writes][-1] == CLEAR_AFFINITY
    assert {w.key for w in writes if w.call == ADD_BLOCK} == set(OPS)


@pytest.mark.parametrize("record", [
    vm(power_state="Running"), vm(power_state="Suspended"), vm(power_state="Paused"),
    vm(affinity=NULL_REF),
    vm(affinity=GONE),          # no host of the pool: no connect can match it
    vm(affinity=None),          # a record without the field
])
def test_nothing_to_clear(record):
    assert affinity_writes(record) == ()


def test_replanning_after_clearing_gives_nothing():
    after = apply(vm(), plan(vm(), classify(vm(), DEFAULT, NOW), DEFAULT, NOW, HOSTS))
    assert after["affinity"] == NULL_REF
    assert after["other_config"][records.KEY_AFFINITY] == UUID_A
    assert plan(after, classify(after, DEFAULT, NOW), DEFAULT, NOW, HOSTS) == ()


def test_an_affinity_set_again_is_recorded_again_and_cleared():
    """Set by CloudStack's StopCommand or an operator after csguard cleared it:
    the record follows the latest host, which is what the VM had."""
    record = vm(affinity=HOST_B, other_config={records.KEY_AFFINITY: UUID_A})
    assert affinity_writes(record) == (Write(CLEAR_AFFINITY, HOST_B, UUID_B),)
    assert apply(record, affinity_writes(record))["other_config"][records.KEY_AFFINITY] == UUID_B


def test_a_hand_edited_record_is_replaced_by_the_host_it_must_name_before_clearing():
    """The affinity is the fact; a record that is no host uuid cannot be restored
    from, so it gives way (the daemon logs the text it replaces)."""
    record = vm(affinity=HOST_A, other_config={records.KEY_AFFINITY: "my note"})
    assert affinity_writes(record) == (Write(CLEAR_AFFINITY, HOST_A, UUID_A),)


def test_a_running_vm_keeps_its_record_and_affinity_until_halted():
    record = vm(power_state="Running", affinity=HOST_B,
                other_config={records.KEY_AFFINITY: UUID_A})
    assert affinity_writes(record) == ()


def test_audit_mode_changes_nothing():
    record = vm(other_config={records.KEY_AFFINITY: UUID_A}, affinity=NULL_REF)
    for one in (vm(), record):
        for verdict in (ALIEN_VERDICT, EXEMPT_VERDICT):
            assert plan(one, verdict, AUDIT, NOW, HOSTS) == ()


@pytest.mark.parametrize("flag", ["is_control_domain", "is_a_template", "is_a_snapshot"])
def test_ignored_vms_keep_their_affinity_and_any_record(flag):
    for record in (vm(**{flag: True}),
                   vm(affinity=NULL_REF, other_config={records.KEY_AFFINITY: UUID_A},
                      **{flag: True})):
        verdict = classify(record, DEFAULT, NOW)
        assert verdict.kind == IGNORED
        assert plan(record, verdict, DEFAULT, NOW, HOSTS) == ()


def test_cloudstack_vms_keep_their_affinity():
    record = vm(name_label="i-2-10-VM", protected=False)
    verdict = classify(record, DEFAULT, NOW)
    assert verdict.kind == CLOUDSTACK
    assert plan(record, verdict, DEFAULT, NOW, HOSTS) == ()


# ---- restoring ----

RELEASED = vm(affinity=NULL_REF, other_config={records.KEY_AFFINITY: UUID_A})


@pytest.mark.parametrize("verdict, cfg", [
    (EXEMPT_VERDICT, DEFAULT),                                  # vm-unblock
    (Verdict(CLOUDSTACK, "cloudstack-user-vm", "reclassified"), DEFAULT),
    (Verdict(EXEMPT, "override-allow", "allowed"), DEFAULT),    # an allow override
    (ALIEN_VERDICT, OFF),                                       # the option turned off
])
def test_released_vms_get_their_affinity_back_and_the_record_goes(verdict, cfg):
    writes = affinity_writes(RELEASED, verdict, cfg)
    assert writes == (Write(RESTORE_AFFINITY, HOST_A, UUID_A),)
    after = apply(RELEASED, writes)
    assert after["affinity"] == HOST_A and records.KEY_AFFINITY not in after["other_config"]
    assert affinity_writes(after, verdict, cfg) == ()


@pytest.mark.parametrize("record", [
    # someone set an affinity since csguard cleared it: it is theirs, kept
    vm(affinity=HOST_B, other_config={records.KEY_AFFINITY: UUID_A}),
    # the recorded host has left the pool: nothing to restore
    vm(affinity=NULL_REF, other_config={records.KEY_AFFINITY: UUID_GONE}),
    # edited by hand into something that is no host uuid: never guessed at
    vm(affinity=NULL_REF, other_config={records.KEY_AFFINITY: "host-a"}),
    vm(affinity=NULL_REF, other_config={records.KEY_AFFINITY: ""}),
    vm(affinity=NULL_REF, other_config={records.KEY_AFFINITY: UUID_A + " "}),
])
def test_a_record_that_cannot_be_restored_is_only_removed(record):
    writes = affinity_writes(record, EXEMPT_VERDICT)
    assert writes == (Write(RESTORE_AFFINITY, None, record["other_config"][
        records.KEY_AFFINITY]),)
    after = apply(record, writes)
    assert after["affinity"] == record["affinity"]
    assert records.KEY_AFFINITY not in after["other_config"]


def test_a_record_edited_to_another_host_restores_that_host():
    record = vm(affinity=NULL_REF, other_config={records.KEY_AFFINITY: UUID_B.upper()})
    assert affinity_writes(record, EXEMPT_VERDICT) == (
        Write(RESTORE_AFFINITY, HOST_B, UUID_B.upper()),)


def test_a_protected_vm_keeps_a_record_it_cannot_use_until_released():
    for recorded in (UUID_GONE, "garbage"):
        record = vm(affinity=NULL_REF, other_config={records.KEY_AFFINITY: recorded})
        assert affinity_writes(record) == ()


def test_protect_then_release_gives_the_original_affinity_back():
    record = vm()
    protected = apply(record, plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS))
    released = dict(protected, other_config=dict(protected["other_config"], **{
        records.KEY_EXEMPTION: records.format_exemption(
            records.Exemption("root", NOW, None, "decommission", UUID))}))
    verdict = classify(released, DEFAULT, NOW)
    assert verdict.kind == EXEMPT
    after = apply(released, plan(released, verdict, DEFAULT, NOW, HOSTS))
    assert after["affinity"] == HOST_A and after["blocked_operations"] == {}
    assert set(after["other_config"]) == {records.KEY_EXEMPTION}


def test_affinity_records_parse_only_uuids():
    assert records.parse_affinity(UUID_A.upper()) == UUID_A
    for text in (None, 5, "", "OpaqueRef:x", UUID_A + "0", " " + UUID_A):
        assert records.parse_affinity(text) is None
