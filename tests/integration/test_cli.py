"""`csguard <command>` end to end: the CLI as a subprocess against the simulator,
checked through the real XenAPI client and the simulator's own records."""
import json
import os
import re
import subprocess
import sys
import tempfile

import pytest
from csguard import records
from csguard.cli.args import format_duration, parse_duration
from xapisim import Simulator

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGIN_DIR = os.path.join(REPO, "dom0-plugin")
OURS = ("clean_shutdown", "hard_shutdown", "shutdown", "destroy")


def write_default_config(directory):
    """A configuration file that sets one option to its default value (an empty file
    is refused as a likely truncation)."""
    path = os.path.join(directory, "csguard.yaml")
    with open(path, "w") as f:
        f.write("protection:\n  mode: enforce\n")
    return path


def run_cli(sim, *args, env=None, config=None):
    """Run `python -m csguard args...` against sim's first host; CompletedProcess."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([PLUGIN_DIR, os.path.join(REPO, "tests")])
    full_env["CSGUARD_XAPI_URL"] = sim.unix_url(0)
    full_env["CSGUARD_CONFIG"] = config or sim.default_config
    full_env.pop("SUDO_USER", None)
    full_env.update(env or {})
    return run([sys.executable, "-m", "csguard", *args], full_env)


def run(argv, env):
    """CompletedProcess of argv (Python 3.6 has no capture_output)."""
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True)
    stdout, stderr = child.communicate(timeout=120)
    return subprocess.CompletedProcess(argv, child.returncode, stdout, stderr)


def ok(result):
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


@pytest.fixture(name="sim")
def pool_sim():
    """A one-host pool with one VM of each kind csguard tells apart."""
    workdir = tempfile.mkdtemp(prefix="xs-", dir="/tmp")
    with Simulator(hosts=1, workdir=workdir) as simulator:
        simulator.default_config = write_default_config(workdir)
        vms = {}
        vms["web"] = simulator.create_vm("web-01")
        vms["db"] = simulator.create_vm("db-02", power_state="Halted",
                                        blocked_operations={"destroy": "true"})
        vms["user"] = simulator.create_vm("i-2-10-VM")
        vms["router"] = simulator.create_vm("r-5-VM")
        vms["template"] = simulator.create_vm("tmpl", power_state="Halted", is_a_template=True)
        vms["snapshot"] = simulator.create_vm("web-01 snap", power_state="Halted",
                                              is_a_template=True, is_a_snapshot=True)
        simulator.vms = {name: uuid for name, (_, uuid) in vms.items()}
        yield simulator


@pytest.fixture
def api(xapi_session):
    return xapi_session.xenapi


def fields_of(out):
    """{field: value} of xe records text (the last record wins)."""
    return dict(re.findall(r"^\s*(\S+) \(...\)\s*: (.*)$", out, re.MULTILINE))


def messages(api, name):
    return [m for m in api.message.get_all_records().values() if m["name"] == name]


def blocks(sim, uuid):
    return sim.vm_record(uuid)["blocked_operations"]


def protect(sim, uuid):
    for op in OURS:
        if op not in blocks(sim, uuid):
            sim.modify_vm(uuid, "blocked_operations",
                          dict(blocks(sim, uuid), **{op: records.blocked_reason(uuid)}))


# --- vm-list ------------------------------------------------------------------------

def test_vm_list_prints_records_laid_out_as_xe_does(sim):
    uuid = sim.vms["web"]
    out = ok(run_cli(sim, "vm-list", "uuid=" + uuid))
    assert out == (
        f"uuid ( RO)           : {uuid}\n"
        "     name-label ( RO): web-01\n"
        "    power-state ( RO): running\n"
        "          class ( RO): alien\n"
        "      protected ( RO): false\n"
        "\n\n")


def test_vm_list_shows_every_vm_but_templates_and_snapshots(sim):
    out = ok(run_cli(sim, "vm-list", "params=uuid"))
    listed = set(re.findall(r"uuid \( RO\)\s*: (\S+)", out))
    expected = {sim.vms[k] for k in ("web", "db", "user", "router")}
    assert expected <= listed
    assert sim.vms["template"] not in listed and sim.vms["snapshot"] not in listed


def test_vm_list_class_ignored_includes_templates_and_snapshots(sim):
    out = ok(run_cli(sim, "vm-list", "class=ignored", "--minimal"))
    listed = out.strip().split(",")
    assert sim.vms["template"] in listed and sim.vms["snapshot"] in listed
    assert sim.vms["web"] not in listed


def test_vm_list_filters_by_class_protection_name_and_power_state(sim):
    protect(sim, sim.vms["db"])
    assert ok(run_cli(sim, "vm-list", "class=alien", "protected=false", "--minimal")) == (
        sim.vms["web"] + "\n")
    assert ok(run_cli(sim, "vm-list", "class=alien", "protected=true", "--minimal")) == (
        sim.vms["db"] + "\n")
    assert ok(run_cli(sim, "vm-list", "class=cloudstack", "params=name-label",
                      "--minimal")) == "i-2-10-VM,r-5-VM\n"
    assert ok(run_cli(sim, "vm-list", "name-label=db-02", "--minimal")) == sim.vms["db"] + "\n"
    assert ok(run_cli(sim, "vm-list", "power-state=halted", "class=alien",
                      "--minimal")) == sim.vms["db"] + "\n"


def test_vm_list_minimal_escapes_commas_and_prints_an_empty_line_for_nothing(sim):
    sim.create_vm("a,b\\c")
    assert ok(run_cli(sim, "vm-list", "name-label=a,b\\c", "params=name-label",
                      "--minimal")) == "a\\,b\\\\c\n"
    assert ok(run_cli(sim, "vm-list", "name-label=nobody", "--minimal")) == "\n"


def test_vm_list_params_all_shows_blocks_of_everyone_and_the_rule(sim):
    uuid = sim.vms["db"]
    protect(sim, uuid)
    out = ok(run_cli(sim, "vm-list", "uuid=" + uuid, "params=all"))
    fields = fields_of(out)
    assert fields["class"] == "alien" and fields["rule"] == "no-cloudstack-name"
    assert "destroy: true" in fields["blocked-operations"]
    assert "clean_shutdown: csguard:" in fields["blocked-operations"]
    assert fields["csguard-blocked"] == "clean_shutdown; hard_shutdown; shutdown"
    assert fields["protected"] == "true"
    assert fields["exempt-until"] == ""


def test_vm_list_json_has_every_requested_field_with_plain_types(sim):
    data = json.loads(ok(run_cli(sim, "vm-list", "params=all", "--json")))
    by_uuid = {row["uuid"]: row for row in data}
    db = by_uuid[sim.vms["db"]]
    assert db["blocked-operations"] == {"destroy": "true"}
    assert db["csguard-blocked"] == [] and db["protected"] is False
    assert db["power-state"] == "halted"
    assert by_uuid[sim.vms["user"]]["class"] == "cloudstack"
    assert by_uuid[sim.vms["user"]]["rule"] == "cloudstack-user-vm"


def test_vm_list_escapes_control_characters_in_names(sim):
    uuid = sim.create_vm("evil\x9b2Jname\nuuid ( RO): fake")[1]
    out = ok(run_cli(sim, "vm-list", "uuid=" + uuid, "params=name-label"))
    assert "\x9b" not in out
    assert out.startswith("name-label ( RO)    : evil\\x9b2Jname\\x0auuid ( RO): fake\n")


# --- vm-classify --------------------------------------------------------------------

def test_vm_classify_gives_the_verdict_rule_and_reason(sim):
    out = ok(run_cli(sim, "vm-classify", "vm=r-5-VM"))
    fields = fields_of(out)
    assert fields["uuid"] == sim.vms["router"]
    assert fields["class"] == "cloudstack"
    assert fields["rule"] == "cloudstack-system-vm"
    assert "virtual router" in fields["reason"]


def test_vm_classify_accepts_a_uuid_as_vm(sim):
    data = json.loads(ok(run_cli(sim, "vm-classify", "vm=" + sim.vms["template"], "--json")))
    assert data["class"] == "ignored" and data["rule"] == "template"


# --- vm-unblock / vm-block ----------------------------------------------------------

def test_vm_unblock_records_the_exemption_then_removes_only_csguards_blocks(sim, api):
    uuid = sim.vms["db"]
    protect(sim, uuid)
    out = ok(run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=backup window",
                     "duration=2h", env={"SUDO_USER": "alice"}))
    record = sim.vm_record(uuid)
    assert record["blocked_operations"] == {"destroy": "true"}
    assert records.KEY_VERDICT not in record["other_config"]
    exemption = records.parse_exemption(record["other_config"][records.KEY_EXEMPTION])
    assert exemption.by == "alice"
    assert exemption.reason == "backup window"
    assert exemption.until - exemption.at == 2 * 3600
    assert "exemption recorded by alice until" in out
    assert "Removed csguard's blocks: clean_shutdown, hard_shutdown, shutdown." in out
    assert "Kept blocks set by others: destroy." in out
    audit = messages(api, "CSGUARD_VM_UNBLOCKED")
    assert len(audit) == 1
    assert audit[0]["obj_uuid"] == uuid
    assert "alice" in audit[0]["body"] and "backup window" in audit[0]["body"]


def test_vm_unblock_needs_a_reason_and_changes_nothing_without_one(sim):
    uuid = sim.vms["web"]
    protect(sim, uuid)
    before = sim.vm_record(uuid)
    result = run_cli(sim, "vm-unblock", "vm=web-01")
    assert result.returncode == 64 and result.stdout == ""
    assert "missing argument: reason=<why>" in result.stderr
    assert sim.vm_record(uuid) == before


def test_vm_unblock_without_duration_lasts_the_configured_default(sim, tmp_path):
    uuid = sim.vms["web"]
    protect(sim, uuid)
    ok(run_cli(sim, "vm-unblock", "vm=web-01", "reason=decommission"))
    exemption = records.parse_exemption(
        sim.vm_record(uuid)["other_config"][records.KEY_EXEMPTION])
    assert exemption.until - exemption.at == 4 * 3600 and exemption.reason == "decommission"
    row = json.loads(ok(run_cli(sim, "vm-list", "uuid=" + uuid, "params=all", "--json")))[0]
    assert row["class"] == "exempt" and row["exempt-until"] == records.format_time(
        exemption.until)
    assert row["blocked-operations"] == {}
    config = tmp_path / "short.yaml"
    config.write_text("exemptions:\n  default_duration: 20m\n")
    uuid = sim.vms["db"]
    out = ok(run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=x", config=str(config)))
    exemption = records.parse_exemption(
        sim.vm_record(uuid)["other_config"][records.KEY_EXEMPTION])
    assert exemption.until - exemption.at == 20 * 60 and "(20m)" in out


def test_vm_unblock_again_is_refused_with_the_current_end(sim):
    uuid = sim.vms["web"]
    ok(run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=first", "duration=2h"))
    before = sim.vm_record(uuid)
    end = records.format_time(records.parse_exemption(
        before["other_config"][records.KEY_EXEMPTION]).until)
    for more in ([], ["duration=30m"], ["duration=3h"]):
        result = run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=second", *more)
        assert result.returncode == 1 and result.stdout == ""
        assert f"already exempt until {end}" in result.stderr
        assert "replace=true" in result.stderr and "csguard vm-block uuid=" + uuid in (
            result.stderr)
        assert sim.vm_record(uuid) == before


def test_vm_unblock_replace_true_replaces_the_exemption_and_says_so(sim):
    uuid = sim.vms["web"]
    ok(run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=first", "duration=2h"))
    first = records.parse_exemption(sim.vm_record(uuid)["other_config"][records.KEY_EXEMPTION])
    out = ok(run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=second", "duration=30m",
                     "replace=true"))
    exemption = records.parse_exemption(
        sim.vm_record(uuid)["other_config"][records.KEY_EXEMPTION])
    assert exemption.reason == "second" and exemption.until - exemption.at == 1800
    assert f"Replaced the exemption by {first.by} until {records.format_time(first.until)}" in out


def test_vm_unblock_is_refused_when_an_override_forces_protection(sim, api):
    uuid = sim.vms["web"]
    sim.modify_vm(uuid, "tags", ["csguard-protect"])
    protect(sim, uuid)
    before = sim.vm_record(uuid)
    result = run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=try")
    assert result.returncode == 1 and result.stdout == ""
    assert "stays protected" in result.stderr and "csguard-protect" in result.stderr
    assert sim.vm_record(uuid) == before
    assert messages(api, "CSGUARD_VM_UNBLOCKED") == []


def test_vm_unblock_says_so_when_the_audit_message_cannot_be_created(sim, api):
    uuid = sim.vms["web"]
    protect(sim, uuid)
    # xmlrpc.client retries a call once when a kept-alive connection is closed.
    sim.drop_connection(method="message.create", count=2)
    result = run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=x")
    assert result.returncode == 1
    assert "Warning: the audit message CSGUARD_VM_UNBLOCKED could not be created" in (
        result.stdout)
    record = sim.vm_record(uuid)
    assert records.parse_exemption(record["other_config"][records.KEY_EXEMPTION]).reason == "x"
    assert record["blocked_operations"] == {}
    assert messages(api, "CSGUARD_VM_UNBLOCKED") == []


def test_a_configured_override_key_forces_protection(sim, tmp_path):
    config = str(tmp_path / "override.yaml")
    with open(config, "w") as f:
        f.write("overrides:\n  other_config_key: 'site:guard'\n")
    uuid = sim.vms["user"]
    sim.modify_vm(uuid, "other_config", {"site:guard": "protect"})
    row = json.loads(ok(run_cli(sim, "vm-classify", "uuid=" + uuid, "--json", config=config)))
    assert row["class"] == "alien" and row["rule"] == "override-other-config"
    result = run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=x", config=config)
    assert result.returncode == 1 and "stays protected" in result.stderr


def test_vm_block_ends_the_exemption_and_protects_now(sim):
    uuid = sim.vms["db"]
    ok(run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=x"))
    out = ok(run_cli(sim, "vm-block", "vm=db-02"))
    record = sim.vm_record(uuid)
    assert records.KEY_EXEMPTION not in record["other_config"]
    assert record["blocked_operations"]["destroy"] == "true"
    for op in ("clean_shutdown", "hard_shutdown", "shutdown"):
        assert record["blocked_operations"][op] == records.blocked_reason(uuid)
    verdict = records.parse_verdict(record["other_config"][records.KEY_VERDICT])
    assert verdict[0] == "alien"
    assert "exemption removed" in out and "Blocked: clean_shutdown, hard_shutdown, shutdown." in out


def test_vm_block_is_refused_for_a_cloudstack_vm(sim):
    uuid = sim.vms["user"]
    before = sim.vm_record(uuid)
    result = run_cli(sim, "vm-block", "uuid=" + uuid)
    assert result.returncode == 1 and result.stdout == ""
    assert "is cloudstack, not alien" in result.stderr
    assert "param-key=csguard-protect" in result.stderr
    assert sim.vm_record(uuid) == before


def test_vm_block_in_audit_mode_removes_the_exemption_and_blocks_nothing(sim, tmp_path):
    config = str(tmp_path / "audit.yaml")
    with open(config, "w") as f:
        f.write("protection:\n  mode: audit\n")
    uuid = sim.vms["web"]
    ok(run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=x", config=config))
    out = ok(run_cli(sim, "vm-block", "uuid=" + uuid, config=config))
    assert "Mode is audit" in out
    record = sim.vm_record(uuid)
    assert records.KEY_EXEMPTION not in record["other_config"]
    assert record["blocked_operations"] == {}


# --- scan ---------------------------------------------------------------------------

def test_scan_dry_run_prints_the_plan_and_changes_nothing(sim):
    before = {uuid: sim.vm_record(uuid) for uuid in sim.vms.values()}
    out = ok(run_cli(sim, "scan", "dry-run=true"))
    assert f"would change {sim.vms['web']} ('web-01', alien): block destroy" in out
    assert "i-2-10-VM" not in out
    assert {uuid: sim.vm_record(uuid) for uuid in sim.vms.values()} == before


def test_scan_protects_aliens_only_and_a_second_scan_changes_nothing(sim):
    ok(run_cli(sim, "scan"))
    for name in ("web", "db"):
        uuid = sim.vms[name]
        assert set(OURS) <= set(blocks(sim, uuid))
    assert blocks(sim, sim.vms["db"])["destroy"] == "true"
    for name in ("user", "router", "template", "snapshot"):
        assert blocks(sim, sim.vms[name]) == {}
    data = json.loads(ok(run_cli(sim, "scan", "--json")))
    assert data["changes"] == [] and data["counts"]["alien"] == 2


# --- attempts -----------------------------------------------------------------------

def test_attempts_lists_the_blocked_attempt_messages_per_vm(sim, api):
    web, db = sim.vms["web"], sim.vms["db"]
    api.message.create("CSGUARD_BLOCKED_ATTEMPT", "3", "VM", web, "tried clean_shutdown")
    api.message.create("CSGUARD_BLOCKED_ATTEMPT", "3", "VM", db, "tried destroy")
    api.message.create("SOMETHING_ELSE", "5", "VM", web, "unrelated")
    everything = json.loads(ok(run_cli(sim, "attempts", "--json")))
    assert sorted(a["body"] for a in everything) == ["tried clean_shutdown", "tried destroy"]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", a["timestamp"])
               for a in everything)
    out = ok(run_cli(sim, "attempts", "uuid=" + db))
    assert "tried destroy" in out and "tried clean_shutdown" not in out
    assert ok(run_cli(sim, "attempts", "uuid=" + sim.vms["user"])) == (
        f"No blocked attempts recorded for VM {sim.vms['user']}.\n")


# --- status -------------------------------------------------------------------------

def test_status_says_the_daemon_is_not_running_without_a_status_file(sim, tmp_path):
    result = run_cli(sim, "status", "--state-dir", str(tmp_path))
    assert result.returncode == 1
    assert "not running on this host" in result.stdout


def _status_file(directory, **fields):
    with open(os.path.join(directory, "status.json"), "w") as f:
        json.dump(dict({"version": "0.1.0", "started_at": "2026-11-25T04:00:00Z",
                        "blocked_attempts": []}, **fields), f)


def test_status_reports_a_running_daemon(sim, tmp_path):
    _status_file(str(tmp_path), pid=os.getpid(), role="leader", connection="connected",
                 counts={"alien": 2, "cloudstack": 2}, last_event_at="2026-11-25T04:10:05Z",
                 blocked_attempts=[{"vm": "abc", "operation": "destroy"}])
    result = run_cli(sim, "status", "--state-dir=" + str(tmp_path))
    assert result.returncode == 0, result.stderr
    fields = fields_of(result.stdout)
    assert fields["role"] == "leader" and fields["connection"] == "connected"
    assert fields["counts"] == "alien: 2; cloudstack: 2"
    assert re.match(r"2026-11-25T04:10:05Z \(.* ago\)$", fields["last-event-at"])
    assert "recent blocked attempts: 1\n  operation=destroy vm=abc" in result.stdout
    data = json.loads(ok(run_cli(sim, "status", "--state-dir", str(tmp_path), "--json")))
    assert data["running"] is True and data["role"] == "leader"
    # Key names as vm-list --json, scan --json and preflight --json spell them.
    assert data["last-event-at"] == "2026-11-25T04:10:05Z"
    assert data["blocked-attempts"] == [{"vm": "abc", "operation": "destroy"}]
    assert data["status-file"] == str(tmp_path / "status.json")
    assert not [key for key in _keys(data) if "_" in key]


def _keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_status_says_not_running_when_the_daemon_pid_is_gone(sim, tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    _status_file(str(tmp_path), pid=gone.pid, role="leader", connection="connected")
    result = run_cli(sim, "status", "--state-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.startswith(
        f"NOT RUNNING: the csguard daemon is not running (pid {gone.pid})")


# --- help ---------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["vm-list", "vm-unblock", "vm-block", "vm-classify",
                                     "status", "attempts", "scan"])
def test_every_command_has_help(sim, command):
    out = ok(run_cli(sim, command, "--help"))
    assert out.startswith(f"usage: csguard {command}")
    assert ok(run_cli(sim, "help", command)) == out


def test_help_lists_every_command_and_global_option(sim):
    out = ok(run_cli(sim, "--help"))
    for word in ("vm-list", "vm-unblock", "vm-block", "vm-classify", "status", "attempts",
                 "scan", "daemon", "--xapi-url", "--config", "--state-dir"):
        assert word in out
    assert ok(run_cli(sim)) == out


def test_daemon_dispatches_to_the_daemon_with_the_global_options(sim):
    out = ok(run_cli(sim, "--xapi-url", sim.unix_url(0), "daemon", "--help"))
    assert "csguard daemon" in out and "--state-dir" in out


def _complete(script, *words):
    """What bash offers for the last of words, with the completion script loaded."""
    quoted = " ".join(f"'{w}'" for w in words)
    line = (f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
            '_csguard; echo "${COMPREPLY[*]}"')
    return run(["bash", "-c", line], dict(os.environ)).stdout.split()


def test_bash_completion_offers_commands_keys_and_values(sim, tmp_path):
    script = tmp_path / "csguard.bash"
    script.write_text(ok(run_cli(sim, "completion")))
    assert _complete(script, "csguard", "vm-u") == ["vm-unblock"]
    assert _complete(script, "csguard", "vm-unblock", "d") == ["duration="]
    assert _complete(script, "csguard", "vm-list", "--m") == ["--minimal"]
    assert _complete(script, "csguard", "vm-list", "class", "=", "c") == ["cloudstack"]
    assert _complete(script, "csguard", "scan", "dry-run", "=") == ["true", "false"]


# --- where XAPI is ------------------------------------------------------------------

def test_a_pool_member_sees_and_changes_the_whole_pool():
    with Simulator(hosts=2, workdir=tempfile.mkdtemp(prefix="xs-", dir="/tmp")) as pool:
        pool.default_config = write_default_config(pool.workdir)
        uuid = pool.create_vm("on-master", host=0)[1]
        protect(pool, uuid)
        member = {"CSGUARD_XAPI_URL": pool.unix_url(1)}
        assert ok(run_cli(pool, "vm-list", "name-label=on-master", "--minimal",
                          env=member)) == uuid + "\n"
        ok(run_cli(pool, "vm-unblock", "uuid=" + uuid, "reason=x", env=member))
        assert pool.vm_record(uuid)["blocked_operations"] == {}


def test_a_remote_xapi_uses_the_configured_credentials(sim, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text("root\nxenroot\n")
    credentials.chmod(0o600)
    config = tmp_path / "remote.yaml"
    config.write_text(f"xapi:\n  url: {sim.tcp_url}\n  credentials_file: {credentials}\n")
    out = ok(run_cli(sim, "vm-list", "name-label=web-01", "--minimal", config=str(config),
                     env={"CSGUARD_XAPI_URL": ""}))
    assert out == sim.vms["web"] + "\n"
    refused = run_cli(sim, "vm-list", "--xapi-url", sim.tcp_url)
    assert refused.returncode == 69 and refused.stdout == ""
    assert "SESSION_AUTHENTICATION_FAILED" in refused.stderr


@pytest.mark.parametrize("text, seconds", [
    ("45s", 45), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1w", 604800),
    ("1h30m", 5400), ("1d12h", 129600), ("366d", 366 * 86400)])
def test_durations_read_as_operators_write_them(text, seconds):
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds
