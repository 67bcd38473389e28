"""The daemon and VMs that arrive by import or incoming migration (issue 14.6):
XAPI already refuses every dangerous operation while `import` is in progress
(tests/conformance/test_arrivals.py), and a block written then breaks XAPI's
clean-up of a failed import, which leaves the half-imported VM behind."""
import pytest

from integration.daemon_runner import DaemonRunner, missing_blocks


def _settled(sim, daemon, name):
    """Wait until the daemon has protected a fresh alien: events up to now are read."""
    _, marker = sim.create_vm(name)
    daemon.wait_until(lambda: not missing_blocks(sim, [marker]), what=f"{name} protected")


@pytest.mark.parametrize("arrival", ["import", "incoming migration"])
def test_a_failed_arrival_is_cleaned_up_by_xapi(sim, tmp_path, arrival):
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state")) as daemon:
        daemon.wait_ready()
        if arrival == "import":
            _, uuid = sim.begin_import("being imported")
        else:
            uuid = sim.begin_incoming_migration("0a1b2c3d-0000-4000-8000-00000000beef",
                                                "migrating in")[1]
        _settled(sim, daemon, "marker")
        assert sim.vm_record(uuid)["blocked_operations"] == {}
        assert sim.end_import(uuid, ok=False) is False


def test_a_finished_import_is_protected(sim, tmp_path):
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state")) as daemon:
        daemon.wait_ready()
        _, uuid = sim.begin_import("being imported")
        sim.end_import(uuid)
        daemon.wait_until(lambda: not missing_blocks(sim, [uuid]), what="the import protected")
