"""The commands with CloudStack's API configured: vm-list / vm-classify decide by the
daemon's kept inventory, preflight reads the API (or the kept copy) and shows per VM
whether CloudStack owns it, status shows CloudStack's version."""
import json
import os
import subprocess
import sys

import pytest
from cloudstacksim import CloudStackSim
from integration.daemon_runner import DaemonRunner, write_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY, SECRET = "AK-csguard", "SK-never-shown-3f9a"


@pytest.fixture
def cloud():
    with CloudStackSim(api_key=KEY, secret_key=SECRET) as sim:
        sim.add("user", "i-2-10-VM")
        sim.add("router", "r-4-VM")
        sim.add("user", "i-2-77-VM")  # in another cluster: not in this pool
        yield sim


@pytest.fixture
def pool(sim, cloud, tmp_path):
    keys = tmp_path / "cloudstack.yaml"
    keys.write_text(f"api_key: {KEY}\nsecret_key: {SECRET}\n")
    os.chmod(str(keys), 0o600)
    state = str(tmp_path / "state")
    config = write_config(str(tmp_path), f"state_dir: {state}\ncloudstack:\n  api:\n"
                          f"    url: {cloud.url}\n    credentials_file: {keys}\n")
    for name in ("i-2-10-VM", "r-4-VM", "i-2-99-VM", "web01"):
        sim.create_vm(name)
    return config, state


def cli(sim, config, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(REPO, "dom0-plugin"),
                                                       os.path.join(REPO, "tests")]),
               CSGUARD_XAPI_URL=sim.unix_url(0), CSGUARD_CONFIG=config)
    env.pop("SUDO_USER", None)
    child = subprocess.Popen([sys.executable, "-m", "csguard", *args], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True)
    out, err = child.communicate(timeout=120)
    return child.returncode, out, err


def test_commands_decide_by_the_kept_inventory_and_status_shows_the_version(sim, pool):
    config, state = pool
    with DaemonRunner(sim.unix_url(0), state, config=config) as daemon:
        daemon.wait_ready()
        code, out, err = cli(sim, config, "vm-classify", "vm=i-2-99-VM", "--json")
        assert code == 0, err
        row = json.loads(out)
        assert (row["class"], row["rule"]) == ("alien", "not-in-inventory")
        code, out, _ = cli(sim, config, "vm-list", "class=cloudstack", "--minimal",
                           "params=name-label")
        assert sorted(out.strip().split(",")) == ["i-2-10-VM", "r-4-VM"]
        code, out, err = cli(sim, config, "status")
        assert "cloudstack-version" in out and "4.20.1.0" in out, err
        assert SECRET not in out


def test_preflight_shows_ownership_and_what_the_pool_lacks(sim, pool, cloud):
    config, _state = pool
    _code, out, err = cli(sim, config, "preflight")
    assert "CloudStack:" in out and "version 4.20.1.0" in out, err
    rows = {name: next(line for line in out.splitlines() if f"'{name}'" in line)
            for name in ("i-2-10-VM", "i-2-99-VM")}
    assert " yes " in rows["i-2-10-VM"] and " no " in rows["i-2-99-VM"]
    assert "CloudStack knows 1 VM(s) this pool does not have" in out
    assert "i-2-77-VM" in out
    _code, out, _ = cli(sim, config, "preflight", "--json")
    data = json.loads(out)
    owns = {row["name-label"]: row["cloudstack-owns"] for row in data["vms"]}
    assert owns["i-2-10-VM"] == "yes" and owns["web01"] == "no"
    cloud.mode = "error"
    _code, out, _ = cli(sim, config, "preflight")
    assert "inventory: none" in out and "no inventory" in out
    assert SECRET not in out
