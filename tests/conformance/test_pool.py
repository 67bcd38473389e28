"""A pool of several hosts: one database, one socket per host, a master."""


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


def test_set_master_changes_pool_master_and_produces_a_pool_mod_event(pool3, session_for):
    x = session_for(pool3.socket_path(0)).xenapi
    token = x.event_from(["pool"], "", 0.0)["token"]
    pool3.set_master(1)
    (event,) = x.event_from(["pool"], token, 1.0)["events"]
    assert (event["operation"], event["snapshot"]["master"]) == ("mod", pool3.host_refs[1])
    assert x.pool.get_master(pool3.pool_ref) == pool3.host_refs[1]


def test_hosts_have_distinct_addresses_and_the_tcp_url_is_the_masters(pool3):
    addresses = [pool3.host_address(i) for i in range(3)]
    assert len(set(addresses)) == 3
    assert pool3.host_address(0) in pool3.tcp_url
    pool3.set_master(2)
    assert pool3.host_address(2) in pool3.tcp_url
