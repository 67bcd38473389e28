"""Shared fixtures: a running XAPI simulator and real XenAPI sessions on it; and
the removal, when the run ends, of every temporary directory the run made."""
import contextlib
import os
import shutil
import tempfile
import xmlrpc.client

import pytest
import XenAPI
from xapisim import Simulator
from xapisim.testing import unix_session

# What logging out may raise when a test already logged out, killed the
# sessions or restarted the simulator.
_LOGOUT_ERRORS = (OSError, XenAPI.Failure, xmlrpc.client.Fault, xmlrpc.client.ProtocolError)

# Unix socket paths must stay short, so tests make their directories with
# tempfile.mkdtemp(dir="/tmp") rather than under pytest's tmp_path; each one made in
# this process is removed when the run ends, whatever the test did with it.
# CSGUARD_TEST_TMP_REPORT names a file that receives the list (tests of this).
_made = []
_mkdtemp = tempfile.mkdtemp


def _mkdtemp_removed_at_exit(*args, **kwargs):
    path = _mkdtemp(*args, **kwargs)
    _made.append(path)
    return path


tempfile.mkdtemp = _mkdtemp_removed_at_exit


def pytest_sessionfinish(session, exitstatus):
    for path in _made:
        shutil.rmtree(path, ignore_errors=True)
    report = os.environ.get("CSGUARD_TEST_TMP_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as f:
            f.write("".join(path + "\n" for path in _made))


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
