"""Faults: whatever happens to XAPI, every alien is protected again soon after and no
foreign entry is lost; with a master change the old master's daemon stops writing
and the new one takes over."""
import pytest
from xapisim import Simulator

from integration.daemon_runner import (
    DaemonRunner,
    missing_blocks,
    wait_for,
    write_config,
)

FOREIGN = {"destroy": "true", "pause": "true"}


@pytest.fixture
def pool():
    """A 2-host simulator with aliens (some carrying foreign entries) and
    CloudStack VMs: (sim, alien uuids, cloudstack uuids)."""
    with Simulator(hosts=2) as sim:
        aliens = [sim.create_vm(f"alien {i}", host=i % 2)[1] for i in range(10)]
        aliens += [sim.create_vm(f"xo {i}", blocked_operations=dict(FOREIGN))[1]
                   for i in range(3)]
        cloudstack = [sim.create_vm(f"i-2-{i}-VM")[1] for i in range(5)]
        yield sim, aliens, cloudstack


@pytest.fixture
def config(tmp_path):
    """A short call timeout, so a stalled XAPI is noticed quickly."""
    return write_config(str(tmp_path), "xapi:\n  call_timeout: 2\n")


def assert_invariant(sim, aliens, cloudstack, daemons):
    """Every alien protected, no CloudStack VM blocked, foreign entries intact."""
    wait_for(lambda: not missing_blocks(sim, aliens), what="every alien protected",
             daemons=daemons)
    for uuid in cloudstack:
        assert sim.vm_record(uuid)["blocked_operations"] == {}
    for uuid in aliens:
        record = sim.vm_record(uuid)
        if record["name_label"].startswith("xo "):
            for op, reason in FOREIGN.items():
                assert record["blocked_operations"][op] == reason


def _new_alien(sim, name):
    return sim.create_vm(name)[1]


def test_sessions_killed_while_waiting(pool, config, tmp_path):
    sim, aliens, cloudstack = pool
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state"), config=config) as daemon:
        daemon.wait_ready()
        sim.kill_sessions()
        aliens.append(_new_alien(sim, "after the sessions died"))
        assert_invariant(sim, aliens, cloudstack, [daemon])
        daemon.wait_log("SESSION_INVALID")


def test_simulator_restart(pool, config, tmp_path):
    sim, aliens, cloudstack = pool
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state"), config=config) as daemon:
        daemon.wait_ready()
        sim.restart(down_for=2.0)
        aliens.append(_new_alien(sim, "after the restart"))
        assert_invariant(sim, aliens, cloudstack, [daemon])
        daemon.wait_log("connected to XAPI again")


def test_stall_beyond_the_call_timeout(pool, config, tmp_path):
    sim, aliens, cloudstack = pool
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state"), config=config) as daemon:
        daemon.wait_ready()
        # Only the write stalls: an event.from already waiting, or sent during the
        # stall, would just answer late (its allowed time is the event wait).
        sim.stall(5.0, method="VM.add_to_blocked_operations")
        aliens.append(_new_alien(sim, "during the stall"))
        assert_invariant(sim, aliens, cloudstack, [daemon])
        daemon.wait_log("timed out")


def test_connection_dropped_mid_call(pool, config, tmp_path):
    sim, aliens, cloudstack = pool
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state"), config=config) as daemon:
        daemon.wait_ready()
        sim.drop_connection("event.from", count=3)
        aliens.append(_new_alien(sim, "after the drops"))
        assert_invariant(sim, aliens, cloudstack, [daemon])


def test_unwritable_state_dir_does_not_stop_protection(pool, tmp_path):
    sim, aliens, cloudstack = pool
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with DaemonRunner(sim.unix_url(0), str(blocker / "state")) as daemon:
        daemon.wait_ready()
        aliens.append(_new_alien(sim, "while the status file cannot be written"))
        assert_invariant(sim, aliens, cloudstack, [daemon])
        daemon.wait_log("cannot write the status file")
    assert daemon.logs().count("cannot write the status file") == 1


def test_our_entries_removed_by_someone_else_come_back(pool, tmp_path):
    sim, aliens, cloudstack = pool
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state")) as daemon:
        daemon.wait_ready()
        for uuid in aliens:
            record = sim.vm_record(uuid)
            foreign = {op: reason for op, reason in record["blocked_operations"].items()
                       if reason == "true"}
            sim.modify_vm(uuid, "blocked_operations", foreign)  # Xen Orchestra's style
        assert_invariant(sim, aliens, cloudstack, [daemon])


def test_master_change_hands_over_writing(pool, tmp_path):
    sim, aliens, cloudstack = pool
    first = DaemonRunner(sim.unix_url(0), str(tmp_path / "host0"))
    second = DaemonRunner(sim.unix_url(1), str(tmp_path / "host1"))
    with first, second:
        first.wait_ready()
        second.wait_ready()
        first.wait_status("leader")
        second.wait_status("standby")

        sim.set_master(1)
        second.wait_status("leader")
        first.wait_status("standby")
        aliens.append(_new_alien(sim, "under the new master"))
        assert_invariant(sim, aliens, cloudstack, [first, second])

        # With the new master's daemon gone, the old master's daemon sees a new
        # alien and leaves it alone: it no longer writes.
        assert second.stop() == 0
        ignored = _new_alien(sim, "while nobody leads")
        first.wait_until(lambda: (first.status_file() or {}).get("unprotected_aliens") == 1,
                         what="the standby counting one unprotected alien")
        assert sim.vm_record(ignored)["blocked_operations"] == {}

        # Back to the first host: it takes over from its cache at once.
        sim.set_master(0)
        aliens.append(ignored)
        assert_invariant(sim, aliens, cloudstack, [first])
        first.wait_status("leader")


def test_connection_dropped_during_adoption(pool, config, tmp_path):
    sim, aliens, cloudstack = pool
    sim.drop_connection("VM.add_to_blocked_operations", count=3)
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state"), config=config) as daemon:
        daemon.wait_ready()
        assert_invariant(sim, aliens, cloudstack, [daemon])
        daemon.wait_log("XAPI call VM.add_to_blocked_operations failed")


def test_killed_during_adoption_then_restarted(tmp_path):
    with Simulator(hosts=1) as sim:
        aliens = [uuid for _, uuid in sim.seed_vms(
            [{"name_label": f"alien {i}"} for i in range(1000)])]
        first = DaemonRunner(sim.unix_url(0), str(tmp_path / "state"))
        with first:
            first.wait_until(lambda: sim.call_counts().get("VM.add_to_blocked_operations", 0)
                             > 100, what="adoption under way")
            first.kill()
        with DaemonRunner(sim.unix_url(0), str(tmp_path / "state")) as second:
            second.wait_ready()
            assert missing_blocks(sim, aliens) == {}

