"""The csguard host plugin, called through the simulator's host.call_plugin exactly
as XAPI calls it: the plugin file as the RPM writes it from xapi-hooks/csguard, run
with PATH alone in its environment and argv[1] = an XML-RPC methodCall, its methodResponse read from stdout, xe-style arguments."""
import json
import os
import shutil
import tempfile
import xmlrpc.client

import pytest
import XenAPI
from csguard import records
from xapisim import Simulator
from xapisim.testing import UnixTransport

from integration.plugin_file import BARE_ENV, install
from integration.test_cli import run

BAD = "0f0e0d0c-0b0a-4909-8807-060504030201"


@pytest.fixture
def sim():
    """A simulator whose plugins directory holds the csguard plugin as the RPM writes
    it (with this run's paths), and its config file. XAPI runs it with PATH alone."""
    workdir = tempfile.mkdtemp(prefix="xs-", dir="/tmp")
    plugins = os.path.join(workdir, "plugins")
    os.mkdir(plugins)
    config = os.path.join(workdir, "csguard.yaml")
    with open(config, "w") as f:
        f.write(f"state_dir: {os.path.join(workdir, 'state')}\n")
    install(plugins, config)
    with Simulator(hosts=1, workdir=workdir, plugins_dir=plugins) as simulator:
        simulator.state_dir = os.path.join(workdir, "state")
        simulator.vms = {
            "web": simulator.create_vm("web-01")[1],
            "db": simulator.create_vm("db-02", power_state="Halted",
                                      blocked_operations={"destroy": "true"})[1],
            "user": simulator.create_vm("i-2-10-VM")[1],
        }
        yield simulator


@pytest.fixture
def api(xapi_session):
    return xapi_session.xenapi


def call(api, sim, fn, **args):
    """xe host-call-plugin host-uuid=<host 0> plugin=csguard fn=<fn> args:<k>=<v>..."""
    return api.host.call_plugin(sim.host_refs[0], "csguard", fn, args)


def failure(api, sim, fn, **args):
    with pytest.raises(XenAPI.Failure) as raised:
        call(api, sim, fn, **args)
    return raised.value.details


def protect(sim, uuid):
    blocked = dict(sim.vm_record(uuid)["blocked_operations"])
    for op in ("clean_shutdown", "hard_shutdown", "shutdown", "destroy"):
        blocked.setdefault(op, records.blocked_reason(uuid))
    sim.modify_vm(uuid, "blocked_operations", blocked)


def test_vm_list_returns_json_filtered_like_the_cli(api, sim):
    rows = json.loads(call(api, sim, "vm-list", **{"class": "alien", "params": "all"}))
    assert sorted(row["name-label"] for row in rows) == ["db-02", "web-01"]
    db = next(row for row in rows if row["uuid"] == sim.vms["db"])
    assert db["blocked-operations"] == {"destroy": "true"} and db["protected"] is False


def test_vm_classify_names_the_rule(api, sim):
    verdict = json.loads(call(api, sim, "vm-classify", uuid=sim.vms["user"]))
    assert verdict["class"] == "cloudstack" and verdict["rule"] == "cloudstack-user-vm"


def test_vm_unblock_acts_as_the_calling_user_and_leaves_an_audit_message(api, sim):
    uuid = sim.vms["db"]
    protect(sim, uuid)
    result = json.loads(call(api, sim, "vm-unblock", uuid=uuid, reason="migration",
                             duration="30m"))
    assert result["removed"] == ["clean_shutdown", "hard_shutdown", "shutdown"]
    assert result["kept"] == ["destroy"]
    record = sim.vm_record(uuid)
    assert record["blocked_operations"] == {"destroy": "true"}
    exemption = records.parse_exemption(record["other_config"][records.KEY_EXEMPTION])
    assert exemption.by == "root via host plugin"
    assert exemption.reason == "migration" and exemption.until - exemption.at == 1800
    audit = [m for m in api.message.get_all_records().values()
             if m["name"] == "CSGUARD_VM_UNBLOCKED"]
    assert [m["obj_uuid"] for m in audit] == [uuid]


def test_a_non_ascii_reason_and_name_pass_through_the_bare_environment(api, sim):
    """XAPI gives the plugin no LANG: Python 3.6 then reads argv and writes stdout as
    ASCII (3.7+ coerce the C locale to UTF-8, PEP 538)."""
    uuid = sim.create_vm("modèle-01")[1]
    protect(sim, uuid)
    result = json.loads(call(api, sim, "vm-unblock", uuid=uuid, reason="Wartung für Kunde"))
    assert result["name-label"] == "modèle-01"
    exemption = records.parse_exemption(
        sim.vm_record(uuid)["other_config"][records.KEY_EXEMPTION])
    assert exemption.reason == "Wartung für Kunde"


def test_vm_block_protects_again(api, sim):
    uuid = sim.vms["web"]
    call(api, sim, "vm-unblock", uuid=uuid, reason="x")
    result = json.loads(call(api, sim, "vm-block", uuid=uuid))
    assert result["exemption-removed"] is True
    assert result["blocked"] == ["clean_shutdown", "destroy", "hard_shutdown", "shutdown"]
    record = sim.vm_record(uuid)
    assert records.KEY_EXEMPTION not in record["other_config"]
    assert record["blocked_operations"]["destroy"] == records.blocked_reason(uuid)


def test_status_without_a_daemon_says_not_running(api, sim):
    status = json.loads(call(api, sim, "status"))
    assert status["running"] is False
    assert "not running" in status["error"]


