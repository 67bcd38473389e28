"""A pool of several hosts: one database, one socket per host, a master."""
import calendar
import http.client
import socket
import threading
import time
import xmlrpc.client

import pytest
from xapisim.testing import UnixTransport, unix_session


def test_every_host_socket_sees_the_whole_pool(pool3, session_for):
    vm, _ = pool3.create_vm("on-host-2", host=2)
    for index in range(3):
        x = session_for(pool3.socket_path(index)).xenapi
        assert vm in x.VM.get_all()
        assert x.VM.get_resident_on(vm) == pool3.host_refs[2]


def test_a_write_through_a_member_is_seen_through_the_master(pool3, session_for):
    vm, _ = pool3.create_vm("shared")
    session_for(pool3.socket_path(1)).xenapi.VM.add_to_blocked_operations(vm, "destroy", "x")
    master = session_for(pool3.socket_path(0)).xenapi
    assert master.VM.get_blocked_operations(vm) == {"destroy": "x"}


def _raw_login(path):
    proxy = xmlrpc.client.ServerProxy("http://localhost/", transport=UnixTransport(path))
    return proxy, proxy.session.login_with_password("root", "", "1.0", "tests")["Value"]


def test_a_master_change_restarts_xapi_on_every_host(pool3):
    """xapi_pool_transition.ml designate_new_master: every host's commit_new_master
    (xapi_ha.ml) ends in Xapi_fuse.light_fuse_and_run (xapi_fuse.ml): xapi restarts
    everywhere; sessions and tasks are PersistNothing (idl/datamodel.ml)."""
    logins = [_raw_login(pool3.socket_path(i)) for i in range(3)]
    proxy, session = logins[0]
    task = proxy.task.create(session, "pending work", "")["Value"]
    waiting = []

    def wait_for_events():
        try:
            x = unix_session(pool3.socket_path(2)).xenapi
            token = x.event_from(["vm"], "", 0.0)["token"]
            x.event_from(["vm"], token, 30.0)
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as error:
            waiting.append(error)

    waiter = threading.Thread(target=wait_for_events)
    waiter.start()
    time.sleep(0.3)
    changing = threading.Thread(target=pool3.set_master, args=(1,), kwargs={"down_for": 1.0})
    changing.start()
    time.sleep(0.3)
    for i in range(3):
        probe = socket.socket(socket.AF_UNIX)
        with pytest.raises(OSError):
            probe.connect(pool3.socket_path(i))
        probe.close()
    changing.join(10)
    waiter.join(10)
    assert waiting, "a waiting event.from survived the master change"
    for i, (_old_proxy, old_session) in enumerate(logins):
        proxy = _raw_login(pool3.socket_path(i))[0]
        assert proxy.VM.get_all(old_session)["ErrorDescription"] == [
            "SESSION_INVALID", old_session]
    proxy, session = _raw_login(pool3.socket_path(0))
    assert proxy.pool.get_master(session, pool3.pool_ref)["Value"] == pool3.host_refs[1]
    assert task not in proxy.task.get_all(session)["Value"]


def test_set_master_in_place_only_changes_pool_master(pool3, session_for):
    """Not XAPI (the named extra): one pool mod event, sessions live on."""
    x = session_for(pool3.socket_path(0)).xenapi
    token = x.event_from(["pool"], "", 0.0)["token"]
    pool3.set_master_in_place(1)
    (event,) = x.event_from(["pool"], token, 1.0)["events"]
    assert (event["operation"], event["snapshot"]["master"]) == ("mod", pool3.host_refs[1])
    assert x.pool.get_master(pool3.pool_ref) == pool3.host_refs[1]


def test_hosts_have_distinct_addresses_and_the_tcp_url_is_the_masters(pool3):
    addresses = [pool3.host_address(i) for i in range(3)]
    assert len(set(addresses)) == 3
    assert pool3.host_address(0) in pool3.tcp_url
    pool3.set_master(2, down_for=0.0)
    assert pool3.host_address(2) in pool3.tcp_url


def test_host_get_servertime_is_that_hosts_own_utc_clock(pool3, session_for):
    """xapi_host.ml get_servertime: Date.of_float (Unix.gettimeofday ()), a UTC
    DateTime, run on the host the call names (message_forwarding.ml forwards host
    calls to their host): each host answers with its own clock, skew included."""
    pool3.set_clock_offset(2, -600)
    x = session_for(pool3.socket_path(1)).xenapi
    before = time.time()
    times = [x.host.get_servertime(ref) for ref in pool3.host_refs]
    after = time.time()
    assert all(isinstance(t, xmlrpc.client.DateTime) and t.value.endswith("Z") for t in times)
    epochs = [calendar.timegm(time.strptime(t.value, "%Y%m%dT%H:%M:%SZ")) for t in times]
    for epoch in epochs[:2]:
        assert int(before) <= epoch <= after
    assert int(before) - 600 <= epochs[2] <= after - 600
