"""UTF-8 whatever the locale: the command line, the daemon and the host plugin run
with no LANG or LC_* at all (what XAPI gives a plugin, what cron and a bare ssh
give a command; the host plugin's case is in test_plugin.py). Python 3.6 then reads and writes ASCII unless csguard says
otherwise; newer Pythons switch to UTF-8 by themselves (PEP 538/540)."""
import json
import os
import sys
import tempfile

from csguard import records
from xapisim import Simulator

from integration.daemon_runner import DaemonRunner, missing_blocks, wait_for
from integration.test_cli import PLUGIN_DIR, REPO, run, write_default_config

NAME = "modèle Ünïcødé 中文"
REASON = "maintenance prévue ☕"
BARE_PATH = "/sbin:/usr/sbin:/bin:/usr/bin"


def bare_env(sim, **extra):
    """No locale variable at all: only what the command needs to find its code,
    its configuration and XAPI."""
    env = {"PATH": BARE_PATH,
           "PYTHONPATH": os.pathsep.join([PLUGIN_DIR, os.path.join(REPO, "tests")]),
           "CSGUARD_XAPI_URL": sim.unix_url(0),
           "CSGUARD_CONFIG": sim.default_config}
    env.update(extra)
    return env


def bare_cli(sim, *args):
    return run([sys.executable, "-m", "csguard", *args], bare_env(sim))


def make_sim():
    workdir = tempfile.mkdtemp(prefix="xs-", dir="/tmp")
    simulator = Simulator(hosts=1, workdir=workdir)
    simulator.default_config = write_default_config(workdir)
    return simulator


def test_vm_list_and_preflight_print_a_non_ascii_name():
    with make_sim() as sim:
        uuid = sim.create_vm(NAME)[1]
        listed = bare_cli(sim, "vm-list", "uuid=" + uuid)
        assert listed.returncode == 0, listed.stderr
        assert NAME in listed.stdout
        as_json = bare_cli(sim, "vm-list", "uuid=" + uuid, "--json")
        assert json.loads(as_json.stdout)[0]["name-label"] == NAME
        report = bare_cli(sim, "preflight")
        assert report.returncode in (0, 1, 2) and "Traceback" not in report.stderr
        assert NAME in report.stdout


def test_vm_unblock_records_a_non_ascii_reason_and_finds_a_non_ascii_name():
    with make_sim() as sim:
        uuid = sim.create_vm(NAME)[1]
        result = bare_cli(sim, "vm-unblock", "vm=" + NAME, "reason=" + REASON,
                          "duration=1h")
        assert result.returncode == 0, result.stderr
        exemption = records.parse_exemption(
            sim.vm_record(uuid)["other_config"][records.KEY_EXEMPTION])
        assert exemption.reason == REASON
        unknown = bare_cli(sim, "vm-classify", "vm=nöne")
        assert unknown.returncode == 1 and "'nöne'" in unknown.stderr


def test_the_daemon_logs_a_non_ascii_name():
    with make_sim() as sim:
        uuid = sim.create_vm(NAME)[1]
        state = tempfile.mkdtemp(prefix="cg-", dir="/tmp")
        env = {"LANG": "", "LC_ALL": "", "LC_CTYPE": ""}  # empty is unset for setlocale
        with DaemonRunner(sim.unix_url(0), state, env=env) as daemon:
            daemon.wait_ready()
            wait_for(lambda: not missing_blocks(sim, [uuid]), timeout=30,
                     what="the VM protected", daemons=[daemon])
            logs = daemon.logs()
        assert "Logging error" not in logs and "UnicodeEncodeError" not in logs
        assert NAME in logs, [l for l in logs.splitlines() if "mod" in l]
