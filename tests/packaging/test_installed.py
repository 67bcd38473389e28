"""The unpacked RPM, run as a host runs it: /usr/bin/csguard (daemon and CLI) and
/etc/xapi.d/plugins/csguard under Python 3.6, isolated from site-packages, against
the simulator. Only the payload's own files are used, never the repository's."""
import json
import os

import pytest
import XenAPI
from csguard import records
from integration.daemon_runner import DaemonRunner, missing_blocks
from integration.plugin_file import install
from xapisim import Simulator

from .conftest import run

ALIENS = ("web-01", "db-02")
PLUGIN = "/etc/xapi.d/plugins/csguard"


class InstalledDaemon(DaemonRunner):
    """The daemon as the unit starts it (`/usr/bin/csguard daemon`), from the
    unpacked root; -S so only the payload can supply its dependencies."""

    def __init__(self, launcher, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.launcher = launcher

    @property
    def command(self):
        return [self.python, "-I", "-S", self.launcher] + super().command[3:]


@pytest.fixture
def host(payload_root, python36, tmp_path):
    """A one-host simulator whose plugins directory holds the payload's plugin with
    the payload's paths written in instead of the install paths (as rpm/plugin.py
    wrote those), run under Python 3.6 with -I -S, as bare as dom0's; XAPI gives it
    PATH alone."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    config = os.path.join(payload_root, "etc/csguard/csguard.yaml")
    install(str(plugins), config, template=os.path.join(payload_root, PLUGIN[1:]),
            python=python36 + " -IS", library=os.path.join(payload_root, "usr/lib/csguard"))
    with Simulator(hosts=1, plugins_dir=str(plugins)) as sim:
        sim.vms = {
            "web-01": sim.create_vm("web-01")[1],
            "db-02": sim.create_vm("db-02", power_state="Halted",
                                   blocked_operations={"destroy": "true"})[1],
            "i-2-10-VM": sim.create_vm("i-2-10-VM")[1],
        }
        sim.config = config
        sim.csguard = [python36, "-I", "-S", os.path.join(payload_root, "usr/bin/csguard"),
                       "--xapi-url", sim.unix_url(0), "--config", config]
        yield sim


def csguard(host, *args):
    """`csguard args...` from the payload; its stdout (a non-zero exit fails the test)."""
    return run(host.csguard + list(args))


def test_installed_daemon_protects_and_installed_cli_lists_and_unblocks(host, tmp_path):
    aliens = [host.vms[name] for name in ALIENS]
    daemon = InstalledDaemon(host.csguard[3], host.unix_url(0), str(tmp_path / "state"),
                             config=host.config, python=host.csguard[0], log_level="info")
    with daemon:
        daemon.wait_ready()
        assert missing_blocks(host, aliens) == {}
        assert host.vm_record(host.vms["i-2-10-VM"])["blocked_operations"] == {}
        assert host.vm_record(host.vms["db-02"])["blocked_operations"]["destroy"] == "true"

        rows = json.loads(csguard(host, "vm-list", "class=alien", "--json"))
        assert sorted(row["name-label"] for row in rows) == sorted(ALIENS)

        web = host.vms["web-01"]
        csguard(host, "vm-unblock", "uuid=" + web, "reason=packaging test")
        assert records.KEY_EXEMPTION in host.vm_record(web)["other_config"]
        daemon.wait_status("1 exempt")
        assert host.vm_record(web)["blocked_operations"] == {}
        rows = json.loads(csguard(host, "vm-list", "uuid=" + web, "params=all", "--json"))
        assert rows[0]["class"] == "exempt"
    # stopping the service, as an erase does, leaves the blocks in place
    assert missing_blocks(host, [host.vms["db-02"]]) == {}


def test_installed_plugin_answers_through_host_call_plugin(host):
    session = XenAPI.Session(host.tcp_url)
    session.login_with_password("root", "xenroot", "2.0", "test_installed")
    try:
        reply = session.xenapi.host.call_plugin(host.host_refs[0], "csguard", "vm-list",
                                                {"class": "cloudstack"})
    finally:
        session.xenapi.session.logout()
    assert [row["name-label"] for row in json.loads(reply)] == ["i-2-10-VM"]



def test_the_installed_plugin_carries_the_install_paths(payload_root):
    with open(os.path.join(payload_root, PLUGIN[1:])) as plugin:
        text = plugin.read()
    assert text.startswith("#!/usr/bin/python3 -I\n")
    for line in ('LIBRARY = "/usr/lib/csguard"', 'CONFIG = "/etc/csguard/csguard.yaml"',
                 'XAPI_URL = "unix:///var/lib/xcp/xapi"'):
        assert line + "\n" in text
