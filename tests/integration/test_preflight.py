"""`csguard preflight` end to end: pools built on the simulator to contain each
finding, read by the CLI (a subprocess, as an operator runs it) and by the host
plugin's fn preflight (through host.call_plugin, as XAPI runs it); each host's
csguard is asked through the real plugin, and a real daemon guards the pool where
a test needs one."""
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import XenAPI
from cloudstack import CloudStack
from xapisim import Simulator

from integration.daemon_runner import DaemonRunner, missing_blocks
from integration.plugin_file import LIBRARY, install

NULL = "OpaqueRef:NULL"


class Pool:
    """A simulator with the csguard plugin installed (or not), a config file and a
    state directory shared by the daemon and the plugin, as on a real host."""

    def __init__(self, workdir, sim, config):
        self.workdir = workdir
        self.sim = sim
        self.config = config
        self.state_dir = os.path.join(workdir, "state")

    def write_config(self, text=""):
        with open(self.config, "w") as f:
            f.write(f"state_dir: {self.state_dir}\n" + text)

    @contextlib.contextmanager
    def daemon(self):
        """The csguard daemon on host 0 (the master), ready and leading inside the
        block, stopped after it."""
        with DaemonRunner(self.sim.unix_url(0), self.state_dir, config=self.config) as runner:
            runner.wait_ready()
            runner.wait_until(lambda: self._status().get("role") == "leader",
                              what="the status file to say leader")
            yield runner

    def _status(self):
        try:
            with open(os.path.join(self.state_dir, "status.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def cli(self, *args, url=None):
        """`python -m csguard preflight args...` on host 0: (exit status, stdout);
        anything on stderr fails the test unless the status says an error."""
        env = dict(os.environ, PYTHONPATH=LIBRARY, CSGUARD_CONFIG=self.config)
        argv = [sys.executable, "-m", "csguard", "preflight", "--xapi-url",
                url or self.sim.unix_url(0), *args]
        child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 universal_newlines=True)
        stdout, stderr = child.communicate(timeout=120)
        if child.returncode in (0, 1, 2):
            assert stderr == ""
            return child.returncode, stdout
        return child.returncode, stderr

    def report(self):
        """The --json report, checked to carry the exit status it came with."""
        status, out = self.cli("--json")
        report = json.loads(out)
        assert report["exit-code"] == status
        return report

    def plugin(self):
        """xe host-call-plugin host-uuid=<host 0> plugin=csguard fn=preflight"""
        session = XenAPI.Session(self.sim.tcp_url)
        session.login_with_password("root", "xenroot", "2.0", "test_preflight")
        try:
            return json.loads(session.xenapi.host.call_plugin(
                self.sim.host_refs[0], "csguard", "preflight", {}))
        finally:
            session.xenapi.session.logout()

    @contextlib.contextmanager
    def cloudstack(self, version):
        """A CloudStack management server of that version with this pool as cluster."""
        session = XenAPI.Session(self.sim.tcp_url)
        session.login_with_password("root", "xenroot", "1.0")
        try:
            yield CloudStack(session, version=version)
        finally:
            session.xenapi.session.logout()

    def xapi(self, method, *args):
        """One call as an operator would make it (xe), through the real client."""
        session = XenAPI.Session(self.sim.tcp_url)
        session.login_with_password("root", "xenroot", "2.0", "test_preflight")
        try:
            return session.xenapi_request(method, args)
        finally:
            session.xenapi.session.logout()


@pytest.fixture
def make_pool():
    """make_pool(hosts=1, plugin=True, config="") -> a started Pool. The plugin is
    written as the RPM writes it, with this Python, csguard's library and this
    pool's config; XAPI runs it with PATH alone."""
    pools = []

    def make(hosts=1, plugin=True, config=""):
        workdir = tempfile.mkdtemp(prefix="xs-", dir="/tmp")
        plugins = os.path.join(workdir, "plugins")
        os.mkdir(plugins)
        config_path = os.path.join(workdir, "csguard.yaml")
        if plugin:
            install(plugins, config_path)
        sim = Simulator(hosts=hosts, workdir=workdir, plugins_dir=plugins).start()
        pool = Pool(workdir, sim, config_path)
        pool.write_config(config)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.sim.stop()
        shutil.rmtree(pool.workdir, ignore_errors=True)


def codes(report, severity=None):
    return [f["code"] for f in report["findings"] if severity in (None, f["severity"])]


def finding(report, code):
    found = [f for f in report["findings"] if f["code"] == code]
    assert len(found) == 1, codes(report)
    return found[0]


def vm_row(report, uuid):
    return next(v for v in report["vms"] if v["uuid"] == uuid)


# --- the whole pool ------------------------------------------------------------------

def test_a_pool_guarded_by_its_daemon_is_ready(make_pool):
    pool = make_pool()
    web = pool.sim.create_vm("web-01")[1]
    db = pool.sim.create_vm("db-02", power_state="Halted")[1]
    pool.sim.create_vm("r-5-VM")
    pool.sim.create_vm("CentOS 7", power_state="Halted", is_a_template=True)
    with pool.daemon():
        status, out = pool.cli()
        report = pool.report()
    assert status == 0
    assert out.splitlines()[-1] == "Verdict: ready (0 error(s), 0 warning(s))"
    assert report["verdict"] == "ready"
    assert [vm_row(report, uuid)["protected-by"] for uuid in (web, db)] == ["csguard"] * 2
    assert [(h["name-label"], h["is-master"], h["csguard"]) for h in report["hosts"]] == [
        ("xs-0", True, "leading")]
    assert codes(report, "info") == ["cloudstack-by-name", "power-state-reset", "guest-shutdown"]


def test_without_a_daemon_the_aliens_are_unprotected_and_nobody_leads(make_pool):
    pool = make_pool()
    web = pool.sim.create_vm("web-01")[1]
    status, out = pool.cli()
    assert status == 2
    assert out.splitlines()[-1].startswith("Verdict: not ready (2 error(s)")
    report = pool.report()
    assert [i["uuid"] for i in finding(report, "alien-unprotected")["vms"]] == [web]
    assert "no-leader" in codes(report, "error")
    assert [h["name-label"] for h in finding(report, "csguard-not-running")["hosts"]] == ["xs-0"]
    with pool.cloudstack("4.0.2") as cloudstack:
        cloudstack.sync()
    assert pool.sim.vm_record(web) is None, "CloudStack destroyed it, as the error said"


def test_hosts_without_the_plugin_are_reported_not_installed(make_pool):
    pool = make_pool(hosts=3, plugin=False)
    report = pool.report()
    assert report["exit-code"] == 2
    assert [h["csguard"] for h in report["hosts"]] == ["not installed"] * 3
    assert [h["name-label"] for h in finding(report, "csguard-not-installed")["hosts"]] == [
        "xs-0", "xs-1", "xs-2"]
    assert "no-leader" in codes(report, "error")


def test_every_host_is_asked_and_several_leaders_are_a_warning(make_pool):
    """The simulator runs every host's plugin on this one machine, so all three
    hosts report the one daemon's status file: three leaders for preflight."""
    pool = make_pool(hosts=3)
    pool.sim.create_vm("web-01")
    with pool.daemon():
        report = pool.report()
    assert report["exit-code"] == 1
    assert [(h["name-label"], h["is-master"], h["csguard"]) for h in report["hosts"]] == [
        ("xs-0", True, "leading"), ("xs-1", False, "leading"), ("xs-2", False, "leading")]
    assert [h["name-label"] for h in finding(report, "several-leaders")["hosts"]] == [
        "xs-0", "xs-1", "xs-2"]


def test_the_plugin_fn_answers_the_same_report(make_pool):
    pool = make_pool()
    pool.sim.create_vm("web-01")
    pool.sim.create_vm("i-2-10-vm")
    report = pool.plugin()
    assert report == pool.report()
    assert (report["verdict"], report["exit-code"]) == ("not ready", 2)


def test_errors_exit_with_codes_no_verdict_uses(make_pool):
    pool = make_pool()
    status, err = pool.cli(url="unix://" + os.path.join(pool.workdir, "no-such-socket"))
    assert status == 69 and "cannot reach XAPI" in err
    status, err = pool.cli("--json", "verbose=yes")
    assert status == 64 and "unknown argument 'verbose'" in err


# --- findings, each in a pool built to contain it ---------------------------------------

def test_a_halted_alien_homed_on_a_host_is_cleared_so_that_the_host_connects(make_pool):
    pool = make_pool()
    ref, uuid = pool.sim.create_vm("old-db", power_state="Halted", affinity=0)
    master = pool.sim.host_refs[0]
    before = pool.report()                      # what the daemon will do, by name
    host = next(h for h in before["hosts"] if h["name-label"] == "xs-0")
    assert (host["connect"], host["clears"]) == ("succeeds", ["old-db"])
    assert [v["uuid"] for v in finding(before, "affinity-cleared")["vms"]] == [uuid]
    _, text = pool.cli()
    assert "succeeds (csguard clears 1 VM affinity)" in text and "'old-db'" in text
    with pool.daemon(), pool.cloudstack("4.0.2") as cloudstack:
        assert pool.xapi("VM.get_affinity", ref) == NULL
        assert pool.sim.vm_record(uuid)["other_config"]["csguard:affinity"] == (
            pool.sim.host_uuids[0])
        report = pool.report()
        assert cloudstack.ready(master) is True
    host = next(h for h in report["hosts"] if h["name-label"] == "xs-0")
    assert (host["clears"], host["cleared"]) == ([], ["old-db"])
    assert "halted-alien-affinity" not in codes(report)
    assert report["exit-code"] == 0
    assert pool.sim.vm_record(uuid)["power_state"] == "Halted"


def test_with_clearing_turned_off_the_connect_fails_as_preflight_says(make_pool):
    pool = make_pool(config="protection:\n  clear_halted_affinity: false\n")
    ref, uuid = pool.sim.create_vm("old-db", power_state="Halted", affinity=0)
    with pool.daemon(), pool.cloudstack("4.0.2") as cloudstack:
        report = pool.report()
        assert report["hosts"][0]["connect"] == "fails on 4.0 - 4.2"
        found = finding(report, "halted-alien-affinity")
        assert [v["uuid"] for v in found["vms"]] == [uuid]
        assert "clear_halted_affinity is false" in found["vms"][0]["note"]
        assert cloudstack.ready(pool.sim.host_refs[0]) is False, "as preflight said"
    assert pool.xapi("VM.get_affinity", ref) == pool.sim.host_refs[0]


def test_lookalike_names_are_warned_about_until_an_override_decides(make_pool):
    pool = make_pool()
    ref, lower = pool.sim.create_vm("i-2-10-vm")
    spaced = pool.sim.create_vm("i-2-11-VM ")[1]
    with pool.daemon():
        report = pool.report()
        assert report["exit-code"] == 1
        found = [f for f in report["findings"] if f["code"] == "cloudstack-lookalike-alien"]
        assert sorted(f["vms"][0]["uuid"] for f in found) == sorted([lower, spaced])
        assert all(f["vms"][0]["uuid"] in f["fix"] for f in found)
        pool.xapi("VM.add_to_other_config", ref, "csguard:override", "allow")
        report = pool.report()
    still = [f["vms"][0]["uuid"] for f in report["findings"]
             if f["code"] == "cloudstack-lookalike-alien"]
    assert still == [spaced]
    assert vm_row(report, lower)["class"] == "exempt"


def test_a_hand_made_vm_under_a_cloudstack_name_is_warned_about(make_pool):
    pool = make_pool()
    pool.sim.create_vm("i-2-10-VM")
    ref, hand_made = pool.sim.create_vm("i-2-10-VM", power_state="Halted")
    with pool.daemon() as daemon:
        report = pool.report()
        assert report["exit-code"] == 1
        assert hand_made in [i["uuid"] for i in finding(report, "cloudstack-name-duplicate")["vms"]]
        pool.xapi("VM.add_tags", ref, "csguard-protect")
        daemon.wait_until(lambda: not missing_blocks(pool.sim, [hand_made]),
                          what="the daemon to protect the tagged VM")
        report = pool.report()
    assert "cloudstack-name-duplicate" not in codes(report)
    assert vm_row(report, hand_made)["class"] == "alien"
    assert report["exit-code"] == 0


def test_blocks_that_break_ha_and_maintenance_are_warned_about(make_pool):
    pool = make_pool(config="protection:\n  block_operations: [clean_shutdown, hard_shutdown,"
                            " shutdown, destroy, pool_migrate]\n")
    xo = pool.sim.create_vm("xo-protected", blocked_operations={"start": "true"})[1]
    with pool.daemon():
        report = pool.report()
    assert report["exit-code"] == 1
    assert "pool_migrate" in finding(report, "disruptive-block-configured")["summary"]
    existing = finding(report, "disruptive-block-existing")
    assert [i["uuid"] for i in existing["vms"]] == [xo]
    assert "param-key=start" in existing["fix"]


def test_an_exempted_alien_is_warned_about(make_pool):
    pool = make_pool()
    uuid = pool.sim.create_vm("web-01")[1]
    with pool.daemon():
        env = dict(os.environ, PYTHONPATH=LIBRARY, CSGUARD_CONFIG=pool.config,
                   CSGUARD_XAPI_URL=pool.sim.unix_url(0))
        subprocess.run([sys.executable, "-m", "csguard", "vm-unblock", "uuid=" + uuid,
                        "reason=maintenance", "duration=1h"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        report = pool.report()
    assert report["exit-code"] == 1
    assert [i["uuid"] for i in finding(report, "exempt-unprotected")["vms"]] == [uuid]
    assert "alien-unprotected" not in codes(report)


def test_audit_mode_is_not_ready(make_pool):
    pool = make_pool(config="protection:\n  mode: audit\n")
    uuid = pool.sim.create_vm("web-01")[1]
    with pool.daemon():
        report = pool.report()
    assert report["exit-code"] == 2 and report["mode"] == "audit"
    assert [h["name-label"] for h in finding(report, "audit-mode")["hosts"]] == ["xs-0"]
    assert [i["uuid"] for i in finding(report, "alien-unprotected")["vms"]] == [uuid]


def test_a_host_older_than_xenserver_6_1_is_warned_about(make_pool):
    pool = make_pool()
    uuid = pool.sim.create_vm("web-01")[1]
    # No XAPI call changes software_version: set it on the simulator's side.
    db = pool.sim.pool.db
    with db.lock:
        db.update("host", pool.sim.host_refs[0], {"software_version": {
            "product_version": "6.0.2", "product_brand": "XenServer"}})
    with pool.daemon():
        report = pool.report()
    assert report["exit-code"] == 1
    found = finding(report, "forced-kill-outside-xapi")
    assert [h["name-label"] for h in found["hosts"]] == ["xs-0"]
    assert [i["uuid"] for i in found["vms"]] == [uuid]
    assert report["hosts"][0]["version"] == "XenServer 6.0.2"
