"""The XAPI simulator in a process of its own, and its /simctl control client.

The benchmark process talks to the simulator only through /simctl, which the
simulator does not count as XAPI calls: every counted call during a measurement
is one the measured client made.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import xmlrpc.client

from xapisim.unixhttp import UnixTransport

from . import procstat

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY_TIMEOUT = 60.0


class SimProcess:
    """`python -m xapisim` on a unix socket in a short /tmp directory.

        with SimProcess() as sim:
            sim.control.sim.seed_vms([...]); sim.url; sim.cpu_seconds()
    """

    def __init__(self, python=None):
        self.python = python or sys.executable
        self.process = None
        self._dir = None
        self.socket_path = None
        self.control = None

    def start(self):
        self._dir = tempfile.mkdtemp(prefix="xb-", dir="/tmp")
        self.socket_path = os.path.join(self._dir, "xapi")
        env = dict(os.environ, PYTHONPATH=TESTS_DIR)
        self.process = subprocess.Popen(
            [self.python, "-m", "xapisim", "--unix-socket", self.socket_path, "--no-tcp"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            universal_newlines=True)
        line = self.process.stdout.readline()
        if "ready" not in line:
            self.stop()
            raise RuntimeError(f"the simulator did not start (it said {line!r})")
        self.control = xmlrpc.client.ServerProxy(
            "http://localhost/simctl", transport=UnixTransport(self.socket_path),
            allow_none=True)
        return self

    @property
    def url(self):
        return "unix://" + self.socket_path

    @property
    def pid(self):
        return self.process.pid

    def cpu_seconds(self):
        return procstat.cpu_seconds(self.process.pid)

    def call_counts(self):
        return self.control.sim.call_counts()

    def reset_call_counts(self):
        self.control.sim.reset_call_counts()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self.process.stdout.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def write_calls(counts):
    """How many of the counted calls changed something (VM.add_to_..., message.create...)."""
    verbs = ("add_to_", "remove_from_", "set_", "create", "destroy")
    return sum(n for method, n in counts.items()
               if any(method.rpartition(".")[2].startswith(v) for v in verbs))


def counts_since(before, after):
    """The per-method call counts made between two call_counts() readings."""
    return {m: after.get(m, 0) - before.get(m, 0) for m in after
            if after.get(m, 0) != before.get(m, 0)}
