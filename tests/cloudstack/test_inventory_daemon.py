"""The daemon with CloudStack's API as the ownership source, end to end: the XAPI
simulator, the CloudStack API simulator and CloudStack's replayed XenServer calls.
Leftovers named like CloudStack's VMs are protected from READY=1 on and survive
current CloudStack's attacks by name; every VM in the inventory is left to
CloudStack; an API that is down or answers garbage unprotects nothing, also
across a restart; a VM CloudStack adds is released within `refresh`; bad keys
give one clear error and never show the secret."""
import json
import os

import pytest
from cloudstacksim import CloudStackSim
from csguard import inventory, records
from integration.daemon_runner import DaemonRunner, missing_blocks, write_config, xenapi_session

from cloudstack.replay import CloudStack

KEY, SECRET = "AK-csguard", "SK-never-shown-3f9a"
OWNED = ("i-2-10-VM", "r-4-VM", "s-1-VM", "b-7-VM", "i-5-12-VM")


@pytest.fixture
def cloud():
    with CloudStackSim(api_key=KEY, secret_key=SECRET) as sim:
        for kind, name, project in (("user", "i-2-10-VM", None), ("router", "r-4-VM", None),
                                    ("system", "s-1-VM", None),
                                    ("internallb", "b-7-VM", None),
                                    ("user", "i-5-12-VM", "p1")):
            sim.add(kind, name, account="project" if project else "admin", project=project)
        yield sim


def keys_file(directory, secret=SECRET, mode=0o600):
    path = os.path.join(directory, "cloudstack.yaml")
    with open(path, "w") as handle:
        handle.write(f"api_key: {KEY}\nsecret_key: {secret}\n")
    os.chmod(path, mode)
    return path


def config_for(tmp_path, cloud_url, keys):
    return write_config(str(tmp_path), f"cloudstack:\n  api:\n    url: {cloud_url}\n"
                        f"    credentials_file: {keys}\n    refresh: 10\n")


@pytest.fixture
def setup(sim, cloud, tmp_path):
    """(config path, state dir, {name: uuid} of the pool's VMs)."""
    vms = {name: sim.create_vm(name)[1] for name in OWNED}
    vms["i-2-98-VM"] = sim.create_vm("i-2-98-VM", power_state="Halted", affinity=0)[1]
    vms["i-2-99-VM"] = sim.create_vm("i-2-99-VM")[1]
    vms["web01"] = sim.create_vm("web01")[1]
    vms["l-3-VM"] = sim.create_vm("l-3-VM")[1]
    return config_for(tmp_path, cloud.url, keys_file(str(tmp_path))), \
        str(tmp_path / "state"), vms


def protected(sim, uuid):
    return not missing_blocks(sim, [uuid])


def unblocked(sim, uuid):
    return not sim.vm_record(uuid)["blocked_operations"]


def test_leftovers_are_protected_and_survive_current_cloudstack(sim, setup):
    config, state, vms = setup
    with DaemonRunner(sim.unix_url(0), state, config=config) as daemon:
        daemon.wait_ready()
        for name in ("i-2-98-VM", "i-2-99-VM", "web01"):
            assert protected(sim, vms[name]), name
        for name in OWNED + ("l-3-VM",):
            assert unblocked(sim, vms[name]), (name, daemon.log_tail())
        verdict = sim.vm_record(vms["i-2-99-VM"])["other_config"][records.KEY_VERDICT]
        assert "CloudStack's inventory does not hold it" in verdict
        status = daemon.status_file()
        assert status["cloudstack_version"] == "4.20.1.0"
        assert status["cloudstack_inventory"].startswith("fresh, 5 VMs")

        session = xenapi_session(sim)
        try:
            cs = CloudStack(session, version="4.21", known_names=OWNED, poll_interval=0.01)
            # Host connect: cleanupHaltedVms destroys halted ^[ivs]-\d+- VMs whose
            # affinity is the host; csguard cleared the protected leftover's affinity,
            # so the connect succeeds and the VM is not even tried.
            assert cs.ready(sim.host_refs[0]) is True
            # A stop by name (the power report found "its" VM powered off elsewhere).
            assert cs.stop_own("i-2-99-VM") is False
            # CitrixStartCommandWrapper: a halted VM named like the one to start is
            # destroyed first.
            halted = session.xenapi.VM.get_by_name_label("i-2-98-VM")
            with pytest.raises(Exception, match="OPERATION_BLOCKED"):
                session.xenapi.VM.destroy(halted[0])
        finally:
            session.xenapi.session.logout()
        for name in ("i-2-98-VM", "i-2-99-VM"):
            record = sim.vm_record(vms[name])
            assert record is not None and protected(sim, vms[name])
        assert sim.vm_record(vms["i-2-99-VM"])["power_state"] == "Running"


def test_api_down_or_garbage_unprotects_nothing_even_across_a_restart(sim, cloud, setup,
                                                                      tmp_path):
    config, state, vms = setup
    with DaemonRunner(sim.unix_url(0), state, config=config) as daemon:
        daemon.wait_ready()
        cloud.mode = "garbage"
        daemon.wait_log("cannot read CloudStack's inventory", timeout=30)
        assert protected(sim, vms["i-2-99-VM"]) and unblocked(sim, vms["i-2-10-VM"])
        daemon.wait_until(lambda: daemon.status_file()["cloudstack_inventory"].startswith(
            "stale"), what="the status file saying the inventory is stale")
    cloud.stop()
    with DaemonRunner(sim.unix_url(0), state, config=config) as daemon:
        daemon.wait_ready()
        daemon.wait_log("kept inventory loaded")
        assert protected(sim, vms["i-2-99-VM"]) and protected(sim, vms["i-2-98-VM"])
        assert unblocked(sim, vms["i-2-10-VM"])
    # A first start ever during the outage: no inventory, so every CloudStack name
    # is protected rather than trusted.
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "fresh"), config=config) as daemon:
        daemon.wait_ready()
        assert protected(sim, vms["i-2-99-VM"]) and protected(sim, vms["i-2-10-VM"])
        daemon.wait_until(lambda: daemon.status_file()["cloudstack_inventory"] == "none",
                          what="the status file saying there is no inventory")


