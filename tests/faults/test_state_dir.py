"""The state directory cannot be written: the daemon reports it once, protects as
before, and writes status.json again once the directory is usable.

Four real ways a write fails there (root would ignore a mode, so the daemon runs as
the unit runs it: CapabilityBoundingSet= leaves root without CAP_DAC_OVERRIDE):
- a regular file sits where the directory should be (EEXIST);
- the directory is mode 000 (EACCES);
- the file system is full (ENOSPC): a 4 KiB tmpfs, already filled, mounted over the
  directory in a mount namespace of the daemon's own (so nothing leaks if the test
  dies);
- the file system is read-only (EROFS): the same tmpfs mounted read-only.
The last two need CAP_SYS_ADMIN (the suite runs as root in CI) and are skipped
without it.
"""
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from faults.invariant import assert_recovered


def _can_mount():
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("nsenter")):
        return False
    return subprocess.call(["unshare", "--mount", "true"], stderr=subprocess.DEVNULL) == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="needs root (CAP_SYS_ADMIN) for a "
                                 "private mount namespace with a tmpfs")


def _wrapper(directory, command):
    """An executable that runs `command` followed by Python and the daemon's arguments:
    DaemonRunner runs it in place of the interpreter."""
    path = os.path.join(directory, "python-wrapper")
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\nexec {command} {sys.executable} \"$@\"\n")
    os.chmod(path, 0o755)
    return path


class FileInTheWay:
    """One way to break the state directory `state`: set_up returns the program to
    run the daemon with (None: the test's Python), clear repairs it."""

    error = "File exists"

    def set_up(self, state, work):
        with open(state, "w") as f:
            f.write("not a directory\n")

    def clear(self, state, pid):
        os.unlink(state)

    def status_path(self, state, pid):
        return os.path.join(state, "status.json")


class ModeZero(FileInTheWay):
    error = "Permission denied"

    def set_up(self, state, work):
        os.mkdir(state, 0o000)
        os.chmod(state, 0o000)
        if os.geteuid() != 0:
            return None
        return _wrapper(work, "setpriv --bounding-set=-all --inh-caps=-all --")

    def clear(self, state, pid):
        os.chmod(state, 0o750)


class Mounted(FileInTheWay):
    """A tmpfs over the state directory, in the daemon's own mount namespace."""

    error = "No space left on device"
    options = "size=4k"
    fill = True

    def set_up(self, state, work):
        os.mkdir(state, 0o750)
        fill = 'cat /dev/zero > "$0/filler" 2>/dev/null || true; ' if self.fill else ""
        script = f'set -e; mount -t tmpfs -o {self.options} tmpfs "$0"; {fill}exec "$@"'
        return _wrapper(work, f"unshare --mount --propagation private -- "
                              f"sh -c '{script}' {state}")

    def clear(self, state, pid):
        subprocess.check_call(["nsenter", "--target", str(pid), "--mount", "--",
                               "rm", os.path.join(state, "filler")])

    def status_path(self, state, pid):
        return f"/proc/{pid}/root{state}/status.json"


class ReadOnly(Mounted):
    error = "Read-only file system"
    options = "ro,size=4k"
    fill = False

    def clear(self, state, pid):
        subprocess.check_call(["nsenter", "--target", str(pid), "--mount", "--",
                               "mount", "-o", "remount,rw", state])


@pytest.mark.parametrize("way", [
    pytest.param(FileInTheWay(), id="file-in-the-way"),
    pytest.param(ModeZero(), id="mode-000"),
    pytest.param(Mounted(), marks=needs_mount, id="full"),
    pytest.param(ReadOnly(), marks=needs_mount, id="read-only"),
])
def test_unwritable_state_dir_never_stops_protection(sim, watched, fleet, tmp_path, way):
    state = str(tmp_path / "state")
    python = way.set_up(state, str(tmp_path))
    try:
        daemon = fleet.start(sim.unix_url(0), state, **({"python": python} if python else {}))
        daemon.wait_ready()
        line = assert_recovered(sim, watched, fleet, levels=("ERROR",),
                                said=r"^cannot write the status file .*protection carries on")
        assert way.error in line

        way.clear(state, daemon.pid)
        watched.seed(sim, aliens=1, prefix="after the fix ")  # a change to report
        daemon.wait_log("written again")
        assert_recovered(sim, watched, fleet, levels=("INFO",), said=r"^status file .* written again")
        status_path = way.status_path(state, daemon.pid)
        with open(status_path) as f:
            status = json.load(f)
        assert status["pid"] == daemon.pid and status["role"] == "leader"
        assert stat.S_IMODE(os.stat(status_path).st_mode) == 0o644
        assert daemon.logs().count("cannot write the status file") == 1  # said once
    finally:
        if os.path.isdir(state):
            os.chmod(state, 0o750)
