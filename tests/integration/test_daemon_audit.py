"""Blocked attempts that leave no task: CloudStack's synchronous VM.destroy and
VM.hard_shutdown, found in xapi's audit log, with who made them."""
import pytest
from xapisim import Simulator
from xapisim.testing import failure_of, tcp_session

from integration.daemon_runner import DaemonRunner, missing_blocks, write_config


@pytest.fixture
def audited():
    with Simulator(hosts=1, audit_log=True) as simulator:
        yield simulator


@pytest.fixture
def daemon(audited, tmp_path):
    config = write_config(str(tmp_path), f"attempts:\n  audit_log: {audited.audit_log_path}\n")
    with DaemonRunner(audited.unix_url(0), str(tmp_path / "state"), config=config) as runner:
        runner.wait_ready()
        yield runner


def attempts(daemon):
    return (daemon.status_file() or {}).get("blocked_attempts", [])


def wake(sim, daemon, name):
    """Any VM event wakes the daemon's loop, which then reads the audit log."""
    _, uuid = sim.create_vm(name)
    daemon.wait_until(lambda: not missing_blocks(sim, [uuid]), what=f"{name} protected")


def test_synchronous_destroy_and_hard_shutdown_are_reported_with_who_made_them(audited,
                                                                                daemon):
    halted, halted_uuid = audited.create_vm("halted alien", power_state="Halted")
    running, running_uuid = audited.create_vm("running alien", power_state="Running")
    daemon.wait_until(lambda: not missing_blocks(audited, [halted_uuid, running_uuid]),
                      what="both protected")
    cloudstack = tcp_session(audited.tcp_url, originator="cloudstack")
    assert failure_of(cloudstack.xenapi.VM.destroy, halted)[0] == "OPERATION_BLOCKED"
    assert failure_of(cloudstack.xenapi.VM.hard_shutdown, running)[0] == "OPERATION_BLOCKED"
    wake(audited, daemon, "sentinel")
    daemon.wait_until(lambda: len(attempts(daemon)) == 2, what="two attempts in status.json")
    seen = {(a["vm_uuid"], a["operation"], a["by"], a["vm_name"]) for a in attempts(daemon)}
    assert seen == {(halted_uuid, "destroy", "root", "halted alien"),
                    (running_uuid, "hard_shutdown", "root", "running alien")}
    alerts = [m for m in cloudstack.xenapi.message.get_all_records().values()
              if m["name"] == "CSGUARD_BLOCKED_ATTEMPT"]
    assert {m["obj_uuid"] for m in alerts} == {halted_uuid, running_uuid}
    assert all("XAPI user" in m["body"] and "root" in m["body"] for m in alerts)


def test_an_async_refusal_seen_as_task_and_audit_line_is_one_attempt(audited, daemon):
    running, uuid = audited.create_vm("async target", power_state="Running")
    daemon.wait_until(lambda: not missing_blocks(audited, [uuid]), what="protected")
    cloudstack = tcp_session(audited.tcp_url, originator="cloudstack")
    task = cloudstack.xenapi.Async.VM.clean_shutdown(running)
    daemon.wait_until(lambda: cloudstack.xenapi.task.get_status(task) == "failure",
                      what="the task failing")
    wake(audited, daemon, "sentinel")
    daemon.wait_until(lambda: any(a.get("by") for a in attempts(daemon)),
                      what="the attempt named")
    assert [(a["operation"], a["by"]) for a in attempts(daemon)] == [("clean_shutdown", "root")]
