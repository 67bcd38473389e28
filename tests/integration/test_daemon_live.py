"""The running daemon follows the pool: new aliens, CloudStack's own creations,
renames, exemptions that run out, blocked attempts, and changes that are none of
its business (which must cause no writes at all)."""
import time

import pytest
from csguard import records

from integration.daemon_runner import (
    DEFAULT_BLOCKED,
    DaemonRunner,
    missing_blocks,
    write_config,
    xenapi_session,
)

WRITES = ("VM.add_to_blocked_operations", "VM.remove_from_blocked_operations",
          "VM.set_blocked_operations", "VM.add_to_other_config",
          "VM.remove_from_other_config", "VM.set_other_config", "VM.set_name_label")


@pytest.fixture
def session(sim):
    """A XenAPI session as another client (an admin, CloudStack) would hold one."""
    xen = xenapi_session(sim)
    yield xen
    xen.xenapi.session.logout()


@pytest.fixture
def daemon(sim, tmp_path):
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state")) as runner:
        runner.wait_ready()
        yield runner


def messages(session, name, obj_uuid=None):
    return [m for m in session.xenapi.message.get_all_records().values()
            if m["name"] == name and (obj_uuid is None or m["obj_uuid"] == obj_uuid)]


def protected(sim, uuid):
    return not missing_blocks(sim, [uuid])


def our_entries(sim, uuid):
    blocked = sim.vm_record(uuid)["blocked_operations"]
    return {op: reason for op, reason in blocked.items() if records.is_ours(reason)}


def sentinel(sim, daemon, name="sentinel"):
    """Create an alien and wait until every write protecting it is made (the blocks,
    then the verdict record): proves that the daemon has handled every event before
    it (events are delivered in order), and leaves none of its writes to come."""
    _, uuid = sim.create_vm(name)
    daemon.wait_until(lambda: protected(sim, uuid)
                      and records.KEY_VERDICT in sim.vm_record(uuid)["other_config"],
                      what=f"{name} protected and its verdict recorded")
    return uuid


def test_alien_created_while_running_is_protected_and_announced(sim, daemon, session):
    _, uuid = sim.create_vm("late arrival", power_state="Running")
    daemon.wait_until(lambda: protected(sim, uuid), what="the new alien protected")
    # the blocks come first (destroy first), the verdict record right after them
    verdict = daemon.wait_until(
        lambda: sim.vm_record(uuid)["other_config"].get(records.KEY_VERDICT),
        what="the verdict record")
    assert records.parse_verdict(verdict)[0] == "alien"
    found = daemon.wait_until(lambda: messages(session, "CSGUARD_VM_PROTECTED", uuid),
                              what="CSGUARD_VM_PROTECTED message")
    assert uuid in found[0]["body"] and "csguard vm-unblock" in found[0]["body"]


def test_cloudstack_creation_sequence_never_blocks_the_new_vm(sim, daemon, session):
    _, template_uuid = sim.create_vm("CentOS 5.6 (64-bit)", power_state="Halted",
                                     is_a_template=True)
    template = session.xenapi.VM.get_by_uuid(template_uuid)
    new = session.xenapi.VM.clone(template, "i-2-42-VM")       # appears as a template
    session.xenapi.VM.set_is_a_template(new, False)            # then becomes a VM
    uuid = session.xenapi.VM.get_uuid(new)
    sentinel(sim, daemon)
    for op in DEFAULT_BLOCKED:
        assert sim.blocked_op_set_at(uuid, op) is None
    assert records.KEY_VERDICT not in sim.vm_record(uuid)["other_config"]


def test_rename_reclassifies_both_ways_and_keeps_foreign_entries(sim, daemon, session):
    ref, uuid = sim.create_vm("web01", blocked_operations={"destroy": "true"})
    daemon.wait_until(lambda: protected(sim, uuid), what="web01 protected")

    sim.modify_vm(ref, "name_label", "i-3-77-VM")
    # Blocks go first, then the verdict record: wait for both.
    daemon.wait_until(lambda: not our_entries(sim, uuid) and records.KEY_VERDICT not in
                      sim.vm_record(uuid)["other_config"], what="our entries and record removed")
    assert sim.vm_record(uuid)["blocked_operations"] == {"destroy": "true"}
    daemon.wait_until(lambda: messages(session, "CSGUARD_VM_UNPROTECTED", uuid),
                      what="CSGUARD_VM_UNPROTECTED message")

    sim.modify_vm(ref, "name_label", "web01")
    daemon.wait_until(lambda: protected(sim, uuid), what="web01 protected again")
    assert sim.vm_record(uuid)["blocked_operations"]["destroy"] == "true"


