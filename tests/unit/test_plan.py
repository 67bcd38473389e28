"""plan(): the writes per verdict, foreign entries untouched, and no write loops."""
import copy
import itertools

import pytest
from csguard import config, records
from csguard.classify import ALIEN, CLOUDSTACK, EXEMPT, IGNORED, Verdict, classify
from csguard.plan import (
    ADD_BLOCK,
    ADD_OTHER,
    REMOVE_BLOCK,
    REMOVE_OTHER,
    Write,
    next_expiry,
    plan,
    protect_order,
)

NOW = 1795579805.0  # 2026-11-25T04:10:05Z
LATER = NOW + 86400
UUID = "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b3f"
OURS = records.blocked_reason(UUID)
HOSTS = {"OpaqueRef:host-0": "8a8c4d7e-1b2f-4c3d-9e4f-5a6b7c8d9e0f"}
DEFAULT = config.Config()
AUDIT = config.Config(mode="audit")
DEFAULT_OPS = ("clean_shutdown", "hard_shutdown", "shutdown", "destroy")
XO_OPS = ("clean_reboot", "clean_shutdown", "hard_reboot", "hard_shutdown", "pause",
          "suspend", "shutdown", "destroy")        # Xen Orchestra's two protections
ALIEN_VERDICT = Verdict(ALIEN, "no-cloudstack-name", "name 'web01' is not a CloudStack name")


def vm(name="web01", blocked=None, other_config=None, **fields):
    record = {"uuid": UUID, "name_label": name, "is_control_domain": False,
              "is_a_template": False, "is_a_snapshot": False,
              "other_config": dict(other_config or {}), "tags": [],
              "blocked_operations": dict(blocked or {})}
    record.update(fields)
    return record


def apply(record, writes):
    """What XAPI does with the writes (add_to_ of an existing key is MAP_DUPLICATE_KEY)."""
    record = copy.deepcopy(record)
    for write in writes:
        field = ("blocked_operations" if write.call.endswith("blocked_operations")
                 else "other_config")
        if write.call.startswith("add_to_"):
            assert write.key not in record[field], f"MAP_DUPLICATE_KEY on {write}"
            assert isinstance(write.value, str)
            record[field][write.key] = write.value
        else:
            assert write.call.startswith("remove_from_") and write.value is None
            record[field].pop(write.key, None)
    return record


def verdict_record(reason=ALIEN_VERDICT.reason, since=NOW):
    return records.format_verdict(ALIEN, since, reason)


# ---- aliens ----

def test_a_new_alien_gets_every_configured_op_blocked_destroy_first_then_its_record():
    assert plan(vm(), ALIEN_VERDICT, DEFAULT, NOW, HOSTS) == (
        Write(ADD_BLOCK, "destroy", OURS),
        Write(ADD_BLOCK, "clean_shutdown", OURS),
        Write(ADD_BLOCK, "hard_shutdown", OURS),
        Write(ADD_BLOCK, "shutdown", OURS),
        Write(ADD_OTHER, records.KEY_VERDICT,
              "alien since 2026-11-25T04:10:05Z: name 'web01' is not a CloudStack name"),
    )


@pytest.mark.parametrize("verdict", [ALIEN_VERDICT, Verdict(CLOUDSTACK, "cloudstack-user-vm", "")])
def test_nothing_is_written_while_an_import_or_incoming_migration_runs(verdict):
    """XAPI refuses every other operation then (xapi_vm_lifecycle.ml
    is_allowed_concurrently), and a block would only break its clean-up destroy of a
    failed import (issue 14.6); the end of the import is a change, planned then."""
    importing = vm(blocked={"destroy": OURS}, current_operations={"OpaqueRef:t": "import"})
    assert plan(importing, verdict, DEFAULT, NOW, HOSTS) == ()
    done = dict(importing, current_operations={})
    assert plan(done, verdict, DEFAULT, NOW, HOSTS) != ()


