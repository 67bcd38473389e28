"""A remote client (http/https URL) follows the pool master: XAPI answers a login on
a member with HOST_IS_SLAVE and the master's address, and a master that is gone
leaves the pool's other hosts, which the last session read from host records."""
import os
import time

import pytest
from csguard import records
from csguard.poolroute import Route
from csguard.xapi import Xapi, XapiUnavailable
from xapisim.testing import unix_session

from integration.daemon_runner import DaemonRunner, missing_blocks, write_config

ROOT = ("root", "xenroot")


def test_login_on_a_member_follows_host_is_slave_to_the_master(pool3):
    with Xapi(pool3.host_tcp_url(2), credentials=ROOT, timeout=2.0) as client:
        assert client.this_host() == pool3.host_refs[0]
        assert client.url == pool3.host_tcp_url(0)


def route_after_one_session(pool3):
    """A Route to host 0 that one session has used: it knows the pool's hosts."""
    route = Route(pool3.host_tcp_url(0))
    with Xapi(route.url, credentials=ROOT, timeout=2.0, route=route):
        pass
    return route


def test_after_a_master_change_the_next_login_reaches_the_new_master(pool3):
    route = route_after_one_session(pool3)
    pool3.set_master(1)
    with Xapi(route.url, credentials=ROOT, timeout=2.0, route=route) as client:
        assert client.this_host() == pool3.host_refs[1]


def test_an_unreachable_master_leaves_the_pool_hosts_the_last_session_read(pool3):
    route = route_after_one_session(pool3)
    pool3.set_master(2)
    pool3.set_host_reachable(0, False)
    with Xapi(route.url, credentials=ROOT, timeout=2.0, route=route) as client:
        assert client.this_host() == pool3.host_refs[2]


def test_with_no_host_answering_the_error_names_what_was_tried(pool3):
    route = route_after_one_session(pool3)
    for i in range(3):
        pool3.set_host_reachable(i, False)
    with pytest.raises(XapiUnavailable) as error:
        Xapi(route.url, credentials=ROOT, timeout=2.0, route=route).login()
    for i in range(3):
        assert pool3.host_address(i) in str(error.value)


def test_a_daemon_on_a_member_url_protects_and_follows_a_master_change(pool3, tmp_path):
    credentials = write_config(str(tmp_path), "root\nxenroot\n", name="credentials")
    os.chmod(credentials, 0o600)
    url = pool3.host_tcp_url(1)
    config = write_config(str(tmp_path), f"xapi:\n  url: {url}\n"
                                         f"  credentials_file: {credentials}\n")
    _, first = pool3.create_vm("remote alien")
    with DaemonRunner(url, str(tmp_path / "state"), config=config) as daemon:
        daemon.wait_ready()
        assert not missing_blocks(pool3, [first])
        pool3.set_master(2)
        _, second = pool3.create_vm("alien made after the change")
        daemon.wait_until(lambda: not missing_blocks(pool3, [second]),
                          what="the alien made after the master change protected")


def test_a_remote_daemon_ends_exemptions_on_the_masters_clock(sim, tmp_path):
    """The commands record an exemption's end on the master's clock (issue 17.4); a
    daemon leading through a remote URL, on a host whose clock is 10 minutes ahead
    of the master's, must not take a 5-minute exemption for one that already ran
    out, nor protect the VM again at once."""
    sim.set_clock_offset(0, -600)  # the master's clock is 10 minutes behind this one
    credentials = write_config(str(tmp_path), "root\nxenroot\n", name="credentials")
    os.chmod(credentials, 0o600)
    url = sim.host_tcp_url(0)
    config = write_config(str(tmp_path), f"xapi:\n  url: {url}\n"
                                         f"  credentials_file: {credentials}\n")
    ref, uuid = sim.create_vm("exempt for five minutes")
    master_now = time.time() - 600
    session = unix_session(sim.socket_path(0))
    session.xenapi.VM.add_to_other_config(ref, records.KEY_EXEMPTION, records.format_exemption(
        records.Exemption(vm=uuid, by="root", at=master_now, until=master_now + 300,
                          reason="maintenance", via="vm-unblock")))
    with DaemonRunner(url, str(tmp_path / "state"), config=config) as daemon:
        daemon.wait_ready()
        _, sentinel = sim.create_vm("sentinel")
        daemon.wait_until(lambda: not missing_blocks(sim, [sentinel]),
                          what="a VM created after the exempt one protected")
        assert sim.vm_record(uuid)["blocked_operations"] == {}, daemon.log_tail()
        assert "ran out" not in daemon.logs()
