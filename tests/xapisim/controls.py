"""Fault injection and call accounting, consulted by the transport for every call.

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
        if delay:
            time.sleep(delay)
        return True

    def call_counts(self):
        with self._lock:
            return dict(self._counts)

    def reset_call_counts(self):
        with self._lock:
            self._counts.clear()
