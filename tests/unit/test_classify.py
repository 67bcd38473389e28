"""classify(): every rule, every precedence pair, and hostile VM data."""
import itertools
import re

import pytest
from csguard import config, records
from csguard.classify import ALIEN, CLOUDSTACK, EXEMPT, FIELDS, IGNORED, classify

NOW = 1795579805.0  # 2026-11-25T04:10:05Z
UUID = "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b3f"
DEFAULT = config.Config()


def vm(name="web01", **fields):
    record = {"uuid": UUID, "name_label": name, "is_control_domain": False,
              "is_a_template": False, "is_a_snapshot": False, "other_config": {}, "tags": [],
              "blocked_operations": {}}
    record.update(fields)
    return record


def exemption(until=NOW + 3600, at=NOW - 60, by="root", reason="retiring it", for_vm=UUID):
    return records.format_exemption(records.Exemption(by, at, until, reason, for_vm))


# ---- names ----

@pytest.mark.parametrize("name, rule", [
    ("i-2-10-VM", "cloudstack-user-vm"),
    ("i-0-0-VM", "cloudstack-user-vm"),
    ("i-123456789012-987654321098-VM", "cloudstack-user-vm"),
    ("r-5-VM", "cloudstack-system-vm"),
    ("s-1-VM", "cloudstack-system-vm"),
    ("v-2-VM", "cloudstack-system-vm"),
    ("l-3-VM", "cloudstack-system-vm"),
    ("b-4-VM", "cloudstack-system-vm"),
    ("NS-7-Vpx", "cloudstack-netscaler"),
])
def test_cloudstack_names(name, rule):
    verdict = classify(vm(name), DEFAULT, NOW)
    assert (verdict.kind, verdict.rule) == (CLOUDSTACK, rule)
    assert repr(name) in verdict.reason


@pytest.mark.parametrize("name, what", [
    ("r-5-VM", "virtual router"),
    ("s-1-VM", "secondary storage VM"),
    ("v-2-VM", "console proxy"),
    ("l-3-VM", "elastic load balancer VM"),
    ("b-4-VM", "internal load balancer VM"),
])
def test_system_vm_reason_names_the_kind(name, what):
    assert what in classify(vm(name), DEFAULT, NOW).reason


@pytest.mark.parametrize("name", [
    "web01", "", "VM", "i-2-10", "i-2-10-", "i-2-10-VMX", "i-2-10-VM-1", "i-2-VM",
    "i--10-VM", "i-2--VM", "i-a-10-VM", "i-2-10-VM.old", "x-i-2-10-VM", "r-5-6-VM",
    "r-VM", "q-5-VM", "NS-7-VM", "NS-7-vpx", "NS--Vpx", "ns-7-Vpx", "i-\uff12-10-VM",
    "i-\u0662-10-VM", "r-5-VM\n", "\ni-2-10-VM", "i-2-10-VM\x00", "i-2-10-\u0412M",
    "i-2-10-VM ", " i-2-10-VM", "i-2-10-vm", "I-2-10-VM", "R-5-VM",
])
def test_near_and_far_misses_are_alien(name):
    verdict = classify(vm(name), DEFAULT, NOW)
    assert (verdict.kind, verdict.rule) == (ALIEN, "no-cloudstack-name")


@pytest.mark.parametrize("name, detail", [
    ("i-2-10-vm", "does not match instance name 'VM' (case differs)"),
    ("I-2-10-VM", "does not match instance name 'VM' (case differs)"),
    ("r-5-vm", "does not match instance name 'VM' (case differs)"),
    ("i-2-10-VM ", "does not match instance name 'VM' (leading or trailing whitespace)"),
    ("\ti-2-10-VM", "does not match instance name 'VM' (leading or trailing whitespace)"),
    (" i-2-10-vm",
     "does not match instance name 'VM' (case differs, leading or trailing whitespace)"),
    ("ns-7-vpx", "does not match NS-<id>-Vpx (case differs)"),
    ("NS-7-Vpx ", "does not match NS-<id>-Vpx (leading or trailing whitespace)"),
    ("i-2-10-CS", "does not match instance name 'VM'"),
    ("i-2-VM", "does not match instance name 'VM'"),
])
def test_near_misses_say_why(name, detail):
    reason = classify(vm(name), DEFAULT, NOW).reason
    assert reason == f"name {name!r} looks like a CloudStack name but {detail}"


