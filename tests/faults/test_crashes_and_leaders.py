"""The daemon itself fails, or the pool changes who leads: a SIGKILL in the middle
of adoption, the master's host dying, a master change during a burst of writes, and
two daemons that both believe they lead."""
import XenAPI
from integration.daemon_runner import missing_blocks

from faults.invariant import Watched, assert_recovered, wait_for_calls

ADD_BLOCK = "VM.add_to_blocked_operations"


def test_sigkill_in_the_middle_of_adoption_then_restart(sim, crowd, fleet, tmp_path):
    sim.reset_call_counts()
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"))
    wait_for_calls(sim, ADD_BLOCK, 1500)
    assert daemon.kill() == -9
    unfinished = len(missing_blocks(sim, crowd.aliens))
    assert 0 < unfinished < len(crowd.aliens), "the kill did not land mid-adoption"
    # Restart=on-failure starts it again; it finishes exactly what was left.
    assert_recovered(sim, crowd, fleet, levels=("INFO",),
                     said=rf"^initial adoption: \d+ VMs checked, {unfinished} newly protected")
    assert fleet.current[0] is not daemon and fleet.current[0].ready


def _leader_and_standby(sim, fleet, tmp_path):
    leader = fleet.start(sim.unix_url(0), str(tmp_path / "host0"))
    standby = fleet.start(sim.unix_url(1), str(tmp_path / "host1"))
    leader.wait_status("leader")
    standby.wait_status("standby")
    return leader, standby


def test_the_masters_host_dies_and_the_new_master_takes_over(pool2, fleet, tmp_path):
    watched = Watched()
    watched.seed(pool2, aliens=50, foreign_aliens=6, cloudstack=6, hosts=2)
    old, new = _leader_and_standby(pool2, fleet, tmp_path)
    fleet.host_down(old)
    pool2.set_master(1)
    watched.seed(pool2, aliens=100, foreign_aliens=6, cloudstack=6, prefix="after ", hosts=2)
    assert_recovered(pool2, watched, fleet, speaker=1,
                     said=r"^this host is now the pool master: csguard takes over")
    new.wait_status("leader")
    new.wait_log("takeover: ")


def test_a_master_change_during_a_burst_of_writes(pool2, fleet, tmp_path):
    watched = Watched()
    watched.seed(pool2, aliens=20, foreign_aliens=6, cloudstack=6, hosts=2)
    old, new = _leader_and_standby(pool2, fleet, tmp_path)
    pool2.reset_call_counts()
    watched.seed(pool2, aliens=400, foreign_aliens=6, cloudstack=6, prefix="burst ", hosts=2)
    wait_for_calls(pool2, ADD_BLOCK, 400)
    pool2.set_master(1)
    assert_recovered(pool2, watched, fleet, speaker=1,
                     said=r"^this host is now the pool master: csguard takes over")
    old.wait_status("standby")
    new.wait_log("takeover: ")
    handed_over = old.logs().split("this host is no longer the pool master")
    assert len(handed_over) == 2, old.log_tail()
    assert "protected VM" not in handed_over[1], "the old master wrote after stepping down"
    # The new leader keeps protecting.
    watched.seed(pool2, aliens=5, prefix="under the new master ", hosts=2)
    assert_recovered(pool2, watched, fleet, speaker=1, said=r"now the pool master")


def test_two_daemons_leading_at_once_lose_and_duplicate_nothing(sim, crowd, fleet, tmp_path):
    """Both on the master's socket: both adopt and protect the same VMs at the same
    time. Every add one of them makes, the other finds done (MAP_DUPLICATE_KEY),
    silently; no entry is doubled, lost or rewritten."""
    sim.reset_call_counts()
    first = fleet.start(sim.unix_url(0), str(tmp_path / "one"))
    second = fleet.start(sim.unix_url(0), str(tmp_path / "two"))
    first.wait_ready()
    second.wait_ready()
    burst = crowd.seed(sim, aliens=100, foreign_aliens=6, cloudstack=6, prefix="burst ")
    assert_recovered(sim, crowd, fleet, said=None)
    assert sim.call_counts()[ADD_BLOCK] > sum(
        1 for uuid in crowd.aliens for op in crowd.operations
        if op not in crowd.foreign.get(uuid, {})), "the two daemons never collided"
    assert not sim.call_counts().get("VM.remove_from_blocked_operations")
    for uuid in crowd.aliens:
        blocked = sim.vm_record(uuid)["blocked_operations"]
        assert set(blocked) == set(crowd.operations) | set(crowd.foreign.get(uuid, {}))
    session = XenAPI.Session(sim.tcp_url)
    session.login_with_password("root", "xenroot", "2.0", "faults")
    try:
        alerts = [m["obj_uuid"] for m in session.xenapi.message.get_all_records().values()
                  if m["name"] == "CSGUARD_VM_PROTECTED"]
    finally:
        session.xenapi.session.logout()
    # Each leader announces what it protected: at most one alert per VM and leader.
    for uuid in burst:
        if uuid in crowd.aliens:
            assert 1 <= alerts.count(uuid) <= 2
