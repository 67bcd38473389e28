"""`<state_dir>/status.json`: what the daemon is doing, for `csguard status`, the
host plugin and monitoring."""
import collections
import json
import logging
import os
import tempfile
import time

from csguard import __version__, records

log = logging.getLogger("csguard")

STATUS_FILE = "status.json"
RECENT_ATTEMPTS = 20


class StatusFile:
    """`<state_dir>/status.json`: what the daemon is doing, for the CLI and monitoring.

    Written atomically (temporary file + rename), only when something changed and
    at most once per `min_interval` seconds. A state directory that cannot be
    written is logged once and otherwise ignored: reporting must never stop
    protection.
    """

    def __init__(self, state_dir, min_interval=1.0):
        self.path = os.path.join(state_dir, STATUS_FILE)
        self.state_dir = state_dir
        self.min_interval = min_interval
        self._data = {
            "pid": os.getpid(),
            "version": __version__,
            "started_at": records.format_time(time.time()),
            "blocked_attempts": [],
        }
        self._attempts = collections.deque(maxlen=RECENT_ATTEMPTS)
        self._dirty = True
        self._written_at = None
        self._failing = False

    def update(self, **fields):
        for key, value in fields.items():
            if self._data.get(key) != value:
                self._data[key] = value
                self._dirty = True

    def add_attempt(self, attempt):
        self._attempts.append(attempt)
        self._data["blocked_attempts"] = list(self._attempts)
        self._dirty = True

    def attempts_changed(self):
        """A recorded attempt was completed in place (who made it)."""
        self._data["blocked_attempts"] = list(self._attempts)
        self._dirty = True

    def due_in(self, now):
        """Seconds until a pending write may happen, None if nothing is pending."""
        if not self._dirty:
            return None
        if self._written_at is None:
            return 0.0
        return max(0.0, self._written_at + self.min_interval - now)

    def flush(self, now=None, force=False):
        now = time.monotonic() if now is None else now
        if not self._dirty or (not force and self.due_in(now) > 0):
            return
        self._data["updated_at"] = records.format_time(time.time())
        try:
            self._write(json.dumps(self._data, indent=1, sort_keys=True) + "\n")
        except OSError as e:
            if not self._failing:
                log.error("cannot write the status file %s (%s); protection carries on, "
                          "the file is tried again on the next change", self.path, e)
            self._failing = True
        else:
            if self._failing:
                log.info("status file %s written again", self.path)
            self._failing = False
        self._dirty = False
        self._written_at = now

    def _write(self, text):
        os.makedirs(self.state_dir, mode=0o750, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".status-", suffix=".tmp", dir=self.state_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.chmod(tmp, 0o644)
            os.rename(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
