"""XAPI misbehaves: restarts, resets, stalls, lost sessions and replies, a token it
cannot parse. Each test strikes while the daemon is busy (adopting 1,000 aliens or
protecting a burst of new ones), then checks the shared invariant.

Faults while the daemon idles in event.from (sessions killed, restart, stall,
three dropped event.from calls) are tests/integration/test_daemon_faults.py's.
"""
import signal
import threading

import pytest
from integration.daemon_runner import missing_blocks

from faults.invariant import assert_recovered, wait_for_calls
from faults.link import FaultyLink

ADD_BLOCK = "VM.add_to_blocked_operations"
RECONNECTING = r"^XAPI unavailable: .*; reconnecting with backoff"


def writes_needed(watched):
    """How many add_to_blocked_operations calls protecting every alien takes (an
    entry someone else wrote counts as blocked)."""
    return sum(1 for uuid in watched.aliens for op in watched.operations
               if op not in watched.foreign.get(uuid, {}))


def adopting(sim, fleet, url, state_dir, config=None):
    """A daemon on a pool it has never seen, returned a quarter through writing its
    blocks (far from READY=1)."""
    sim.reset_call_counts()
    daemon = fleet.start(url, state_dir, config=config)
    wait_for_calls(sim, ADD_BLOCK, 1000)
    return daemon


def test_xapi_restart_during_the_initial_adoption(sim, crowd, fleet, tmp_path):
    daemon = adopting(sim, fleet, sim.unix_url(0), str(tmp_path / "state"))
    assert not daemon.ready
    sim.restart(down_for=1.0)
    daemon.wait_ready()
    assert missing_blocks(sim, crowd.aliens) == {}, "READY=1 before every alien was protected"
    assert_recovered(sim, crowd, fleet, said=RECONNECTING)
    daemon.wait_log("connected to XAPI again; resyncing every VM")


def test_xapi_restart_during_a_burst_of_writes(sim, watched, fleet, tmp_path):
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"))
    daemon.wait_ready()
    sim.reset_call_counts()
    watched.seed(sim, aliens=500, prefix="burst ")
    wait_for_calls(sim, ADD_BLOCK, 600)
    sim.restart(down_for=1.0)
    assert_recovered(sim, watched, fleet, said=RECONNECTING)
    daemon.wait_log("connected to XAPI again; resyncing every VM")


@pytest.mark.parametrize("method", [ADD_BLOCK, "VM.add_to_other_config", "message.create",
                                    "event.from"])
def test_connection_reset_before_the_call_runs(sim, watched, fleet, tmp_path, method):
    """Twice in a row: Python's XML-RPC client silently retries a reset call once."""
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"))
    daemon.wait_ready()
    sim.drop_connection(method, count=2)
    watched.seed(sim, aliens=5, foreign_aliens=3, prefix="after the reset ")
    assert_recovered(sim, watched, fleet,
                     said=rf"^XAPI unavailable: XAPI call {method} failed: .*closed")


def test_a_reply_lost_after_the_write_ran_is_retried_and_counted_done(sim, watched, fleet,
                                                                      tmp_path):
    """The XML-RPC client sends the call again; XAPI answers MAP_DUPLICATE_KEY,
    which csguard counts as done: no error, no reconnect, no second entry."""
    with FaultyLink(sim.socket_path(0)) as link:
        link.lose_reply(ADD_BLOCK)
        sim.reset_call_counts()
        fleet.start(link.url, str(tmp_path / "state")).wait_ready()
        assert link.fired == [("lose_reply", ADD_BLOCK)]
        assert_recovered(sim, watched, fleet, said=None)
        assert sim.call_counts()[ADD_BLOCK] == writes_needed(watched) + 1
        assert sim.call_counts()["session.login_with_password"] == 1
        fleet.close()


def test_replies_lost_twice_in_a_row_mean_reconnect_and_resync(sim, watched, fleet, tmp_path):
    with FaultyLink(sim.socket_path(0)) as link:
        link.lose_reply(ADD_BLOCK, count=2)
        fleet.start(link.url, str(tmp_path / "state")).wait_ready()
        assert len(link.fired) == 2
        assert_recovered(sim, watched, fleet,
                         said=rf"^XAPI unavailable: XAPI call {ADD_BLOCK} failed: .*closed")
        fleet.close()


def test_xapi_stalls_longer_than_the_call_timeout_during_adoption(sim, crowd, fleet, tmp_path,
                                                                   short_timeout):
    daemon = adopting(sim, fleet, sim.unix_url(0), str(tmp_path / "state"), short_timeout)
    sim.stall(3.0)
    daemon.wait_ready()
    assert_recovered(sim, crowd, fleet,
                     said=r"^XAPI unavailable: .*no answer in time")


def test_all_sessions_destroyed_during_adoption(sim, crowd, fleet, tmp_path):
    daemon = adopting(sim, fleet, sim.unix_url(0), str(tmp_path / "state"))
    sim.kill_sessions()
    daemon.wait_ready()
    assert_recovered(sim, crowd, fleet,
                     said=r"^XAPI unavailable: .*\(SESSION_INVALID\) during ")


def test_an_unparsable_event_token_means_resync(sim, watched, fleet, tmp_path):
    with FaultyLink(sim.socket_path(0)) as link:
        daemon = fleet.start(link.url, str(tmp_path / "state"))
        daemon.wait_ready()
        link.corrupt_token()
        watched.seed(sim, aliens=5, prefix="with the bad token ")
        assert_recovered(sim, watched, fleet,
                         said=r"^XAPI unavailable: the event stream broke "
                              r"\(EVENT_FROM_TOKEN_PARSE_FAILURE: not-a-token\)")
        daemon.wait_log("resync: ")
        fleet.close()


def test_config_reload_while_xapi_is_down(sim, watched, fleet, tmp_path):
    """`systemctl reload csguard` while the daemon waits to log in again."""
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"))
    daemon.wait_ready()
    outage = threading.Thread(target=sim.restart, kwargs={"down_for": 3.0})
    outage.start()
    try:
        daemon.wait_log("cannot log in to XAPI")
        daemon.send_signal(signal.SIGHUP)
        daemon.wait_log("SIGHUP: configuration reloaded")
    finally:
        outage.join()
    watched.seed(sim, aliens=5, prefix="after the outage ")
    assert_recovered(sim, watched, fleet, said=RECONNECTING)
    assert len(fleet.incarnations[0]) == 1
