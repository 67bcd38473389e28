"""Fixtures of the fault suite: simulators, a watched pool, a short call timeout."""
import pytest
from integration.daemon_runner import write_config
from xapisim import Simulator

from faults.invariant import Fleet, Watched


@pytest.fixture
def pool2():
    """Two hosts; host 0 is the master."""
    with Simulator(hosts=2) as simulator:
        yield simulator


@pytest.fixture
def watched(sim):
    """A small pool on `sim`: 20 aliens, 9 aliens with others' entries, 9 CloudStack
    VMs (3 with an admin's entry)."""
    pool = Watched()
    pool.seed(sim, aliens=20, foreign_aliens=9, cloudstack=9)
    return pool


@pytest.fixture
def crowd(sim):
    """1,000 aliens (adoption takes a few seconds: long enough to be interrupted),
    30 with others' entries, 30 CloudStack VMs."""
    pool = Watched()
    pool.seed(sim, aliens=1000, foreign_aliens=30, cloudstack=30)
    return pool


@pytest.fixture
def short_timeout(tmp_path):
    """A config whose XAPI calls time out after 1 s, so a stall is noticed quickly."""
    return write_config(str(tmp_path), "xapi:\n  call_timeout: 1\n")



@pytest.fixture
def fleet():
    """Start daemons with fleet.start(url, state_dir, ...); all stopped at the end."""
    daemons = Fleet()
    yield daemons
    daemons.close()
