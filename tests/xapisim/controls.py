"""Fault injection and call accounting, consulted by the transport for every call.

``latency`` makes a busy master: every call (or every call of one method) waits
so many milliseconds before running. ``fail_once`` refuses exactly one call (the
next one of a method, optionally only with given leading arguments) with a XAPI
error; ``write_once`` makes another client's write land just before such a call
runs, to open the window between a client's read and its write.

Kept out of the XAPI namespace: tests reach these through ``Simulator`` methods
or the ``/simctl`` endpoint, never through XAPI method names.
"""
import collections
import threading
import time


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._stall_until = 0.0
        self._stall_for = 0.0
        self._stall_method = None
        self._drops = []            # [method or None, remaining count]
        self._latency = {}          # method or None (every call) -> seconds
        self._once = []             # [method, leading args, action(call args)]
        self._counts = collections.Counter()

    def stall(self, seconds, method=None):
        """Every call (of ``method``, if given) received in the next ``seconds`` waits
        ``seconds`` before running."""
        with self._lock:
            self._stall_for = float(seconds)
            self._stall_until = time.time() + float(seconds)
            self._stall_method = method

    def drop_connection(self, method=None, count=1):
        """The next ``count`` calls of ``method`` (any if None) get no reply: the
        connection is closed after the request is read, before the call runs."""
        with self._lock:
            self._drops.append([method, int(count)])

    def latency(self, milliseconds, method=None):
        """Every later call (of ``method``, if given) waits ``milliseconds`` before
        running; a method's own setting wins over the one for every call; 0 clears."""
        with self._lock:
            if milliseconds:
                self._latency[method] = float(milliseconds) / 1000.0
            else:
                self._latency.pop(method, None)

    def once(self, method, args, action):
        """Before the next call of ``method`` whose arguments (after the session)
        start with ``args``, run ``action(call_args)`` once; an ApiError it raises
        is that call's answer and the call does not run."""
        with self._lock:
            self._once.append([method, list(args or ()), action])

    def before_call(self, method, args):
        """Run the one-shot action due for this call, if any (may raise ApiError)."""
        with self._lock:
            for entry in self._once:
                wanted = entry[1]
                if entry[0] == method and list(args[:len(wanted)]) == wanted:
                    self._once.remove(entry)
                    break
            else:
                return
        entry[2](args)

    def admit(self, method):
        """Count the call; return False if its connection must be dropped. May sleep."""
        with self._lock:
            self._counts[method] += 1
            for entry in self._drops:
                if entry[0] is None or entry[0] == method:
                    entry[1] -= 1
                    if entry[1] <= 0:
                        self._drops.remove(entry)
                    return False
            stalled = time.time() < self._stall_until and self._stall_method in (None, method)
            delay = self._stall_for if stalled else 0.0
            delay += self._latency.get(method, self._latency.get(None, 0.0))
        if delay:
            time.sleep(delay)
        return True

    def call_counts(self):
        with self._lock:
            return dict(self._counts)

    def reset_call_counts(self):
        with self._lock:
            self._counts.clear()
