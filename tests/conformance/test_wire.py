"""Wire format: what a XAPI reply looks like to xmlrpc.client and to XenAPI."""
import http.client
import socket
import xmlrpc.client

import pytest
import XenAPI
from xapisim.testing import failure_of


@pytest.fixture
def x(x_both):
    """Every fact in this module is checked over the unix socket and over TCP."""
    return x_both


def test_success_reply_is_a_status_struct_with_value(raw, raw_session):
    reply = raw.pool.get_all(raw_session)
    assert reply["Status"] == "Success"
    assert isinstance(reply["Value"], list)


def test_failure_reply_is_a_status_struct_with_string_error_description(raw, raw_session):
    reply = raw.VM.get_record(raw_session, "OpaqueRef:NULL")
    assert reply["Status"] == "Failure"
    assert reply["ErrorDescription"] == ["HANDLE_INVALID", "VM", "OpaqueRef:NULL"]
    assert "Value" not in reply


def test_refs_are_opaqueref_uuids_and_null_is_opaqueref_null(x, vm):
    record = x.VM.get_record(vm)
    assert vm.startswith("OpaqueRef:") and len(vm) == len("OpaqueRef:") + 36
    assert record["affinity"] == "OpaqueRef:NULL"
    assert record["resident_on"].startswith("OpaqueRef:")


def test_int64_fields_travel_as_decimal_strings(x, vm):
    record = x.VM.get_record(vm)
    assert record["memory_static_max"] == "2147483648"
    assert isinstance(record["domid"], str) and int(record["domid"]) > 0
    assert x.VM.get_VCPUs_max(vm) == "2"


def test_datetimes_travel_as_xmlrpc_datetime(x, vm):
    snapshot = x.VM.snapshot(vm, "snap")
    when = x.VM.get_snapshot_time(snapshot)
    assert isinstance(when, xmlrpc.client.DateTime)
    assert when.value.endswith("Z") and "T" in when.value


def test_maps_are_structs_and_sets_are_arrays(x, vm):
    x.VM.add_tags(vm, "blue")
    record = x.VM.get_record(vm)
    assert isinstance(record["other_config"], dict)
    assert record["tags"] == ["blue"]
    assert isinstance(record["VBDs"], list)


def test_booleans_travel_as_booleans(x, vm):
    assert x.VM.get_is_a_template(vm) is False
    assert x.VM.get_is_control_domain(vm) is False


def test_unknown_method_fails_with_message_method_unknown(x, vm):
    assert failure_of(x.VM.frobnicate, vm) == ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"]


def test_setter_of_a_read_only_field_is_an_unknown_method(x, vm):
    assert failure_of(x.VM.set_power_state, vm, "Halted") == [
        "MESSAGE_METHOD_UNKNOWN", "VM.set_power_state"]


def test_wrong_arity_fails_with_parameter_count_mismatch_excluding_the_session(x, vm):
    assert failure_of(x.VM.get_record, vm, "extra") == [
        "MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_record", "1", "2"]


def test_unknown_ref_fails_with_handle_invalid_class_and_ref(x):
    ref = "OpaqueRef:00000000-0000-0000-0000-000000000000"
    assert failure_of(x.VM.get_name_label, ref) == ["HANDLE_INVALID", "VM", ref]


def test_ref_of_another_class_fails_with_handle_invalid(x, sim):
    host = sim.host_refs[0]
    assert failure_of(x.VM.get_record, host) == ["HANDLE_INVALID", "VM", host]


def test_unknown_uuid_fails_with_uuid_invalid_class_and_uuid(x):
    assert failure_of(x.VM.get_by_uuid, "no-such-uuid") == ["UUID_INVALID", "VM", "no-such-uuid"]


def test_one_http11_connection_carries_many_calls(sim):
    connection = http.client.HTTPConnection("localhost")
    connection.sock = socket.socket(socket.AF_UNIX)
    connection.sock.connect(sim.socket_path(0))
    body = xmlrpc.client.dumps(("root", "", "1.0", "keep-alive"), "session.login_with_password")
    try:
        for _ in range(3):
            connection.request("POST", "/", body, {"Content-Type": "text/xml"})
            response = connection.getresponse()
            (reply,), _ = xmlrpc.client.loads(response.read())
            assert response.version == 11
            assert reply["Status"] == "Success"
    finally:
        connection.close()


def test_tcp_serves_the_same_database_as_the_unix_socket(sim, x, vm):
    session = XenAPI.Session(sim.tcp_url)
    session.xenapi.login_with_password("root", "xenroot", "1.0", "tests")
    try:
        assert session.xenapi.VM.get_record(vm)["uuid"] == x.VM.get_uuid(vm)
    finally:
        session.xenapi.session.logout()
