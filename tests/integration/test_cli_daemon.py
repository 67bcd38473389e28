"""The operator's cycle with the real daemon running: vm-unblock with a duration ->
the daemon leaves the VM alone -> the exemption runs out -> the daemon protects the
VM again; and `status` reading what the running daemon writes."""
import json
import os
import tempfile
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
