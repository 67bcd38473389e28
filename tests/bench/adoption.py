"""Adoption: daemon start -> READY=1 with every alien protected, against the bare
client that makes only the minimum calls (one listing + the missing writes).

Both start as fresh processes on identically seeded pools, so both pay the
interpreter's start-up and imports; both are timed from the moment they are
launched.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

from integration.daemon_runner import DaemonRunner

from . import procstat, workload
from .simproc import TESTS_DIR, counts_since, write_calls

READY_POLL = 0.002
READY_TIMEOUT = 300.0


def pythonpath():
    """{"PYTHONPATH": ...} for the clients: the csguard package and the tests tree."""
    repo = os.path.dirname(TESTS_DIR)
    return {"PYTHONPATH": os.pathsep.join([os.path.join(repo, "dom0-plugin"), TESTS_DIR])}


def run_bare(python, sim, mode, *extra):
    """Run `python -m bench.bare MODE` against `sim`; (its JSON result, seconds from
    launch to the end of its work, or to its exit for modes without done_at)."""
    started = time.time()
    output = subprocess.check_output([python, "-m", "bench.bare", mode, sim.socket_path]
                                     + list(extra), env=dict(os.environ, **pythonpath()),
                                     universal_newlines=True)
    ended = time.time()
    result = json.loads(output.strip().splitlines()[-1])
    return result, result.get("done_at", ended) - started


def bare_adoption(python, sim):
    """The minimum client on a freshly seeded pool: its time, calls and writes."""
    before = sim.call_counts()
    result, seconds = run_bare(python, sim, "adopt")
    calls = counts_since(before, sim.call_counts())
    return {"seconds": seconds, "writes": result["writes"], "listed": result["listed"],
            "listing_done_s": seconds - (result["done_at"] - result["listed_at"]),
            "calls": sum(calls.values()), "minimum_calls": 1 + result["writes"]}


class Daemon:
    """csguard's daemon under `python` on XAPI at `url`, with its own state directory."""

    def __init__(self, python, url, config=None):
        self.state_dir = tempfile.mkdtemp(prefix="cgb-", dir="/tmp")
        self.runner = DaemonRunner(url, self.state_dir, config=config, python=python,
                                   log_level="info", env=pythonpath())
        self.started_at = None
        self.ready_at = None

    @property
    def pid(self):
        return self.runner.pid

    def start(self):
        self.started_at = time.time()
        self.runner.start()
        return self

    def wait_ready(self):
        self.runner.wait_until(lambda: self.runner.ready, READY_TIMEOUT, "READY=1",
                               interval=READY_POLL)
        self.ready_at = time.time()
        return self.ready_at - self.started_at

    def cpu_seconds(self):
        return procstat.cpu_seconds(self.pid)

    def memory_mb(self):
        return procstat.memory_mb(self.pid)

    def stop(self):
        try:
            self.runner.stop()
        finally:
            self.runner.close()
            shutil.rmtree(self.state_dir, ignore_errors=True)


def daemon_adoption(python, sim, alien_uuids):
    """Start the daemon on a freshly seeded pool; returns (running Daemon, results)."""
    sim.reset_call_counts()
    daemon = Daemon(python, sim.url).start()
    try:
        seconds = daemon.wait_ready()
        calls = sim.call_counts()
        unprotected = workload.unprotected(sim, alien_uuids)
    except BaseException:
        daemon.stop()
        raise
    return daemon, {"seconds": seconds, "calls": sum(calls.values()),
                    "writes": write_calls(calls), "calls_by_method": calls,
                    "unprotected_aliens": len(unprotected),
                    "memory": daemon.memory_mb()}


def median_run(runs):
    """The run with the median time, with every run's time and the most calls seen
    (repeats smooth out other load on the machine; calls do not vary)."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    median = dict(ordered[len(ordered) // 2])
    median.update(seconds_runs=[r["seconds"] for r in runs],
                  calls=max(r["calls"] for r in runs))
    if "unprotected_aliens" in median:
        median["unprotected_aliens"] = max(r["unprotected_aliens"] for r in runs)
    return median
