"""The classes the simulator serves: their fields, types, writability and defaults.

Field kinds: s string, e enum (string), i int64 (a decimal string on the wire),
f float, b bool, d DateTime, r ref, m map string->string, l set (array).
``rw`` fields get a generic ``set_<field>``; rw maps get ``add_to_``/
``remove_from_``, rw sets ``add_``/``remove_``. The VM field list is a faithful
subset: every field csguard or CloudStack reads, plus the ones that make a record
look like XAPI's, kept short enough that 5,000 VM records parse quickly in Python.
"""
from .wire import EPOCH, NULL_REF

R, W = False, True

CLASSES = {
    "pool": [
        ("uuid", "s", R, ""), ("name_label", "s", W, ""), ("name_description", "s", W, ""),
        ("master", "r", R, NULL_REF), ("default_SR", "r", W, NULL_REF),
        ("suspend_image_SR", "r", W, NULL_REF), ("crash_dump_SR", "r", W, NULL_REF),
        ("other_config", "m", W, {}), ("ha_enabled", "b", R, False),
        ("ha_configuration", "m", R, {}), ("ha_host_failures_to_tolerate", "i", R, "0"),
        ("ha_allow_overcommit", "b", W, False), ("blobs", "m", R, {}), ("tags", "l", W, []),
        ("gui_config", "m", W, {}), ("wlb_enabled", "b", W, False),
        ("restrictions", "m", R, {}), ("allowed_operations", "l", R, []),
        ("current_operations", "m", R, {}), ("cpu_info", "m", R, {}),
        ("policy_no_vendor_device", "b", W, False), ("tls_verification_enabled", "b", R, True),
    ],
    "host": [
        ("uuid", "s", R, ""), ("name_label", "s", W, ""), ("name_description", "s", W, ""),
        ("memory_overhead", "i", R, "0"), ("allowed_operations", "l", R, []),
        ("current_operations", "m", R, {}), ("API_version_major", "i", R, "2"),
        ("API_version_minor", "i", R, "21"), ("API_version_vendor", "s", R, "XenSource"),
        ("enabled", "b", R, True), ("software_version", "m", R, {}),
        ("other_config", "m", W, {}), ("capabilities", "l", R, []),
        ("sched_policy", "s", R, "credit"), ("resident_VMs", "l", R, []),
        ("logging", "m", W, {}), ("suspend_image_sr", "r", W, NULL_REF),
        ("crash_dump_sr", "r", W, NULL_REF), ("hostname", "s", R, ""),
        ("address", "s", R, ""), ("metrics", "r", R, NULL_REF), ("license_params", "m", R, {}),
        ("tags", "l", W, []), ("external_auth_type", "s", R, ""),
        ("external_auth_service_name", "s", R, ""), ("edition", "s", R, "xenserver-premium"),
        ("bios_strings", "m", R, {}), ("control_domain", "r", R, NULL_REF),
        ("cpu_info", "m", R, {}), ("display", "e", R, "enabled"),
        ("virtual_hardware_platform_versions", "l", R, ["0", "1", "2"]),
        ("iscsi_iqn", "s", R, ""), ("multipathing", "b", R, False),
        ("https_only", "b", R, False),
    ],
    "VM": [
        ("uuid", "s", R, ""), ("allowed_operations", "l", R, []),
        ("current_operations", "m", R, {}), ("name_label", "s", W, ""),
        ("name_description", "s", W, ""), ("power_state", "e", R, "Halted"),
        ("is_a_template", "b", W, False),
        ("is_default_template", "b", R, False), ("suspend_VDI", "r", R, NULL_REF),
        ("resident_on", "r", R, NULL_REF), ("affinity", "r", W, NULL_REF),
        ("memory_target", "i", R, "0"),
        ("memory_static_max", "i", R, "2147483648"), ("memory_dynamic_max", "i", R, "2147483648"),
        ("memory_dynamic_min", "i", R, "2147483648"), ("memory_static_min", "i", R, "1073741824"),
        ("VCPUs_max", "i", R, "2"), ("VCPUs_at_startup", "i", R, "2"),
        ("actions_after_shutdown", "e", W, "destroy"), ("actions_after_reboot", "e", W, "restart"),
        ("VIFs", "l", R, []), ("VBDs", "l", R, []), ("platform", "m", W, {}),
        ("other_config", "m", W, {}), ("domid", "i", R, "-1"),
        ("is_control_domain", "b", R, False), ("metrics", "r", R, NULL_REF),
        ("guest_metrics", "r", R, NULL_REF), ("xenstore_data", "m", W, {}),
        ("ha_restart_priority", "s", R, ""),
        ("is_a_snapshot", "b", R, False), ("snapshot_of", "r", R, NULL_REF),
        ("snapshots", "l", R, []), ("snapshot_time", "d", R, EPOCH), ("tags", "l", W, []),
        ("blocked_operations", "m", W, {}), ("parent", "r", R, NULL_REF),
        ("children", "l", R, []), ("domain_type", "e", R, "hvm"),
    ],
    "VBD": [
        ("uuid", "s", R, ""), ("allowed_operations", "l", R, []),
        ("current_operations", "m", R, {}), ("VM", "r", R, NULL_REF), ("VDI", "r", R, NULL_REF),
        ("device", "s", R, ""), ("userdevice", "s", W, "0"), ("bootable", "b", W, False),
        ("mode", "e", R, "RW"), ("type", "e", R, "Disk"), ("unpluggable", "b", W, True),
        ("storage_lock", "b", R, False), ("empty", "b", R, False),
        ("other_config", "m", W, {}), ("currently_attached", "b", R, False),
        ("status_code", "i", R, "0"), ("status_detail", "s", R, ""),
        ("runtime_properties", "m", R, {}), ("qos_algorithm_type", "s", W, ""),
        ("qos_algorithm_params", "m", W, {}), ("metrics", "r", R, NULL_REF),
    ],
    "VDI": [
        ("uuid", "s", R, ""), ("name_label", "s", W, ""), ("name_description", "s", W, ""),
        ("allowed_operations", "l", R, []), ("current_operations", "m", R, {}),
        ("SR", "r", R, NULL_REF), ("VBDs", "l", R, []), ("crash_dumps", "l", R, []),
        ("virtual_size", "i", R, "10737418240"), ("physical_utilisation", "i", R, "10758389760"),
        ("type", "e", R, "user"), ("sharable", "b", R, False), ("read_only", "b", R, False),
        ("other_config", "m", W, {}), ("storage_lock", "b", R, False), ("location", "s", R, ""),
        ("managed", "b", R, True), ("missing", "b", R, False), ("parent", "r", R, NULL_REF),
        ("xenstore_data", "m", R, {}), ("sm_config", "m", R, {}),
        ("is_a_snapshot", "b", R, False), ("snapshot_of", "r", R, NULL_REF),
        ("snapshots", "l", R, []), ("snapshot_time", "d", R, EPOCH), ("tags", "l", W, []),
        ("allow_caching", "b", R, False), ("on_boot", "e", R, "persist"),
        ("is_tools_iso", "b", R, False), ("cbt_enabled", "b", R, False),
    ],
    "VIF": [
        ("uuid", "s", R, ""), ("allowed_operations", "l", R, []),
        ("current_operations", "m", R, {}), ("device", "s", R, "0"),
        ("network", "r", R, NULL_REF), ("VM", "r", R, NULL_REF), ("MAC", "s", R, ""),
        ("MTU", "i", R, "1500"), ("other_config", "m", W, {}),
        ("currently_attached", "b", R, False), ("status_code", "i", R, "0"),
        ("status_detail", "s", R, ""), ("runtime_properties", "m", R, {}),
        ("qos_algorithm_type", "s", W, ""), ("qos_algorithm_params", "m", W, {}),
        ("metrics", "r", R, NULL_REF), ("MAC_autogenerated", "b", R, True),
        ("locking_mode", "e", R, "network_default"), ("ipv4_allowed", "l", R, []),
        ("ipv6_allowed", "l", R, []),
    ],
    "SR": [
        ("uuid", "s", R, ""), ("name_label", "s", W, ""), ("name_description", "s", W, ""),
        ("allowed_operations", "l", R, []), ("current_operations", "m", R, {}),
        ("VDIs", "l", R, []), ("PBDs", "l", R, []), ("virtual_allocation", "i", R, "0"),
        ("physical_utilisation", "i", R, "0"), ("physical_size", "i", R, "1099511627776"),
        ("type", "s", R, "lvm"), ("content_type", "s", R, "user"), ("shared", "b", W, False),
        ("other_config", "m", W, {}), ("tags", "l", W, []), ("sm_config", "m", R, {}),
        ("blobs", "m", R, {}), ("local_cache_enabled", "b", R, False),
        ("clustered", "b", R, False), ("is_tools_sr", "b", R, False),
    ],
    "network": [
        ("uuid", "s", R, ""), ("name_label", "s", W, ""), ("name_description", "s", W, ""),
        ("allowed_operations", "l", R, []), ("current_operations", "m", R, {}),
        ("VIFs", "l", R, []), ("PIFs", "l", R, []), ("MTU", "i", W, "1500"),
        ("other_config", "m", W, {}), ("bridge", "s", R, ""), ("managed", "b", R, True),
        ("blobs", "m", R, {}), ("tags", "l", W, []),
        ("default_locking_mode", "e", R, "unlocked"), ("purpose", "l", R, []),
    ],
    "task": [
        ("uuid", "s", R, ""), ("name_label", "s", R, ""), ("name_description", "s", R, ""),
        ("allowed_operations", "l", R, []), ("current_operations", "m", R, {}),
        ("created", "d", R, EPOCH), ("finished", "d", R, EPOCH), ("status", "e", R, "pending"),
        ("resident_on", "r", R, NULL_REF), ("progress", "f", R, 0.0), ("type", "s", R, "<none/>"),
        ("result", "s", R, ""), ("error_info", "l", R, []), ("other_config", "m", W, {}),
        ("subtask_of", "r", R, NULL_REF), ("subtasks", "l", R, []), ("backtrace", "s", R, "()"),
    ],
}

