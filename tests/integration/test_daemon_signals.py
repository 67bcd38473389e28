"""The systemd contract: a bad config starts nothing, SIGTERM exits 0 from any state,
SIGHUP reloads (keeping the old config when the new one is bad), the watchdog is
pinged."""
import json
import os
import signal

import pytest
from csguard.daemon.systemd import Stop, Systemd
from csguard.statusfile import STATUS_FILE
from xapisim import Simulator

from integration.daemon_runner import DaemonRunner, missing_blocks, write_config


def test_bad_config_starts_nothing(sim, tmp_path):
    config = write_config(str(tmp_path), "protection:\n  mode: enforce\n  blok_operations: []\n")
    state_dir = tmp_path / "state"
    daemon = DaemonRunner(sim.unix_url(0), str(state_dir), config=config)
    with daemon:
        assert daemon.wait_exit() == 78  # EX_CONFIG, as the README says
    assert "blok_operations" in daemon.logs() and "line 3" in daemon.logs()
    assert not daemon.ready
    assert not state_dir.exists()


def test_missing_explicit_config_starts_nothing(sim, tmp_path):
    daemon = DaemonRunner(sim.unix_url(0), str(tmp_path / "state"),
                          config=str(tmp_path / "absent.yaml"))
    with daemon:
        assert daemon.wait_exit() == 78  # EX_CONFIG, as the README says
    assert "absent.yaml" in daemon.logs()


def test_bad_arguments_exit_64(sim, tmp_path):
    daemon = DaemonRunner(sim.unix_url(0), str(tmp_path / "state"), extra_args=["--log-level", "loud"])
    with daemon:
        assert daemon.wait_exit() == 64  # EX_USAGE
    assert "loud" in daemon.logs()


def test_sigterm_exits_zero_while_watching(sim, tmp_path):
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state")) as daemon:
        daemon.wait_ready()
        daemon.wait_until(lambda: sim.call_counts().get("event.from", 0) >= 2,
                          what="the daemon waiting in event.from")
        assert daemon.stop() == 0
    assert "STOPPING=1" in daemon.notifications
    assert daemon.status_file()["role"] == "stopped"


def test_sigterm_exits_zero_while_a_call_hangs(sim, tmp_path):
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state")) as daemon:
        daemon.wait_ready()
        # Only the write hangs (longer than the runner waits for an exit); an
        # event.from sent during the stall would only answer late.
        sim.stall(60.0, method="VM.add_to_blocked_operations")
        sim.create_vm("written during the stall")
        daemon.wait_until(lambda: sim.call_counts().get("VM.add_to_blocked_operations"),
                          what="a write under way")
        assert daemon.stop() == 0


def test_sigterm_exits_zero_while_xapi_is_unreachable(tmp_path):
    socket_path = str(tmp_path / "nothing-listens-here")
    with DaemonRunner("unix://" + socket_path, str(tmp_path / "state")) as daemon:
        daemon.wait_log("XAPI unavailable")
        assert daemon.stop() == 0
    assert not daemon.ready


def test_sighup_with_bad_config_keeps_the_old_one_and_a_good_one_applies(sim, tmp_path):
    config = write_config(str(tmp_path), "cloudstack:\n  instance_names: [VM]\n")
    _, cloudstack_uuid = sim.create_vm("i-2-5-VM")
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state"), config=config) as daemon:
        daemon.wait_ready()
        write_config(str(tmp_path), "cloudstack:\n  instance_names: VM: [\n")
        daemon.send_signal(signal.SIGHUP)
        daemon.wait_log("keeping the old one")
        _, uuid = sim.create_vm("after a bad reload")
        daemon.wait_until(lambda: not missing_blocks(sim, [uuid]), what="alien protected")
        assert missing_blocks(sim, [cloudstack_uuid])

        # A good config: instance name "PROD", so "i-2-5-VM" is no longer CloudStack's.
        write_config(str(tmp_path), "cloudstack:\n  instance_names: [PROD]\n")
        daemon.send_signal(signal.SIGHUP)
        daemon.wait_until(lambda: not missing_blocks(sim, [cloudstack_uuid]),
                          what="the reclassified VM protected")


