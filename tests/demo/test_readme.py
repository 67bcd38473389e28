"""The README's examples are true: its "Try it" commands run as written in a fresh
copy of the repository, and what it shows of `systemctl status csguard` and of the
journal is what the unit and the daemon produce."""
import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
from integration.daemon_runner import DaemonRunner, wait_for
from xapisim import Simulator
from xapisim.__main__ import seed_demo
from xapisim.testing import unix_session

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(REPO, "README.md")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def readme_section(title):
    with open(README, encoding="utf-8") as f:
        text = f.read()
    start = text.index(title + "\n")
    end = re.compile(r"^#{1,3} ", re.MULTILINE).search(text, start + len(title))
    return text[start:end.start() if end else len(text)]


def code_blocks(section):
    return re.findall(r"^```\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)


def fresh_copy(destination):
    """The repository's files as a clone has them (tracked, plus new files not
    ignored); outside a git checkout, the tree without build and test leftovers."""
    try:
        listed = subprocess.check_output(
            ["git", "-C", REPO, "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"], stderr=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError):
        shutil.rmtree(destination)
        shutil.copytree(REPO, destination, ignore=shutil.ignore_patterns(
            ".git", ".tox", ".venv*", "build", "__pycache__", "*.pyc"))
        return
    for relative in filter(None, listed.decode().split("\0")):
        source = os.path.join(REPO, relative)
        if os.path.isfile(source):
            target = os.path.join(destination, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(source, target)


# What a person typing the commands waits for by eye; the script waits for it in code.
_WAITS = (
    ("-m xapisim", "for i in $(seq 300); do [ -S xapi.sock ] && break; sleep 0.1; done"),
    ("csguard daemon", ("for i in $(seq 300); do grep -qs '\"role\": \"leader\"' "
                        "state/status.json && break; sleep 0.1; done")),
)


def with_waits(block):
    lines = ["set -e", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for line in block.splitlines():
        lines.append(line)
        lines += [wait for marker, wait in _WAITS if marker in line and line.endswith("&")]
    return "\n".join(lines) + "\n"


@pytest.mark.skipif(sys.version_info < (3, 7), reason="runs the machine's python3 as the "
                    "README does; once per suite is enough")
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_try_it_runs_as_written_in_a_fresh_copy():
    setup, drive = code_blocks(readme_section("## Try it without a XenServer"))
    workdir = tempfile.mkdtemp(prefix="csguard-readme-", dir="/tmp")
    try:
        fresh_copy(workdir)
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV", "VENV", "TOX_ENV_DIR")}
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                      if ".tox" not in p)
        first = subprocess.run(["bash", "-c", with_waits(setup)], cwd=workdir, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True, timeout=600, check=False)
        assert first.returncode == 0, first.stdout
        assert "demo: as expected" in first.stdout
        second = subprocess.run(["bash", "-c", with_waits(drive)], cwd=workdir, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, timeout=300, check=False)
        assert second.returncode == 0, second.stdout
        out = second.stdout
        assert re.search(r"role \( RO\)\s*: leader", out), out
        assert re.search(r"name-label \( RO\)\s*: legacy-erp\n\s*class \( RO\): alien\n"
                         r"\s*protected \( RO\): true", out), out
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- what the README shows of a running service -------------------------------------

def shown_service_and_journal():
    status, journal = code_blocks(readme_section("### What it looks like when it works"))
    return status.splitlines(), journal.splitlines()


def unit():
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    with open(os.path.join(REPO, "rpm", "csguard.service"), encoding="utf-8") as f:
        parser.read_file(f)
    return parser


def test_systemctl_status_shows_the_units_own_lines():
    status, _ = shown_service_and_journal()
    service = unit()
    assert status[0] == f"● csguard.service - {service['Unit']['Description']}"
    assert status[1].strip().startswith(
        "Loaded: loaded (/usr/lib/systemd/system/csguard.service; enabled;")
    assert status[3].strip() == f"Docs: {service['Unit']['Documentation']}"
    with open(os.path.join(REPO, "rpm", "csguard.spec"), encoding="utf-8") as f:
        spec = f.read()
    launcher = re.search(r"/usr/bin/csguard <<'EOF'\n#!(.*)\n", spec).group(1)
    exec_start = service["Service"]["ExecStart"]
    assert status[-1].strip().endswith(f"{launcher} {exec_start}")


# Parts of a journal message that differ from run to run: (what, the pattern for it).
_VARYING = ((UUID, UUID), (r"(?<=XAPI )\S+(?=,)", r"\S+"), (r"(?<=config ).+$", r".+"))


def journal_message(line):
    """A README journal line's message, as a pattern: uuids, the XAPI URL and the
    configuration's name differ from run to run; the rest must be as shown."""
    message = re.sub(r"^\w{3} \d\d \d\d:\d\d:\d\d \S+ csguard\[\d+\]: ", "", line)
    assert message != line, f"not a journal line: {line!r}"
    spans = sorted((m.start(), m.end(), replacement) for varying, replacement in _VARYING
                   for m in re.finditer(varying, message))
    pattern, at = "", 0
    for start, end, replacement in spans:
        pattern += re.escape(message[at:start]) + replacement
        at = end
    return pattern + re.escape(message[at:])


def test_the_journal_and_status_lines_are_what_the_daemon_says():
    """The same pool (the simulator's demo seed on three hosts), the same attempt
    (CloudStack's asynchronous clean shutdown): the daemon's own lines."""
    status, journal = shown_service_and_journal()
    workdir = tempfile.mkdtemp(prefix="xs-", dir="/tmp")
    with Simulator(hosts=3, workdir=workdir) as sim:
        seed_demo(sim)
        state = tempfile.mkdtemp(prefix="cg-", dir="/tmp")
        with DaemonRunner(sim.unix_url(0), state, log_level="info") as daemon:
            daemon.wait_ready()
            cloudstack = unix_session(sim.socket_path(0), originator="cloudstack").xenapi
            vm = cloudstack.VM.get_by_name_label("legacy-erp")[0]
            cloudstack.Async.VM.clean_shutdown(vm)
            wait_for(lambda: "blocked attempt" in daemon.logs(), timeout=30,
                     what="the blocked attempt in the log", daemons=[daemon])
            time.sleep(0.2)
            logged = [re.sub(r"^\S+ [A-Z]+ ", "", line)
                      for line in daemon.logs().splitlines()]
            told = daemon.fields("STATUS")
    for line in journal:
        pattern = journal_message(line)
        assert any(re.fullmatch(pattern, message) for message in logged), (line, logged)
    shown = re.fullmatch(r'\s*Status: "(.*)"', next(s for s in status if "Status:" in s))
    assert shown.group(1) in told, told


def test_daily_use_commands_run_as_shown(tmp_path):
    """Each command of "Daily use", as written, against a pool with the VM it names
    and the daemon running: every one succeeds and says what the comment says."""
    block = code_blocks(readme_section("## Daily use"))[0]
    commands = [shlex.split(line.split("  #")[0]) for line in block.splitlines()]
    assert all(argv[0] == "csguard" for argv in commands)
    workdir = tempfile.mkdtemp(prefix="xs-", dir="/tmp")
    with Simulator(hosts=1, workdir=workdir) as sim:
        web01 = sim.create_vm("web01")[1]
        other = sim.create_vm("db02", power_state="Halted")[1]
        sim.create_vm("i-2-10-VM")
        state = tempfile.mkdtemp(prefix="cg-", dir="/tmp")
        config = tmp_path / "csguard.yaml"
        config.write_text(f"state_dir: {state}\n")
        env = dict(os.environ, CSGUARD_XAPI_URL=sim.unix_url(0), CSGUARD_CONFIG=str(config),
                   PYTHONPATH=os.pathsep.join([os.path.join(REPO, "dom0-plugin"),
                                               os.path.join(REPO, "tests")]))
        with DaemonRunner(sim.unix_url(0), state) as daemon:
            daemon.wait_ready()
            wait_for(lambda: (daemon.status_file() or {}).get("role") == "leader",
                     timeout=30, what="the status file", daemons=[daemon])
            out = {}
            for argv in commands:
                result = subprocess.run([sys.executable, "-m", *argv], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        universal_newlines=True, timeout=60, check=False)
                assert result.returncode == 0, (argv, result.stdout, result.stderr)
                out[" ".join(argv[1:])] = result.stdout
    # sorted by name, as every listing: db02, then web01
    assert out["vm-list class=alien params=uuid --minimal"] == f"{other},{web01}\n"
    assert "class ( RO): alien" in out["vm-classify vm=web01"]
    assert json.loads(out["vm-list --json"])
    assert "role ( RO)" in out["status"]
