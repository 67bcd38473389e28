"""Adoption: the daemon meets a busy 3-host pool and protects every alien before it
says READY=1, touching nothing else; CloudStack 4.0's clean-up then loses nothing."""
import pytest
from csguard import records
from xapisim import Simulator

from integration.daemon_runner import DEFAULT_BLOCKED, DaemonRunner, missing_blocks, xenapi_session

XO_SHUTDOWN_PROTECTION = {op: "true" for op in (
    "clean_reboot", "clean_shutdown", "hard_reboot", "hard_shutdown", "pause", "suspend",
    "shutdown")}
XO_DELETION_PROTECTION = {"destroy": "true"}


def _vm(name, power_state="Halted", **fields):
    return dict(fields, name_label=name, power_state=power_state)


def _pool_specs():
    """~200 VMs of every kind, spread over 3 hosts; {kind: [spec]}."""
    shut, delete = XO_SHUTDOWN_PROTECTION, XO_DELETION_PROTECTION
    return {
        "alien": [_vm(f"web-{i}", "Running", host=i % 3) for i in range(60)]
        + [_vm(f"backup {i}") for i in range(30)]
        + [_vm(f"db-{i}", affinity=i % 3) for i in range(30)],
        "xo": [_vm(f"xo-shut-{i}", "Running", host=i % 3, blocked_operations=dict(shut))
               for i in range(5)]
        + [_vm(f"xo-del-{i}", affinity=0, blocked_operations=dict(delete)) for i in range(5)],
        "cloudstack": [_vm(f"i-2-{100 + i}-VM", "Running", host=i % 3) for i in range(40)]
        + [_vm(f"{prefix}-{10 + i}-VM", "Running", host=i % 3)
           for i, prefix in enumerate("rsvlb" * 2)],
        "template": [_vm(f"i-2-{900 + i}-VM" if i < 3 else f"template {i}", is_a_template=True)
                     for i in range(10)],
        "snapshot": [_vm(f"web-{i} snap", is_a_snapshot=True, is_a_template=True)
                     for i in range(10)],
    }


@pytest.fixture
def pool(tmp_path):
    """A running 3-host simulator with the ~200 VMs seeded: (sim, {kind: [uuid]})."""
    sim = Simulator(hosts=3)
    sim.start()
    try:
        uuids = {}
        for kind, specs in _pool_specs().items():
            uuids[kind] = [sim.create_vm(**spec)[1] for spec in specs]
        yield sim, uuids
    finally:
        sim.stop()


def _records(sim, uuids):
    return {uuid: sim.vm_record(uuid) for uuid in uuids}


def test_adoption_protects_every_alien_before_ready_and_touches_nothing_else(pool, tmp_path):
    sim, uuids = pool
    untouched = uuids["cloudstack"] + uuids["template"] + uuids["snapshot"]
    before = _records(sim, untouched + uuids["xo"])
    sim.reset_call_counts()
    standbys = [DaemonRunner(sim.unix_url(i), str(tmp_path / f"host{i}")) for i in (1, 2)]
    leader = DaemonRunner(sim.unix_url(0), str(tmp_path / "host0"))
    for daemon in standbys:
        daemon.start()
    try:
        with leader:
            leader.wait_ready()
            assert missing_blocks(sim, uuids["alien"] + uuids["xo"]) == {}
            for daemon in standbys:
                daemon.wait_ready()
                daemon.wait_status("standby")
            leader.wait_status("leader")

            for uuid in uuids["alien"]:
                record = sim.vm_record(uuid)
                for op in DEFAULT_BLOCKED:
                    assert records.is_ours(record["blocked_operations"][op])
                verdict = records.parse_verdict(record["other_config"][records.KEY_VERDICT])
                assert verdict[0] == "alien"
            for uuid in uuids["xo"]:
                record, old = sim.vm_record(uuid), before[uuid]
                for op, reason in old["blocked_operations"].items():
                    assert record["blocked_operations"][op] == reason == "true"
            for uuid in untouched:
                record, old = sim.vm_record(uuid), before[uuid]
                assert record["blocked_operations"] == old["blocked_operations"]
                assert record["other_config"] == old["other_config"]

            # Exactly the missing entries were written, once, by one daemon.
            counts = sim.call_counts()
            xo_missing = sum(len([op for op in DEFAULT_BLOCKED
                                  if op not in before[u]["blocked_operations"]])
                             for u in uuids["xo"])
            assert counts.get("VM.add_to_blocked_operations") == (
                len(uuids["alien"]) * len(DEFAULT_BLOCKED) + xo_missing)
            # A verdict on each, and an affinity record on each halted one with a host.
            homed = [u for u in uuids["alien"] + uuids["xo"] if records.KEY_AFFINITY
                     in sim.vm_record(u)["other_config"]]
            assert len(homed) == 35
            assert counts.get("VM.add_to_other_config") == len(uuids["alien"] + uuids["xo"]
                                                               + homed)
            assert counts.get("VM.set_affinity") == len(homed)
            assert not counts.get("VM.remove_from_blocked_operations")
            assert not counts.get("VM.set_blocked_operations")
            assert counts.get("message.create") == 1  # one summary, not 140 alerts
    finally:
        for daemon in standbys:
            assert daemon.stop() == 0
            daemon.close()