def test_sighup_cannot_move_the_state_directory_under_a_running_daemon(sim, tmp_path):
    """The lock that keeps a second daemon off this host lives in the state
    directory: moving the status file away from it would let one start."""
    first, second = tmp_path / "first", tmp_path / "second"
    config = write_config(str(tmp_path), f"state_dir: {first}\n")
    with DaemonRunner(sim.unix_url(0), None, config=config) as daemon:
        daemon.wait_ready()
        write_config(str(tmp_path), f"state_dir: {second}\nlog_level: info\n")
        daemon.send_signal(signal.SIGHUP)
        daemon.wait_log("configuration reloaded")
        _, uuid = sim.create_vm("after the reload")
        daemon.wait_until(lambda: not missing_blocks(sim, [uuid]), what="alien protected")
        assert f"state_dir stays {first}" in daemon.logs()
        assert "systemctl restart csguard" in daemon.logs()
        assert not second.exists()
        assert json.loads((first / STATUS_FILE).read_text())["pid"] == daemon.pid


def test_journal_lines_carry_a_priority_and_no_timestamp(sim, tmp_path):
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state"), log_level="info",
                      env={"JOURNAL_STREAM": "8:12345"}) as daemon:
        daemon.wait_ready()
    lines = daemon.logs().splitlines()
    assert lines[0].startswith("<6>csguard ")
    assert all(line[:3] in ("<6>", "<4>", "<3>") for line in lines)


def test_http_url_with_a_credentials_file(sim, tmp_path):
    credentials = write_config(str(tmp_path), "root\nxenroot\n", name="credentials")
    os.chmod(credentials, 0o600)
    config = write_config(str(tmp_path), f"xapi:\n  url: {sim.tcp_url}\n"
                                         f"  credentials_file: {credentials}\n")
    _, uuid = sim.create_vm("remote alien")
    with DaemonRunner(sim.tcp_url, str(tmp_path / "state"), config=config) as daemon:
        daemon.wait_ready()
        assert not missing_blocks(sim, [uuid])
    assert "xenroot" not in daemon.logs()


def test_watchdog_is_pinged(sim, tmp_path):
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state"),
                      env={"WATCHDOG_USEC": "1000000"}) as daemon:
        daemon.wait_ready()
        daemon.wait_until(lambda: len(daemon.fields("WATCHDOG")) >= 3,
                          what="three WATCHDOG=1 pings")


def test_http_url_alone_logs_in_as_root_and_warns_about_credentials(tmp_path):
    with Simulator(hosts=1, password=None) as open_sim:
        _, uuid = open_sim.create_vm("remote alien")
        with DaemonRunner(open_sim.tcp_url, str(tmp_path / "state")) as daemon:
            daemon.wait_ready()
            assert not missing_blocks(open_sim, [uuid])
        assert "xapi.credentials_file is not set" in daemon.logs()


def test_http_url_refused_login_is_reported_and_retried(sim, tmp_path):
    with DaemonRunner(sim.tcp_url, str(tmp_path / "state")) as daemon:
        daemon.wait_log("SESSION_AUTHENTICATION_FAILED")
        assert daemon.running and not daemon.ready


def test_a_sigterm_during_a_notification_is_not_swallowed(monkeypatch, tmp_path):
    """SIGTERM raises Stop wherever the daemon is; in the middle of an sd_notify send
    (which blocks while systemd's queue is full) it must still stop the daemon."""
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    systemd = Systemd()

    class Interrupted:
        def sendall(self, data):
            raise Stop()
    systemd.notifier.socket = Interrupted()
    with pytest.raises(Stop):
        systemd.notify("STATUS=busy")