def test_far_miss_reason_names_the_instance_names():
    reason = classify(vm("web01"), DEFAULT, NOW).reason
    assert reason == "name 'web01' is not a CloudStack name (instance name 'VM')"


def test_several_instance_names():
    cfg = config.Config(instance_names=("VM", "CS2"))
    assert classify(vm("i-1-2-CS2"), cfg, NOW).kind == CLOUDSTACK
    assert classify(vm("r-1-VM"), cfg, NOW).kind == CLOUDSTACK
    verdict = classify(vm("i-1-2-cs2"), cfg, NOW)
    assert verdict.kind == ALIEN
    assert "instance names 'VM', 'CS2' (case differs)" in verdict.reason


def test_instance_name_is_matched_literally_not_as_a_regex():
    cfg = config.Config(instance_names=("V.M",))
    assert classify(vm("i-1-2-V.M"), cfg, NOW).kind == CLOUDSTACK
    assert classify(vm("i-1-2-VxM"), cfg, NOW).kind == ALIEN


def test_netscaler_names_do_not_depend_on_the_instance_name():
    cfg = config.Config(instance_names=("CS",))
    assert classify(vm("NS-3-Vpx"), cfg, NOW).kind == CLOUDSTACK
    assert classify(vm("i-1-2-VM"), cfg, NOW).kind == ALIEN


@pytest.mark.parametrize("name, kind", [
    ("web-1", CLOUDSTACK), ("web-12", CLOUDSTACK), ("web-", ALIEN), ("web-1x", ALIEN),
    ("xweb-1", ALIEN), ("web-1\n", ALIEN), ("WEB-1", ALIEN),
])
def test_name_patterns_must_match_the_whole_name(name, kind):
    cfg = config.Config(name_patterns=(re.compile(r"web-[0-9]+"),))
    verdict = classify(vm(name), cfg, NOW)
    assert verdict.kind == kind
    if kind == CLOUDSTACK:
        assert verdict.rule == "name-pattern"
        assert "'web-[0-9]+'" in verdict.reason


# ---- never touched ----

@pytest.mark.parametrize("flag, rule", [
    ("is_control_domain", "control-domain"),
    ("is_a_template", "template"),
    ("is_a_snapshot", "snapshot"),
])
@pytest.mark.parametrize("name", ["i-2-10-VM", "web01", "Control domain on host: xs1"])
def test_control_domains_templates_and_snapshots_are_ignored(flag, rule, name):
    verdict = classify(vm(name, **{flag: True}), DEFAULT, NOW)
    assert (verdict.kind, verdict.rule) == (IGNORED, rule)
    assert "never touched" in verdict.reason


# XenServer's own helper VMs, each by the mark its creator gives it (issue 14.7).
HELPERS = [
    # xenserver/transfervm transferplugin/transfer clone_utility_vm: VM.create with
    # other_config {HideFromXenCenter: true, transfervm_clone: true}.
    ("transfer-vm", vm("Transfer VM for VDI 5d3c0f6e-1111-4222-8333-444455556666",
                       other_config={"HideFromXenCenter": "true", "transfervm_clone": "true"})),
    # xen-api system_domains.ml is_system_domain: a driver domain is a control domain.
    ("control-domain", vm("Storage driver domain", is_control_domain=True,
                          other_config={"storage_driver_domain": "OpaqueRef:x"})),
]


@pytest.mark.parametrize("rule, record", HELPERS, ids=[rule for rule, _ in HELPERS])
def test_xenservers_helper_vms_are_ignored_by_their_mark(rule, record):
    verdict = classify(record, DEFAULT, NOW)
    assert (verdict.kind, verdict.rule) == (IGNORED, rule)
    assert "never touched" in verdict.reason


def test_the_transfer_vm_mark_needs_its_value():
    record = vm("Transfer VM", other_config={"transfervm_clone": "false"})
    assert classify(record, DEFAULT, NOW).kind == ALIEN