def test_other_operations_in_progress_do_not_hold_writes_back():
    busy = vm(current_operations={"OpaqueRef:t": "clean_reboot"})
    assert plan(busy, ALIEN_VERDICT, DEFAULT, NOW, HOSTS) != ()


def test_configured_operations_are_blocked_destroy_first_then_in_configured_order():
    cfg = config.Config(block_operations=("suspend", "clean_reboot", "destroy", "shutdown"))
    writes = plan(vm(), ALIEN_VERDICT, cfg, NOW, HOSTS)
    assert [w.key for w in writes if w.call == ADD_BLOCK] == ["destroy", "suspend",
                                                              "clean_reboot", "shutdown"]


def test_xen_orchestra_entries_count_as_blocked_and_stay():
    record = vm(blocked={op: "true" for op in XO_OPS})
    writes = plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS)
    assert writes == (Write(ADD_OTHER, records.KEY_VERDICT, verdict_record()),)
    assert apply(record, writes)["blocked_operations"] == {op: "true" for op in XO_OPS}


@pytest.mark.parametrize("foreign", ["true", "", "do not delete - bob", "csguard",
                                     "CSGUARD: x", " csguard: x"])
def test_anyone_elses_entry_on_an_op_counts_as_blocked(foreign):
    record = vm(blocked={"destroy": foreign})
    writes = plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS)
    assert "destroy" not in [w.key for w in writes]
    assert apply(record, writes)["blocked_operations"]["destroy"] == foreign


def test_our_entries_on_ops_no_longer_configured_are_removed():
    record = vm(blocked={op: OURS for op in DEFAULT_OPS + ("suspend", "pool_migrate")},
                other_config={records.KEY_VERDICT: verdict_record()})
    assert plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS) == (
        Write(REMOVE_BLOCK, "pool_migrate", None),
        Write(REMOVE_BLOCK, "suspend", None),
    )


def test_foreign_entries_on_unconfigured_ops_stay():
    record = vm(blocked=dict({op: OURS for op in DEFAULT_OPS}, suspend="true",
                             pause="maintenance"),
                other_config={records.KEY_VERDICT: verdict_record()})
    assert plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS) == ()


@pytest.mark.parametrize("older", [
    "csguard: protected (older wording)",
    records.blocked_reason(UUID).replace(" duration=<how long, e.g. 2h>", ""),
    "csguard:",
])
def test_our_entry_in_an_older_wording_is_left_as_it_is(older):
    """A csguard entry protects whatever its wording: rewriting it (remove, then add:
    XAPI has no map update) would leave the operation unblocked for a moment, on
    every VM at once after an upgrade that rewords the hint."""
    record = vm(blocked=dict({op: OURS for op in DEFAULT_OPS}, destroy=older),
                other_config={records.KEY_VERDICT: verdict_record()})
    assert plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS) == ()


def test_our_entry_naming_another_vm_is_rewritten_remove_then_add():
    """An imported or copied record may carry the blocks of the VM it came from, whose
    hint would tell CloudStack's operator to unblock that other VM."""
    other = records.blocked_reason("11111111-2222-3333-4444-555555555555")
    record = vm(blocked=dict({op: OURS for op in DEFAULT_OPS}, destroy=other),
                other_config={records.KEY_VERDICT: verdict_record()})
    writes = plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS)
    assert writes == (Write(REMOVE_BLOCK, "destroy", None), Write(ADD_BLOCK, "destroy", OURS))
    assert apply(record, writes)["blocked_operations"]["destroy"] == OURS


def test_a_protected_alien_in_its_wanted_state_plans_nothing():
    record = vm(blocked={op: OURS for op in DEFAULT_OPS},
                other_config={records.KEY_VERDICT: verdict_record()})
    assert plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS) == ()
    assert plan(record, ALIEN_VERDICT, DEFAULT, LATER, HOSTS) == ()


def test_the_record_keeps_its_since_when_the_reason_changes():
    record = vm(blocked={op: OURS for op in DEFAULT_OPS},
                other_config={records.KEY_VERDICT: verdict_record("old reason", NOW - 3600)})
    assert plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS) == (
        Write(REMOVE_OTHER, records.KEY_VERDICT, None),
        Write(ADD_OTHER, records.KEY_VERDICT, verdict_record(since=NOW - 3600)),
    )


