"""The daemon's signal handling (csguard.daemon.systemd.Signals) without a process:
SIGTERM unwinds the loop by raising Stop from the handler, and a Stop raised where
Python swallows exceptions (a garbage-collector callback, a __del__) must not be
lost: the next wait raises it again."""
import contextlib

import pytest
from csguard.daemon.systemd import Signals, Stop, Wakeup


def swallowed(call):
    """What Python does with an exception raised inside a __del__ or a GC callback:
    it prints "Exception ignored in ..." and carries on."""
    with contextlib.suppress(BaseException):  # what is being imitated
        call()


def test_sigterm_raises_stop():
    signals = Signals()
    with pytest.raises(Stop):
        signals._on_stop(15, None)


def test_a_stop_swallowed_where_it_was_raised_is_raised_again_at_the_next_wait():
    signals = Signals()
    swallowed(lambda: signals._on_stop(15, None))
    with pytest.raises(Stop):
        signals.wait(lambda: "an event.from answer")


def test_a_stop_swallowed_during_a_wait_is_raised_when_the_wait_returns():
    signals = Signals()
    with pytest.raises(Stop):
        signals.wait(lambda: swallowed(lambda: signals._on_stop(15, None)))


def test_no_stop_once_shutting_down():
    signals = Signals()
    signals.shutting_down = True
    signals._on_stop(15, None)  # a second SIGTERM while csguard stops: ignored
    assert signals.wait(lambda: "done") == "done"


def test_sighup_during_a_wait_wakes_it():
    signals = Signals()
    with pytest.raises(Wakeup):
        signals.wait(lambda: signals._on_reload(1, None))
    assert signals.reload_requested