def test_a_snapshot_is_called_a_snapshot_though_xapi_also_marks_it_a_template():
    """XAPI sets is_a_template on every snapshot (xen-api xapi_vm_clone.ml,
    copy_vm_record: ~is_a_template:(is_a_snapshot || ...)), so the snapshot rule
    must come first to ever fire."""
    verdict = classify(vm("web01 snap", is_a_template=True, is_a_snapshot=True), DEFAULT, NOW)
    assert (verdict.kind, verdict.rule) == (IGNORED, "snapshot")
    assert verdict.reason.startswith("snapshot 'web01 snap'")


def test_a_new_cloudstack_vm_is_ignored_while_it_is_still_a_template():
    assert classify(vm("i-2-10-VM", is_a_template=True), DEFAULT, NOW).kind == IGNORED


@pytest.mark.parametrize("value", ["true", 1, "yes", None])
def test_only_a_real_boolean_flag_ignores_a_vm(value):
    assert classify(vm("web01", is_a_template=value), DEFAULT, NOW).kind == ALIEN


# ---- overrides, exemptions and their precedence ----

PROTECT_TAG, KEY = DEFAULT.protect_tag, DEFAULT.override_key
ALLOW_TAG = "csguard-allow"  # the default of earlier versions: no longer allows anything

# Each source of a decision: (name, what it changes: vm fields and config fields).
SOURCES = {
    "ignored": ({"is_a_snapshot": True}, {}),
    "config-protect": ({}, {"protect_uuids": frozenset([UUID])}),
    "tag-protect": ({"tags": [PROTECT_TAG]}, {}),
    "other-config-protect": ({"other_config": {KEY: "protect"}}, {}),
    "config-allow": ({}, {"allow_uuids": frozenset([UUID])}),
    "other-config-allow": ({"other_config": {KEY: "allow"}}, {}),
    "exemption": ({"other_config": {records.KEY_EXEMPTION: exemption()}}, {}),
    "cloudstack-name": ({"name_label": "i-2-10-VM"}, {}),
}
# The specification: strongest first; protect beats allow whatever the sources.
PRECEDENCE = [
    ("ignored", IGNORED, "snapshot"),
    ("config-protect", ALIEN, "override-config"),
    ("tag-protect", ALIEN, "override-tag"),
    ("other-config-protect", ALIEN, "override-other-config"),
    ("config-allow", EXEMPT, "override-config"),
    ("other-config-allow", EXEMPT, "override-other-config"),
    ("exemption", EXEMPT, "exemption"),
    ("cloudstack-name", CLOUDSTACK, "cloudstack-user-vm"),
]
IMPOSSIBLE = {frozenset(["config-protect", "config-allow"]),                   # config error
              frozenset(["other-config-protect", "other-config-allow"])}       # one key


def combine(names):
    record, cfg_fields = vm("web01"), {}
    for name in names:
        vm_fields, config_fields = SOURCES[name]
        for field, value in vm_fields.items():
            if field == "other_config":
                record["other_config"] = dict(record["other_config"], **value)
            elif field == "tags":
                record["tags"] = record["tags"] + value
            else:
                record[field] = value
        cfg_fields.update(config_fields)
    return record, config.Config(**cfg_fields)


@pytest.mark.parametrize("name, kind, rule", PRECEDENCE)
def test_each_source_alone(name, kind, rule):
    record, cfg = combine([name])
    verdict = classify(record, cfg, NOW)
    assert (verdict.kind, verdict.rule) == (kind, rule)


@pytest.mark.parametrize("stronger, weaker", [
    (a, b) for a, b in itertools.combinations([name for name, _, _ in PRECEDENCE], 2)
    if frozenset([a, b]) not in IMPOSSIBLE])
def test_every_precedence_pair(stronger, weaker):
    _, kind, rule = next(entry for entry in PRECEDENCE if entry[0] == stronger)
    for order in ((stronger, weaker), (weaker, stronger)):
        record, cfg = combine(order)
        verdict = classify(record, cfg, NOW)
        assert (verdict.kind, verdict.rule) == (kind, rule), order


def test_protect_reason_mentions_the_allow_it_overrode():
    record, cfg = combine(["tag-protect", "other-config-allow"])
    reason = classify(record, cfg, NOW).reason
    assert reason == ("protected by tag 'csguard-protect' (protect wins over: allowed by "
                      "other_config 'csguard:override'='allow')")


