"""Test controls of the simulator (outside the XAPI namespace) and the standalone mode."""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import XenAPI
from xapisim.simulator import Simulator, short_workdir
from xapisim.testing import control, failure_of, unix_session

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_controls_are_not_in_the_xapi_namespace(x):
    assert failure_of(x.sim.kill_sessions) == ["MESSAGE_METHOD_UNKNOWN", "sim.kill_sessions"]


def test_seed_vms_creates_every_vm_with_its_devices(sim, x):
    created = sim.seed_vms([{"name_label": f"bulk-{i}", "power_state": "Halted"}
                            for i in range(50)])
    assert len(created) == 50
    ref, uuid = created[7]
    assert x.VM.get_by_uuid(uuid) == ref
    assert x.VM.get_name_label(ref) == "bulk-7"
    assert len(x.VM.get_VBDs(ref)) == 1 and len(x.VM.get_VIFs(ref)) == 1


def test_vm_record_returns_a_copy_by_ref_or_uuid_and_none_when_gone(sim, x):
    ref, uuid = sim.create_vm("copy", power_state="Halted")
    record = sim.vm_record(uuid)
    record["name_label"] = "changed locally"
    assert sim.vm_record(ref)["name_label"] == "copy"
    x.VM.destroy(ref)
    assert sim.vm_record(ref) is None


def test_modify_vm_writes_like_another_client_and_produces_an_event(sim, x, vm):
    token = x.event_from(["vm"], "", 0.0)["token"]
    sim.modify_vm(vm, "blocked_operations", {"destroy": "by someone else"})
    (event,) = x.event_from(["vm"], token, 1.0)["events"]
    assert event["snapshot"]["blocked_operations"] == {"destroy": "by someone else"}


def test_kill_sessions_invalidates_every_session(sim, raw, raw_session):
    sim.kill_sessions()
    assert raw.VM.get_all(raw_session)["ErrorDescription"] == ["SESSION_INVALID", raw_session]


def _raw_call(sim, method, timeout):
    """One XML-RPC call on a fresh unix-socket connection with a client timeout."""
    connection = http.client.HTTPConnection("localhost", timeout=timeout)
    connection.sock = socket.socket(socket.AF_UNIX)
    connection.sock.settimeout(timeout)
    connection.sock.connect(sim.socket_path(0))
    connection.request("POST", "/", b"<?xml version='1.0'?><methodCall><methodName>"
                       + method.encode() + b"</methodName><params/></methodCall>")
    try:
        return connection.getresponse().status
    finally:
        connection.close()


def test_stall_delays_calls_past_a_client_timeout(sim, vm):
    sim.stall(1.0)
    with pytest.raises(socket.timeout):
        _raw_call(sim, "session.login_with_password", 0.2)


def test_drop_connection_closes_the_connection_without_a_reply(sim, xapi_session, vm):
    # xmlrpc.client resends once on a dropped keep-alive connection, so drop twice.
    sim.drop_connection("VM.get_power_state", count=2)
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        xapi_session.xenapi.VM.get_power_state(vm)
    assert xapi_session.xenapi.VM.get_power_state(vm) == "Running"


def test_call_counts_count_each_method_and_reset(sim, x, vm):
    sim.reset_call_counts()
    x.VM.get_power_state(vm)
    x.VM.get_power_state(vm)
    x.VM.get_name_label(vm)
    assert sim.call_counts() == {"VM.get_power_state": 2, "VM.get_name_label": 1}
    sim.reset_call_counts()
    assert sim.call_counts() == {}


def test_vm_appeared_at_is_the_creation_time(sim):
    before = time.time()
    _ref, uuid = sim.create_vm("new")
    assert before <= sim.vm_appeared_at(uuid) <= time.time()


def test_blocked_op_set_at_records_when_the_key_first_appeared(sim, x, vm):
    uuid = x.VM.get_uuid(vm)
    assert sim.blocked_op_set_at(uuid, "destroy") is None
    before = time.time()
    x.VM.add_to_blocked_operations(vm, "destroy", "first")
    first = sim.blocked_op_set_at(uuid, "destroy")
    assert before <= first <= time.time()
    x.VM.remove_from_blocked_operations(vm, "destroy")
    x.VM.add_to_blocked_operations(vm, "destroy", "again")
    assert sim.blocked_op_set_at(uuid, "destroy") == first


def test_restart_keeps_the_database_and_ends_every_session(sim, raw, raw_session, vm):
    sim.restart()
    assert raw.VM.get_all(raw_session)["ErrorDescription"] == ["SESSION_INVALID", raw_session]
    session = unix_session(sim.socket_path(0))
    try:
        assert session.xenapi.VM.get_name_label(vm) == "alien"
    finally:
        session.xenapi.session.logout()


def test_restart_with_down_for_refuses_connections_while_down(sim):
    restarting = threading.Thread(target=sim.restart, kwargs={"down_for": 1.0})
    restarting.start()
    time.sleep(0.3)
    probe = socket.socket(socket.AF_UNIX)
    with pytest.raises(OSError):
        probe.connect(sim.socket_path(0))
    probe.close()
    restarting.join(10)
    session = unix_session(sim.socket_path(0))
    session.xenapi.session.logout()


def test_simctl_endpoint_serves_the_controls_over_xmlrpc(sim, x):
    ctl = control(sim.socket_path(0))
    ref, uuid = ctl.sim.create_vm("from-outside", {"power_state": "Halted"})
    assert x.VM.get_uuid(ref) == uuid
    assert ctl.sim.vm_record(uuid)["power_state"] == "Halted"
    assert ctl.sim.call_counts()["VM.get_uuid"] == 1


