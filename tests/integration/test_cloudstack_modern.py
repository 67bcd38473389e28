"""Current CloudStack (4.3 and later, to main) against a pool csguard guards.

Read in apache/cloudstack: CitrixReadyCommandWrapper.execute -> CitrixResourceBase
.cleanupHaltedVms (VM.destroy of each halted non-template VM whose affinity is the
connecting host and whose name isAlienVm takes for CloudStack's, ^[ivs]-\\d+-.+);
CitrixStartCommandWrapper.execute (VM.get_by_name_label, a halted VM of that name
is destroyed before CloudStack creates its own); the Stop wrapper (by name, affinity
set to the host before the shutdown). The replay is tests/cloudstack/replay.py.
"""
import pytest
import XenAPI
from cloudstack import CloudStack
from csguard import records
from csguard.plan_affinity import NULL_REF

from integration.daemon_runner import DaemonRunner, write_config, xenapi_session

PROTECT = {"tags": ["csguard-protect"]}        # hand-made VMs under CloudStack names


@pytest.fixture
def cloudstack(pool3):
    session = XenAPI.Session(pool3.tcp_url)
    session.login_with_password("root", "xenroot", "1.0")
    yield lambda version="4.21": CloudStack(session, version=version, poll_interval=0.01)
    session.xenapi.session.logout()


def daemon(pool3, tmp_path, config=None):
    path = write_config(str(tmp_path), config) if config else None
    return DaemonRunner(pool3.unix_url(0), str(tmp_path / "state"), config=path)


def test_current_ready_command_succeeds_on_every_host_and_destroys_no_protected_vm(
        pool3, tmp_path, cloudstack):
    # Names the 4.3+ clean-up takes for CloudStack's: a lookalike alien, and a VM made
    # by hand under a CloudStack name that an override protects.
    lookalike = pool3.create_vm("i-2-10-vm", power_state="Halted", affinity=1)[1]
    forced = pool3.create_vm("v-3-VM", power_state="Halted", affinity=2, **PROTECT)[1]
    plain = pool3.create_vm("archive", power_state="Halted", affinity=0)[1]
    with daemon(pool3, tmp_path) as runner:
        runner.wait_ready()
        cs = cloudstack()
        assert [cs.ready(ref) for ref in pool3.host_refs] == [True, True, True]
    assert cs.failures("VM.destroy") == []
    for uuid, host in ((lookalike, 1), (forced, 2), (plain, 0)):
        record = pool3.vm_record(uuid)
        assert record["affinity"] == NULL_REF
        assert record["other_config"][records.KEY_AFFINITY] == pool3.host_uuids[host]


def test_without_clearing_the_current_ready_command_fails_on_the_filtered_names(
        pool3, tmp_path, cloudstack):
    pool3.create_vm("i-2-10-vm", power_state="Halted", affinity=1)
    pool3.create_vm("archive", power_state="Halted", affinity=0)   # not ^[ivs]-: skipped
    with daemon(pool3, tmp_path, "protection: {clear_halted_affinity: false}\n") as runner:
        runner.wait_ready()
        cs = cloudstack()
        assert [cs.ready(ref) for ref in pool3.host_refs] == [True, False, True]
        assert len(cs.failures("VM.destroy")) == 1
        old = cloudstack("4.0.2")
        assert [old.ready(ref) for ref in pool3.host_refs] == [False, False, True]


def test_start_command_cannot_destroy_a_protected_halted_vm_of_the_same_name(
        pool3, tmp_path, cloudstack):
    template = pool3.create_vm("CentOS 7", power_state="Halted", is_a_template=True)[0]
    _, uuid = pool3.create_vm("i-2-10-VM", power_state="Halted", **PROTECT)
    with daemon(pool3, tmp_path) as runner:
        runner.wait_ready()
        cs = cloudstack()
        ok, details = cs.start("i-2-10-VM", template, pool3.host_refs[0])
    assert ok is False and "OperationBlocked" in details
    assert [c[0] for c in cs.failures("VM.destroy")] == ["OPERATION_BLOCKED"]
    assert pool3.vm_record(uuid)["VBDs"], "the protected VM keeps its record and disks"
    assert "VM.create" not in cs.methods()


def test_start_command_destroys_an_unprotected_halted_vm_of_the_same_name(pool3, cloudstack):
    template = pool3.create_vm("CentOS 7", power_state="Halted", is_a_template=True)[0]
    ref, _ = pool3.create_vm("i-2-10-VM", power_state="Halted")
    ok, _ = cloudstack().start("i-2-10-VM", template, pool3.host_refs[0])
    assert ok is True
    assert pool3.vm_record(ref) is None
    session = xenapi_session(pool3)
    try:
        (new,) = session.xenapi.VM.get_by_name_label("i-2-10-VM")
    finally:
        session.xenapi.session.logout()
    record = pool3.vm_record(new)
    assert record["power_state"] == "Running" and "vm_uuid" in record["other_config"]


def test_stop_by_name_sets_the_affinity_and_csguard_clears_it_once_halted(
        pool3, tmp_path, cloudstack):
    _, uuid = pool3.create_vm("i-2-10-VM", host=2, **PROTECT)
    with daemon(pool3, tmp_path) as runner:
        runner.wait_ready()
        cs = cloudstack()
        assert cs.stop_own("i-2-10-VM") is False                     # blocked
        assert pool3.vm_record(uuid)["affinity"] == pool3.host_refs[2]
        pool3.modify_vm(uuid, "resident_on", NULL_REF)               # the guest shuts down
        pool3.modify_vm(uuid, "power_state", "Halted")
        runner.wait_until(lambda: pool3.vm_record(uuid)["affinity"] == NULL_REF,
                          what="the affinity the StopCommand set cleared")
        assert all(cs.ready(host) for host in pool3.host_refs)
    assert pool3.vm_record(uuid)["other_config"][records.KEY_AFFINITY] == pool3.host_uuids[2]

