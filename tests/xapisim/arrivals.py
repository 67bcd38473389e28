"""VMs that come from elsewhere: an import, an incoming migration, a revert.

``import.ml``: the new VM is made from the exported record (its blocked_operations
dropped, other_config kept) and carries ``import`` in current_operations while the
import task runs; when the import fails, its clean-up calls ``Client.VM.destroy``,
which goes through ``with_vm_operation ~op:destroy`` (blocked_operations apply),
and ignores any error: a blocked destroy leaves the half-imported VM behind.
An incoming cross-pool migration (``xapi_vm_migrate.ml`` migrate_send) imports the
source's metadata the same way, so its VM has the source VM's uuid.
``xapi_vm_snapshot.ml`` revert_vm_fields: a revert copies the VM's record saved at
snapshot time back onto the VM (other_config and blocked_operations included),
except ``do_not_copy`` (uuid, power state, tags, affinity, devices, ...).
"""
from .db import copy_record
from .lifecycle import assert_operation_valid, refresh_allowed_operations
from .wire import NULL_REF, ApiError

# xapi_vm_snapshot.ml do_not_copy, as far as the simulator's VM record has them.
_DO_NOT_COPY = frozenset((
    "uuid", "suspend_VDI", "power_state", "parent", "current_operations",
    "allowed_operations", "guest_metrics", "resident_on", "domid", "snapshots", "tags",
    "affinity", "VBDs", "VIFs", "is_a_snapshot", "snapshot_of", "snapshot_time", "children",
    "is_a_template"))


class Arrivals:
    def __init__(self, pool):
        self.pool = pool
        self.db = pool.db

    def begin_import(self, name_label, uuid=None, other_config=None, host=0):
        """A VM being imported: Halted, ``import`` in current_operations under a
        pending task. Returns (ref, uuid)."""
        with self.db.lock:
            task = self.pool.create_task("VM import", self.pool.master_ref())
            ref, uuid = self.pool.create_vm(name_label, power_state="Halted", host=host,
                                            other_config=other_config, uuid=uuid)
            self.db.update("VM", ref, {"current_operations": {task: "import"}})
            refresh_allowed_operations(self.db, ref)
            return ref, uuid

    def end_import(self, vm, ok=True):
        """The import ends. On failure its clean-up destroys the VM unless XAPI refuses
        (errors ignored). Returns whether the VM still exists."""
        with self.db.lock:
            record = self.db.get("VM", vm)
            tasks = [t for t, op in record["current_operations"].items() if op == "import"]
            if not tasks:
                raise ValueError(f"VM {record['uuid']} is not being imported")
            running = {t: op for t, op in record["current_operations"].items()
                       if t not in tasks}
            self.db.update("VM", vm, {"current_operations": running})
            refresh_allowed_operations(self.db, vm)
            if ok:
                self.pool.finish_task(tasks[0], result=vm)
                return True
            self.pool.finish_task(tasks[0], error=ApiError("IMPORT_ERROR", "import failed"))
            try:
                self.pool.lifecycle.destroy(vm)
            except ApiError:
                return True
            return False

    def revert(self, snapshot):
        """VM.revert: ``revert`` checked on the snapshot, ``reverting`` on its VM."""
        assert_operation_valid(self.db, snapshot, "revert")
        vm = self.db.get("VM", snapshot)["snapshot_of"]
        if not self.db.exists("VM", vm):
            raise ApiError("VM_REVERT_FAILED", snapshot, vm)
        assert_operation_valid(self.db, vm, "reverting")
        saved = self.db.snapshot_metadata.get(snapshot) or self.db.get("VM", snapshot)
        changes = {field: value for field, value in copy_record(saved).items()
                   if field not in _DO_NOT_COPY}
        self.db.update("VM", vm, changes)
        self.pool.lifecycle.set_power(vm, "Halted", NULL_REF)
        return ""
