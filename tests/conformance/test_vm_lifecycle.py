"""VM lifecycle: blocked_operations checked first, power states, copies, destroy."""
import time

import pytest
from xapisim.testing import failure_of

BLOCKABLE_ON_A_RUNNING_VM = ["clean_shutdown", "hard_shutdown", "shutdown", "clean_reboot",
                             "hard_reboot", "suspend", "pause"]


@pytest.fixture
def x(x_both):
    """Every fact in this module is checked over the unix socket and over TCP."""
    return x_both


def test_blocked_destroy_fails_with_operation_blocked_and_the_stored_reason(sim, x):
    vm, _ = sim.create_vm("halted", power_state="Halted")
    x.VM.add_to_blocked_operations(vm, "destroy", "csguard: protected; unblock with ...")
    assert failure_of(x.VM.destroy, vm) == [
        "OPERATION_BLOCKED", vm, "csguard: protected; unblock with ..."]
    assert x.VM.get_power_state(vm) == "Halted"


@pytest.mark.parametrize("op", BLOCKABLE_ON_A_RUNNING_VM)
def test_blocked_power_operation_fails_with_operation_blocked(x, vm, op):
    x.VM.add_to_blocked_operations(vm, op, "no")
    assert failure_of(getattr(x.VM, op), vm) == ["OPERATION_BLOCKED", vm, "no"]
    assert x.VM.get_power_state(vm) == "Running"


def test_blocked_operations_is_checked_before_the_power_state(sim, x):
    vm, _ = sim.create_vm("halted", power_state="Halted")
    x.VM.add_to_blocked_operations(vm, "clean_shutdown", "mine")
    assert failure_of(x.VM.clean_shutdown, vm) == ["OPERATION_BLOCKED", vm, "mine"]


def test_blocked_start_fails_with_operation_blocked(sim, x):
    vm, _ = sim.create_vm("halted", power_state="Halted")
    x.VM.add_to_blocked_operations(vm, "start", "no start")
    assert failure_of(x.VM.start, vm, False, False) == ["OPERATION_BLOCKED", vm, "no start"]


@pytest.mark.parametrize("op", ["clone", "snapshot"])
def test_blocked_copies_fail_with_operation_blocked(sim, x, op):
    vm, _ = sim.create_vm("halted", power_state="Halted")
    x.VM.add_to_blocked_operations(vm, op, "no copies")
    assert failure_of(getattr(x.VM, op), vm, "copy") == ["OPERATION_BLOCKED", vm, "no copies"]


def test_wrong_power_state_fails_with_vm_bad_power_state_expected_and_actual(x, vm):
    assert failure_of(x.VM.destroy, vm) == [
        "VM_BAD_POWER_STATE", vm, "halted, suspended", "running"]
    assert failure_of(x.VM.start, vm, False, False) == [
        "VM_BAD_POWER_STATE", vm, "halted", "running"]


def test_power_state_reset_ignores_blocked_operations(sim, x, vm):
    x.VM.add_to_blocked_operations(vm, "power_state_reset", "blocked in vain")
    x.VM.add_to_blocked_operations(vm, "hard_shutdown", "no")
    sim.kill_domain(vm)
    x.VM.power_state_reset(vm)
    assert x.VM.get_power_state(vm) == "Halted"


def test_power_state_reset_of_a_live_domain_on_this_host_fails_with_domain_exists(x, vm):
    assert failure_of(x.VM.power_state_reset, vm) == ["DOMAIN_EXISTS", vm]
    assert x.VM.get_power_state(vm) == "Running"


def test_power_state_reset_of_a_vm_on_another_live_host_fails_with_host_is_live(pool3,
                                                                             session_for):
    x = session_for(pool3.socket_path(0)).xenapi
    vm, _ = pool3.create_vm("elsewhere", host=2)
    pool3.kill_domain(vm)
    assert failure_of(x.VM.power_state_reset, vm) == ["HOST_IS_LIVE", pool3.host_refs[2]]


def test_power_state_reset_of_a_control_domain_fails_with_cannot_reset_control_domain(sim, x):
    dom0 = x.host.get_control_domain(sim.host_refs[0])
    assert failure_of(x.VM.power_state_reset, dom0) == ["CANNOT_RESET_CONTROL_DOMAIN", dom0]


def test_power_state_reset_after_the_domain_was_killed_marks_the_vm_halted(sim, x, vm):
    sim.kill_domain(vm)
    assert x.VM.get_power_state(vm) == "Running"
    x.VM.power_state_reset(vm)
    record = x.VM.get_record(vm)
    assert (record["power_state"], record["resident_on"], record["domid"]) == (
        "Halted", "OpaqueRef:NULL", "-1")


def test_power_state_reset_of_a_halted_vm_is_accepted(sim, x):
    vm, _ = sim.create_vm("halted", power_state="Halted")
    x.VM.power_state_reset(vm)
    assert x.VM.get_power_state(vm) == "Halted"


