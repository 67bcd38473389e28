"""Bad and hostile command lines: one clear message on stderr, a non-zero exit,
nothing on stdout and nothing changed in XAPI. Values are data, never shell."""
import json

import pytest
from csguard import records

from integration.test_cli import (
    pool_sim,  # noqa: F401 - the sim fixture
    protect,
    run_cli,
)

BAD = "0f0e0d0c-0b0a-4909-8807-060504030201"


def snapshot(sim):
    return {uuid: sim.vm_record(uuid) for uuid in sim.vms.values()}


def refused(sim, *args, code=None, **kwargs):
    """Run a command that must be refused; returns its one-line error message."""
    before = snapshot(sim)
    result = run_cli(sim, *args, **kwargs)
    assert result.returncode != 0
    if code is not None:
        assert result.returncode == code
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert snapshot(sim) == before
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["vm-unblock", "uuid=" + BAD], "no VM has uuid " + BAD),
    (["vm-classify", "vm=" + BAD], f"no VM is named '{BAD}'"),
    (["vm-block", "vm=no such vm"], "no VM is named 'no such vm'"),
    (["vm-unblock", "uuid=not-a-uuid"], "uuid='not-a-uuid' is not a uuid"),
    (["vm-list", "uuid=12345"], "uuid='12345' is not a uuid"),
    (["attempts", "uuid=zz"], "uuid='zz' is not a uuid"),
])
def test_unknown_and_malformed_vms_are_named(sim, args, message):
    assert message in refused(sim, *args)


def test_a_misspelt_vm_name_gets_a_suggestion(sim):
    message = refused(sim, "vm-classify", "vm=wbe-01", code=1)
    assert "no VM is named 'wbe-01'; did you mean 'web-01'?" in message


def test_an_ambiguous_name_lists_every_match(sim):
    first = sim.create_vm("twin")[1]
    second = sim.create_vm("twin")[1]
    message = refused(sim, "vm-unblock", "vm=twin", "reason=x", code=1)
    assert "2 VMs are named 'twin'" in message
    assert ", ".join(sorted([first, second])) in message
    assert "use uuid=" in message


@pytest.mark.parametrize("args, message", [
    (["vm-unblock", "uuid"], "argument 'uuid' is not of the form key=value"),
    (["vm-unblock", "=x"], "argument '=x' is not of the form key=value"),
    (["vm-list", "colour=red"], "unknown argument 'colour' for vm-list; it takes: class"),
    (["status", "uuid=x"], "unknown argument 'uuid' for status; it takes: none"),
    (["vm-list", "class=alien", "class=exempt"], "argument 'class' is given more than once"),
    (["vm-unblock"], "missing argument: uuid=<VM uuid> or vm=<name-label or uuid>"),
    (["vm-block", "reason=x"], "unknown argument 'reason' for vm-block"),
    (["vm-unblock", f"uuid={BAD}", "vm=x"], "give either uuid= or vm=, not both"),
    (["vm-unblock", "vm="], "vm= is empty"),
    (["vm-list", "class=friendly"], "class='friendly': use one of alien, cloudstack"),
    (["vm-list", "protected=yes"], "protected='yes': use true or false"),
    (["scan", "dry-run=maybe"], "dry-run='maybe': use true or false"),
    (["vm-list", "params=uuid,colour"], "unknown field 'colour'"),
    (["vm-list", "--verbose"], "unknown option '--verbose' for vm-list"),
    (["vm-list", "--xapi-url"], "--xapi-url needs a value"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["vm-lsit"], "unknown command 'vm-lsit'; did you mean vm-list?"),
    (["--xapi-url", "vm-list"], "no command given: --xapi-url took 'vm-list' as its value"),
    (["--xapi-url", "xs1.example.com", "vm-list"],
     "--xapi-url 'xs1.example.com' must be unix:///path/to/socket or http(s)://host[:port]/"),
    (["--config", "/etc/csguard/csguard.yaml"], "no command given"),
    (["--state-dir", "vm-list"], "no command given: --state-dir took 'vm-list' as its value"),
])
def test_bad_arguments_are_usage_errors(sim, args, message):
    assert message in refused(sim, *args, code=64)