def test_a_vm_added_to_the_inventory_is_released_within_refresh(sim, cloud, setup):
    config, state, vms = setup
    with DaemonRunner(sim.unix_url(0), state, config=config) as daemon:
        daemon.wait_ready()
        assert protected(sim, vms["i-2-99-VM"])
        cloud.add("user", "i-2-99-VM")
        daemon.wait_until(lambda: unblocked(sim, vms["i-2-99-VM"]), timeout=30,
                          what="i-2-99-VM released after the next refresh")


def test_a_vm_cloudstack_creates_is_never_blocked(sim, cloud, setup):
    config, state, _ = setup
    with DaemonRunner(sim.unix_url(0), state, config=config) as daemon:
        daemon.wait_ready()
        session = xenapi_session(sim)
        try:
            cs = CloudStack(session, version="4.21", poll_interval=0.01)
            template = sim.create_vm("tmpl", is_a_template=True)[0]
            cloud.add("user", "i-2-40-VM")  # CloudStack's database row comes first
            ref = cs.create_vm("i-2-40-VM", template)
            _, sentinel = sim.create_vm("sentinel")
            daemon.wait_until(lambda: protected(sim, sentinel), what="sentinel protected")
            assert not session.xenapi.VM.get_blocked_operations(ref)
        finally:
            session.xenapi.session.logout()
        assert "new VM 'i-2-40-VM'" in daemon.logs()


def test_bad_keys_give_one_clear_error_and_never_show_the_secret(sim, cloud, setup, tmp_path):
    _, state, vms = setup
    config = config_for(tmp_path, cloud.url, keys_file(str(tmp_path), secret="SK-wrong-77"))
    with DaemonRunner(sim.unix_url(0), state, config=config) as daemon:
        daemon.wait_ready()
        daemon.wait_log("still cannot read CloudStack's inventory", timeout=30)
        errors = [line for line in daemon.logs().splitlines() if "ERROR" in line]
        assert len(errors) == 1, errors
        assert "unable to verify user credentials" in errors[0]
        assert "cloudstack.api.credentials_file" in errors[0]
        assert protected(sim, vms["i-2-10-VM"])  # no inventory: nothing trusted by name
        with open(f"/proc/{daemon.pid}/cmdline", "rb") as handle:
            command_line = handle.read().decode()
        shown = daemon.logs() + json.dumps(daemon.status_file()) + command_line
        assert "SK-wrong-77" not in shown


def test_a_keys_file_others_can_read_stops_the_start(sim, cloud, tmp_path):
    keys = keys_file(str(tmp_path), mode=0o644)
    config = config_for(tmp_path, cloud.url, keys)
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state"), config=config) as daemon:
        assert daemon.wait_exit() == 78
        assert f"chmod 600 {keys}" in daemon.logs() and SECRET not in daemon.logs()


def test_a_slow_api_holds_up_no_protection(sim, cloud, setup):
    """A refresh reads the API on a thread of its own: while CloudStack takes
    minutes to answer, a new alien is protected at once."""
    config, state, _ = setup
    with DaemonRunner(sim.unix_url(0), state, config=config) as daemon:
        daemon.wait_ready()
        cloud.delay, cloud.mode = 15.0, "slow"      # 8 calls of 15 s: 2 minutes a refresh
        asked = len(cloud.requests)
        daemon.wait_until(lambda: len(cloud.requests) > asked, timeout=30,
                          what="the next refresh asking the API")
        _, uuid = sim.create_vm("web02", power_state="Running")
        daemon.wait_until(lambda: protected(sim, uuid), timeout=10,
                          what="web02 protected while the refresh waits for CloudStack")
        assert len(cloud.requests) == asked + 1     # the refresh is still on its first call
        cloud.mode = "up"


def test_a_slow_api_at_start_holds_up_protection_only_a_few_seconds(sim, cloud, setup):
    """The first reading is waited for a few seconds only: then the daemon starts
    with what it has (here no inventory: every CloudStack-named VM protected) and
    releases CloudStack's VMs once the reading ends."""
    config, state, vms = setup
    cloud.delay, cloud.mode = 15.0, "slow"          # 8 calls of 15 s: 2 minutes
    with DaemonRunner(sim.unix_url(0), state, config=config) as daemon:
        daemon.wait_until(lambda: protected(sim, vms["web01"]), timeout=30,
                          what="web01 protected while the first reading waits")
        assert len(cloud.requests) < inventory.CALLS_PER_READING  # still reading
        assert protected(sim, vms["i-2-10-VM"])     # no inventory yet: protected
        assert "has not answered within" in daemon.logs()
        cloud.mode = "up"
        daemon.wait_until(lambda: unblocked(sim, vms["i-2-10-VM"]), timeout=200,
                          what="CloudStack's VM released once the reading ends")