def test_destroy_removes_vbds_and_vifs_but_keeps_vdis(sim, x):
    vm, _ = sim.create_vm("doomed", power_state="Halted", vbds=2, vifs=1)
    vbds, vifs = x.VM.get_VBDs(vm), x.VM.get_VIFs(vm)
    vdis = [x.VBD.get_VDI(vbd) for vbd in vbds]
    x.VM.destroy(vm)
    assert vm not in x.VM.get_all()
    assert not set(vbds) & set(x.VBD.get_all())
    assert not set(vifs) & set(x.VIF.get_all())
    assert set(vdis) <= set(x.VDI.get_all())
    assert all(x.VDI.get_VBDs(vdi) == [] for vdi in vdis)


def test_destroy_of_a_running_control_domain_fails_with_vm_bad_power_state(sim, x):
    dom0 = x.host.get_control_domain(sim.host_refs[0])
    assert failure_of(x.VM.destroy, dom0)[0] == "VM_BAD_POWER_STATE"


def test_create_ignores_the_given_blocked_operations_and_adds_a_mac_seed(x):
    record = {"name_label": "new", "name_description": "", "power_state": "Running",
              "blocked_operations": {"destroy": "sneaky"}, "other_config": {"a": "b"},
              "memory_static_max": "1073741824"}
    vm = x.VM.create(record)
    created = x.VM.get_record(vm)
    assert created["blocked_operations"] == {}
    assert created["power_state"] == "Halted"
    assert created["other_config"]["a"] == "b"
    assert "mac_seed" in created["other_config"]
    assert created["memory_static_max"] == "1073741824"


@pytest.mark.parametrize("op", ["clone", "snapshot", "copy"])
def test_copies_of_a_protected_vm_carry_no_blocked_operations(sim, x, op):
    vm, _ = sim.create_vm("protected", power_state="Halted",
                          blocked_operations={"destroy": "keep", "clean_shutdown": "keep"})
    args = (vm, "copy-of", "OpaqueRef:NULL") if op == "copy" else (vm, "copy-of")
    new = getattr(x.VM, op)(*args)
    assert new != vm
    assert x.VM.get_blocked_operations(new) == {}
    assert x.VM.get_blocked_operations(vm) == {"destroy": "keep", "clean_shutdown": "keep"}


def test_snapshot_is_a_halted_template_pointing_at_its_vm(x, vm):
    snapshot = x.VM.snapshot(vm, "snap")
    record = x.VM.get_record(snapshot)
    assert (record["is_a_snapshot"], record["is_a_template"], record["power_state"]) == (
        True, True, "Halted")
    assert record["snapshot_of"] == vm
    assert snapshot in x.VM.get_snapshots(vm)


def test_clone_of_a_template_is_a_template_with_base_template_name(sim, x):
    template, _ = sim.create_vm("CentOS 7", power_state="Halted", is_a_template=True)
    clone = x.VM.clone(template, "i-2-10-VM")
    record = x.VM.get_record(clone)
    assert record["is_a_template"] is True
    assert record["other_config"]["base_template_name"] == "CentOS 7"
    assert record["name_label"] == "i-2-10-VM"
    assert len(record["VBDs"]) == 1 and record["VBDs"] != x.VM.get_VBDs(template)


def test_template_refuses_start_with_vm_is_template(sim, x):
    template, _ = sim.create_vm("tpl", power_state="Halted", is_a_template=True)
    assert failure_of(x.VM.start, template, False, False) == ["VM_IS_TEMPLATE", template, "start"]


def test_start_runs_the_vm_on_its_affinity_host(pool3, session_for):
    x = session_for(pool3.socket_path(0)).xenapi
    vm, _ = pool3.create_vm("halted", power_state="Halted", affinity=1)
    x.VM.start(vm, False, False)
    record = x.VM.get_record(vm)
    assert (record["power_state"], record["resident_on"]) == ("Running", pool3.host_refs[1])
    assert int(record["domid"]) > 0


def test_start_on_runs_the_vm_on_the_given_host(pool3, session_for):
    x = session_for(pool3.socket_path(0)).xenapi
    vm, _ = pool3.create_vm("halted", power_state="Halted")
    x.VM.start_on(vm, pool3.host_refs[2], True, False)
    assert x.VM.get_power_state(vm) == "Paused"
    assert x.VM.get_resident_on(vm) == pool3.host_refs[2]


@pytest.mark.parametrize("op", ["clean_shutdown", "hard_shutdown", "shutdown"])
def test_shutdowns_halt_the_vm_and_clear_resident_on(x, vm, op):
    getattr(x.VM, op)(vm)
    record = x.VM.get_record(vm)
    assert (record["power_state"], record["resident_on"], record["domid"]) == (
        "Halted", "OpaqueRef:NULL", "-1")


