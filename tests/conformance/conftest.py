"""Fixtures for the conformance tests: the XenAPI proxy, a raw XML-RPC proxy, VMs."""
import contextlib
import xmlrpc.client

import pytest
import XenAPI
from xapisim.testing import UnixTransport, tcp_session


@pytest.fixture
def x(xapi_session):
    """``session.xenapi`` of a real XenAPI session on host 0's unix socket."""
    return xapi_session.xenapi


@pytest.fixture(params=["unix", "tcp"])
def x_both(request, sim, xapi_session):
    """Like ``x``, once over the unix socket and once over TCP (root + password):
    modules whose facts must hold on both transports alias ``x`` to this."""
    if request.param == "unix":
        yield xapi_session.xenapi
        return
    session = tcp_session(sim.tcp_url, originator="tests")
    yield session.xenapi
    with contextlib.suppress(OSError, XenAPI.Failure):
        session.xenapi.session.logout()


@pytest.fixture
def raw(sim):
    """A plain xmlrpc.client proxy on host 0: replies come back as Status structs."""
    transport = UnixTransport(sim.socket_path(0))
    return xmlrpc.client.ServerProxy("http://localhost/", transport=transport, allow_none=True)


@pytest.fixture
def raw_session(raw):
    reply = raw.session.login_with_password("root", "", "1.0", "raw-tests")
    yield reply["Value"]
    raw.session.logout(reply["Value"])


@pytest.fixture
def vm(sim):
    """A running VM on host 0 with one disk and one network interface."""
    ref, _uuid = sim.create_vm("alien")
    return ref

