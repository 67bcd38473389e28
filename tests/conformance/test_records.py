"""Classes, records and the generic accessors XAPI generates for every field."""
import pytest
from xapisim import Simulator
from xapisim.testing import failure_of

VM_FIELDS_CSGUARD_AND_CLOUDSTACK_READ = {
    "uuid", "name_label", "name_description", "power_state", "is_a_template",
    "is_a_snapshot", "is_control_domain", "other_config", "tags", "blocked_operations",
    "allowed_operations", "current_operations", "affinity", "resident_on", "domid",
    "memory_static_max", "memory_dynamic_max", "memory_dynamic_min", "memory_static_min",
    "memory_target", "VBDs", "VIFs", "snapshot_of", "snapshots", "xenstore_data",
    "guest_metrics", "ha_restart_priority", "VCPUs_max", "platform",
}


def test_vm_record_has_the_fields_of_a_real_vm_record(x, vm):
    assert VM_FIELDS_CSGUARD_AND_CLOUDSTACK_READ <= set(x.VM.get_record(vm))


def test_every_host_has_a_running_control_domain_resident_on_it(pool3, session_for):
    x = session_for(pool3.socket_path(0)).xenapi
    for host in pool3.host_refs:
        dom0 = x.host.get_control_domain(host)
        record = x.VM.get_record(dom0)
        assert record["is_control_domain"] is True
        assert record["power_state"] == "Running"
        assert record["resident_on"] == host
        assert record["domid"] == "0"
        assert dom0 in x.host.get_resident_VMs(host)


def test_pool_get_master_is_host_0_at_start(sim, x):
    pool = x.pool.get_all()[0]
    assert pool == sim.pool_ref
    assert x.pool.get_master(pool) == sim.host_refs[0]


def test_get_all_and_get_all_records_list_the_same_refs(x, vm):
    assert set(x.VM.get_all()) == set(x.VM.get_all_records())
    assert vm in x.VM.get_all()


def test_get_by_uuid_returns_the_ref(x, sim):
    ref, uuid = sim.create_vm("by-uuid")
    assert x.VM.get_by_uuid(uuid) == ref


def test_get_by_name_label_returns_every_match(x, sim):
    first, _ = sim.create_vm("twin")
    second, _ = sim.create_vm("twin")
    assert sorted(x.VM.get_by_name_label("twin")) == sorted([first, second])
    assert x.VM.get_by_name_label("nobody") == []


def test_setter_writes_a_read_write_field(x, vm):
    x.VM.set_name_label(vm, "renamed")
    assert x.VM.get_name_label(vm) == "renamed"


def test_setter_rejects_a_value_of_the_wrong_type(x, vm):
    assert failure_of(x.VM.set_name_label, vm, 42)[0] == "FIELD_TYPE_ERROR"


def test_add_to_map_adds_a_key(x, vm):
    x.VM.add_to_other_config(vm, "owner", "ops")
    assert x.VM.get_other_config(vm)["owner"] == "ops"


def test_add_to_map_with_an_existing_key_fails_with_map_duplicate_key(x, vm):
    x.VM.add_to_blocked_operations(vm, "destroy", "first")
    details = failure_of(x.VM.add_to_blocked_operations, vm, "destroy", "second")
    assert details == ["MAP_DUPLICATE_KEY", "VM", "blocked_operations", vm, "destroy"]
    assert x.VM.get_blocked_operations(vm) == {"destroy": "first"}


def test_add_to_map_with_the_same_key_and_value_still_fails(x, vm):
    x.VM.add_to_other_config(vm, "k", "v")
    assert failure_of(x.VM.add_to_other_config, vm, "k", "v")[0] == "MAP_DUPLICATE_KEY"


def test_remove_from_map_of_an_absent_key_is_a_no_op(x, vm):
    before = x.VM.get_blocked_operations(vm)
    assert x.VM.remove_from_blocked_operations(vm, "destroy") == ""
    assert x.VM.get_blocked_operations(vm) == before


UNKNOWN_TAG = ["INTERNAL_ERROR", 'Failure("Unknown tag/contents")']


def test_blocked_operations_keys_must_be_vm_operations(x, vm):
    """The generated server unmarshals the key as a vm_operations enum (ppx_deriving_rpc:
    failwith "Unknown tag/contents"); exnHelper.ml error_of_exn makes the Failure an
    INTERNAL_ERROR [Printexc.to_string e]."""
    assert failure_of(x.VM.add_to_blocked_operations, vm, "reboot_please", "x") == UNKNOWN_TAG
    assert failure_of(x.VM.set_blocked_operations, vm, {"nonsense": "x"}) == UNKNOWN_TAG
    assert x.VM.get_blocked_operations(vm) == {}


