"""The daemon on pools of different xapi versions: an operation the pool's xapi does
not know (create_vtpm and sysprep are newer than 8.2's xapi 1.249) cannot be
blocked there, and must not stop the blocks it can write."""
from xapisim import Simulator

from integration.daemon_runner import DaemonRunner, missing_blocks, write_config

BLOCKED = ("clean_shutdown", "hard_shutdown", "shutdown", "destroy")


def test_on_an_8_2_pool_an_unknown_operation_is_named_and_stops_no_other_block(tmp_path):
    """Without the check, every write failed with XAPI's bare INTERNAL_ERROR, the VM
    counted as unprotected and the log never said which operation was unknown."""
    config = write_config(str(tmp_path), "protection:\n  block_operations: "
                                         f"[{', '.join(BLOCKED)}, create_vtpm]\n")
    with Simulator(hosts=1, xapi_version="1.249") as sim:
        _, uuid = sim.create_vm("alien")
        with DaemonRunner(sim.unix_url(0), str(tmp_path / "state"), config=config) as daemon:
            daemon.wait_until(lambda: not missing_blocks(sim, [uuid], BLOCKED),
                              what="the four known blocks")
            daemon.wait_log("create_vtpm", timeout=10.0)
        assert "create_vtpm" not in sim.vm_record(uuid)["blocked_operations"]
    assert "Traceback" not in daemon.logs()


def test_on_a_newer_pool_the_newer_operations_are_blocked(tmp_path):
    config = write_config(str(tmp_path), "protection:\n  block_operations: "
                                         f"[{', '.join(BLOCKED)}, create_vtpm, sysprep]\n")
    with Simulator(hosts=1, xapi_version="25.33") as sim:
        _, uuid = sim.create_vm("alien")
        with DaemonRunner(sim.unix_url(0), str(tmp_path / "state"), config=config) as daemon:
            daemon.wait_ready()
            assert not missing_blocks(sim, [uuid], BLOCKED + ("create_vtpm", "sysprep"))