@pytest.mark.parametrize("allow_tag", [None, ALLOW_TAG, "cs-ok"])
def test_no_tag_allows_a_vm_a_vm_operator_may_tag_anything(allow_tag):
    """XAPI lets vm-operator set tags (datamodel_vm.ml tags: writer_roles _R_VM_OP), but
    only vm-admin may change blocked_operations: a tag must not lift csguard's blocks."""
    cfg = config.Config(allow_tag=allow_tag)
    for tag in (ALLOW_TAG, "cs-ok"):
        assert classify(vm("web01", tags=[tag]), cfg, NOW).kind == ALIEN


@pytest.mark.parametrize("name, reason", [
    ("config-protect", "protected by configuration (overrides.protect.uuids lists its uuid)"),
    ("config-allow", "allowed by configuration (overrides.allow.uuids lists its uuid)"),
    ("tag-protect", "protected by tag 'csguard-protect'"),
    ("other-config-protect", "protected by other_config 'csguard:override'='protect'"),
    ("other-config-allow", "allowed by other_config 'csguard:override'='allow'"),
])
def test_override_reasons_name_the_rule(name, reason):
    record, cfg = combine([name])
    assert classify(record, cfg, NOW).reason == reason


def test_config_uuids_match_whatever_the_case_of_the_record():
    cfg = config.parse(f"overrides: {{protect: {{uuids: [{UUID.upper()}]}}}}")
    assert classify(vm("i-2-10-VM", uuid=UUID.upper()), cfg, NOW).kind == ALIEN
    assert classify(vm("i-2-10-VM"), cfg, NOW).kind == ALIEN


def test_overrides_can_be_turned_off():
    cfg = config.Config(protect_tag=None, allow_tag=None, override_key=None)
    record = vm("i-2-10-VM", tags=[PROTECT_TAG], other_config={KEY: "protect"})
    assert classify(record, cfg, NOW).kind == CLOUDSTACK
    assert classify(vm("web01", tags=[ALLOW_TAG]), cfg, NOW).kind == ALIEN


def test_configured_tag_and_key_names_are_used():
    cfg = config.Config(protect_tag="keep", override_key="site:guard")
    assert classify(vm("i-2-10-VM", tags=["keep"]), cfg, NOW).kind == ALIEN
    assert classify(vm("i-2-10-VM", tags=[PROTECT_TAG]), cfg, NOW).kind == CLOUDSTACK
    assert classify(vm("web01", other_config={"site:guard": "allow"}), cfg, NOW).kind == EXEMPT
    assert classify(vm("web01", other_config={KEY: "allow"}), cfg, NOW).kind == ALIEN


@pytest.mark.parametrize("value", ["Protect", "ALLOW", "true", "", " allow", "allow\n",
                                   "yes", "protect,allow", "\x00"])
@pytest.mark.parametrize("name, kind", [("web01", ALIEN), ("i-2-10-VM", CLOUDSTACK)])
def test_other_override_values_are_ignored_and_reported(value, name, kind):
    verdict = classify(vm(name, other_config={KEY: value}), DEFAULT, NOW)
    assert verdict.kind == kind
    assert verdict.reason.startswith(
        f"other_config 'csguard:override'={value!r} ignored (expected 'protect' or 'allow'); ")


def test_tags_must_match_exactly():
    for tag in ("CSGUARD-ALLOW", "csguard-allow ", "csguard-allow-x", "csguard"):
        assert classify(vm("web01", tags=[tag]), DEFAULT, NOW).kind == ALIEN


# ---- exemptions ----

@pytest.mark.parametrize("until, detail", [
    (None, "indefinitely"),
    (NOW + 1, "until 2026-11-25T04:10:06Z"),
])
def test_a_valid_exemption_exempts(until, detail):
    record = vm("web01", other_config={records.KEY_EXEMPTION: exemption(until=until)})
    verdict = classify(record, DEFAULT, NOW)
    assert (verdict.kind, verdict.rule) == (EXEMPT, "exemption")
    assert verdict.reason == ("exempted by 'root' at 2026-11-25T04:09:05Z "
                              f"{detail}: 'retiring it'")