def test_cloudstack_cleanup_after_adoption_loses_no_alien(pool, tmp_path):
    from cloudstack import CloudStack

    sim, uuids = pool
    aliens = uuids["alien"] + uuids["xo"]
    vbds_before = {uuid: sorted(sim.vm_record(uuid)["VBDs"]) for uuid in aliens}
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state")) as daemon:
        daemon.wait_ready()
        session = xenapi_session(sim)
        try:
            cloudstack = CloudStack(session, version="4.0.2", instance_name="VM",
                                    poll_interval=0.02)
            cloudstack.sync()
            for host in sim.host_refs:
                assert cloudstack.ready(host) is True
            assert cloudstack.stop_own("i-2-100-VM") is True
        finally:
            session.xenapi.session.logout()
        for uuid in aliens:
            record = sim.vm_record(uuid)
            assert record is not None, f"alien {uuid} was destroyed"
            assert sorted(record["VBDs"]) == vbds_before[uuid]
        assert any("OPERATION_BLOCKED" in str(call) for call in cloudstack.calls)
        # CloudStack 4.0's stop of its own VM ends with VM.destroy: nothing blocked it.
        assert sim.vm_record(uuids["cloudstack"][0]) is None


def test_status_file_reports_role_counts_and_identity(pool, tmp_path):
    sim, _ = pool
    state_dir = tmp_path / "state"
    with DaemonRunner(sim.unix_url(0), str(state_dir)) as daemon:
        daemon.wait_ready()
        status = daemon.wait_until(
            lambda: (daemon.status_file() or {}).get("protected") == 130 and daemon.status_file(),
            what="status.json with 130 protected VMs")
        assert status["pid"] == daemon.pid
        assert status["role"] == "leader"
        assert status["host_uuid"] == sim.host_uuids[0]
        assert status["mode"] == "enforce"
        assert status["connection"] == "connected"
        assert status["counts"] == {"alien": 130, "cloudstack": 50, "exempt": 0,
                                    "ignored": 20 + 3}  # + the 3 control domains
        assert status["version"]
        assert status["started_at"] <= status["updated_at"]
        assert oct(state_dir.stat().st_mode & 0o777) == oct(0o750)
        assert oct((state_dir / "status.json").stat().st_mode & 0o777) == oct(0o644)
    assert daemon.status_file()["role"] == "stopped"


def test_a_vm_created_during_a_long_adoption_is_protected_before_it_ends(sim, tmp_path):
    """A busy master (2 ms per call) and 1,000 aliens: the adoption takes seconds.
    A VM created in its middle must not wait for its end, and no VM is written twice."""
    aliens = [uuid for _, uuid in sim.seed_vms([{"name_label": f"old-{i}"}
                                               for i in range(1000)])]
    sim.latency(2)
    sim.reset_call_counts()
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state")) as daemon:
        daemon.wait_until(lambda: sim.call_counts().get("VM.add_to_blocked_operations", 0)
                          >= 400, what="the adoption under way")
        _, new = sim.create_vm("created mid-adoption")
        daemon.wait_until(lambda: not missing_blocks(sim, [new]), what="the new VM protected")
        assert not daemon.ready
        assert missing_blocks(sim, aliens), "the adoption was over before the new VM's turn"
        daemon.wait_ready(timeout=120)
        assert missing_blocks(sim, aliens + [new]) == {}
        counts = sim.call_counts()
        assert counts["VM.add_to_blocked_operations"] == 1001 * len(DEFAULT_BLOCKED)
        assert counts["VM.add_to_other_config"] == 1001
        sim.latency(0)