@pytest.mark.parametrize("previous", [
    "true", "", "alien since yesterday: x", "alien since 2026-02-30T00:00:00Z: x",
    records.format_verdict(EXEMPT, NOW - 3600, "was exempt"),
    records.format_verdict(CLOUDSTACK, NOW - 3600, "was CloudStack's"),
    records.format_exemption(records.Exemption("root", NOW, None, "x", UUID)),
])
def test_a_record_that_is_not_an_alien_record_is_replaced_with_since_now(previous):
    record = vm(blocked={op: OURS for op in DEFAULT_OPS},
                other_config={records.KEY_VERDICT: previous})
    assert plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS) == (
        Write(REMOVE_OTHER, records.KEY_VERDICT, None),
        Write(ADD_OTHER, records.KEY_VERDICT, verdict_record()),
    )


def test_blocks_come_before_the_record():
    record = vm(blocked={"suspend": OURS, "destroy": "csguard: older wording"},
                other_config={records.KEY_VERDICT: "junk"})
    writes = plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS)
    fields = [w.call.endswith("other_config") for w in writes]
    assert fields == sorted(fields) and fields[-1] and not fields[0]


def test_the_blocked_reason_does_not_depend_on_time():
    early = plan(vm(), ALIEN_VERDICT, DEFAULT, NOW, HOSTS)
    late = plan(vm(), ALIEN_VERDICT, DEFAULT, LATER, HOSTS)
    assert early[:-1] == late[:-1]
    assert early == plan(vm(), ALIEN_VERDICT, DEFAULT, NOW, HOSTS)


# ---- CloudStack's and exempt VMs ----

@pytest.mark.parametrize("kind", [CLOUDSTACK, EXEMPT])
def test_unprotecting_removes_only_our_entries_and_the_record(kind):
    blocked = dict({op: OURS for op in DEFAULT_OPS}, pause="true", suspend="csguard",
                   clean_reboot="owner: bob", start=OURS)
    record = vm(blocked=blocked, other_config={records.KEY_VERDICT: verdict_record(),
                                               "other": "kept"})
    writes = plan(record, Verdict(kind, "exemption", "reason"), DEFAULT, NOW, HOSTS)
    assert writes == tuple(Write(REMOVE_BLOCK, op, None) for op in sorted(DEFAULT_OPS + (
        "start",))) + (Write(REMOVE_OTHER, records.KEY_VERDICT, None),)
    after = apply(record, writes)
    assert after["blocked_operations"] == {"pause": "true", "suspend": "csguard",
                                           "clean_reboot": "owner: bob"}
    assert after["other_config"] == {"other": "kept"}


@pytest.mark.parametrize("verdict", [
    Verdict(EXEMPT, "override-other-config", "allowed by other_config 'csguard:override'"),
    Verdict(EXEMPT, "override-config", "allowed by configuration"),
    Verdict(CLOUDSTACK, "cloudstack-inventory", "CloudStack's inventory holds it")])
def test_blocks_lifted_by_a_rule_leave_a_record_of_who_when_and_why(verdict):
    record = vm(blocked={op: OURS for op in DEFAULT_OPS})
    after = apply(record, plan(record, verdict, DEFAULT, NOW, HOSTS))
    lifted = records.parse_exemption(after["other_config"][records.KEY_EXEMPTION])
    assert (lifted.by, lifted.at, lifted.until, lifted.vm, lifted.via) == (
        "csguard", NOW, None, UUID, verdict.rule)
    assert lifted.reason.startswith("csguard lifted its blocks: " + verdict.reason)
    assert ("XAPI does not say who set it" in lifted.reason) == (
        verdict.rule == "override-other-config")
    assert classify(after, DEFAULT, NOW).kind == ALIEN, "the record exempts nothing"
    assert plan(after, verdict, DEFAULT, LATER, HOSTS) == ()
    protected = apply(after, plan(after, ALIEN_VERDICT, DEFAULT, LATER, HOSTS))
    assert records.KEY_EXEMPTION not in protected["other_config"]
    assert plan(vm(), verdict, DEFAULT, NOW, HOSTS) == (), "nothing lifted, no record"


