"""One daemon per host and what survives its restart: a second daemon on the same
state directory refuses to start (exit 75) and leaves the first one's report alone,
`csguard status` believes the lock over a stale report, and blocked attempts
already announced are not announced again after a restart."""
import json
import os
import subprocess
import sys

from integration.daemon_runner import PLUGIN_DIR, DaemonRunner, xenapi_session

EXIT_LOCKED = 75


def status(sim, state_dir):
    env = dict(os.environ, PYTHONPATH=PLUGIN_DIR)
    done = subprocess.run([sys.executable, "-m", "csguard", "--xapi-url", sim.unix_url(0),
                           "status", "--state-dir", state_dir, "--json"], check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          universal_newlines=True)
    return done.returncode, json.loads(done.stdout)


def test_a_second_daemon_on_the_same_host_refuses_to_start(sim, tmp_path):
    state_dir = str(tmp_path / "state")
    with DaemonRunner(sim.unix_url(0), state_dir) as first:
        first.wait_ready()
        second = DaemonRunner(sim.unix_url(0), state_dir).start()
        try:
            assert second.wait_exit() == EXIT_LOCKED
            assert f"another csguard daemon (pid {first.pid}) already runs" in second.logs()
            assert not second.ready
        finally:
            second.close()
        assert first.status_file()["pid"] == first.pid
        code, report = status(sim, state_dir)
        assert code == 0 and report["running"] is True


def test_status_believes_the_lock_over_a_stale_report(sim, tmp_path):
    state_dir = str(tmp_path / "state")
    with DaemonRunner(sim.unix_url(0), state_dir) as daemon:
        daemon.wait_ready()
        path = os.path.join(state_dir, "status.json")
        report = dict(daemon.status_file(), pid=2 ** 22 + 1, role="stopped")
        with open(path, "w") as f:
            json.dump(report, f)
        code, answer = status(sim, state_dir)
        assert code == 0 and answer["running"] is True
        assert answer["pid"] == daemon.pid


def test_blocked_attempts_are_not_announced_again_after_a_restart(sim, tmp_path):
    state_dir = str(tmp_path / "state")
    session = xenapi_session(sim)
    try:
        ref, uuid = sim.create_vm("precious", power_state="Running")
        with DaemonRunner(sim.unix_url(0), state_dir) as daemon:
            daemon.wait_ready()
            task = session.xenapi.Async.VM.clean_shutdown(ref)
            daemon.wait_log("blocked attempt: clean_shutdown on VM 'precious'")

        def announced():
            return [m for m in session.xenapi.message.get_all_records().values()
                    if m["name"] == "CSGUARD_BLOCKED_ATTEMPT" and m["obj_uuid"] == uuid]
        assert len(announced()) == 1
        assert session.xenapi.task.get_status(task) == "failure"   # still in XAPI
        with DaemonRunner(sim.unix_url(0), state_dir) as again:
            again.wait_ready()
            assert "blocked attempt" not in again.logs()
            assert len(announced()) == 1
            assert again.status_file()["blocked_attempts"] == []
    finally:
        session.xenapi.session.logout()