@pytest.mark.parametrize("until", [NOW, NOW - 1, NOW - 86400 * 365])
def test_an_expired_exemption_protects_again(until):
    record = vm("web01", other_config={records.KEY_EXEMPTION: exemption(
        until=until, at=until - 3600, by="alice")})
    verdict = classify(record, DEFAULT, NOW)
    assert (verdict.kind, verdict.rule) == (ALIEN, "exemption-expired")
    assert verdict.reason.startswith(
        f"exemption by 'alice' expired at {records.format_time(until)}; name 'web01' ")


def test_an_expired_exemption_on_a_cloudstack_vm_leaves_it_cloudstack():
    record = vm("i-2-10-VM", other_config={records.KEY_EXEMPTION: exemption(until=NOW - 1)})
    verdict = classify(record, DEFAULT, NOW)
    assert (verdict.kind, verdict.rule) == (CLOUDSTACK, "cloudstack-user-vm")
    assert "expired" in verdict.reason


OTHER_VM = "7d1c3f44-0b7e-4a8e-9f5e-2a1f0c9b8d11"


@pytest.mark.parametrize("name", ["web01", "i-2-10-VM"])
def test_an_exemption_granted_for_another_vm_counts_as_absent(name):
    """Clone, copy and import carry other_config: the copy is born with the record."""
    record = vm(name, other_config={records.KEY_EXEMPTION: exemption(for_vm=OTHER_VM)})
    assert classify(record, DEFAULT, NOW) == classify(vm(name), DEFAULT, NOW)


def test_an_exemption_binds_to_the_uuid_whatever_its_case():
    record = vm("web01", uuid=UUID.upper(), other_config={records.KEY_EXEMPTION: exemption()})
    assert classify(record, DEFAULT, NOW).kind == EXEMPT


def test_an_exemption_of_an_earlier_version_names_no_vm_and_protects():
    earlier = ('{"at": "2026-11-25T04:09:05Z", "by": "root", "reason": "why", '
               '"until": null}')
    verdict = classify(vm("web01", other_config={records.KEY_EXEMPTION: earlier}), DEFAULT, NOW)
    assert (verdict.kind, verdict.rule) == (ALIEN, "exemption-malformed")
    assert "missing field vm, via" in verdict.reason


MALFORMED_EXEMPTIONS = [
    "", "true", "yes", "allow", "exempt", "{}", "null", "[]",
    '{"by": "root", "at": "2026-11-25T04:10:05Z", "reason": "why"}',
    '{"by": "root", "at": "2026-11-25T04:10:05Z", "until": null, "reason": "why", "x": 1}',
    '{"by": "root", "at": 1795579805, "until": null, "reason": "why"}',
    '{"by": "root", "at": "2026-11-25T04:10:05Z", "until": 1e300, "reason": "why"}',
    '{"by": "root", "at": "2026-11-25T04:10:05Z", "until": "2099-01-01", "reason": "why"}',
    '{"by": "", "at": "2026-11-25T04:10:05Z", "until": null, "reason": "why"}',
    ('{"by": "root", "at": "2026-11-25T04:10:05Z", "until": "2026-11-25T04:10:05Z", '
     '"reason": "why"}'),
    "{'by': 'root', 'at': '2026-11-25T04:10:05Z', 'until': None, 'reason': 'why'}",
    records.blocked_reason(UUID),
    "alien since 2026-11-25T04:10:05Z: x",
    "exempt since 2026-11-25T04:10:05Z: operator said so",
    "[" * 3000,
    "x" * 100000,
]


@pytest.mark.parametrize("text", MALFORMED_EXEMPTIONS, ids=lambda text: records.show(text, 30))
def test_a_malformed_exemption_never_exempts(text):
    verdict = classify(vm("web01", other_config={records.KEY_EXEMPTION: text}), DEFAULT, NOW)
    assert (verdict.kind, verdict.rule) == (ALIEN, "exemption-malformed")
    assert verdict.reason.startswith("exemption record csguard:exemption ignored: ")
    assert verdict.reason.endswith("name 'web01' is not a CloudStack name (instance name 'VM')")