@pytest.mark.parametrize("op", ["clean_reboot", "hard_reboot"])
def test_reboots_keep_the_vm_running_with_a_new_domain(x, vm, op):
    domid = x.VM.get_domid(vm)
    getattr(x.VM, op)(vm)
    assert x.VM.get_power_state(vm) == "Running"
    assert x.VM.get_domid(vm) != domid


def test_suspend_then_resume(x, vm):
    x.VM.suspend(vm)
    assert x.VM.get_power_state(vm) == "Suspended"
    assert x.VM.get_resident_on(vm) == "OpaqueRef:NULL"
    x.VM.resume(vm, False, False)
    assert x.VM.get_power_state(vm) == "Running"


def test_pause_then_unpause(x, vm):
    x.VM.pause(vm)
    assert x.VM.get_power_state(vm) == "Paused"
    x.VM.unpause(vm)
    assert x.VM.get_power_state(vm) == "Running"


def _wait_for_task(x, task):
    deadline = time.time() + 10
    while x.task.get_status(task) == "pending":
        assert time.time() < deadline, "the task never finished"
        time.sleep(0.01)
    return x.task.get_record(task)


def test_async_blocked_shutdown_returns_a_task_whose_error_info_is_operation_blocked(x, vm):
    x.VM.add_to_blocked_operations(vm, "clean_shutdown", "csguard: no")
    task = x.Async.VM.clean_shutdown(vm)
    assert task.startswith("OpaqueRef:")
    record = _wait_for_task(x, task)
    assert record["status"] == "failure"
    assert record["error_info"] == ["OPERATION_BLOCKED", vm, "csguard: no"]
    assert record["name_label"] == "Async.VM.clean_shutdown"
    assert x.VM.get_power_state(vm) == "Running"


def test_async_void_call_succeeds_with_an_empty_string_value_as_result(x, vm):
    record = _wait_for_task(x, x.Async.VM.clean_shutdown(vm))
    assert (record["status"], record["error_info"]) == ("success", [])
    assert record["result"] == "<value></value>"
    assert x.VM.get_power_state(vm) == "Halted"


def test_async_clone_result_holds_the_new_vm_ref_as_xml(sim, x):
    vm, _ = sim.create_vm("halted", power_state="Halted")
    record = _wait_for_task(x, x.Async.VM.clone(vm, "copy"))
    new = x.VM.get_by_name_label("copy")[0]
    assert record["result"] == "<value>" + new + "</value>"


def test_task_destroy_removes_the_task(x, vm):
    task = x.Async.VM.hard_shutdown(vm)
    _wait_for_task(x, task)
    x.task.destroy(task)
    assert task not in x.task.get_all()
    assert failure_of(x.task.get_status, task) == ["HANDLE_INVALID", "task", task]


def test_async_of_a_getter_is_an_unknown_method(x, vm):
    assert failure_of(x.Async.VM.get_record, vm) == [
        "MESSAGE_METHOD_UNKNOWN", "Async.VM.get_record"]


def test_vm_shutdown_posts_a_vm_shutdown_message(x, vm):
    uuid = x.VM.get_uuid(vm)
    x.VM.clean_shutdown(vm)
    names = [m["name"] for m in x.message.get_all_records().values() if m["obj_uuid"] == uuid]
    assert names == ["VM_SHUTDOWN"]


def test_power_state_reset_of_a_vm_on_a_dead_host_marks_it_halted(pool3, session_for):
    x = session_for(pool3.socket_path(0)).xenapi
    vm, _ = pool3.create_vm("orphan", host=1)
    pool3.set_host_live(1, False)
    x.VM.power_state_reset(vm)
    assert x.VM.get_power_state(vm) == "Halted"
    assert x.VM.get_resident_on(vm) == "OpaqueRef:NULL"


def test_the_transfer_vm_is_marked_as_the_transfer_plugin_marks_it(sim, x):
    """xenserver/transfervm transferplugin/transfer clone_utility_vm: VM.create with
    other_config {HideFromXenCenter: true, transfervm_clone: true}; is_transfer_vm
    recognises it by transfervm_clone on a non-template."""
    ref, _ = sim.create_helper_vm("transfer-vm")
    record = x.VM.get_record(ref)
    assert record["other_config"]["transfervm_clone"] == "true"
    assert record["other_config"]["HideFromXenCenter"] == "true"
    assert record["is_a_template"] is False and record["is_control_domain"] is False
    assert record["name_label"].startswith("Transfer VM for VDI ")


def test_a_driver_domain_is_a_control_domain(sim, x):
    """xen-api system_domains.ml is_system_domain: vM_is_control_domain (the
    other_config keys is_system_domain and storage_driver_domain were dropped)."""
    ref, _ = sim.create_helper_vm("driver-domain")
    assert x.VM.get_is_control_domain(ref) is True
    assert x.VM.get_domid(ref) != "0"
