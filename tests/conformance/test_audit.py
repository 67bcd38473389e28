"""xapi's RBAC audit log (Simulator(audit_log=True)): one line per side-effecting
call, refused ones included, with who made it; getters and event.from left out."""
import os

import pytest
from csguard import auditlog
from xapisim import Simulator
from xapisim.testing import failure_of, tcp_session, unix_session

REASON = "csguard: VM protected from CloudStack (not created by it)."


@pytest.fixture
def audited():
    with Simulator(hosts=1, audit_log=True) as simulator:
        yield simulator


def lines(sim):
    with open(sim.audit_log_path) as f:
        return [auditlog.parse(line) for line in f.read().splitlines()]


def test_a_synchronous_call_refused_by_a_block_is_audited_with_its_error(audited):
    """rbac.ml check -> rbac_audit.ml allowed_post_fn_error: 'ERROR:' ^
    exnHelper.ml string_of_exn ("CODE: [ p1; p2 ]"), OPERATION_BLOCKED [vm; reason]
    (xapi_vm_lifecycle.ml check_operation_error); allowed_pre_fn keeps the
    destroyed object's name and uuid."""
    ref, uuid = audited.create_vm("web01", power_state="Halted")
    session = tcp_session(audited.tcp_url, originator="cloudstack")
    session.xenapi.VM.add_to_blocked_operations(ref, "destroy", REASON)
    assert failure_of(session.xenapi.VM.destroy, ref)[0] == "OPERATION_BLOCKED"
    record = lines(audited)[-1]
    assert (record.subject_sid, record.subject_name, record.verdict) == (
        "LOCAL_SUPERUSER", "root", "ALLOWED")
    assert record.result == f"ERROR:OPERATION_BLOCKED: [ {ref}; {REASON} ]"
    assert (record.call_type, record.action) == ("API", "VM.destroy")
    assert record.args == (("self", "web01", uuid, ref),)


def test_an_async_call_is_audited_under_its_plain_name(audited):
    """server_helpers.ml sync_ty_and_maybe_remove_prefix: rbac.ml checks (and audits)
    "VM.hard_shutdown" for Async.VM.hard_shutdown too."""
    ref, uuid = audited.create_vm("web02", power_state="Running")
    session = unix_session(audited.socket_path(0))
    session.xenapi.VM.add_to_blocked_operations(ref, "hard_shutdown", REASON)
    task = session.xenapi.Async.VM.hard_shutdown(ref)
    while session.xenapi.task.get_status(task) == "pending":
        pass
    record = [r for r in lines(audited) if r.action == "VM.hard_shutdown"][-1]
    assert record.result.startswith("ERROR:OPERATION_BLOCKED: [ ")
    assert record.args == (("vm", "web02", uuid, ref),)


def test_getters_and_event_from_are_not_audited_and_successes_are_ok(audited):
    """rbac_audit.ml has_to_audit: no ".get" calls, no event.from."""
    ref, _uuid = audited.create_vm("web03", power_state="Halted")
    session = unix_session(audited.socket_path(0))
    session.xenapi.VM.get_record(ref)
    session.xenapi.event_from(["vm"], "", 0.0)
    session.xenapi.VM.set_name_description(ref, "x")
    actions = [r.action for r in lines(audited)]
    assert "VM.get_record" not in actions and "event.from" not in actions
    assert [r.result for r in lines(audited) if r.action == "VM.set_name_description"] == ["OK"]


def test_every_line_is_printable_ascii_whatever_the_names(audited):
    """debug.ml audit -> escape (Astring.String.Ascii.escape)."""
    ref, _uuid = audited.create_vm("modèle", power_state="Halted")
    unix_session(audited.socket_path(0)).xenapi.VM.set_name_description(ref, "y")
    with open(audited.audit_log_path, "rb") as f:
        data = f.read()
    assert all(0x20 <= b < 0x7F or b == 0x0A for b in data)
    assert lines(audited)[-1].args[0][1] == "modèle"


def test_no_audit_log_unless_asked(sim):
    ref, _uuid = sim.create_vm("web04", power_state="Halted")
    unix_session(sim.socket_path(0)).xenapi.VM.set_name_description(ref, "z")
    assert not os.path.exists(sim.audit_log_path)