# One-to-many relations: a ref field on the child kept in step with a set on the
# parent. XAPI maintains the parent's set and touches the parent row, which is why
# creating a VBD also produces a `mod` of its VM.
RELATIONS = {
    ("VBD", "VM"): ("VM", "VBDs"),
    ("VBD", "VDI"): ("VDI", "VBDs"),
    ("VIF", "VM"): ("VM", "VIFs"),
    ("VIF", "network"): ("network", "VIFs"),
    ("VDI", "SR"): ("SR", "VDIs"),
    ("VM", "resident_on"): ("host", "resident_VMs"),
    ("VM", "snapshot_of"): ("VM", "snapshots"),
    ("VM", "parent"): ("VM", "children"),
    ("VDI", "snapshot_of"): ("VDI", "snapshots"),
}

# XAPI's vm_operations enum (the keys blocked_operations accepts).
VM_OPERATIONS = frozenset((
    "snapshot", "clone", "copy", "create_template", "revert", "checkpoint",
    "snapshot_with_quiesce", "provision", "start", "start_on", "pause", "unpause",
    "clean_shutdown", "clean_reboot", "hard_shutdown", "power_state_reset", "hard_reboot",
    "suspend", "csvm", "resume", "resume_on", "pool_migrate", "migrate_send",
    "get_boot_record", "send_sysrq", "send_trigger", "query_services", "shutdown",
    "call_plugin", "changing_memory_live", "awaiting_memory_live", "changing_dynamic_range",
    "changing_static_range", "changing_memory_limits", "changing_shadow_memory",
    "changing_shadow_memory_live", "changing_VCPUs", "changing_VCPUs_live",
    "changing_NVRAM", "assert_operation_valid", "data_source_op",
    "update_allowed_operations", "make_into_template", "import", "export",
    "metadata_export", "reverting", "destroy", "create_vtpm", "sysprep",
))

