"""The formats csguard writes on VMs: what we write parses back, and nothing else does."""
import json

import pytest
from csguard import records

UUID = "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b3f"


@pytest.mark.parametrize("epoch, text", [
    (0, "1970-01-01T00:00:00Z"),
    (1795579805, "2026-11-25T04:10:05Z"),
    (951782400, "2000-02-29T00:00:00Z"),
    (4102444799, "2099-12-31T23:59:59Z"),
])
def test_time_round_trips(epoch, text):
    assert records.format_time(epoch) == text
    assert records.parse_time(text) == epoch


def test_format_time_drops_fractions():
    assert records.format_time(1795579805.999) == "2026-11-25T04:10:05Z"


@pytest.mark.parametrize("text", [
    "", "2026-11-25", "2026-11-25 04:10:05Z", "2026-11-25T04:10:05", "2026-11-25T04:10:05+00:00",
    "2026-11-25T04:10:05.5Z", "2026-11-25t04:10:05z", " 2026-11-25T04:10:05Z",
    "2026-11-25T04:10:05Z\n", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
    "2026-11-25T24:00:00Z", "2026-1-5T4:1:5Z", "\uff12026-11-25T04:10:05Z",
    "2026-11-25T04:10:05\u0660Z", None, 1795579805, b"2026-11-25T04:10:05Z",
])
def test_parse_time_accepts_only_our_format(text):
    with pytest.raises(ValueError):
        records.parse_time(text)


def test_blocked_reason_is_ours_and_says_how_to_unblock_this_vm():
    reason = records.blocked_reason(UUID)
    assert reason.startswith("csguard: ")
    assert records.is_ours(reason)
    assert f"csguard vm-unblock uuid={UUID} reason=" in reason
    assert " duration=" in reason.split("vm-unblock", 1)[1]
    assert "CloudStack" in reason


def test_blocked_reason_depends_on_the_vm_alone():
    assert records.blocked_reason(UUID) == records.blocked_reason(UUID)
    assert records.blocked_reason(UUID) != records.blocked_reason(UUID.replace("0", "1"))


@pytest.mark.parametrize("reason, ours", [
    ("csguard: VM protected", True),
    ("csguard:", True),
    ("true", False),                   # Xen Orchestra
    ("", False),
    ("csguard", False),
    ("csguard protected this", False),
    (" csguard: x", False),
    ("CSGUARD: x", False),
    ("Csguard: x", False),
    ("maintenance by admin (csguard: no)", False),
    (None, False),
    (True, False),
    (b"csguard: x", False),
])
def test_is_ours(reason, ours):
    assert records.is_ours(reason) is ours


@pytest.mark.parametrize("reason", [
    "name 'x' is not a CloudStack name (instance name 'VM')",
    "a: b: c",
    "with\nnewline",
    "",
    "unicode \u00e9\u4e2d",
])
def test_verdict_round_trips(reason):
    text = records.format_verdict("alien", 1795579805, reason)
    assert text == f"alien since 2026-11-25T04:10:05Z: {reason}"
    assert records.parse_verdict(text) == ("alien", 1795579805, reason)


@pytest.mark.parametrize("text", [
    "", "alien", "alien since", "alien since 2026-11-25T04:10:05Z",
    "alien since 2026-11-25T04:10:05Z:no space", "alien since 2026-11-25 04:10:05Z: x",
    "alien since 2026-02-30T04:10:05Z: x", "Alien since 2026-11-25T04:10:05Z: x",
    " alien since 2026-11-25T04:10:05Z: x", "alien  since 2026-11-25T04:10:05Z: x",
    "alien since yesterday: x", "csguard: VM protected", "true",
    None, 5, ["alien since 2026-11-25T04:10:05Z: x"],
])
def test_parse_verdict_returns_none_for_anything_else(text):
    assert records.parse_verdict(text) is None


@pytest.mark.parametrize("exemption", [
    records.Exemption("root", 1795579805.0, None, "decommissioning", UUID),
    records.Exemption("alice@pool", 1795579805.0, 1795583405.0, "move to CloudStack", UUID),
    records.Exemption("\u00e9ve", 0.0, 1.0, "reason with \"quotes\" and\nnewline", UUID),
])
def test_exemption_round_trips(exemption):
    text = records.format_exemption(exemption)
    assert json.loads(text)["by"] == exemption.by
    assert records.parse_exemption(text) == exemption


def test_an_exemption_too_long_to_parse_back_is_refused_when_written():
    with pytest.raises(ValueError) as error:
        records.format_exemption(records.Exemption("root", 0.0, None, "why" * 2000, UUID))
    assert "shorter reason" in str(error.value)


def test_exemption_is_readable_json():
    text = records.format_exemption(records.Exemption("root", 1795579805.0, None, "why",
                                                      UUID.upper()))
    assert json.loads(text) == {"by": "root", "at": "2026-11-25T04:10:05Z", "until": None,
                                "reason": "why", "vm": UUID, "via": "vm-unblock"}


