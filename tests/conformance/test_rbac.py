"""RBAC: sessions of external users with one role each, the role each call csguard and
its users make needs, and the refusal (rbac.ml check; roles in idl/datamodel_*.ml)."""
import pytest
import XenAPI
from xapisim.rbac import ROLES
from xapisim.testing import failure_of, tcp_session


@pytest.fixture
def as_role(sim):
    """as_role(role) -> session.xenapi of a TCP session of a user with that role."""
    sessions = []

    def make(role):
        sim.add_user("user-" + role, role, "pw")
        session = tcp_session(sim.tcp_url, user="user-" + role, password="pw")
        sessions.append(session)
        return session.xenapi

    yield make
    for session in sessions:
        try:
            session.xenapi.session.logout()
        except (OSError, XenAPI.Failure):
            pass


def _denied(permission, lowest):
    roles = ", ".join(reversed(ROLES[ROLES.index(lowest):]))
    return ["RBAC_PERMISSION_DENIED", permission,
            f"No permission in user session. (Roles with this permission: {roles})"]


def _lowest_allowed(sim, as_role, attempt):
    """The lowest role for which attempt(x) succeeds; every lower role is refused."""
    for role in ROLES:
        try:
            attempt(as_role(role))
        except XenAPI.Failure as failure:
            assert failure.details[0] == "RBAC_PERMISSION_DENIED", failure.details
            continue
        return role
    return None


def test_a_named_user_session_is_not_the_local_superuser(sim):
    sim.add_user("user-vm-admin", "vm-admin", "pw")
    record = tcp_session(sim.tcp_url, user="user-vm-admin", password="pw")
    try:
        mine = record.xenapi.session.get_record(record.handle)
        assert (mine["auth_user_name"], mine["is_local_superuser"]) == ("user-vm-admin", False)
    finally:
        record.xenapi.session.logout()


def test_blocked_operations_writes_need_vm_admin(sim, as_role, vm):
    """idl/datamodel_vm.ml {set,add_to,remove_from}_blocked_operations: _R_VM_ADMIN."""
    assert _lowest_allowed(sim, as_role, lambda x: x.VM.remove_from_blocked_operations(
        vm, "destroy")) == "vm-admin"
    details = failure_of(as_role("vm-operator").VM.add_to_blocked_operations, vm, "destroy",
                         "csguard: no")
    assert details == _denied("vm.add_to_blocked_operations", "vm-admin")


def test_tags_need_vm_operator(sim, as_role, vm):
    """idl/datamodel_vm.ml field tags ~writer_roles:_R_VM_OP."""
    assert _lowest_allowed(sim, as_role, lambda x: x.VM.remove_tags(vm, "t")) == "vm-operator"


def test_other_config_needs_vm_admin_but_some_keys_differ(sim, as_role, vm):
    """idl/datamodel_vm.ml other_config map_keys_roles: folder and
    XenCenter.CustomFields.* for vm-operator, pci and hvm_serial for pool-admin;
    every other key (csguard's included) needs the field's vm-admin."""
    def write(key):
        return lambda x: x.VM.remove_from_other_config(vm, key)
    assert _lowest_allowed(sim, as_role, write("csguard:verdict")) == "vm-admin"
    assert _lowest_allowed(sim, as_role, write("folder")) == "vm-operator"
    assert _lowest_allowed(sim, as_role, write("XenCenter.CustomFields.owner")) == "vm-operator"
    assert _lowest_allowed(sim, as_role, write("pci")) == "pool-admin"
    details = failure_of(as_role("vm-power-admin").VM.add_to_other_config, vm, "pci", "x")
    assert details == _denied("vm.add_to_other_config/key:pci", "pool-admin")


def test_set_other_config_also_needs_each_guarded_key_it_changes(sim, as_role, vm):
    """helpers.ml set_map_with_rbac: a set must pass the add/remove check of every
    guarded key it adds, changes or removes."""
    x = as_role("vm-admin")
    current = x.VM.get_other_config(vm)
    x.VM.set_other_config(vm, dict(current, note="ok"))
    details = failure_of(x.VM.set_other_config, vm, dict(current, pci="0/0000:00:02.0"))
    assert details == _denied("vm.add_to_other_config/key:pci", "pool-admin")


def test_call_plugin_needs_pool_admin_and_message_create_pool_operator(sim, as_role, vm):
    """datamodel_host.ml call_plugin: _R_POOL_ADMIN; message.create: _R_POOL_OP."""
    host = sim.host_refs[0]
    assert failure_of(as_role("pool-operator").host.call_plugin, host, "absent", "fn", {}) == \
        _denied("host.call_plugin", "pool-admin")
    assert failure_of(as_role("pool-admin").host.call_plugin, host, "absent", "fn", {}) == \
        ["XENAPI_MISSING_PLUGIN", "absent"]
    uuid = sim.vm_record(vm)["uuid"]
    assert _lowest_allowed(sim, as_role, lambda x: x.message.create(
        "CSGUARD_TEST", "5", "VM", uuid, "body")) == "pool-operator"


def test_power_operations_need_vm_operator_and_destroy_vm_admin(sim, as_role):
    """idl/datamodel_vm.ml: clean_shutdown, hard_shutdown, start _R_VM_OP; destroy (the
    class's default) _R_VM_ADMIN; reading anything is read-only's."""
    halted, _ = sim.create_vm("halted", power_state="Halted")
    assert _lowest_allowed(sim, as_role, lambda x: x.VM.assert_operation_valid(
        halted, "destroy")) == "read-only"
    assert failure_of(as_role("read-only").VM.start, halted, False, False) == \
        _denied("vm.start", "vm-operator")
    assert failure_of(as_role("vm-operator").VM.destroy, halted) == \
        _denied("vm.destroy", "vm-admin")
    assert as_role("read-only").VM.get_all_records()


def test_a_wrong_password_of_a_named_user_fails_authentication(sim):
    sim.add_user("bob", "vm-admin", "right")
    with pytest.raises(XenAPI.Failure) as raised:
        tcp_session(sim.tcp_url, user="bob", password="wrong")
    assert raised.value.details[0] == "SESSION_AUTHENTICATION_FAILED"
