"""VMs that come from elsewhere: imports, incoming migrations, reverts, clones and
copies (import.ml, xapi_vm_migrate.ml, xapi_vm_snapshot.ml, xapi_vm_clone.ml), and
what XAPI refuses while an import runs (xapi_vm_lifecycle.ml)."""
import pytest
from xapisim.testing import failure_of


def test_an_importing_vm_carries_import_in_current_operations(sim, x):
    """import.ml: the VM exists, Halted, with `import` under the import's task."""
    ref, _ = sim.begin_import("incoming", other_config={"from": "elsewhere"})
    ((task, op),) = x.VM.get_current_operations(ref).items()
    assert op == "import" and x.task.get_status(task) == "pending"
    assert x.VM.get_other_config(ref)["from"] == "elsewhere"
    assert x.VM.get_blocked_operations(ref) == {}


@pytest.mark.parametrize("op", ["destroy", "clean_shutdown", "shutdown", "start",
                                "clone", "copy", "export"])
def test_while_an_import_runs_xapi_refuses_every_other_operation(sim, x, op):
    """xapi_vm_lifecycle.ml check_operation_error: after the power state, an operation
    not allowed concurrently (is_allowed_concurrently) with those in progress fails
    with OTHER_OPERATION_IN_PROGRESS [VM, vm, op, task]."""
    ref, _ = sim.begin_import("incoming")
    ((task, _),) = x.VM.get_current_operations(ref).items()
    details = failure_of(x.VM.assert_operation_valid, ref, op)
    if op in ("clean_shutdown", "shutdown"):
        assert details[0] == "VM_BAD_POWER_STATE"      # the power state comes first
    else:
        assert details == ["OTHER_OPERATION_IN_PROGRESS", "VM", ref, "import", task]
    assert op not in x.VM.get_allowed_operations(ref)


def test_while_an_import_runs_blocked_operations_can_still_be_written(sim, x):
    """Field setters are no operations: check_operation_error never sees them."""
    ref, _ = sim.begin_import("incoming")
    x.VM.add_to_blocked_operations(ref, "destroy", "csguard: protected")
    assert x.VM.get_blocked_operations(ref) == {"destroy": "csguard: protected"}


def test_a_failed_import_is_destroyed_by_its_clean_up(sim, x):
    ref, uuid = sim.begin_import("incoming")
    ((task, _),) = x.VM.get_current_operations(ref).items()
    assert sim.end_import(uuid, ok=False) is False
    assert sim.vm_record(uuid) is None
    assert x.task.get_status(task) == "failure"


def test_a_failed_import_whose_destroy_is_blocked_is_left_behind(sim, x):
    """import.ml cleanup: Client.VM.destroy through with_vm_operation ~op:destroy,
    errors logged and ignored: a destroy block leaves the half-imported VM."""
    ref, uuid = sim.begin_import("incoming")
    x.VM.add_to_blocked_operations(ref, "destroy", "csguard: protected")
    assert sim.end_import(uuid, ok=False) is True
    assert x.VM.get_current_operations(ref) == {}
    assert x.VM.get_power_state(ref) == "Halted"


def test_a_successful_import_ends_its_operation(sim, x):
    ref, uuid = sim.begin_import("incoming")
    assert sim.end_import(uuid) is True
    assert x.VM.get_current_operations(ref) == {}
    assert "destroy" in x.VM.get_allowed_operations(ref)


def test_an_incoming_migration_carries_the_source_vms_uuid(sim, x):
    """xapi_vm_migrate.ml migrate_send imports the source's metadata on the
    destination: same uuid; a failed migration's copy is destroyed the same way."""
    source = "0a1b2c3d-0000-4000-8000-00000000beef"
    ref, uuid = sim.begin_incoming_migration(source, "travelling")
    assert uuid == source and x.VM.get_by_uuid(source) == ref
    assert list(x.VM.get_current_operations(ref).values()) == ["import"]
    x.VM.add_to_blocked_operations(ref, "destroy", "csguard: protected")
    assert sim.end_import(source, ok=False) is True


def test_revert_restores_other_config_and_blocked_operations_of_snapshot_time(sim, x):
    """xapi_vm_snapshot.ml revert_vm_fields: the record saved at snapshot time comes
    back, but for do_not_copy (uuid, power state, tags, affinity, devices...)."""
    vm, _ = sim.create_vm("web", power_state="Halted", other_config={"k": "then"},
                          blocked_operations={"destroy": "csguard: then"})
    snapshot = x.VM.snapshot(vm, "before")
    x.VM.remove_from_blocked_operations(vm, "destroy")
    x.VM.add_to_blocked_operations(vm, "clean_shutdown", "now")
    x.VM.add_to_other_config(vm, "added", "later")
    x.VM.remove_from_other_config(vm, "k")
    x.VM.add_tags(vm, "kept")
    x.VM.revert(snapshot)
    assert x.VM.get_blocked_operations(vm) == {"destroy": "csguard: then"}
    other_config = x.VM.get_other_config(vm)
    assert other_config["k"] == "then" and "added" not in other_config
    assert x.VM.get_tags(vm) == ["kept"]
    assert (x.VM.get_power_state(vm), x.VM.get_is_a_snapshot(vm)) == ("Halted", False)


def test_revert_is_refused_by_a_revert_block_on_the_snapshot_or_reverting_on_the_vm(sim, x):
    """message_forwarding.ml VM.revert: with_vm_operation ~op:`revert on the snapshot,
    then ~op:`reverting on the VM."""
    vm, _ = sim.create_vm("web", power_state="Halted")
    snapshot = x.VM.snapshot(vm, "before")
    x.VM.add_to_blocked_operations(vm, "reverting", "no")
    assert failure_of(x.VM.revert, snapshot) == ["OPERATION_BLOCKED", vm, "no"]


@pytest.mark.parametrize("how", ["clone", "copy"])
def test_clone_and_copy_keep_other_config_and_drop_blocked_operations(sim, x, how):
    """xapi_vm_clone.ml: the new record copies other_config (mac_seed rewritten) and
    starts with no blocked_operations."""
    vm, _ = sim.create_vm("web", power_state="Halted", other_config={"csguard:verdict": "v"},
                          blocked_operations={"destroy": "csguard: x"})
    new = x.VM.clone(vm, "twin") if how == "clone" else x.VM.copy(vm, "twin", "")
    assert x.VM.get_other_config(new)["csguard:verdict"] == "v"
    assert x.VM.get_blocked_operations(new) == {}
