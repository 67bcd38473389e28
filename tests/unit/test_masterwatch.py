"""A standby's look at the master's csguard: asked only while aliens are bare, at
most once a minute, and said once per change."""
import logging
import types

from csguard.daemon import masterwatch
from csguard.daemon.masterwatch import MasterWatch
from csguard.xapi import XapiError


class FakeXapi:
    def __init__(self):
        self.asked = 0

    def call(self, method, *args):
        assert method == "host.call_plugin" and args[1:3] == ("csguard", "status")
        self.asked += 1
        raise XapiError(["XENAPI_MISSING_PLUGIN", "csguard"])


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


def standby():
    return types.SimpleNamespace(leader=False, master="OpaqueRef:m", master_name="'xs-0'")


def test_asked_only_while_aliens_are_bare_and_once_a_minute(caplog):
    xapi, clock, leadership = FakeXapi(), Clock(), standby()
    beats = []
    watch = MasterWatch(lambda: beats.append(xapi.asked), clock)
    watch.check(xapi, leadership, bare=0)
    assert xapi.asked == 0 and watch.problem is None
    with caplog.at_level(logging.INFO, logger="csguard"):
        watch.check(xapi, leadership, bare=3)
        clock.now += masterwatch.INTERVAL - 1
        watch.check(xapi, leadership, bare=3)
        assert xapi.asked == 1 and watch.problem.startswith("has no csguard")
        clock.now += 1
        watch.check(xapi, leadership, bare=3)
        assert xapi.asked == 2
        assert beats == [0, 1]                      # the watchdog told before each call
        watch.check(xapi, leadership, bare=0)       # every alien protected after all
    assert watch.problem is None
    said = [r.getMessage() for r in caplog.records]
    assert sum("has no csguard" in line for line in said) == 1
    assert said[-1] == "the pool master's csguard protects the pool again"


def test_a_leader_never_asks():
    xapi, leadership = FakeXapi(), standby()
    leadership.leader = True
    MasterWatch(clock=Clock()).check(xapi, leadership, bare=5)
    assert xapi.asked == 0