def test_our_old_wording_stays_and_another_vms_hint_is_rewritten(sim, daemon, session):
    """An older wording still protects, so it is not rewritten (a rewrite unblocks for
    a moment); blocks carried from another VM, whose hint names that VM, are."""
    _, older = sim.create_vm("guarded by an older csguard", blocked_operations={
        op: "csguard: older wording" for op in DEFAULT_BLOCKED})
    _, copied = sim.create_vm("imported", blocked_operations={
        op: records.blocked_reason("11111111-2222-3333-4444-555555555555")
        for op in DEFAULT_BLOCKED})
    daemon.wait_until(lambda: set(our_entries(sim, copied).values())
                      == {records.blocked_reason(copied)}, what="the copied hints rewritten")
    sentinel(sim, daemon)
    assert set(our_entries(sim, older).values()) == {"csguard: older wording"}
    assert messages(session, "CSGUARD_VM_PROTECTED", older) == []
    assert messages(session, "CSGUARD_VM_PROTECTED", copied) == []


def test_unrelated_modifications_cause_no_writes(sim, daemon):
    refs = [sim.create_vm(f"alien {i}")[0] for i in range(10)]
    refs += [sim.create_vm(f"i-2-{i}-VM")[0] for i in range(10)]
    last = sentinel(sim, daemon, "first sentinel")
    sim.reset_call_counts()
    for i in range(2000):
        ref = refs[i % len(refs)]
        if i % 2:
            sim.modify_vm(ref, "memory_dynamic_max", str(1024 ** 3 + i))
        else:
            other = dict(sim.vm_record(ref)["other_config"], **{f"note-{i % 7}": str(i)})
            sim.modify_vm(ref, "other_config", other)
    sentinel(sim, daemon, "second sentinel")
    counts = sim.call_counts()
    # The only writes are those protecting the second sentinel.
    assert counts.get("VM.add_to_blocked_operations") == len(DEFAULT_BLOCKED)
    assert counts.get("VM.add_to_other_config") == 1
    assert not any(counts.get(name) for name in WRITES
                   if name not in ("VM.add_to_blocked_operations", "VM.add_to_other_config"))
    assert protected(sim, last)


def test_blocked_attempt_is_reported_once_per_hour(sim, daemon, session):
    _, uuid = sim.create_vm("precious", power_state="Running")
    daemon.wait_until(lambda: protected(sim, uuid), what="precious protected")
    ref = session.xenapi.VM.get_by_uuid(uuid)
    for attempt in (1, 2):
        task = session.xenapi.Async.VM.clean_shutdown(ref)
        daemon.wait_until(lambda task=task: session.xenapi.task.get_status(task) == "failure",
                          what="the task failing")
        daemon.wait_until(lambda n=attempt: len(
            (daemon.status_file() or {}).get("blocked_attempts", [])) == n,
            what=f"attempt {attempt} in status.json")
        session.xenapi.task.destroy(task)
    found = messages(session, "CSGUARD_BLOCKED_ATTEMPT", uuid)
    assert len(found) == 1
    assert found[0]["priority"] == "3"
    assert "clean_shutdown" in found[0]["body"] and "csguard vm-unblock" in found[0]["body"]
    attempts = daemon.status_file()["blocked_attempts"]
    assert [a["operation"] for a in attempts] == ["clean_shutdown", "clean_shutdown"]
    assert attempts[0]["vm_uuid"] == uuid
    assert sim.vm_record(uuid)["power_state"] == "Running"


def test_exemption_expiry_protects_again(sim, daemon):
    ref, uuid = sim.create_vm("temporary exemption")
    daemon.wait_until(lambda: protected(sim, uuid), what="VM protected")
    now = time.time()
    exemption = records.format_exemption(records.Exemption(
        by="root", at=now - 1, until=now + 8, reason="migration window", vm=uuid))
    other = dict(sim.vm_record(uuid)["other_config"], **{records.KEY_EXEMPTION: exemption})
    sim.modify_vm(ref, "other_config", other)
    daemon.wait_until(lambda: not our_entries(sim, uuid), what="blocks removed while exempt")
    daemon.wait_until(lambda: protected(sim, uuid), timeout=60, what="protection after expiry")


def test_audit_mode_classifies_and_writes_nothing(sim, tmp_path):
    uuids = [sim.create_vm(f"alien {i}")[1] for i in range(5)]
    config = write_config(str(tmp_path), "protection:\n  mode: audit\n")
    sim.reset_call_counts()
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state"), config=config) as daemon:
        daemon.wait_ready()
        sim.create_vm("alien late")
        daemon.wait_until(lambda: (daemon.status_file() or {}).get("counts", {}).get(
            "alien") == 6, what="6 aliens counted")
        status = daemon.status_file()
        assert status["mode"] == "audit" and status["protected"] == 0
        assert "audit" in daemon.status
    counts = sim.call_counts()
    assert not any(counts.get(name) for name in WRITES + ("message.create",))
    assert set(missing_blocks(sim, uuids)) == set(uuids)