def test_status_reports_the_daemon_file(api, sim):
    os.makedirs(sim.state_dir)
    with open(os.path.join(sim.state_dir, "status.json"), "w") as f:
        json.dump({"pid": os.getpid(), "role": "leader", "connection": "connected",
                   "mode": "enforce"}, f)
    status = json.loads(call(api, sim, "status"))
    assert status["running"] is True and status["role"] == "leader"


@pytest.mark.parametrize("fn, args, code, text", [
    ("vm-classify", {"uuid": BAD}, "CSGUARD_UNKNOWN_VM", "no VM has uuid"),
    ("vm-unblock", {"uuid": "$(reboot)"}, "CSGUARD_BAD_ARGUMENT", "is not a uuid"),
    ("vm-unblock", {}, "CSGUARD_BAD_ARGUMENT", "missing argument"),
    ("vm-list", {"colour": "red"}, "CSGUARD_BAD_ARGUMENT", "unknown argument 'colour'"),
    ("vm-unblock", {"vm": "web-01", "duration": "forever"}, "CSGUARD_BAD_ARGUMENT",
     "is not a duration"),
    ("vm-block", {"vm": "i-2-10-VM"}, "CSGUARD_NOT_ALIEN", "not alien"),
])
def test_refusals_are_failures_with_a_code_and_a_message(api, sim, fn, args, code, text):
    before = {uuid: sim.vm_record(uuid) for uuid in sim.vms.values()}
    details = failure(api, sim, fn, **args)
    assert details[0] == code and text in details[1]
    assert {uuid: sim.vm_record(uuid) for uuid in sim.vms.values()} == before


def test_an_ambiguous_name_fails_with_every_match(api, sim):
    twins = sorted([sim.create_vm("twin")[1], sim.create_vm("twin")[1]])
    details = failure(api, sim, "vm-unblock", vm="twin")
    assert details[0] == "CSGUARD_AMBIGUOUS_VM"
    assert details[2:] == twins


def test_forced_protection_fails_and_changes_nothing(api, sim):
    uuid = sim.vms["web"]
    sim.modify_vm(uuid, "tags", ["csguard-protect"])
    protect(sim, uuid)
    before = sim.vm_record(uuid)
    details = failure(api, sim, "vm-unblock", uuid=uuid, reason="x")
    assert details[0] == "CSGUARD_FORCED_PROTECTION"
    assert details[2:] == [uuid, "override-tag"]
    assert sim.vm_record(uuid) == before


def test_unknown_and_cli_only_functions_are_unknown_plugin_functions(api, sim):
    assert failure(api, sim, "reboot-everything") == [
        "UNKNOWN_XENAPI_PLUGIN_FUNCTION", "reboot-everything"]
    assert failure(api, sim, "scan") == ["UNKNOWN_XENAPI_PLUGIN_FUNCTION", "scan"]


def _run_hook(*argv):
    """The plugin run by hand under XAPI's environment (PATH alone)."""
    plugins = tempfile.mkdtemp(prefix="xs-", dir="/tmp")
    try:
        return run([install(plugins, os.devnull), *argv],
                   dict(BARE_ENV, XAPISIM_SOCKET=os.path.join(plugins, "none")))
    finally:
        shutil.rmtree(plugins, ignore_errors=True)


def test_the_hook_answers_garbage_with_a_failure_response():
    result = _run_hook("<not xml")
    assert result.returncode == 0
    (reply,), _ = xmlrpc.client.loads(result.stdout)
    assert reply["Status"] == "Failure"
    assert reply["ErrorDescription"][0] == "CSGUARD_BAD_REQUEST"


def test_the_hook_run_by_hand_explains_itself():
    result = _run_hook()
    assert result.returncode == 2 and result.stdout == ""
    assert "xe host-call-plugin" in result.stderr


@pytest.mark.parametrize("fn", ["vm-unblock", "vm-block"])
def test_an_unblock_through_a_member_host_is_refused_not_recorded_anonymously(tmp_path, fn):
    """On a member XAPI runs the plugin with an anonymous internal session
    (message_forwarding.ml call_slave_with_session): csguard cannot say who asked."""
    workdir = tempfile.mkdtemp(prefix="xs-", dir="/tmp")
    plugins = os.path.join(workdir, "plugins")
    os.mkdir(plugins)
    install(plugins, str(tmp_path / "csguard.yaml"))
    (tmp_path / "csguard.yaml").write_text(f"state_dir: {tmp_path / 'state'}\n")
    with Simulator(hosts=2, workdir=workdir, plugins_dir=plugins) as pool:
        uuid = pool.create_vm("web-01")[1]
        protect(pool, uuid)
        session = XenAPI.Session("http://localhost/",
                                 transport=UnixTransport(pool.socket_path(0)))
        session.xenapi.login_with_password("alice", "", "2.0", "tests")
        args = {"uuid": uuid, "reason": "patch"} if fn == "vm-unblock" else {"uuid": uuid}
        before = pool.vm_record(uuid)
        try:
            with pytest.raises(XenAPI.Failure) as refused:
                session.xenapi.host.call_plugin(pool.host_refs[1], "csguard", fn, args)
            listed = session.xenapi.host.call_plugin(pool.host_refs[1], "csguard", "vm-list",
                                                     {"uuid": uuid})
        finally:
            session.xenapi.session.logout()
        assert refused.value.details[0] == "CSGUARD_ANONYMOUS_CALLER"
        assert f"host-uuid={pool.host_uuids[0]} plugin=csguard fn={fn}" in (
            refused.value.details[1])
        assert pool.vm_record(uuid) == before
        assert json.loads(listed)[0]["uuid"] == uuid, "read-only calls still answer"