@pytest.mark.parametrize("kind", [CLOUDSTACK, EXEMPT])
def test_an_unprotected_vm_without_our_traces_plans_nothing(kind):
    record = vm(blocked={op: "true" for op in XO_OPS}, other_config={"x": "y"})
    assert plan(record, Verdict(kind, "rule", "reason"), DEFAULT, NOW, HOSTS) == ()


@pytest.mark.parametrize("value", ["junk", "", "alien since 2026-11-25T04:10:05Z: x"])
def test_any_value_under_our_record_key_is_removed_from_unprotected_vms(value):
    record = vm(other_config={records.KEY_VERDICT: value})
    assert plan(record, Verdict(CLOUDSTACK, "r", "x"), DEFAULT, NOW, HOSTS) == (
        Write(REMOVE_OTHER, records.KEY_VERDICT, None),)


# ---- never touched; audit ----

@pytest.mark.parametrize("record", [
    vm(),
    vm(blocked={op: OURS for op in DEFAULT_OPS + ("suspend",)},
       other_config={records.KEY_VERDICT: "junk"}),
])
def test_ignored_vms_are_never_touched(record):
    for cfg in (DEFAULT, AUDIT):
        assert plan(record, Verdict(IGNORED, "template", "template"), cfg, NOW, HOSTS) == ()


@pytest.mark.parametrize("kind", [ALIEN, CLOUDSTACK, EXEMPT, IGNORED])
@pytest.mark.parametrize("record", [
    vm(),
    vm(blocked={op: OURS for op in DEFAULT_OPS + ("suspend",)},
       other_config={records.KEY_VERDICT: "junk"}),
    vm(blocked={op: "true" for op in XO_OPS}),
])
def test_audit_mode_writes_nothing(kind, record):
    assert plan(record, Verdict(kind, "rule", "reason"), AUDIT, NOW, HOSTS) == ()


# ---- odd data ----

def test_odd_field_types_do_not_crash():
    record = vm()
    record.update(blocked_operations=None, other_config=None)
    writes = plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS)
    assert [w.key for w in writes] == protect_order(DEFAULT_OPS) + [records.KEY_VERDICT]
    assert plan(record, Verdict(CLOUDSTACK, "r", "x"), DEFAULT, NOW, HOSTS) == ()


def test_a_present_key_with_an_odd_value_still_counts_as_someone_elses_block():
    record = vm(blocked={"destroy": None}, other_config={records.KEY_VERDICT: None})
    writes = plan(record, ALIEN_VERDICT, DEFAULT, NOW, HOSTS)
    assert "destroy" not in [w.key for w in writes]
    apply(record, writes)  # no MAP_DUPLICATE_KEY


# ---- the whole cycle: classify, plan, apply, and again: nothing (no write loops) ----

SCENARIO_NAMES = ["web01", "i-2-10-VM", "i-2-10-vm", "r-1-VM", "NS-1-Vpx", "\u202ex" * 3000,
                  "bad\x00name"]