# vm_operations added after xapi 1.249 (XenServer/XCP-ng 8.2): the xapi version that
# first knows each (idl/datamodel_vm.ml; tags v23.10.0 and v25.24.0).
OPERATIONS_SINCE = {"create_vtpm": (23, 10), "sysprep": (25, 24)}


def vm_operations(xapi_version):
    """The vm_operations enum of xapi ``xapi_version`` ("1.249", "25.33", ...)."""
    version = tuple(int(part) for part in xapi_version.split(".")[:2])
    return frozenset(op for op in VM_OPERATIONS if version >= OPERATIONS_SINCE.get(op, ()))


# Enum-valued map keys and set members the server checks on write.
ENUM_MAP_KEYS = {("VM", "blocked_operations"): ("vm_operations", VM_OPERATIONS)}

FIELDS = {cls: {f[0]: f for f in fields} for cls, fields in CLASSES.items()}


def kind(cls, field):
    return FIELDS[cls][field][1]


def default_record(cls):
    """A fresh record of ``cls`` with every field at its default (copies, not shared)."""
    record = {}
    for name, k, _rw, default in CLASSES[cls]:
        if k == "m":
            default = dict(default)
        elif k == "l":
            default = list(default)
        record[name] = default
    return record


def coerce(cls, field, value):
    """Check a client-supplied value against the field's kind; return the stored form.

    Raises ValueError naming the expected type, which the API turns into XAPI's
    FIELD_TYPE_ERROR.
    """
    k = kind(cls, field)
    if k in "sre":
        if not isinstance(value, str):
            raise ValueError(field)
        return value
    if k == "i":
        if isinstance(value, bool):
            raise ValueError(field)
        try:
            return str(int(value))
        except (TypeError, ValueError):
            raise ValueError(field)
    if k == "b":
        if not isinstance(value, bool):
            raise ValueError(field)
        return value
    if k == "f":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(field)
        return float(value)
    if k == "m":
        if not isinstance(value, dict) or not all(
                isinstance(key, str) and isinstance(v, str) for key, v in value.items()):
            raise ValueError(field)
        return dict(value)
    if k == "l":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ValueError(field)
        return list(value)
    return value
