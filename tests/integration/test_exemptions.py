"""Exemptions bind to the VM they were granted for: what clone, copy and import carry
along is void, and vm-unblock refuses VMs csguard never blocks (issue 14 item 3)."""
import json
import tempfile

import pytest
import XenAPI
from csguard import records
from xapisim.testing import tcp_session

from integration.daemon_runner import DaemonRunner, missing_blocks

from .test_cli import ok, pool_sim, protect, run_cli  # noqa: F401 - pool_sim: "sim"


@pytest.fixture
def api(xapi_session):
    return xapi_session.xenapi


def _exempt(sim, uuid):
    protect(sim, uuid)
    ok(run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=decommission", "duration=2h"))
    return sim.vm_record(uuid)["other_config"][records.KEY_EXEMPTION]


def _clone(xenapi, uuid, name):
    return xenapi.VM.get_uuid(xenapi.VM.clone(xenapi.VM.get_by_uuid(uuid), name))


def test_a_clone_of_an_exempted_vm_is_protected_and_loses_the_copied_record(sim, api):
    source = sim.vms["db"]
    record = _exempt(sim, source)
    clone = _clone(api, source, "db-02 copy")
    assert sim.vm_record(clone)["other_config"][records.KEY_EXEMPTION] == record
    verdict = json.loads(ok(run_cli(sim, "vm-classify", "uuid=" + clone, "--json")))
    assert verdict["class"] == "alien" and verdict["rule"] == "no-cloudstack-name"
    ok(run_cli(sim, "scan"))
    copied = sim.vm_record(clone)
    assert records.KEY_EXEMPTION not in copied["other_config"]
    for op in ("clean_shutdown", "hard_shutdown", "shutdown"):
        assert copied["blocked_operations"][op] == records.blocked_reason(clone)
    assert sim.vm_record(source)["other_config"][records.KEY_EXEMPTION] == record
    row = json.loads(ok(run_cli(sim, "vm-classify", "uuid=" + source, "--json")))
    assert row["class"] == "exempt"


def test_a_vm_made_from_an_exempted_template_is_born_protected(sim, api):
    template = sim.vms["template"]
    foreign = records.format_exemption(records.Exemption(
        "root", 1795579805.0, 1795579805.0 + 3600 * 24 * 3650, "old", sim.vms["web"]))
    sim.modify_vm(template, "other_config", {records.KEY_EXEMPTION: foreign})
    child = _clone(api, template, "from template")
    api.VM.set_is_a_template(api.VM.get_by_uuid(child), False)
    verdict = json.loads(ok(run_cli(sim, "vm-classify", "uuid=" + child, "--json")))
    assert verdict["class"] == "alien" and verdict["rule"] == "no-cloudstack-name"


@pytest.mark.parametrize("name, kind", [
    ("template", "ignored"), ("snapshot", "ignored"), ("user", "cloudstack"),
    ("router", "cloudstack"), ("dom0", "ignored")])
def test_vm_unblock_refuses_vms_csguard_never_blocks(sim, api, name, kind):
    if name == "dom0":
        uuid = next(vm["uuid"] for vm in api.VM.get_all_records().values()
                    if vm["is_control_domain"])
    else:
        uuid = sim.vms[name]
    before = sim.vm_record(uuid)
    result = run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=x")
    assert result.returncode == 1 and result.stdout == ""
    assert f"is {kind}:" in result.stderr and "Nothing was changed." in result.stderr
    assert sim.vm_record(uuid) == before


def test_vm_block_ends_an_exemption_record_on_any_vm(sim, api):
    template = sim.vms["template"]
    foreign = records.format_exemption(records.Exemption(
        "root", 1795579805.0, None, "old", sim.vms["web"]))
    sim.modify_vm(template, "other_config", {records.KEY_EXEMPTION: foreign, "keep": "me"})
    out = ok(run_cli(sim, "vm-block", "uuid=" + template))
    assert "exemption removed" in out and "csguard blocks nothing on it" in out
    assert sim.vm_record(template)["other_config"] == {"keep": "me"}
    assert sim.vm_record(template)["blocked_operations"] == {}
    source = sim.vms["db"]
    _exempt(sim, source)
    clone = _clone(api, source, "db-02 copy")
    out = ok(run_cli(sim, "vm-block", "uuid=" + clone))
    assert "exemption removed" in out
    copied = sim.vm_record(clone)
    assert records.KEY_EXEMPTION not in copied["other_config"]
    assert copied["blocked_operations"]["clean_shutdown"] == records.blocked_reason(clone)


# --- who may lift a block (issue 14 item 5) ------------------------------------------

def test_an_honoured_allow_override_leaves_a_record_and_exempts_nothing_itself(sim, api):
    uuid = sim.vms["web"]
    protect(sim, uuid)
    ref = api.VM.get_by_uuid(uuid)
    api.VM.add_to_other_config(ref, "csguard:override", "allow")
    ok(run_cli(sim, "scan"))
    record = sim.vm_record(uuid)
    assert record["blocked_operations"] == {}
    lifted = records.parse_exemption(record["other_config"][records.KEY_EXEMPTION])
    assert (lifted.by, lifted.via, lifted.vm, lifted.until) == (
        "csguard", "override-other-config", uuid, None)
    assert "'csguard:override'='allow'" in lifted.reason
    assert "XAPI does not say who set it" in lifted.reason
    api.VM.remove_from_other_config(ref, "csguard:override")
    ok(run_cli(sim, "scan"))
    record = sim.vm_record(uuid)
    assert record["blocked_operations"]["destroy"] == records.blocked_reason(uuid)
    assert records.KEY_EXEMPTION not in record["other_config"]


def test_a_vm_operator_cannot_lift_a_block(sim, api):
    """XAPI lets vm-operator set tags, not blocked_operations nor csguard's keys
    (datamodel_vm.ml: tags writer_roles _R_VM_OP; VM defaults _R_VM_ADMIN)."""
    uuid = sim.vms["web"]
    protect(sim, uuid)
    sim.add_user("olga", "vm-operator", "pw")
    session = tcp_session(sim.tcp_url, user="olga", password="pw")
    try:
        ref = session.xenapi.VM.get_by_uuid(uuid)
        session.xenapi.VM.add_tags(ref, "csguard-allow")
        for attempt in (lambda: session.xenapi.VM.add_to_other_config(
                            ref, "csguard:override", "allow"),
                        lambda: session.xenapi.VM.remove_from_blocked_operations(ref, "destroy")):
            with pytest.raises(XenAPI.Failure) as refused:
                attempt()
            assert refused.value.details[0] == "RBAC_PERMISSION_DENIED"
    finally:
        session.xenapi.session.logout()
    ok(run_cli(sim, "scan"))
    assert sim.vm_record(uuid)["blocked_operations"]["destroy"] == records.blocked_reason(uuid)
    assert json.loads(ok(run_cli(sim, "vm-classify", "uuid=" + uuid, "--json")))[
        "class"] == "alien"


def test_a_revert_brings_back_the_exemption_of_that_very_vm_until_its_end(sim, api):
    """What the README's Limits say: VM.revert restores other_config as it was at
    snapshot time (xapi_vm_snapshot.ml), uuid unchanged, so the record still binds."""
    uuid = sim.vms["db"]
    record = _exempt(sim, uuid)
    snapshot = api.VM.snapshot(api.VM.get_by_uuid(uuid), "during the exemption")
    ok(run_cli(sim, "vm-block", "uuid=" + uuid))
    api.VM.revert(snapshot)
    assert sim.vm_record(uuid)["other_config"][records.KEY_EXEMPTION] == record
    row = json.loads(ok(run_cli(sim, "vm-classify", "uuid=" + uuid, "--json")))
    assert row["class"] == "exempt"
    assert row["exempt-until"] == records.format_time(records.parse_exemption(record).until)


def test_the_daemon_records_each_allow_override_it_honours(sim, api):
    uuid = sim.vms["web"]
    state = tempfile.mkdtemp(prefix="cg-", dir="/tmp")
    with DaemonRunner(sim.unix_url(0), state) as daemon:
        daemon.wait_ready()
        assert missing_blocks(sim, [uuid]) == {}
        ref = api.VM.get_by_uuid(uuid)
        api.VM.add_to_other_config(ref, "csguard:override", "allow")
        daemon.wait_until(lambda: records.KEY_EXEMPTION in sim.vm_record(uuid)["other_config"]
                          and not sim.vm_record(uuid)["blocked_operations"],
                          what="blocks lifted with a record")
        lifted = records.parse_exemption(
            sim.vm_record(uuid)["other_config"][records.KEY_EXEMPTION])
        assert (lifted.by, lifted.via, lifted.vm) == ("csguard", "override-other-config", uuid)
        api.VM.remove_from_other_config(ref, "csguard:override")
        daemon.wait_until(lambda: not missing_blocks(sim, [uuid]) and records.KEY_EXEMPTION
                          not in sim.vm_record(uuid)["other_config"],
                          what="protected again, the record gone")
