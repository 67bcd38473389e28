"""READY=1 means every alien is protected, on every host: the pool master's daemon
once its writes hold, a standby once it sees every alien protected by the master's
daemon. STATUS= says who protects and how many aliens are still bare."""
import pytest
from xapisim import Simulator

from integration.daemon_runner import DaemonRunner, missing_blocks
from integration.plugin_file import install


@pytest.fixture
def pool2():
    """Two hosts; host 0 (xs-0) is the master."""
    with Simulator(hosts=2) as simulator:
        yield simulator


def test_a_standby_is_ready_only_once_it_sees_every_alien_protected(pool2, tmp_path):
    sim = pool2
    aliens = [uuid for _, uuid in sim.seed_vms([{"name_label": f"web-{i}"} for i in range(5)])]
    with DaemonRunner(sim.unix_url(1), str(tmp_path / "host1")) as standby:
        # This pool's hosts have no csguard host plugin: the standby says so.
        standby.wait_status("standby (enforce), starting: the pool master (host 'xs-0') "
                            "has no csguard (no csguard host plugin): install csguard there; "
                            "0 aliens protected, 5 still bare")
        assert not standby.ready, "a standby said READY=1 with every alien bare"
        standby.wait_log("nothing protects new VMs until csguard runs there")
        with DaemonRunner(sim.unix_url(0), str(tmp_path / "host0")) as leader:
            leader.wait_ready()
            standby.wait_ready()
            assert missing_blocks(sim, aliens) == {}
            standby.wait_status("standby (enforce): the pool master's daemon (host 'xs-0') "
                                "protects; 5 aliens protected, 0 still bare")


def test_a_standby_in_audit_mode_is_ready_at_once(pool2, tmp_path):
    sim = pool2
    sim.create_vm("web")
    config = tmp_path / "audit.yaml"
    config.write_text("protection:\n  mode: audit\n")
    with DaemonRunner(sim.unix_url(1), str(tmp_path / "host1"), config=str(config)) as standby:
        standby.wait_ready()


def test_a_standby_says_when_the_masters_csguard_is_installed_but_stopped(tmp_path):
    """The RPM's host plugin on every host, and a daemon on the member only: the
    master's plugin answers that its csguard does not run."""
    plugins, config = tmp_path / "plugins", tmp_path / "csguard.yaml"
    plugins.mkdir()
    config.write_text(f"state_dir: {tmp_path / 'master-state'}\n")
    install(str(plugins), str(config))
    with Simulator(hosts=2, plugins_dir=str(plugins)) as sim:
        sim.create_vm("web")
        with DaemonRunner(sim.unix_url(1), str(tmp_path / "host1")) as standby:
            standby.wait_status("standby (enforce), starting: the pool master (host 'xs-0') "
                                "does not run csguard")
            assert "systemctl start csguard" in standby.status
            assert not standby.ready
