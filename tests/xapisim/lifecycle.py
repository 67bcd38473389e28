"""VM lifecycle: XAPI's operation checks and the state changes of each operation.

``check_operation_error`` follows ``xapi_vm_lifecycle.ml``: blocked_operations
first (OPERATION_BLOCKED [vm, stored reason]), then the power state
(VM_BAD_POWER_STATE [vm, expected, actual]), then the operations in progress
(OTHER_OPERATION_IN_PROGRESS [VM, vm, op, task]), then template, snapshot and
control domain rules. ``power_state_reset`` never consults it. Domains are tracked apart
from the database (``Pool.domains``) so a test can kill one behind XAPI's back.
"""
import random

from . import schema
from .db import copy_record, new_uuid
from .wire import EPOCH, NULL_REF, ApiError, datetime_value

ALL_STATES = ("Halted", "Paused", "Suspended", "Running")

_POWER_STATES = {
    "import": (),
    "changing_VCPUs": ("Halted",), "changing_static_range": ("Halted",),
    "changing_memory_limits": ("Halted",), "changing_shadow_memory": ("Halted",),
    "changing_NVRAM": ("Halted",), "make_into_template": ("Halted",),
    "provision": ("Halted",), "start": ("Halted",), "start_on": ("Halted",),
    "create_vtpm": ("Halted",),
    "unpause": ("Paused",),
    "csvm": ("Suspended",), "resume": ("Suspended",), "resume_on": ("Suspended",),
    "changing_dynamic_range": ("Halted", "Running"),
    "clone": ("Halted",), "copy": ("Halted",),
    "create_template": ("Halted", "Suspended"), "destroy": ("Halted", "Suspended"),
    "export": ("Halted", "Suspended"),
    "hard_reboot": ("Paused", "Running"),
    "checkpoint": ("Paused", "Suspended", "Running"),
    "get_boot_record": ("Paused", "Suspended", "Running"),
    "shutdown": ("Paused", "Suspended", "Running"),
    "hard_shutdown": ("Paused", "Suspended", "Running"),
    "migrate_send": ("Halted", "Suspended", "Running"),
}
for _op in ("assert_operation_valid", "metadata_export", "power_state_reset", "revert",
            "reverting", "snapshot", "update_allowed_operations", "query_services"):
    _POWER_STATES[_op] = ALL_STATES
for _op in ("awaiting_memory_live", "call_plugin", "clean_reboot", "clean_shutdown",
            "changing_memory_live", "changing_shadow_memory_live", "changing_VCPUs_live",
            "data_source_op", "pause", "pool_migrate", "send_sysrq", "send_trigger",
            "snapshot_with_quiesce", "sysprep", "suspend"):
    _POWER_STATES[_op] = ("Running",)

_TEMPLATE_OPS = frozenset((
    "changing_dynamic_range", "changing_static_range", "changing_memory_limits",
    "changing_shadow_memory", "changing_VCPUs", "changing_NVRAM", "clone", "copy",
    "export", "metadata_export", "provision"))
_SNAPSHOT_OPS = frozenset((
    "revert", "clone", "copy", "export", "destroy", "hard_shutdown", "metadata_export"))
_CONTROL_DOMAIN_OPS = frozenset((
    "data_source_op", "changing_memory_live", "awaiting_memory_live", "metadata_export",
    "changing_dynamic_range", "changing_memory_limits", "changing_static_range", "start",
    "start_on", "changing_VCPUs", "destroy"))
_IGNORED_FOR_ALLOWED = frozenset((
    "create_template", "power_state_reset", "csvm", "get_boot_record", "send_sysrq",
    "send_trigger", "query_services", "shutdown", "call_plugin", "changing_memory_live",
    "awaiting_memory_live", "changing_memory_limits", "changing_shadow_memory_live",
    "changing_VCPUs", "assert_operation_valid", "data_source_op",
    "update_allowed_operations", "import", "reverting"))
_ALLOWABLE = sorted(schema.VM_OPERATIONS - _IGNORED_FOR_ALLOWED)


