"""What the daemon tells systemd and what it hears: sd_notify (READY=1 once the
first full reconcile is done, STATUS=, STOPPING=1), the watchdog, and the signals.

SIGTERM/SIGINT stop the daemon at any point (exit 0); SIGHUP asks for a config
reload, which interrupts an event.from wait. WATCHDOG=1 pings only while the loop
makes progress: each blocking step declares how long it may take (beat).
"""
import logging
import os
import signal
import threading
import time

import sdnotify

log = logging.getLogger("csguard")

# Extra seconds granted to each blocking step before the watchdog stops pinging.
WATCHDOG_SLACK = 5.0


class Stop(BaseException):
    """SIGTERM/SIGINT: unwind from wherever the loop is."""


class Wakeup(BaseException):
    """SIGHUP during a wait: go and look at the reload request."""


class Signals:
    """SIGTERM/SIGINT raise Stop; SIGHUP sets reload_requested and, during a wait,
    raises Wakeup. Python swallows an exception raised inside a garbage-collector
    callback or a __del__, so a Stop can be lost where the signal lands: every wait
    raises it again until the loop has unwound (shutting_down)."""

    def __init__(self):
        self.stopping = False
        self.shutting_down = False
        self.reload_requested = False
        self._waiting = False

    def install(self):
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)

    def _on_stop(self, signum, frame):
        if self.shutting_down:
            return
        self.stopping = True
        raise Stop()

    def _on_reload(self, signum, frame):
        self.reload_requested = True
        if self._waiting:
            self._waiting = False
            raise Wakeup()

    def wait(self, blocking_call, *args):
        """Run a blocking wait that SIGHUP may interrupt (raising Wakeup); a stop
        requested before or during it raises Stop."""
        self._waiting = True
        try:
            self._stop_if_requested()
            if self.reload_requested:
                raise Wakeup()
            result = blocking_call(*args)
        finally:
            self._waiting = False
        self._stop_if_requested()
        return result

    def _stop_if_requested(self):
        if self.stopping and not self.shutting_down:
            raise Stop()


class Systemd:
    """sd_notify messages, and the watchdog thread that pings WATCHDOG=1 while the
    loop keeps the promise of its last beat."""

    def __init__(self):
        self.notifier = sdnotify.SystemdNotifier()
        self.watchdog_interval = None
        self._alive_until = time.monotonic() + WATCHDOG_SLACK
        self._watchdog_stop = threading.Event()

    def notify(self, text):
        """Send one sd_notify message; without NOTIFY_SOCKET, or when systemd is not
        listening, nothing happens. Not sdnotify's own notify(): its bare except
        would swallow the Stop that a SIGTERM arriving mid-send raises, and the
        daemon would then ignore SIGTERM until systemd kills it."""
        sock = self.notifier.socket
        if sock is None:
            return
        try:
            sock.sendall(text.encode("utf-8"))
        except OSError:
            pass

    def beat(self, budget):
        """Declare that the next step finishes within `budget` seconds; the watchdog
        pings systemd only while such a promise holds."""
        self._alive_until = time.monotonic() + budget + WATCHDOG_SLACK

    def start_watchdog(self):
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return
        try:
            interval = int(usec) / 1e6
        except ValueError:
            log.warning("ignoring WATCHDOG_USEC=%r: not a number of microseconds", usec)
            return
        self.watchdog_interval = interval
        thread = threading.Thread(target=self._watchdog_loop, args=(interval / 2.0,),
                                  name="watchdog", daemon=True)
        thread.start()

    def stop_watchdog(self):
        self._watchdog_stop.set()

    def _watchdog_loop(self, period):
        while not self._watchdog_stop.wait(period):
            if time.monotonic() < self._alive_until:
                self.notify("WATCHDOG=1")
