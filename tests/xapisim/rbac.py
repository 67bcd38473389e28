"""RBAC: the role each call needs, and XAPI's refusal.

``rbac.ml`` check: a session that is not the local superuser may call a method
only if its role holds the method's permission (the lower-cased method name, or
``<method>/key:<key>`` for a map key guarded by ``map_keys_roles``); otherwise
RBAC_PERMISSION_DENIED [permission, "No permission in user session. (Roles with
this permission: ...)"]. Roles nest (``datamodel_roles.ml`` roles_gte): each holds
every permission of those below it. The roles of the calls below are those of
``idl/datamodel_vm.ml``, ``datamodel_host.ml`` and ``datamodel.ml``.
"""
from .wire import ApiError

# Lowest first: a role holds every permission of the roles before it.
ROLES = ("read-only", "vm-operator", "vm-admin", "vm-power-admin", "pool-operator",
         "pool-admin")
READ_ONLY, VM_OP, VM_ADMIN, VM_POWER_ADMIN, POOL_OP, POOL_ADMIN = ROLES

_CALLS = {
    "host.call_plugin": POOL_ADMIN,
    "message.create": POOL_OP, "message.destroy": POOL_OP,
    "VM.power_state_reset": POOL_OP,
    "VM.snapshot": VM_POWER_ADMIN, "VM.revert": VM_POWER_ADMIN, "VM.start_on": VM_POWER_ADMIN,
    "VM.resume_on": VM_POWER_ADMIN,
    "VM.create": VM_ADMIN, "VM.destroy": VM_ADMIN, "VM.clone": VM_ADMIN, "VM.copy": VM_ADMIN,
    "VM.assert_operation_valid": READ_ONLY,
    "VM.add_tags": VM_OP, "VM.remove_tags": VM_OP, "VM.set_tags": VM_OP,
}
for _op in ("start", "clean_shutdown", "hard_shutdown", "shutdown", "clean_reboot",
            "hard_reboot", "suspend", "resume", "pause", "unpause"):
    _CALLS["VM." + _op] = VM_OP
# Whole-class defaults for the methods not listed (setters, create, destroy).
_CLASSES = {"VM": VM_ADMIN, "VBD": VM_ADMIN, "VIF": VM_ADMIN, "VDI": VM_ADMIN,
            "task": READ_ONLY, "session": READ_ONLY, "event": READ_ONLY}
# VM.other_config keys guarded apart (idl/datamodel_vm.ml other_config map_keys_roles).
OTHER_CONFIG_KEYS = (("pci", POOL_ADMIN), ("hvm_serial", POOL_ADMIN), ("folder", VM_OP),
                     ("XenCenter.CustomFields.*", VM_OP))


def _guarded(key):
    """The guarded key pattern ``key`` falls under, and its role; None if unguarded."""
    for pattern, role in OTHER_CONFIG_KEYS:
        if key == pattern or (pattern.endswith("*") and key.startswith(pattern[:-1])):
            return pattern, role
    return None


def needed(name, args):
    """[(permission, role)] that calling ``name`` with ``args`` (session excluded) needs."""
    cls, _, method = name.partition(".")
    if name in _CALLS:
        role = _CALLS[name]
    elif method.startswith("get_") or method in ("get_all", "get_all_records"):
        role = READ_ONLY
    else:
        role = _CLASSES.get(cls, POOL_OP)
    needs = [(name.lower(), role)]
    if name in ("VM.add_to_other_config", "VM.remove_from_other_config") and len(args) > 1:
        guarded = _guarded(args[1]) if isinstance(args[1], str) else None
        if guarded is not None:
            needs = [(f"{name.lower()}/key:{guarded[0].lower()}", guarded[1])]
    return needs


def other_config_keys_needed(old, new):
    """VM.set_other_config also needs the add/remove permission of every guarded key
    it adds, changes or removes (``helpers.ml`` set_map_with_rbac)."""
    needs = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        guarded = _guarded(key)
        if guarded is not None:
            verb = "add_to" if key in new else "remove_from"
            needs.append((f"vm.{verb}_other_config/key:{guarded[0].lower()}", guarded[1]))
    return needs


def check(session, needs):
    """Raise RBAC_PERMISSION_DENIED unless ``session`` may do all of ``needs``."""
    if session.role is None:
        return
    held = ROLES.index(session.role)
    for permission, role in needs:
        if held < ROLES.index(role):
            allowed = ", ".join(reversed(ROLES[ROLES.index(role):]))
            raise ApiError("RBAC_PERMISSION_DENIED", permission,
                           "No permission in user session. (Roles with this permission: "
                           f"{allowed})")