def test_exemption_lookalikes_under_other_keys_do_nothing():
    for key in ("csguard:Exemption", "csguard-exemption", "csguard:exemption ", "exemption"):
        record = vm("web01", other_config={key: exemption()})
        assert classify(record, DEFAULT, NOW).kind == ALIEN


def test_our_own_verdict_record_does_not_change_the_verdict():
    text = records.format_verdict(CLOUDSTACK, NOW, "name 'web01' is a CloudStack name")
    record = vm("web01", other_config={records.KEY_VERDICT: text})
    assert classify(record, DEFAULT, NOW).kind == ALIEN


# ---- only administrator-controlled fields are read ----

class RecordingDict(dict):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


@pytest.mark.parametrize("name, fields", [
    ("web01", {}), ("i-2-10-VM", {}), ("web01", {"is_a_template": True}),
    ("web01", {"tags": [ALLOW_TAG]}),
    ("web01", {"other_config": {records.KEY_EXEMPTION: exemption()}}),
])
def test_classify_reads_only_the_listed_fields(name, fields):
    record = RecordingDict(vm(name, **fields))
    classify(record, DEFAULT, NOW)
    assert record.read <= set(FIELDS)


def test_guest_writable_data_never_influences_the_verdict():
    cloudstack_looking = {
        "xenstore_data": {"vm-data/cloudstack/init": "i-2-10-VM", "vm-data/csguard": "allow"},
        "guest_metrics": "OpaqueRef:1", "name_description": "i-2-10-VM",
    }
    for name in ("web01", "i-2-10-VM"):
        assert (classify(vm(name, **cloudstack_looking), DEFAULT, NOW)
                == classify(vm(name), DEFAULT, NOW))


def test_fields_list_names_no_guest_writable_field():
    assert not {"xenstore_data", "guest_metrics", "name_description"} & set(FIELDS)


# ---- hostile data ----

HOSTILE_NAMES = [
    "x" * 10000,
    "i-2-10-" + "VM" * 5000,
    "\x00\x01\x1b[2J\x7f",
    "line1\nline2\r\n",
    "\u202ei-2-10-VM",
    "\u0456-2-10-VM",                 # Cyrillic i
    "\ufeffi-2-10-VM",
    "\U0001f4a9" * 3000,
    "\udcff",                         # lone surrogate (as surrogateescape would give)
    "'quoted' \"double\" \\back",
    "csguard: VM protected from CloudStack",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=lambda name: records.show(name, 20))
def test_hostile_names_are_alien_and_rendered_safely(name):
    verdict = classify(vm(name), DEFAULT, NOW)
    assert verdict.kind == ALIEN
    assert verdict.reason.isprintable()
    assert len(verdict.reason) < 1000


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=lambda name: records.show(name, 20))
def test_hostile_values_everywhere_are_rendered_safely(name):
    record = vm(name, tags=[name, ALLOW_TAG * 2], other_config={
        KEY: name, records.KEY_EXEMPTION: exemption(by=name[:100], reason=name[:100])})
    verdict = classify(record, DEFAULT, NOW)
    assert verdict.kind == EXEMPT
    assert verdict.reason.isprintable()
    assert len(verdict.reason) < 2000


@pytest.mark.parametrize("fields", [
    {"name_label": None}, {"name_label": 5}, {"other_config": None},
    {"other_config": "csguard:override=allow"}, {"tags": None}, {"tags": "csguard-allow"},
    {"uuid": None}, {"other_config": {KEY: None, records.KEY_EXEMPTION: None}},
])
def test_odd_field_types_do_not_crash_and_protect(fields):
    record = vm("web01")
    record.update(fields)
    assert classify(record, DEFAULT, NOW).kind == ALIEN


def test_a_minimal_record_is_alien():
    assert classify({"uuid": UUID}, DEFAULT, NOW).kind == ALIEN


def test_every_verdict_carries_a_rule_and_a_reason():
    records_to_try = [vm(name) for name in ("web01", "i-2-10-VM", "i-2-10-vm")]
    records_to_try += [combine([name])[0] for name in SOURCES]
    for record in records_to_try:
        verdict = classify(record, DEFAULT, NOW)
        assert verdict.kind in (CLOUDSTACK, ALIEN, EXEMPT, IGNORED)
        assert verdict.rule and verdict.reason
