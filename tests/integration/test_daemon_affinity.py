"""The running daemon keeps every host connectable: protected halted VMs give up
their affinity (recorded first) before READY=1, again after CloudStack's
StopCommand or an operator sets it, and get it back when released; CloudStack
4.0.2's ReadyCommand then succeeds on every host and destroys nothing."""
import signal

import pytest
from cloudstack import CloudStack
from csguard import records
from csguard.plan_affinity import NULL_REF

from integration.daemon_runner import DaemonRunner, missing_blocks, write_config, xenapi_session
from integration.test_cli import ok, run_cli


@pytest.fixture
def session(pool3):
    xen = xenapi_session(pool3)
    yield xen
    xen.xenapi.session.logout()


def start(pool3, tmp_path, config=None):
    path = write_config(str(tmp_path), config) if config else None
    return DaemonRunner(pool3.unix_url(0), str(tmp_path / "state"), config=path)


def affinity(sim, uuid):
    record = sim.vm_record(uuid)
    return record["affinity"], record["other_config"].get(records.KEY_AFFINITY)


def test_halted_aliens_are_cleared_before_ready_and_every_host_connects(pool3, tmp_path,
                                                                       session):
    halted = [pool3.create_vm(f"archive-{i}", power_state="Halted", affinity=i)[1]
              for i in range(3)]
    _, running = pool3.create_vm("web", host=1, affinity=1)
    _, own = pool3.create_vm("i-2-10-VM", power_state="Halted", affinity=2)
    with start(pool3, tmp_path) as daemon:
        daemon.wait_ready()
        # READY=1 means these writes are made: no waiting.
        for i, uuid in enumerate(halted):
            assert affinity(pool3, uuid) == (NULL_REF, pool3.host_uuids[i])
        assert affinity(pool3, running) == (pool3.host_refs[1], None)
        assert affinity(pool3, own) == (pool3.host_refs[2], None)
        cs = CloudStack(session, version="4.0.2", known_names=["i-2-10-VM"],
                        poll_interval=0.01)
        assert [cs.ready(ref) for ref in pool3.host_refs] == [True, True, True]
    assert cs.failures("VM.destroy") == []
    for uuid in halted + [running]:
        assert pool3.vm_record(uuid)["VBDs"]
    # CloudStack's own halted VM was destroyed by it, as without csguard.
    assert session.xenapi.VM.get_by_name_label("i-2-10-VM") == []


def test_an_affinity_set_again_is_cleared_again_and_logged_once(pool3, tmp_path, session):
    _, uuid = pool3.create_vm("web", host=1)
    with start(pool3, tmp_path) as daemon:
        daemon.wait_ready()
        cs = CloudStack(session, version="4.0.2", poll_interval=0.01)
        assert cs.stop("web") is False                  # blocked, but sets the affinity
        assert affinity(pool3, uuid) == (pool3.host_refs[1], None)
        # The owner shuts it down from inside the guest: csguard clears it.
        pool3.modify_vm(uuid, "resident_on", NULL_REF)
        pool3.modify_vm(uuid, "power_state", "Halted")
        daemon.wait_until(lambda: affinity(pool3, uuid) == (NULL_REF, pool3.host_uuids[1]),
                          what="the affinity CloudStack set cleared")
        vm = session.xenapi.VM.get_by_uuid(uuid)
        for host in (2, 0):                             # an operator insists, twice
            session.xenapi.VM.set_affinity(vm, pool3.host_refs[host])
            daemon.wait_until(
                lambda host=host: affinity(pool3, uuid) == (NULL_REF, pool3.host_uuids[host]),
                what=f"the affinity set to host {host} cleared")
        def warnings():     # logged once the write is made, so maybe just after it
            return [line for line in daemon.logs().splitlines() if "set to host" in line]
        daemon.wait_until(lambda: len(warnings()) >= 2, what="both insistences logged")
        warnings = warnings()
        assert len(warnings) == 2 and "WARNING" in warnings[0]
        assert all("WARNING" not in line for line in warnings[1:])
        assert all(cs.ready(ref) for ref in pool3.host_refs)


def test_released_vms_get_their_affinity_back(pool3, tmp_path):
    uuids = [pool3.create_vm(f"old-{i}", power_state="Halted", affinity=1)[1]
             for i in range(2)]
    with start(pool3, tmp_path, "protection: {clear_halted_affinity: true}\n") as daemon:
        daemon.wait_ready()
        assert affinity(pool3, uuids[0]) == (NULL_REF, pool3.host_uuids[1])
        config = write_config(str(tmp_path), "log_level: info\n", name="cli.yaml")
        out = ok(run_cli(pool3, "vm-unblock", "uuid=" + uuids[0], "reason=decommission",
                         config=config))
        assert "Restored its affinity" in out
        assert affinity(pool3, uuids[0]) == (pool3.host_refs[1], None)
        ok(run_cli(pool3, "vm-block", "uuid=" + uuids[0], config=config))
        assert affinity(pool3, uuids[0]) == (NULL_REF, pool3.host_uuids[1])

        # A recorded host that left the pool: nothing to restore, the record goes.
        pool3.modify_vm(uuids[1], "other_config", dict(
            pool3.vm_record(uuids[1])["other_config"],
            **{records.KEY_AFFINITY: "6c5b4a39-2817-4f06-9e5d-4c3b2a1f0e9d"}))
        write_config(str(tmp_path), "protection: {clear_halted_affinity: false}\n")
        daemon.send_signal(signal.SIGHUP)
        daemon.wait_until(lambda: affinity(pool3, uuids[0]) == (pool3.host_refs[1], None),
                          what="the affinity restored after the option was turned off")
        daemon.wait_until(lambda: affinity(pool3, uuids[1]) == (NULL_REF, None),
                          what="the record of a gone host removed")
        daemon.wait_log("that host is no longer in the pool")
        assert not missing_blocks(pool3, uuids)


def test_audit_mode_changes_no_affinity_and_says_what_it_would_do(pool3, tmp_path):
    _, uuid = pool3.create_vm("archive", power_state="Halted", affinity=2)
    with start(pool3, tmp_path, "protection: {mode: audit}\n") as daemon:
        daemon.wait_ready()
        daemon.wait_log("would record and clear it")
        assert affinity(pool3, uuid) == (pool3.host_refs[2], None)
