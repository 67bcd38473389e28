"""Shared fixtures: a running XAPI simulator and real XenAPI sessions on it."""
import contextlib
import xmlrpc.client

import pytest
import XenAPI
from xapisim import Simulator
from xapisim.testing import unix_session

# What logging out may raise when a test already logged out, killed the
# sessions or restarted the simulator.
_LOGOUT_ERRORS = (OSError, XenAPI.Failure, xmlrpc.client.Fault, xmlrpc.client.ProtocolError)


@pytest.fixture
def sim():
    """A one-host pool serving on a unix socket (short /tmp path) and loopback TCP."""
    with Simulator(hosts=1) as simulator:
        yield simulator


@pytest.fixture
def pool3():
    """A three-host pool sharing one database; host 0 is the master."""
    with Simulator(hosts=3) as simulator:
        yield simulator


@pytest.fixture
def session_for():
    """Factory: ``session_for(socket_path)`` -> logged-in XenAPI.Session, logged out after.

    Works for any socket path (XenAPI's own UDSTransport would turn "_" into "/").
    """
    sessions = []

    def make(path, originator="tests"):
        session = unix_session(path, originator=originator)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        with contextlib.suppress(*_LOGOUT_ERRORS):
            session.xenapi.session.logout()


@pytest.fixture
def xapi_session(sim, session_for):
    """A real XenAPI.Session on host 0's unix socket, originator "tests"."""
    return session_for(sim.socket_path(0))
