"""XAPI refuses chosen writes (the simulator's one-shot refusals): every refused
write is retried with capped backoff until it holds, a refused write does not stop
the VM's other writes, READY=1 waits until every alien is protected (STATUS= says
why meanwhile), and an operation the pool's XAPI does not know is refused (named,
and left out) when the configuration is loaded against that pool."""
import signal

from integration.daemon_runner import DEFAULT_BLOCKED, missing_blocks, wait_for, write_config

from faults.invariant import assert_recovered

ADD_BLOCK = "VM.add_to_blocked_operations"
BUSY = ("OPERATION_NOT_ALLOWED", ["VM is busy"])


def refuse(sim, ref, op, times):
    for _ in range(times):
        sim.fail_once(ADD_BLOCK, BUSY[0], BUSY[1], args=[ref, op])


def test_a_refused_destroy_is_retried_until_it_holds_and_ready_waits_for_it(
        sim, watched, fleet, tmp_path):
    ref, uuid = sim.create_vm("refused at first")
    watched.aliens.append(uuid)
    refuse(sim, ref, "destroy", 5)
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"))
    daemon.wait_status("XAPI refuses destroy on VM 'refused at first'", timeout=30)
    assert not daemon.ready, "READY=1 while destroy was refused"
    assert missing_blocks(sim, [uuid]) == {uuid: ["destroy"]}, "the other writes were made"
    assert "csguard:verdict" in sim.vm_record(uuid)["other_config"]
    daemon.wait_ready()
    assert missing_blocks(sim, [uuid]) == {}, "READY=1 before the refused write held"
    assert "starting" not in daemon.status
    assert_recovered(sim, watched, fleet,
                     said=r"^XAPI refused destroy on VM 'refused at first' .*"
                          r"OPERATION_NOT_ALLOWED: VM is busy; trying again")
    daemon.wait_log("the writes XAPI refused before now hold")


def test_a_write_that_never_holds_keeps_the_unit_starting_and_says_why(sim, fleet, tmp_path):
    ref, uuid = sim.create_vm("always refused")
    refuse(sim, ref, "destroy", 1000)
    sim.reset_call_counts()
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"))
    # The first try, the one its own writes' event triggers, then backoff retries.
    wait_for(lambda: sim.call_counts().get(ADD_BLOCK, 0) >= len(DEFAULT_BLOCKED) + 4,
             what="three retries", daemons=[daemon])
    assert not daemon.ready
    assert "starting" in daemon.status and "XAPI refuses destroy" in daemon.status
    assert missing_blocks(sim, [uuid]) == {uuid: ["destroy"]}


def test_a_refused_write_on_a_live_event_is_retried(sim, watched, fleet, tmp_path):
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"))
    daemon.wait_ready()
    sim.fail_once(ADD_BLOCK, BUSY[0], BUSY[1])     # whichever write comes first
    watched.seed(sim, aliens=3, prefix="live ")
    assert_recovered(sim, watched, fleet, said=r"^XAPI refused \w+ on VM 'live alien")


def test_a_reloaded_operation_the_pool_does_not_know_is_refused_and_the_rest_applies(
        sim, watched, fleet, tmp_path):
    """At start: tests/integration/test_daemon_versions.py."""
    config = write_config(str(tmp_path), "protection:\n  mode: enforce\n")
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"), config=config)
    daemon.wait_ready()
    write_config(str(tmp_path), "protection:\n  block_operations: "
                                f"[{', '.join(DEFAULT_BLOCKED)}, sysprep]\n")
    daemon.send_signal(signal.SIGHUP)
    daemon.wait_log("configuration reloaded")
    watched.seed(sim, aliens=2, prefix="after the reload ")
    assert_recovered(sim, watched, fleet, levels=("ERROR",),
                     said=r"protection.block_operations: this pool's master runs xapi 1.249, "
                          r"which does not know sysprep \(sysprep needs xapi 25.24\): not "
                          r"blocked on this pool")
    assert not [uuid for uuid in watched.aliens
                if "sysprep" in sim.vm_record(uuid)["blocked_operations"]]