@pytest.mark.parametrize("duration", ["2x", "h", "2", "1.5h", "-1h", "0s", "0h0m",
                                      "400d", "2h 30m", "２h"])
def test_bad_durations_are_refused_before_anything_is_written(sim, duration):
    uuid = sim.vms["web"]
    protect(sim, uuid)
    message = refused(sim, "vm-unblock", "uuid=" + uuid, "duration=" + duration, code=64)
    assert "duration=" in message


@pytest.mark.parametrize("reason", ["", "   ", "two\nlines", "bell\x07", "x" * 501])
def test_bad_reasons_are_refused(sim, reason):
    message = refused(sim, "vm-unblock", "uuid=" + sim.vms["web"], "reason=" + reason, code=64)
    assert "reason=" in message


def test_a_missing_explicit_config_is_an_error(sim, tmp_path):
    message = refused(sim, "vm-list", "--config", str(tmp_path / "absent.yaml"), code=78)
    assert "absent.yaml" in message and "cannot read it" in message


def test_a_bad_config_names_the_line(sim, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("protection:\n  mdoe: audit\n")
    message = refused(sim, "vm-list", "--config=" + str(path), code=78)
    assert "line 2" in message


def test_an_unreachable_xapi_is_one_clear_error(sim, tmp_path):
    message = refused(sim, "vm-list", "--xapi-url", f"unix://{tmp_path}/none", code=69)
    assert f"cannot reach XAPI at unix://{tmp_path}/none" in message


def test_shell_syntax_in_values_is_only_data(sim, tmp_path):
    canary = tmp_path / "canary"
    for args in (["vm-unblock", f"uuid=$(touch {canary})"],
                 ["vm-unblock", f"vm=x; touch {canary}"],
                 ["vm-list", f"name-label=`touch {canary}`"]):
        run_cli(sim, *args)
    assert not canary.exists()


def test_a_reason_that_imitates_the_record_format_is_stored_verbatim(sim):
    uuid = sim.vms["web"]
    reason = '", "until": null, "by": "root"} $(reboot) `id` \'; DROP'
    result = run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=" + reason, "duration=1h")
    assert result.returncode == 0, result.stderr
    exemption = records.parse_exemption(
        sim.vm_record(uuid)["other_config"][records.KEY_EXEMPTION])
    assert exemption.reason == reason
    assert exemption.until - exemption.at == 3600


def test_a_hostile_name_is_escaped_in_errors(sim):
    sim.create_vm("dup\x9b2J\nowned")
    sim.create_vm("dup\x9b2J\nowned")
    message = refused(sim, "vm-classify", "vm=dup\x9b2J\nowned", code=1)
    assert "dup\\x9b2J\\nowned" in message


def test_json_output_of_a_hostile_name_is_valid_json(sim):
    uuid = sim.create_vm('q"\\\n\t\x9bname é中')[1]
    result = run_cli(sim, "vm-list", "uuid=" + uuid, "--json")
    assert json.loads(result.stdout)[0]["name-label"] == 'q"\\\n\t\x9bname é中'


def test_bidirectional_controls_are_escaped_in_text_output(sim):
    """A right-to-left override makes a terminal show "exe.txt" for "txt.exe"
    (CVE-2021-42574); text output shows the control as \\u202e instead."""
    uuid = sim.create_vm("invoice\u202etxt.exe\u2066x\u2069")[1]
    result = run_cli(sim, "vm-list", "uuid=" + uuid, "params=name-label")
    assert result.stdout.splitlines()[0].endswith(": invoice\\u202etxt.exe\\u2066x\\u2069")
    assert json.loads(run_cli(sim, "vm-list", "uuid=" + uuid, "--json").stdout)[0][
        "name-label"] == "invoice\u202etxt.exe\u2066x\u2069"