def test_kill_domain_leaves_the_power_state_alone(sim, x, vm):
    sim.kill_domain(vm)
    assert x.VM.get_power_state(vm) == "Running"


def test_standalone_prints_ready_serves_and_stops_on_sigterm():
    workdir = short_workdir()
    path = os.path.join(workdir, "xapi")
    env = dict(os.environ, PYTHONPATH=TESTS_DIR)
    server = subprocess.Popen([sys.executable, "-m", "xapisim", "--unix-socket", path,
                               "--hosts", "2", "--seed-demo"],
                              stdout=subprocess.PIPE, universal_newlines=True, env=env)
    try:
        line = server.stdout.readline()
        assert "ready" in line and path in line and path + ".1" in line
        for socket_path in (path, path + ".1"):
            session = unix_session(socket_path)
            names = {r["name_label"] for r in session.xenapi.VM.get_all_records().values()}
            session.xenapi.session.logout()
            assert "i-2-10-VM" in names
        server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0
        assert not os.path.exists(path)
    finally:
        if server.poll() is None:
            server.kill()
        server.stdout.close()
        os.rmdir(workdir)


def test_xenapi_own_uds_transport_works_with_the_default_socket_paths(sim):
    assert "_" not in sim.socket_path(0)
    session = XenAPI.Session("http://" + sim.socket_path(0).replace("/", "_"),
                             transport=XenAPI.UDSTransport())
    session.xenapi.login_with_password("root", "", "1.0", "tests")
    try:
        assert session.xenapi.session.get_this_host(session.handle) == sim.host_refs[0]
    finally:
        session.xenapi.session.logout()


def test_a_socket_path_too_long_for_unix_sockets_is_refused_with_advice():
    workdir = short_workdir()
    try:
        simulator = Simulator(workdir=workdir, unix_socket=os.path.join(workdir, "x" * 120))
        with pytest.raises(ValueError, match="limit is 107.*mkdtemp"):
            simulator.start()
    finally:
        shutil.rmtree(workdir)


def test_modify_object_writes_read_only_fields_of_any_class(sim, x):
    host = sim.host_refs[0]
    sim.modify_object("host", host, "software_version", {"product_version": "6.0.2"})
    assert x.host.get_software_version(host) == {"product_version": "6.0.2"}
    with pytest.raises(KeyError, match="no field"):
        sim.modify_object("host", host, "colour", "blue")


def test_simctl_returns_none_as_nil(sim):
    ctl = control(sim.socket_path(0))
    _ref, uuid = ctl.sim.create_vm("fresh", {})
    assert ctl.sim.blocked_op_set_at(uuid, "destroy") is None


def test_stall_of_one_method_delays_only_that_method(sim):
    sim.stall(5.0, method="session.login_with_password")
    with pytest.raises(socket.timeout):
        _raw_call(sim, "session.login_with_password", 0.5)
    assert _raw_call(sim, "VM.get_all", 2.0) == 200


def test_latency_delays_every_call(sim, x, vm):
    sim.latency(300)
    started = time.monotonic()
    x.VM.get_power_state(vm)
    assert time.monotonic() - started >= 0.3
    sim.latency(0)


def test_latency_of_one_method_delays_only_that_method(sim, x, vm):
    sim.latency(5000, method="VM.get_all")
    with pytest.raises(socket.timeout):
        _raw_call(sim, "VM.get_all", 0.5)
    assert _raw_call(sim, "VM.get_all_records", 2.0) == 200
    sim.latency(0, method="VM.get_all")


def test_fail_once_refuses_exactly_one_matching_call(sim, x, vm):
    other, _ = sim.create_vm("other")
    sim.fail_once("VM.add_to_blocked_operations", "OPERATION_NOT_ALLOWED", ["busy"],
                  args=[vm, "destroy"])
    x.VM.add_to_blocked_operations(other, "destroy", "not this VM")
    x.VM.add_to_blocked_operations(vm, "shutdown", "not this key")
    assert failure_of(x.VM.add_to_blocked_operations, vm, "destroy", "refused") == [
        "OPERATION_NOT_ALLOWED", "busy"]
    assert "destroy" not in x.VM.get_blocked_operations(vm)
    x.VM.add_to_blocked_operations(vm, "destroy", "held")
    assert x.VM.get_blocked_operations(vm)["destroy"] == "held"


def test_write_once_lands_another_clients_write_just_before_the_call(sim, x, vm):
    x.VM.add_to_blocked_operations(vm, "destroy", "csguard: mine")
    x.VM.add_to_blocked_operations(vm, "shutdown", "csguard: mine")
    sim.write_once("VM.remove_from_blocked_operations", vm, "blocked_operations", "true",
                   key="destroy", args=[vm, "shutdown"])
    x.VM.remove_from_blocked_operations(vm, "destroy")    # not the matching call
    assert "destroy" not in x.VM.get_blocked_operations(vm)
    x.VM.remove_from_blocked_operations(vm, "shutdown")
    assert x.VM.get_blocked_operations(vm) == {"destroy": "true"}


def test_one_shot_controls_work_over_simctl(sim, x, vm):
    ctl = control(sim.socket_path(0))
    ctl.sim.fail_once("VM.get_power_state", "HANDLE_INVALID", ["VM", vm])
    assert failure_of(x.VM.get_power_state, vm) == ["HANDLE_INVALID", "VM", vm]
    ctl.sim.write_once("VM.get_power_state", vm, "name_label", "renamed")
    assert x.VM.get_power_state(vm) == "Running"
    assert x.VM.get_name_label(vm) == "renamed"
