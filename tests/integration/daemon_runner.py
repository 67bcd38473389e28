"""Run the csguard daemon as a subprocess, the way systemd runs it.

    with DaemonRunner(sim.unix_url(0), state_dir) as daemon:
        daemon.wait_ready()
        ...
    # leaving the block sends SIGTERM and checks the exit status

The runner owns a NOTIFY_SOCKET (a unix datagram socket in a short /tmp directory)
and records every sd_notify message the daemon sends; stderr goes to a file that
`logs()` reads. Every wait polls with a deadline and raises `DaemonError` carrying
the tail of the daemon's log, so a failing test says what the daemon was doing.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGIN_DIR = os.path.join(REPO, "dom0-plugin")


class DaemonError(AssertionError):
    """The daemon did not do what a test waited for (the message has its log)."""


class DaemonRunner:
    """One `python -m csguard daemon` process with its notify socket and log.

    xapi_url, state_dir, config: passed as --xapi-url, --state-dir, --config.
    extra_args: more command-line arguments. env: extra environment variables
    (e.g. {"WATCHDOG_USEC": "2000000"}). python: the interpreter (default: the
    one running the tests, so py36 tests run a py36 daemon).
    """

    def __init__(self, xapi_url, state_dir, config=None, extra_args=(), env=None,
                 python=None, log_level="debug"):
        self.xapi_url = xapi_url
        self.state_dir = state_dir
        self.config = config
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})
        self.python = python or sys.executable
        self.log_level = log_level
        self.process = None
        self.notifications = []       # every sd_notify datagram, in order
        self._lock = threading.Condition()
        self._dir = None
        self._sock = None
        self._reader = None
        self._log_path = None
        self._log_file = None

    # ---- lifecycle ---------------------------------------------------------------

    @property
    def command(self):
        argv = [self.python, "-m", "csguard", "daemon", "--xapi-url", self.xapi_url,
                "--log-level", self.log_level]
        if self.state_dir is not None:      # None: the config's state_dir, as systemd runs it
            argv[-2:-2] = ["--state-dir", self.state_dir]
        if self.config is not None:
            argv += ["--config", self.config]
        return argv + self.extra_args

    def start(self):
        self._dir = tempfile.mkdtemp(prefix="cg-", dir="/tmp")
        notify_path = os.path.join(self._dir, "notify")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(notify_path)
        self._sock.settimeout(0.2)
        self._reader = threading.Thread(target=self._read_notifications, daemon=True)
        self._reader.start()
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        env["PYTHONPATH"] = os.pathsep.join(
            [PLUGIN_DIR] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        env["NOTIFY_SOCKET"] = notify_path
        env.update(self.extra_env)
        self._log_path = os.path.join(self._dir, "stderr.log")
        self._log_file = open(self._log_path, "wb")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(self.command, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self._log_file, stderr=subprocess.STDOUT)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.running:
                code = self.stop()
                if exc_type is None and code != 0:
                    raise DaemonError(f"the daemon exited {code} on SIGTERM\n{self.log_tail()}")
        finally:
            self.close()

    @property
    def pid(self):
        return self.process.pid

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self):
        return self.process.poll()

    def send_signal(self, signum):
        self.process.send_signal(signum)

    def stop(self, timeout=15.0):
        """SIGTERM, then wait; returns the exit status (SIGKILL and raise if it hangs)."""
        if not self.running:
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise DaemonError(f"the daemon did not exit within {timeout} s of SIGTERM\n{self.log_tail()}")

    def kill(self):
        """SIGKILL, as a crash would."""
        self.process.kill()
        return self.process.wait()

    def close(self):
        """Release the socket, log file and temporary directory (after stop/kill)."""
        if self.running:
            self.kill()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._reader is not None:
            self._reader.join(2)
            self._reader = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._dir is not None:
            self._final_log = self.logs()
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    # ---- what the daemon said ------------------------------------------------------

    def _read_notifications(self):
        sock = self._sock
        while True:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.notifications.append(data.decode("utf-8", "replace"))
                self._lock.notify_all()

    def fields(self, name):
        """Every value the daemon sent for NAME= (e.g. "STATUS"), in order."""
        prefix = name + "="
        with self._lock:
            return [line[len(prefix):] for message in self.notifications
                    for line in message.split("\n") if line.startswith(prefix)]

    @property
    def ready(self):
        return "1" in self.fields("READY")

    @property
    def status(self):
        """The latest STATUS= line, or None."""
        values = self.fields("STATUS")
        return values[-1] if values else None

    def logs(self):
        if self._log_path is None or not os.path.exists(self._log_path):
            return getattr(self, "_final_log", "")
        with open(self._log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_tail(self, lines=40):
        tail = "\n".join(self.logs().splitlines()[-lines:])
        return f"--- daemon log (last {lines} lines) ---\n{tail}"

    # ---- waiting -------------------------------------------------------------------

    def wait_until(self, predicate, timeout=60.0, what="the condition", interval=0.05):
        """Poll predicate() until it is true; DaemonError (with the log) otherwise,
        also when the daemon exits first."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if not self.running:
                raise DaemonError(f"the daemon exited (status {self.returncode}) while waiting for {what}\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise DaemonError(f"timed out after {timeout} s waiting for {what}\n{self.log_tail()}")
            time.sleep(interval)

    def wait_ready(self, timeout=60.0):
        return self.wait_until(lambda: self.ready, timeout, "READY=1")

    def wait_status(self, text, timeout=60.0):
        """Wait until the latest STATUS= line contains `text`."""
        return self.wait_until(lambda: text in (self.status or ""), timeout,
                               f"STATUS= containing {text!r}")

    def wait_log(self, text, timeout=60.0):
        """Wait until the log contains `text`."""
        return self.wait_until(lambda: text in self.logs(), timeout,
                               f"log line containing {text!r}")

    def wait_exit(self, timeout=30.0):
        """Wait for the process to end by itself; returns its exit status."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise DaemonError(f"the daemon still runs after {timeout} s\n{self.log_tail()}")

    def status_file(self):
        """The parsed status.json, or None while it does not exist (or is unreadable)."""
        try:
            with open(os.path.join(self.state_dir, "status.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


# ---- helpers for tests that run daemons against the simulator ------------------------

DEFAULT_BLOCKED = ("clean_shutdown", "hard_shutdown", "shutdown", "destroy")


def write_config(directory, text, name="csguard.yaml"):
    """Write a config file into directory; returns its path."""
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_for(predicate, timeout=60.0, what="the condition", daemons=(), interval=0.05):
    """Poll predicate() until true; on timeout raise DaemonError with the logs of
    `daemons` (DaemonRunner objects) so the failure explains itself."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DaemonError("timed out after {} s waiting for {}\n{}".format(
                timeout, what, "\n".join(d.log_tail() for d in daemons)))
        time.sleep(interval)


def missing_blocks(sim, uuids, operations=DEFAULT_BLOCKED):
    """{uuid: [operations not blocked]} for the VMs among uuids that are not fully
    blocked (a VM that no longer exists counts as missing everything)."""
    missing = {}
    for uuid in uuids:
        record = sim.vm_record(uuid)
        blocked = record["blocked_operations"] if record else {}
        absent = [op for op in operations if op not in blocked]
        if absent:
            missing[uuid] = absent
    return missing


def xenapi_session(sim, host=0, originator="test"):
    """A logged-in XenAPI.Session on host's unix socket, as another local client
    (an admin's script, CloudStack's replay) would hold one. The unix socket avoids
    the loopback TCP's per-call latency; any socket path works through csguard's
    transport (XenAPI's own would turn "_" in the path into "/")."""
    import XenAPI
    from csguard.transport import UnixTransport

    session = XenAPI.Session("http://localhost/",
                             transport=UnixTransport(sim.socket_path(host), 30.0))
    session.login_with_password("root", "", "1.0", originator)
    return session
