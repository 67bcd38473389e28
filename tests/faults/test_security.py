"""Who can unblock and what is recorded, which files csguard exposes, and that no
password leaks into its logs, status output or XAPI messages.

Who can unblock: root in dom0 through the CLI (the exemption names the sudo user,
tests/integration/test_cli.py), and through the host plugin any XAPI session allowed
to call host.call_plugin (pool-admin; XAPI checks the role, and so does the
simulator: tests/conformance/test_rbac.py), recorded under the session's user name. Modes of the installed files (config
0640, state directory 0750, unit 0644) are tests/packaging/test_rpm_contents.py's;
the unit's UMask=0027 and empty CapabilityBoundingSet are tests/packaging/test_unit.py's.
"""
import json
import os
import signal
import stat
import time

import pytest
import XenAPI
from csguard import records
from integration.daemon_runner import PLUGIN_DIR
from integration.test_cli import run
from integration.test_plugin import protect
from integration.test_plugin import sim as plugin_sim  # noqa: F401 - fixture
from xapisim import Simulator
from xapisim.testing import unix_session

from faults.invariant import Watched, assert_recovered

SECRET = "Tr0ub4dor&3-csguard-secret"
WRONG = "Wr0ng-B4ttery-Staple-secret"


def _unblock_as(sim, user, **args):
    """host.call_plugin(vm-unblock) with a session of `user` (the unix socket takes any
    user name, as XAPI's does for a local superuser)."""
    session = unix_session(sim.socket_path(0), login=False)
    session.xenapi.login_with_password(user, "", "2.0", "security-test")
    try:
        return json.loads(session.xenapi.host.call_plugin(
            sim.host_refs[0], "csguard", "vm-unblock", args))
    finally:
        session.xenapi.session.logout()


def test_a_change_by_a_caller_xapi_does_not_name_is_refused(plugin_sim):  # noqa: F811
    uuid = plugin_sim.vms["web"]
    protect(plugin_sim, uuid)
    before = plugin_sim.vm_record(uuid)
    with pytest.raises(XenAPI.Failure) as refused:
        _unblock_as(plugin_sim, "", uuid=uuid, reason="patch night", duration="45m")
    assert refused.value.details[0] == "CSGUARD_ANONYMOUS_CALLER"
    assert "Call it on the pool master" in refused.value.details[1]
    assert plugin_sim.vm_record(uuid) == before


@pytest.mark.parametrize("user, recorded", [
    ("alice", "alice via host plugin"),
    ("root", "root via host plugin"),
])
def test_the_plugin_records_the_callers_user_when_and_why_and_until(plugin_sim, user,  # noqa: F811
                                                                    recorded):
    sim = plugin_sim
    uuid = sim.vms["web"]
    protect(sim, uuid)
    before = time.time()
    result = _unblock_as(sim, user, uuid=uuid, reason="patch night", duration="45m")
    assert result["exempt-by"] == recorded
    exemption = records.parse_exemption(
        sim.vm_record(uuid)["other_config"][records.KEY_EXEMPTION])
    assert exemption.by == recorded and exemption.reason == "patch night"
    assert before - 1 <= exemption.at <= time.time() and exemption.until - exemption.at == 2700
    session = unix_session(sim.socket_path(0))
    try:
        audit = [m for m in session.xenapi.message.get_all_records().values()
                 if m["name"] == "CSGUARD_VM_UNBLOCKED"]
    finally:
        session.xenapi.session.logout()
    assert [m["obj_uuid"] for m in audit] == [uuid] and audit[0]["cls"] == "VM"
    body = audit[0]["body"]
    for part in (recorded, "patch night", records.format_time(exemption.until)):
        assert part in body, body


@pytest.fixture
def remote():
    """A simulator whose TCP login wants root and SECRET, as a pool master's HTTPS."""
    with Simulator(hosts=1, password=SECRET) as simulator:
        yield simulator


def _write_credentials(path, password, mode=0o600):
    with open(path, "w") as f:
        f.write(f"root\n{password}\n")
    os.chmod(path, mode)


def test_no_password_in_logs_status_notifications_or_messages(remote, fleet, tmp_path):
    sim = remote
    credentials = str(tmp_path / "credentials")
    _write_credentials(credentials, SECRET)
    config = str(tmp_path / "csguard.yaml")
    with open(config, "w") as f:
        f.write(f"xapi:\n  url: {sim.tcp_url}\n  credentials_file: {credentials}\n")
    state = str(tmp_path / "state")
    watched = Watched()
    watched.seed(sim, aliens=3, foreign_aliens=1, cloudstack=1)
    daemon = fleet.start(sim.tcp_url, state, config=config)
    daemon.wait_ready()

    # A credentials file others can read is refused on reload, without showing it.
    os.chmod(credentials, 0o644)
    daemon.send_signal(signal.SIGHUP)
    daemon.wait_log("chmod 600")
    # A wrong password: the login fails and says so, without either password.
    _write_credentials(credentials, WRONG)
    daemon.send_signal(signal.SIGHUP)
    daemon.wait_log("SESSION_AUTHENTICATION_FAILED")
    _write_credentials(credentials, SECRET)
    daemon.send_signal(signal.SIGHUP)
    watched.seed(sim, aliens=2, prefix="after the password came back ")
    assert_recovered(sim, watched, fleet, said=r"SESSION_AUTHENTICATION_FAILED")
    daemon.wait_until(lambda: (daemon.status_file() or {}).get("protected") == 6,
                      what="status.json with every alien")

    cli = run([daemon.python, "-m", "csguard", "status", "--state-dir", state,
               "--config", config, "--json"], dict(os.environ, PYTHONPATH=PLUGIN_DIR))
    assert cli.returncode == 0, cli.stderr
    session = unix_session(sim.socket_path(0))
    try:
        bodies = [m["body"] for m in session.xenapi.message.get_all_records().values()]
    finally:
        session.xenapi.session.logout()
    with open(os.path.join(state, "status.json")) as f:
        status_text = f.read()
    with open(f"/proc/{daemon.pid}/cmdline", "rb") as f:
        cmdline = f.read().decode()
    with open(f"/proc/{daemon.pid}/environ", "rb") as f:
        environ = f.read().decode()
    places = {"log": daemon.logs(), "status.json": status_text, "sd_notify":
              "\n".join(daemon.notifications), "XAPI messages": "\n".join(bodies),
              "csguard status": cli.stdout + cli.stderr, "command line": cmdline,
              "environment": environ}
    assert bodies and sim.tcp_url in status_text and sim.tcp_url in cli.stdout
    for where, text in places.items():
        for password in (SECRET, WRONG):
            assert password not in text, f"a password in the {where}"


def test_state_directory_and_status_file_modes_do_not_depend_on_the_umask(sim, watched,
                                                                          fleet, tmp_path):
    state = tmp_path / "state"
    previous = os.umask(0)
    try:
        daemon = fleet.start(sim.unix_url(0), str(state))
    finally:
        os.umask(previous)
    daemon.wait_ready()
    daemon.wait_until(lambda: daemon.status_file(), what="status.json")
    assert stat.S_IMODE(state.stat().st_mode) == 0o750
    assert stat.S_IMODE((state / "status.json").stat().st_mode) == 0o644
    assert sorted(p.name for p in state.iterdir()) == ["daemon.lock", "status.json"], \
        "a temporary file was left"
    assert stat.S_IMODE((state / "daemon.lock").stat().st_mode) == 0o644