SCENARIO_BLOCKS = [
    {},
    {op: "true" for op in XO_OPS},
    {op: OURS for op in DEFAULT_OPS},
    {"destroy": records.blocked_reason("11111111-2222-3333-4444-555555555555"),
     "suspend": OURS, "pause": "admin"},
]
SCENARIO_OTHER_CONFIG = [
    {},
    {records.KEY_VERDICT: "alien since 2026-11-25T03:00:00Z: old"},
    {records.KEY_VERDICT: "junk"},
    {records.KEY_EXEMPTION: records.format_exemption(
        records.Exemption("root", NOW - 60, NOW + 60, "brief", UUID))},
    {records.KEY_EXEMPTION: records.format_exemption(
        records.Exemption("root", NOW - 7200, NOW - 3600, "expired", UUID))},
    {records.KEY_EXEMPTION: "allow"},
    {records.KEY_EXEMPTION: records.format_exemption(records.Exemption(
        "root", NOW - 60, NOW + 60, "of the VM this one was cloned from",
        "7d1c3f44-0b7e-4a8e-9f5e-2a1f0c9b8d11"))},
    {"csguard:override": "protect"},
    {"csguard:override": "allow", records.KEY_VERDICT: "alien since 2026-11-25T03:00:00Z: x"},
]
SCENARIO_FLAGS = [{}, {"is_a_template": True}, {"tags": ["csguard-allow"]}]
SCENARIO_CONFIGS = [
    DEFAULT, AUDIT,
    config.Config(block_operations=("destroy", "clean_reboot", "start")),
    config.Config(instance_names=("vm",)),
]


@pytest.mark.parametrize("cfg", SCENARIO_CONFIGS)
@pytest.mark.parametrize("name", SCENARIO_NAMES, ids=lambda name: records.show(name, 12))
def test_replanning_after_applying_the_plan_gives_nothing(cfg, name):
    for blocked, other_config, flags in itertools.product(
            SCENARIO_BLOCKS, SCENARIO_OTHER_CONFIG, SCENARIO_FLAGS):
        record = vm(name, blocked, other_config, **flags)
        verdict = classify(record, cfg, NOW)
        after = apply(record, plan(record, verdict, cfg, NOW, HOSTS))
        again = classify(after, cfg, NOW)
        assert again == verdict, "our writes changed the verdict"
        assert plan(after, again, cfg, NOW, HOSTS) == ()
        assert plan(after, again, cfg, NOW + 30, HOSTS) == ()
        foreign = {op: reason for op, reason in record["blocked_operations"].items()
                   if not records.is_ours(reason)}
        assert foreign.items() <= after["blocked_operations"].items()
        if cfg.mode == "enforce" and verdict.kind == ALIEN:
            assert set(cfg.block_operations) <= set(after["blocked_operations"])
        if cfg.mode == "enforce" and verdict.kind in (CLOUDSTACK, EXEMPT):
            assert after["blocked_operations"] == foreign
            assert records.KEY_VERDICT not in after["other_config"]
        if cfg.mode == "audit" or verdict.kind == IGNORED:
            assert after == record


@pytest.mark.parametrize("name", ["web01", "i-2-10-VM"])
def test_an_exemption_record_copied_from_another_vm_is_removed(name):
    copied = records.format_exemption(records.Exemption(
        "root", NOW - 60, NOW + 3600, "x", "7d1c3f44-0b7e-4a8e-9f5e-2a1f0c9b8d11"))
    record = vm(name, other_config={records.KEY_EXEMPTION: copied, "keep": "me"})
    after = apply(record, plan(record, classify(record, DEFAULT, NOW), DEFAULT, NOW, HOSTS))
    assert records.KEY_EXEMPTION not in after["other_config"]
    assert after["other_config"]["keep"] == "me"
    template = vm(name, other_config={records.KEY_EXEMPTION: copied}, is_a_template=True)
    assert plan(template, classify(template, DEFAULT, NOW), DEFAULT, NOW, HOSTS) == ()


# ---- exemption expiry (the daemon's timer) ----

def exempted(until, at=NOW - 60):
    return vm(other_config={records.KEY_EXEMPTION: records.format_exemption(
        records.Exemption("root", at, until, "why", UUID))})


@pytest.mark.parametrize("record, expiry", [
    (vm(), None),
    (exempted(NOW + 60), NOW + 60),
    (exempted(None), None),
    (exempted(NOW), None),
    (exempted(NOW - 1, at=NOW - 100), None),
    (vm(other_config={records.KEY_EXEMPTION: "allow"}), None),
    (vm(other_config=None), None),
])
def test_next_expiry(record, expiry):
    assert next_expiry(record, NOW) == expiry