def _exemption_json(**changes):
    data = {"by": "root", "at": "2026-11-25T04:10:05Z", "until": None, "reason": "why",
            "vm": UUID, "via": "vm-unblock"}
    data.update(changes)
    return json.dumps({key: value for key, value in data.items() if value != "DROP"})


@pytest.mark.parametrize("text, why", [
    (None, "not text"),
    (b'{"by": "root"}', "not text"),
    ("", "not valid JSON"),
    ("true", "not a JSON object"),
    ("yes", "not valid JSON"),
    ("[]", "not a JSON object"),
    ('"{}"', "not a JSON object"),
    ("{by: root}", "not valid JSON"),
    ("[" * 3000, "not valid JSON"),
    ("x" * 5000, "longer than"),
    (records.blocked_reason(UUID), "not valid JSON"),
    ("alien since 2026-11-25T04:10:05Z: x", "not valid JSON"),
    (_exemption_json(by="DROP"), "missing field by"),
    (_exemption_json(until="DROP"), "missing field until"),
    (_exemption_json(extra=1), "unknown field 'extra'"),
    (_exemption_json(vm="DROP"), "missing field vm"),
    (_exemption_json(vm=None), "field 'vm' must be a VM uuid"),
    (_exemption_json(vm="web01"), "field 'vm' must be a VM uuid"),
    (_exemption_json(vm=UUID.upper()), "field 'vm' must be a VM uuid in lower case"),
    (_exemption_json(via="DROP"), "missing field via"),
    (_exemption_json(via=""), "field 'via' must name a rule"),
    (_exemption_json(via="Vm-Unblock"), "field 'via' must name a rule"),
    (_exemption_json(by=""), "'by' must be non-empty"),
    (_exemption_json(by="  "), "'by' must be non-empty"),
    (_exemption_json(by=None), "'by' must be non-empty"),
    (_exemption_json(by=7), "'by' must be non-empty"),
    (_exemption_json(reason=""), "'reason' must be non-empty"),
    (_exemption_json(reason=["why"]), "'reason' must be non-empty"),
    (_exemption_json(at=1795579805), "not of the form"),
    (_exemption_json(at="2026-11-25"), "not of the form"),
    (_exemption_json(at=None), "not of the form"),
    (_exemption_json(until=1795583405), "not of the form"),
    (_exemption_json(until="never"), "not of the form"),
    (_exemption_json(until="2026-11-25T04:10:05+01:00"), "not of the form"),
    (_exemption_json(until="2026-02-30T04:10:05Z"), "not a valid date"),
    (_exemption_json(until="2026-11-25T04:10:05Z"), "ends"),
    (_exemption_json(until="2026-11-25T04:10:04Z"), "ends"),
    (('{"by": "root", "by": "mallory", "at": "2026-11-25T04:10:05Z", "until": null, '
      '"reason": "why", "vm": "' + UUID + '", "via": "vm-unblock"}'), "'by' appears twice"),
], ids=lambda value: records.show(value, 40))
def test_parse_exemption_refuses_anything_malformed(text, why):
    with pytest.raises(ValueError) as error:
        records.parse_exemption(text)
    assert why in str(error.value)


@pytest.mark.parametrize("value, shown", [
    ("plain", "'plain'"),
    ("tab\there", "'tab\\there'"),
    ("nul\x00", "'nul\\x00'"),
    ("esc\x1b[31m", "'esc\\x1b[31m'"),
    ("bidi\u202eevil", "'bidi\\u202eevil'"),
    ("caf\u00e9", "'caf\u00e9'"),
    (None, "None"),
])
def test_show_escapes_untrusted_text(value, shown):
    assert records.show(value) == shown


def test_show_truncates_long_text_and_says_how_long_it_was():
    shown = records.show("x" * 10000)
    assert len(shown) < 100
    assert "10000 characters" in shown


def test_show_bounds_any_value():
    assert len(records.show(list(range(10000)))) <= 64


OTHER_UUID = "7b1d6a8e-3f0c-4e59-b2a1-9c8d7e6f5a4b"


@pytest.mark.parametrize("record, granted", [
    (records.Exemption("root", 0.0, 60.0, "why", UUID), True),        # run out: still granted
    (records.Exemption("root", 0.0, None, "why", OTHER_UUID), False),  # came with a copy
    (records.Exemption("csguard", 0.0, None, "lifted", UUID, "override-config"), False),
    ("{not json", False),
    (None, False),
])
def test_granted_exemption_is_only_an_operators_for_this_vm(record, granted):
    other_config = {} if record is None else {
        records.KEY_EXEMPTION: record if isinstance(record, str)
        else records.format_exemption(record)}
    found = records.granted_exemption({"uuid": UUID, "other_config": other_config})
    assert (found == record) if granted else found is None
