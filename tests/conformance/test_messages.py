"""message.create / get_all_records / destroy as XAPI stores alerts."""
import xmlrpc.client

from xapisim.testing import failure_of


def test_message_create_returns_a_ref_listed_with_its_record(x, vm):
    uuid = x.VM.get_uuid(vm)
    message = x.message.create("CSGUARD_ALIEN", "2", "VM", uuid, "protected")
    record = x.message.get_all_records()[message]
    assert message in x.message.get_all()
    assert (record["name"], record["priority"], record["cls"], record["obj_uuid"],
            record["body"]) == ("CSGUARD_ALIEN", "2", "VM", uuid, "protected")
    assert isinstance(record["timestamp"], xmlrpc.client.DateTime)
    assert x.message.get_by_uuid(record["uuid"]) == message


def test_message_create_accepts_host_and_pool_objects(sim, x):
    host_uuid = x.host.get_uuid(sim.host_refs[0])
    pool_uuid = x.pool.get_uuid(sim.pool_ref)
    assert x.message.create("A", "5", "Host", host_uuid, "").startswith("OpaqueRef:")
    assert x.message.create("B", "5", "Pool", pool_uuid, "").startswith("OpaqueRef:")


def test_message_create_for_an_unknown_object_fails_with_uuid_invalid(x):
    assert failure_of(x.message.create, "A", "5", "VM", "no-such-uuid", "") == [
        "UUID_INVALID", "VM", "no-such-uuid"]


def test_message_create_with_the_uuid_of_another_class_fails_with_uuid_invalid(sim, x):
    host_uuid = x.host.get_uuid(sim.host_refs[0])
    assert failure_of(x.message.create, "A", "5", "VM", host_uuid, "") == [
        "UUID_INVALID", "VM", host_uuid]


def test_message_destroy_removes_the_message(x, vm):
    message = x.message.create("A", "5", "VM", x.VM.get_uuid(vm), "")
    x.message.destroy(message)
    assert message not in x.message.get_all_records()
    assert failure_of(x.message.destroy, message) == ["HANDLE_INVALID", "message", message]
