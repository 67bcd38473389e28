"""XenServer's own helper VMs are left alone: the transfer plugin destroys its
Transfer VM itself when done, which a destroy block would refuse (issue 14.7)."""
import pytest

from integration.daemon_runner import DaemonRunner, missing_blocks


@pytest.mark.parametrize("kind", ["transfer-vm", "driver-domain"])
def test_helper_vms_get_no_blocks(sim, tmp_path, kind):
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state")) as daemon:
        daemon.wait_ready()
        _, helper = sim.create_helper_vm(kind)
        _, marker = sim.create_vm("alien after it")
        daemon.wait_until(lambda: not missing_blocks(sim, [marker]), what="the alien protected")
        record = sim.vm_record(helper)
        assert record["blocked_operations"] == {}
        assert not any(key.startswith("csguard:") for key in record["other_config"])
