"""One daemon per host: an exclusive lock on `<state_dir>/daemon.lock`.

Two daemons on one host would both lead and undo each other's writes when their
configurations differ, and each would overwrite the other's status file. The
second one therefore refuses to start. The lock is flock(2): the kernel drops it
when its holder dies, so a crash leaves nothing stale behind. The file holds the
holder's pid, for the refusal message and for `csguard status`.
"""
import errno
import fcntl
import os
import time

LOCK_FILE = "daemon.lock"
# A `csguard status` probing the lock holds it shared for an instant: a starting
# daemon tries a few times before it concludes another daemon holds it.
TRIES = 5
TRY_EVERY = 0.1


class Locked(Exception):
    """Another daemon holds the lock; `pid` is its pid (None if unreadable)."""

    def __init__(self, path, pid):
        self.path, self.pid = path, pid
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"another csguard daemon ({who}) already runs with the state "
                         f"directory {os.path.dirname(path)} (lock {path})")


def acquire(state_dir):
    """Take the lock for this process's lifetime; returns the open file (keep it).
    Raises Locked if another daemon holds it, OSError if the directory is unusable."""
    os.makedirs(state_dir, mode=0o750, exist_ok=True)
    path = os.path.join(state_dir, LOCK_FILE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    for attempt in range(TRIES):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES) or attempt == TRIES - 1:
                pid = _pid_in(fd)
                os.close(fd)
                if e.errno in (errno.EAGAIN, errno.EACCES):
                    raise Locked(path, pid)
                raise
            time.sleep(TRY_EVERY)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def release(fd):
    """Give the lock up (exit would too); None (no lock was taken) is fine."""
    if fd is not None:
        os.close(fd)


def holder(state_dir):
    """The pid of the daemon holding the lock, None if no daemon holds it."""
    path = os.path.join(state_dir, LOCK_FILE)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _pid_in(fd) or 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _pid_in(fd):
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text)
    except (OSError, ValueError):
        return None