@pytest.mark.parametrize("op", ["create_vtpm", "sysprep"])
def test_an_8_2_pool_does_not_know_the_newest_vm_operations(x, vm, op):
    """xapi 1.249 (branch 1.249-lcm idl/datamodel_vm.ml): no create_vtpm (xapi 23.10),
    no sysprep (25.24); the default pool is an 8.2 one."""
    assert x.host.get_software_version(x.host.get_all()[0])["xapi"] == "1.249"
    assert failure_of(x.VM.add_to_blocked_operations, vm, op, "x") == UNKNOWN_TAG
    assert failure_of(x.VM.assert_operation_valid, vm, op) == UNKNOWN_TAG
    assert op not in x.VM.get_allowed_operations(vm)


@pytest.mark.parametrize("version, known", [("23.10", {"create_vtpm"}),
                                            ("25.33", {"create_vtpm", "sysprep"})])
def test_newer_xapi_versions_know_them(version, known, session_for):
    with Simulator(hosts=1, xapi_version=version) as sim:
        x = session_for(sim.socket_path(0)).xenapi
        vm, _ = sim.create_vm("alien")
        assert x.host.get_software_version(sim.host_refs[0])["xapi"] == version
        for op in sorted(known):
            x.VM.add_to_blocked_operations(vm, op, "x")
        for op in {"create_vtpm", "sysprep"} - known:
            assert failure_of(x.VM.add_to_blocked_operations, vm, op, "x") == UNKNOWN_TAG


def test_set_blocked_operations_replaces_the_map(x, vm):
    x.VM.add_to_blocked_operations(vm, "destroy", "old")
    x.VM.set_blocked_operations(vm, {"clean_shutdown": "new"})
    assert x.VM.get_blocked_operations(vm) == {"clean_shutdown": "new"}


def test_add_and_remove_on_a_set_field(x, vm):
    x.VM.add_tags(vm, "csguard-protect")
    x.VM.add_tags(vm, "csguard-protect")
    assert x.VM.get_tags(vm) == ["csguard-protect"]
    x.VM.remove_tags(vm, "csguard-protect")
    assert x.VM.get_tags(vm) == []


def test_blocking_an_operation_removes_it_from_allowed_operations(x, vm):
    assert "clean_shutdown" in x.VM.get_allowed_operations(vm)
    x.VM.add_to_blocked_operations(vm, "clean_shutdown", "protected")
    assert "clean_shutdown" not in x.VM.get_allowed_operations(vm)
    x.VM.remove_from_blocked_operations(vm, "clean_shutdown")
    assert "clean_shutdown" in x.VM.get_allowed_operations(vm)


def test_vbd_links_vm_and_vdi_both_ways(x, vm):
    vbd = x.VM.get_VBDs(vm)[0]
    vdi = x.VBD.get_VDI(vbd)
    assert x.VBD.get_VM(vbd) == vm
    assert x.VDI.get_VBDs(vdi) == [vbd]
    assert x.VIF.get_VM(x.VM.get_VIFs(vm)[0]) == vm


def test_get_all_records_of_other_classes(x, sim):
    assert set(x.host.get_all_records()) == set(sim.host_refs)
    assert len(x.SR.get_all_records()) == 1
    assert len(x.network.get_all_records()) == 1


def test_affinity_is_a_plain_setter_that_blocked_operations_do_not_stop(sim, x):
    """xen-api ocaml/idl/datamodel_vm.ml: field "affinity" (Ref _host, read-write,
    writer_roles _R_VM_POWER_ADMIN), "a hint to the start call"; its generated
    VM.set_affinity checks no vm_operation, so blocking every operation leaves it
    settable, to a host or to OpaqueRef:NULL."""
    blocked = {op: "csguard: protected" for op in (
        "clean_shutdown", "hard_shutdown", "shutdown", "destroy", "start", "start_on")}
    vm, _ = sim.create_vm("homed", power_state="Halted", affinity=0,
                          blocked_operations=blocked)
    x.VM.set_affinity(vm, "OpaqueRef:NULL")
    assert x.VM.get_affinity(vm) == "OpaqueRef:NULL"
    x.VM.set_affinity(vm, sim.host_refs[0])
    assert x.VM.get_record(vm)["affinity"] == sim.host_refs[0]