def check_operation_error(vm, ref, op):
    """The first error XAPI would raise for ``op`` on record ``vm``, or None."""
    reason = vm["blocked_operations"].get(op)
    if reason is not None:
        return ApiError("OPERATION_BLOCKED", ref, reason)
    expected = _POWER_STATES.get(op, ALL_STATES)
    if op in ("clone", "copy") and vm["is_a_snapshot"]:
        expected = ("Halted", "Suspended")
    if vm["is_control_domain"] and op in ("changing_VCPUs", "changing_static_range",
                                          "changing_memory_limits"):
        expected = ("Halted", "Running")
    if vm["power_state"] not in expected:
        return ApiError("VM_BAD_POWER_STATE", ref, ", ".join(s.lower() for s in expected),
                        vm["power_state"].lower())
    current = vm["current_operations"]
    if current and not _allowed_concurrently(op, list(current.values())):
        if len(current) == 1:
            ((task, running),) = current.items()
        else:
            task = "{" + ",".join(current) + "}"
            running = "{" + ",".join(current.values()) + "}"
        return ApiError("OTHER_OPERATION_IN_PROGRESS", "VM", ref, running, task)
    if vm["is_a_template"] and not vm["is_a_snapshot"]:
        default = vm["is_default_template"] or vm["other_config"].get(
            "default_template", "").lower() in ("1", "true")
        if not (op in _TEMPLATE_OPS or (op in ("destroy", "migrate_send") and not default)):
            return ApiError("VM_IS_TEMPLATE", ref, op)
    if vm["is_a_snapshot"] and op not in _SNAPSHOT_OPS:
        return ApiError("VM_IS_SNAPSHOT", ref, op)
    if op == "provision" and not vm["is_a_template"]:
        return ApiError("ONLY_PROVISION_TEMPLATE")
    if op == "revert" and not vm["is_a_snapshot"]:
        return ApiError("ONLY_REVERT_SNAPSHOT")
    if vm["is_control_domain"]:
        if op in ("changing_VCPUs", "destroy") and vm["domid"] == "0":
            return ApiError("OPERATION_NOT_ALLOWED", "This operation is not allowed on dom0")
        if op not in _CONTROL_DOMAIN_OPS:
            return ApiError("OPERATION_NOT_ALLOWED",
                            "This operation is not allowed on a control domain")
    if op == "snapshot_with_quiesce":
        return ApiError("VM_SNAPSHOT_WITH_QUIESCE_NOT_SUPPORTED", ref)
    return None


_CONCURRENT_SETS = (("clone", "copy", "export"), ("snapshot", "checkpoint"),
                    ("get_boot_record",))
_CONCURRENT_AFTER = {(("snapshot_with_quiesce",), "snapshot"),
                     (("migrate_send",), "metadata_export"),
                     (("migrate_send",), "clean_shutdown"), (("migrate_send",), "clean_reboot")}


def _allowed_concurrently(op, running):
    """``xapi_vm_lifecycle.ml`` is_allowed_concurrently: may ``op`` start while the
    operations ``running`` are in progress?"""
    if any(op in ops and all(o in ops for o in running) for ops in _CONCURRENT_SETS):
        return True
    if op == "hard_shutdown":
        return "hard_shutdown" not in running
    if op == "hard_reboot":
        return not {"hard_shutdown", "hard_reboot"} & set(running)
    return (tuple(running), op) in _CONCURRENT_AFTER


_ALLOWED_CACHE = {}


def allowed_operations(vm, ref):
    """Every operation that would pass its checks now (XAPI's allowed_operations).

    The answer depends only on the fields below, so it is computed once per
    combination: seeding thousands of VMs stays fast.
    """
    key = (vm["power_state"], vm["is_a_template"], vm["is_a_snapshot"],
           vm["is_control_domain"], vm["is_default_template"], vm["domid"] == "0",
           vm["other_config"].get("default_template", "").lower() in ("1", "true"),
           frozenset(vm["blocked_operations"]), tuple(sorted(vm["current_operations"].values())))
    allowed = _ALLOWED_CACHE.get(key)
    if allowed is None:
        allowed = [op for op in _ALLOWABLE if check_operation_error(vm, ref, op) is None]
        _ALLOWED_CACHE[key] = allowed
    return list(allowed)


def refresh_allowed_operations(db, ref):
    """Recompute VM.allowed_operations (XAPI does this after state and block changes)."""
    vm = db.get("VM", ref)
    allowed = [op for op in allowed_operations(vm, ref) if op in db.vm_operations]
    if allowed != vm["allowed_operations"]:
        db.update("VM", ref, {"allowed_operations": allowed})


def assert_operation_valid(db, ref, op):
    error = check_operation_error(db.get("VM", ref), ref, op)
    if error is not None:
        raise error


