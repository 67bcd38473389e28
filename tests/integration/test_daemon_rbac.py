"""The daemon over HTTP as a directory user with one RBAC role (rbac.ml; roles in
idl/datamodel_vm.ml): what each role lets csguard do."""
import os

from csguard import records

from integration.daemon_runner import DaemonRunner, missing_blocks, write_config


def _daemon(sim, tmp_path, role):
    sim.add_user("csguard-svc", role, "s3cret-pw")
    credentials = write_config(str(tmp_path), "csguard-svc\ns3cret-pw\n", name="credentials")
    os.chmod(credentials, 0o600)
    config = write_config(str(tmp_path), f"xapi:\n  url: {sim.tcp_url}\n"
                                         f"  credentials_file: {credentials}\n")
    return DaemonRunner(sim.tcp_url, str(tmp_path / "state"), config=config, log_level="info")


def test_as_vm_admin_it_protects_though_xapi_refuses_its_messages(sim, tmp_path):
    """vm-admin may write blocked_operations and csguard's other_config keys, but
    message.create needs pool-operator."""
    _, uuid = sim.create_vm("alien")
    with _daemon(sim, tmp_path, "vm-admin") as daemon:
        daemon.wait_ready()
        assert not missing_blocks(sim, [uuid])
        assert records.KEY_VERDICT in sim.vm_record(uuid)["other_config"]
    assert "Traceback" not in daemon.logs()


def test_as_vm_operator_it_cannot_protect_and_says_which_role_it_needs(sim, tmp_path):
    _, uuid = sim.create_vm("alien")
    with _daemon(sim, tmp_path, "vm-operator") as daemon:
        daemon.wait_log("RBAC_PERMISSION_DENIED: vm.add_to_blocked_operations")
        assert "Roles with this permission: pool-admin, pool-operator, vm-power-admin, " \
            "vm-admin" in daemon.logs()
        assert sim.vm_record(uuid)["blocked_operations"] == {}
    assert "Traceback" not in daemon.logs()


def test_as_vm_operator_it_never_reports_ready(sim, tmp_path):
    """The README: the service is ready only once every alien VM is protected, not
    while XAPI refuses every write; STATUS= says which refusal it waits for."""
    sim.create_vm("alien")
    with _daemon(sim, tmp_path, "vm-operator") as daemon:
        daemon.wait_log("RBAC_PERMISSION_DENIED")
        daemon.wait_status("XAPI refuses destroy")
        assert not daemon.ready
