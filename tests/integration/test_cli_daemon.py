"""The operator's cycle with the real daemon running: vm-unblock with a duration ->
the daemon leaves the VM alone -> the exemption runs out -> the daemon protects the
VM again; and `status` reading what the running daemon writes."""
import json
import os
import tempfile
import threading
import time

from csguard import records

from integration.daemon_runner import (
    DEFAULT_BLOCKED,
    DaemonRunner,
    missing_blocks,
    wait_for,
)
from integration.test_cli import (
    ok,
    pool_sim,  # noqa: F401 - the sim fixture
    run_cli,
)


def test_unblock_is_respected_until_its_duration_runs_out(sim):
    uuid, foreign = sim.vms["db"], sim.vms["user"]
    state = tempfile.mkdtemp(prefix="cg-", dir="/tmp")
    with DaemonRunner(sim.unix_url(0), state) as daemon:
        daemon.wait_ready()
        assert missing_blocks(sim, [uuid]) == {}

        ok(run_cli(sim, "vm-unblock", "uuid=" + uuid, "reason=maintenance", "duration=3s"))
        exemption = records.parse_exemption(
            sim.vm_record(uuid)["other_config"][records.KEY_EXEMPTION])
        # Until the exemption ends, the daemon must not put csguard's blocks back;
        # an unrelated change makes it look at the pool in the meantime.
        sim.modify_vm(foreign, "name_description", "touched while exempt")
        while time.time() < exemption.until - 0.5:
            blocked = sim.vm_record(uuid)["blocked_operations"]
            assert blocked == {"destroy": "true"}, "re-protected before the exemption ended"
            time.sleep(0.1)

        wait_for(lambda: not missing_blocks(sim, [uuid]), timeout=60,
                 what="the VM protected again after its exemption", daemons=[daemon])
        blocked = sim.vm_record(uuid)["blocked_operations"]
        assert blocked["destroy"] == "true"
        for op in DEFAULT_BLOCKED:
            if op != "destroy":
                assert blocked[op] == records.blocked_reason(uuid)
        row = json.loads(ok(run_cli(sim, "vm-classify", "uuid=" + uuid, "--json")))
        assert row["class"] == "alien" and row["protected"] is True
        assert "expired" in row["reason"]


def test_status_reads_the_running_daemons_report(sim):
    state = tempfile.mkdtemp(prefix="cg-", dir="/tmp")
    with DaemonRunner(sim.unix_url(0), state) as daemon:
        daemon.wait_ready()
        wait_for(lambda: daemon.status_file() and daemon.status_file().get("role"),
                 timeout=30, what="the status file", daemons=[daemon])
        result = run_cli(sim, "status", "--state-dir", state)
        assert result.returncode == 0, result.stdout + result.stderr
        data = json.loads(ok(run_cli(sim, "status", "--state-dir", state, "--json")))
        assert data["running"] is True and data["pid"] == daemon.pid
        assert "role ( RO)" in result.stdout
    result = run_cli(sim, "status", "--state-dir", state)
    assert result.returncode == 1
    assert "NOT RUNNING" in result.stdout
    assert os.path.exists(os.path.join(state, "status.json"))


def test_status_finds_a_daemon_run_by_hand_with_its_own_state_dir(sim, tmp_path):
    """No --state-dir, and the configuration's state directory is empty: status
    finds the one running daemon through its command line and confirms it by the
    pid its status file carries."""
    state = tempfile.mkdtemp(prefix="cg-", dir="/tmp")
    with DaemonRunner(sim.unix_url(0), state) as daemon:
        daemon.wait_ready()
        wait_for(lambda: daemon.status_file() and daemon.status_file().get("role"),
                 timeout=30, what="the status file", daemons=[daemon])
        result = run_cli(sim, "status", "--json")
        assert result.returncode == 0, result.stdout + result.stderr
        data = json.loads(result.stdout)
        assert data["running"] is True and data["pid"] == daemon.pid
        assert data["status-file"] == os.path.join(state, "status.json")
        text = run_cli(sim, "status").stdout
        assert f"pid {daemon.pid}" in text and state in text


def test_status_works_while_the_configuration_is_broken(sim, tmp_path):
    state = tempfile.mkdtemp(prefix="cg-", dir="/tmp")
    broken = tmp_path / "broken.yaml"
    broken.write_text("protection:\n  mdoe: audit\n")
    with DaemonRunner(sim.unix_url(0), state) as daemon:
        daemon.wait_ready()
        wait_for(lambda: daemon.status_file() and daemon.status_file().get("role"),
                 timeout=30, what="the status file", daemons=[daemon])
        result = run_cli(sim, "status", "--config", str(broken), "--state-dir", state)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "role ( RO)" in result.stdout
        assert "line 2" in result.stderr and "mdoe" in result.stderr
        assert "Warning:" in result.stderr


def test_status_is_not_ok_while_the_daemon_is_disconnected(sim):
    state = tempfile.mkdtemp(prefix="cg-", dir="/tmp")
    with DaemonRunner(sim.unix_url(0), state) as daemon:
        daemon.wait_ready()
        outage = threading.Thread(target=sim.restart, kwargs={"down_for": 15})
        outage.start()
        try:
            wait_for(lambda: (daemon.status_file() or {}).get("role") == "connecting",
                     timeout=15, what="the daemon noticing the outage", daemons=[daemon])
            result = run_cli(sim, "status", "--state-dir", state)
        finally:
            outage.join()
        assert result.returncode == 1, result.stdout
        assert "DISCONNECTED" in result.stdout