class Lifecycle:
    """The VM operations; ``pool`` supplies db, domains, hosts and messages."""

    def __init__(self, pool):
        self.pool = pool
        self.db = pool.db

    # --- creation ------------------------------------------------------------

    def new_vm_record(self, fields):
        record = schema.default_record("VM")
        record.update(fields)
        record["uuid"] = fields.get("uuid") or new_uuid()
        other_config = dict(record["other_config"])
        other_config.setdefault("mac_seed", new_uuid())
        record["other_config"] = other_config
        return record

    def create(self, fields):
        """VM.create: always Halted, nowhere resident, and unblocked."""
        record = self.new_vm_record(dict(fields))
        record.update(power_state="Halted", resident_on=NULL_REF, domid="-1",
                      blocked_operations={}, is_a_snapshot=False, is_control_domain=False,
                      snapshot_of=NULL_REF, VBDs=[], VIFs=[], snapshots=[], children=[],
                      parent=NULL_REF, allowed_operations=[], current_operations={})
        ref = self.db.create("VM", record)
        refresh_allowed_operations(self.db, ref)
        return ref

    def _copy(self, vm, new_name, snapshot=False):
        """The new VM of clone, copy or snapshot (``xapi_vm_clone.ml``): unblocked,
        Halted, with its own disks and network interfaces."""
        source = self.db.get("VM", vm)
        record = copy_record(source)
        other_config = record["other_config"]
        if not snapshot:
            other_config["mac_seed"] = new_uuid()
        other_config.pop("default_template", None)
        other_config.pop("xensource_internal", None)
        if source["is_a_template"]:
            other_config.setdefault("base_template_name", source["name_label"])
        record.update(
            uuid=new_uuid(), name_label=new_name, blocked_operations={},
            allowed_operations=[], current_operations={}, VBDs=[], VIFs=[], snapshots=[],
            children=[], is_a_template=snapshot or source["is_a_template"],
            is_default_template=False, is_a_snapshot=snapshot,
            snapshot_of=vm if snapshot else NULL_REF,
            snapshot_time=datetime_value() if snapshot else EPOCH,
            parent=source["parent"] if snapshot else NULL_REF,
            resident_on=NULL_REF, domid="-1", power_state="Halted")
        new = self.db.create("VM", record)
        for vbd in list(source["VBDs"]):
            self._copy_vbd(vbd, new, snapshot)
        for vif in list(source["VIFs"]):
            self._copy_vif(vif, new)
        if snapshot:
            self.db.update("VM", vm, {"parent": new})
            self.db.snapshot_metadata[new] = copy_record(source)
        refresh_allowed_operations(self.db, new)
        return new

    def _copy_vbd(self, vbd, new_vm, snapshot):
        vbd_rec = dict(self.db.get("VBD", vbd))
        vdi = vbd_rec["VDI"]
        if self.db.exists("VDI", vdi):
            vdi_rec = copy_record(self.db.get("VDI", vdi))
            vdi_rec.update(uuid=new_uuid(), VBDs=[], snapshots=[], is_a_snapshot=snapshot,
                           snapshot_of=vdi if snapshot else NULL_REF,
                           snapshot_time=datetime_value() if snapshot else EPOCH)
            vdi_rec["location"] = vdi_rec["uuid"]
            vdi = self.db.create("VDI", vdi_rec)
        vbd_rec.update(uuid=new_uuid(), VM=new_vm, VDI=vdi, currently_attached=False,
                       allowed_operations=[], current_operations={},
                       other_config=dict(vbd_rec["other_config"]))
        self.db.create("VBD", vbd_rec)

    def _copy_vif(self, vif, new_vm):
        vif_rec = dict(self.db.get("VIF", vif))
        vif_rec.update(uuid=new_uuid(), VM=new_vm, MAC=random_mac(), currently_attached=False,
                       allowed_operations=[], current_operations={},
                       other_config=dict(vif_rec["other_config"]))
        self.db.create("VIF", vif_rec)

    def clone(self, vm, new_name):
        assert_operation_valid(self.db, vm, "clone")
        new = self._copy(vm, new_name)
        self._message(vm, "VM_CLONED", f"cloned (new uuid: {self.db.get('VM', new)['uuid']})")
        return new

    def copy(self, vm, new_name):
        assert_operation_valid(self.db, vm, "copy")
        return self._copy(vm, new_name)

    def snapshot(self, vm, new_name):
        assert_operation_valid(self.db, vm, "snapshot")
        new = self._copy(vm, new_name, snapshot=True)
        self._message(vm, "VM_SNAPSHOTTED", "snapshotted, snapshot name: " + new_name)
        return new

    def destroy(self, vm):
        """VM.destroy removes the VM and its VBDs and VIFs; the VDIs stay."""
        assert_operation_valid(self.db, vm, "destroy")
        record = self.db.get("VM", vm)
        if record["other_config"].get("default_template") == "true":
            raise ApiError("VM_CANNOT_DELETE_DEFAULT_TEMPLATE")
        for vbd in list(record["VBDs"]):
            self.db.delete("VBD", vbd)
        for vif in list(record["VIFs"]):
            self.db.delete("VIF", vif)
        for child in list(record["children"]):
            if self.db.exists("VM", child):
                self.db.update("VM", child, {"parent": record["parent"]})
        self.pool.domains.pop(vm, None)
        self.db.delete("VM", vm)

    # --- power ---------------------------------------------------------------

    def set_power(self, vm, state, host=NULL_REF, **extra):
        changes = {"power_state": state, "resident_on": host}
        if state in ("Running", "Paused"):
            domid = self.pool.domains.get(vm)
            if domid is None:
                domid = self.pool.new_domid()
                self.pool.domains[vm] = domid
            changes.update(domid=str(domid),
                           memory_target=self.db.get("VM", vm)["memory_dynamic_max"])
        else:
            self.pool.domains.pop(vm, None)
            changes.update(domid="-1", memory_target="0")
        changes.update(extra)
        self.db.update("VM", vm, changes)
        refresh_allowed_operations(self.db, vm)

    def _host_label(self, host):
        record = self.db.get("host", host)
        return f"{record['name_label']} (uuid: {record['uuid']})"

    def _message(self, vm, name, body):
        record = self.db.get("VM", vm)
        self.pool.create_message(name, "5", "VM", record["uuid"],
                                 f"VM '{record['name_label']}' (uuid: {record['uuid']}) {body}")

    def start(self, vm, start_paused, force, host=None):
        assert_operation_valid(self.db, vm, "start" if host is None else "start_on")
        if host is None:
            affinity = self.db.get("VM", vm)["affinity"]
            host = affinity if self.db.exists("host", affinity) else self.pool.master_ref()
        else:
            self.db.get("host", host)
        self.set_power(vm, "Paused" if start_paused else "Running", host)
        self._message(vm, "VM_STARTED", "started on host: " + self._host_label(host))

    def resume(self, vm, start_paused, force, host=None):
        assert_operation_valid(self.db, vm, "resume" if host is None else "resume_on")
        if host is None:
            host = self.pool.master_ref()
        else:
            self.db.get("host", host)
        self.set_power(vm, "Paused" if start_paused else "Running", host,
                        suspend_VDI=NULL_REF)
        self._message(vm, "VM_RESUMED", "resumed on host: " + self._host_label(host))

    def shutdown(self, vm, op):
        """clean_shutdown, hard_shutdown and shutdown."""
        assert_operation_valid(self.db, vm, op)
        self.set_power(vm, "Halted", suspend_VDI=NULL_REF)
        self._message(vm, "VM_SHUTDOWN",
                      "shutdown forcibly" if op == "hard_shutdown" else "shutdown")

    def reboot(self, vm, op):
        assert_operation_valid(self.db, vm, op)
        record = self.db.get("VM", vm)
        self.pool.domains.pop(vm, None)
        self.set_power(vm, "Running", record["resident_on"])
        self._message(vm, "VM_REBOOTED",
                      "rebooted forcibly" if op == "hard_reboot" else "rebooted cleanly")

    def suspend(self, vm):
        assert_operation_valid(self.db, vm, "suspend")
        self.set_power(vm, "Suspended")
        self._message(vm, "VM_SUSPENDED", "suspended")

    def pause(self, vm):
        assert_operation_valid(self.db, vm, "pause")
        self.set_power(vm, "Paused", self.db.get("VM", vm)["resident_on"])
        self._message(vm, "VM_PAUSED", "paused")

    def unpause(self, vm):
        assert_operation_valid(self.db, vm, "unpause")
        self.set_power(vm, "Running", self.db.get("VM", vm)["resident_on"])
        self._message(vm, "VM_UNPAUSED", "unpaused")

    def power_state_reset(self, vm):
        """Mark a VM Halted without asking blocked_operations (``xapi_vm.ml``).

        Calls are forwarded to the master, so "this host" is the master: a live
        domain there gives DOMAIN_EXISTS; a VM resident on another live host gives
        HOST_IS_LIVE whatever its domain's state.
        """
        record = self.db.get("VM", vm)
        if record["is_control_domain"]:
            raise ApiError("CANNOT_RESET_CONTROL_DOMAIN", vm)
        if record["power_state"] in ("Running", "Paused"):
            resident = record["resident_on"]
            if resident == self.pool.master_ref():
                if vm in self.pool.domains:
                    raise ApiError("DOMAIN_EXISTS", vm)
            elif self.pool.host_is_live(resident):
                raise ApiError("HOST_IS_LIVE", resident)
        self.set_power(vm, "Halted", suspend_VDI=NULL_REF, current_operations={})

    def kill_domain(self, vm):
        """The domain dies outside XAPI (e.g. a forced kill in dom0): no DB change."""
        self.db.get("VM", vm)
        self.pool.domains.pop(vm, None)


def random_mac():
    """A locally administered unicast MAC, like the ones XAPI makes up for VIFs."""
    octets = [random.randint(0, 255) for _ in range(6)]
    octets[0] = octets[0] & 0xFE | 0x02
    return ":".join(f"{octet:02x}" for octet in octets)

