"""Shared fixtures: a running XAPI simulator and real XenAPI sessions on it."""
import pytest
from xapisim import Simulator
from xapisim.testing import unix_session


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
def xapi_session(sim):
    """A real XenAPI.Session on host 0's unix socket, originator "tests"."""
    session = unix_session(sim.socket_path(0), originator="tests")
    yield session
    try:
        session.xenapi.session.logout()
    except Exception:  # the test may have logged out or restarted the server
        pass


@pytest.fixture
def session_for():
    """Factory: ``session_for(socket_path)`` -> logged-in XenAPI.Session, logged out after."""
    sessions = []

    def make(path, originator="tests"):
        session = unix_session(path, originator=originator)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        try:
            session.xenapi.session.logout()
        except Exception:  # already logged out or server gone
            pass

