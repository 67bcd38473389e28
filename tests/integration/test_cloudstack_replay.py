"""The article's nightmare, reproduced: CloudStack against the simulator, no guard.

CloudStack 4.0 - 4.2 shut down and destroy VMs they did not create ("only the disks
remain"), destroy halted VMs at host connect, and leave their own VMs alone. With
blocked operations set by hand (what csguard will write) the same calls fail and
the VM, its VBDs and VIFs survive. These tests pin both, call for call.
"""
import contextlib
import os

import pytest
import XenAPI
from cloudstack import CloudStack
from xapisim import Simulator

PLUGINS = os.path.join(os.path.dirname(__file__), os.pardir, "cloudstack", "plugins")
PASSWORD = "xenroot"
ALIEN = "Windows 7 (32-bit) (1)"   # the article's VM
REASON = "csguard: protected from CloudStack, see csguard vm-unblock"
BLOCKED = {op: REASON for op in ("clean_shutdown", "hard_shutdown", "shutdown", "destroy")}
# The calls of a StopCommand that change something.
WRITES = ("VM.set_affinity", "Async.VM.clean_shutdown", "VM.hard_shutdown", "host.call_plugin",
          "VM.power_state_reset", "VM.destroy", "task.cancel", "task.destroy")


def start_pool(plugins, hosts=1):
    sim = Simulator(hosts=hosts, plugins_dir=os.path.join(PLUGINS, plugins), tcp=True,
                    password=PASSWORD)
    sim.start()
    return sim


@pytest.fixture
def sim():
    simulator = start_pool("current")
    yield simulator
    simulator.stop()


@pytest.fixture
def two_host_sim():
    simulator = start_pool("current", hosts=2)
    yield simulator
    simulator.stop()


@pytest.fixture
def old_host_sim(monkeypatch):
    simulator = start_pool("old")
    # The plugin reaches "the local XAPI socket" through this (plugins inherit it).
    monkeypatch.setenv("XAPISIM_SOCKET", simulator.socket_path(0))
    yield simulator
    simulator.stop()


def login(simulator):
    """CloudStack's connection: the master over the network, root, no originator."""
    session = XenAPI.Session(simulator.tcp_url)
    session.login_with_password("root", PASSWORD, "1.0")
    return session


def cloudstack(simulator, **options):
    options.setdefault("poll_interval", 0.01)
    return CloudStack(login(simulator), **options)


@contextlib.contextmanager
def xapi(simulator):
    """A short session of the pool's owner (not CloudStack), logged out after use."""
    session = login(simulator)
    try:
        yield session.xenapi
    finally:
        session.xenapi.session.logout()


def devices(simulator, vm_record):
    """The VBDs, VIFs and VDIs of a VM record, looked up now."""
    with xapi(simulator) as xenapi:
        vdis = [xenapi.VBD.get_VDI(vbd) for vbd in vm_record["VBDs"]]
    return set(vm_record["VBDs"]), set(vm_record["VIFs"]), vdis


def writes(cs):
    return [method for method in cs.methods() if method in WRITES]


def test_sync_shuts_down_and_destroys_an_alien_only_the_disks_remain(sim):
    ref, _ = sim.create_vm(ALIEN, vbds=2, vifs=1)
    vbds, vifs, vdis = devices(sim, sim.vm_record(ref))
    cs = cloudstack(sim)

    assert cs.sync() == {ALIEN: True}

    assert sim.vm_record(ref) is None
    with xapi(sim) as xenapi:
        assert not vbds & set(xenapi.VBD.get_all())
        assert not vifs & set(xenapi.VIF.get_all())
        assert len(vdis) == 2 and set(vdis) <= set(xenapi.VDI.get_all())  # disks remain
    assert writes(cs) == ["VM.set_affinity", "Async.VM.clean_shutdown", "task.destroy",
                          "VM.destroy"]
    assert "WARN Found an alien VM " + ALIEN in cs.log
    assert "DEBUG Cleaning up a VM that is no longer found <deltaSync>: " + ALIEN in cs.log


def test_stop_command_is_called_call_for_call(sim):
    ref, _ = sim.create_vm(ALIEN, vbds=1, vifs=1)
    cs = cloudstack(sim)

    assert cs.stop(ALIEN) is True

    methods = cs.methods()
    polls = methods.index("task.destroy") - methods.index("Async.VM.clean_shutdown") - 1
    assert methods == (
        ["VM.get_by_name_label", "VM.get_record", "host.get_uuid",
         "VM.get_record", "host.get_uuid", "VM.get_resident_on", "VM.set_affinity",
         "Async.VM.clean_shutdown"]
        + methods[8:8 + polls]
        + ["task.destroy", "VM.get_power_state", "VM.get_VIFs", "VIF.get_network",
           "VM.get_VBDs", "VBD.get_VDI", "VM.destroy", "SR.get_by_name_label",
           "network.get_name_label"])
    assert set(methods[8:8 + polls]) == {"task.get_status"}
    set_affinity = cs.calls[methods.index("VM.set_affinity")]
    assert set_affinity.args == (ref, sim.host_refs[0])


def test_sync_leaves_cloudstack_vms_templates_and_dom0_alone(sim):
    own = ["i-2-17-VM", "r-5-VM", "v-3-VM", "s-4-VM"]
    refs = [sim.create_vm(name)[0] for name in own]
    template, _ = sim.create_vm("Debian 7", power_state="Halted", is_a_template=True)
    cs = cloudstack(sim, known_names=own)

    assert cs.sync() == {}

    assert [sim.vm_record(ref)["power_state"] for ref in refs] == ["Running"] * 4
    assert sim.vm_record(template) is not None
    assert "VM.get_by_name_label" not in cs.methods()
    assert not [line for line in cs.log if "alien" in line]


def test_sync_also_stops_cloudstack_named_vms_missing_from_its_database(sim):
    ref, _ = sim.create_vm("i-2-99-VM")
    cs = cloudstack(sim, known_names=["i-2-17-VM"])

    assert cs.sync() == {"i-2-99-VM": True}

    assert sim.vm_record(ref) is None
    assert not [line for line in cs.log if "alien" in line]


def test_sync_reports_only_changes_since_connect(sim):
    """VMs running when CloudStack connected are left alone until their state
    changes: an owner shutting down his VM gets it destroyed on the next cycle."""
    ref, _ = sim.create_vm(ALIEN)
    cs = cloudstack(sim)
    assert cs.connect() == {}
    assert "WARN Found an alien VM " + ALIEN in cs.log
    assert cs.sync() == {}

    with xapi(sim) as xenapi:
        xenapi.VM.clean_shutdown(ref)                      # the owner shuts it down
    assert cs.sync() == {ALIEN: True}

    assert "WARN The VM is now missing marking it as Stopped " + ALIEN in cs.log
    assert sim.vm_record(ref) is None
    assert writes(cs) == ["VM.destroy"]


def test_ready_destroys_halted_vms_with_affinity_to_the_host(sim):
    doomed, _ = sim.create_vm("halted here", power_state="Halted", affinity=0)
    elsewhere, _ = sim.create_vm("halted, no home", power_state="Halted")
    running, _ = sim.create_vm("running here", affinity=0)
    template, _ = sim.create_vm("template here", power_state="Halted", affinity=0,
                                is_a_template=True)
    cs = cloudstack(sim)

    assert cs.ready(sim.host_refs[0]) is True

    assert sim.vm_record(doomed) is None
    assert all(sim.vm_record(ref) for ref in (elsewhere, running, template))
    assert [call.args for call in cs.calls if call.method == "VM.destroy"] == [(doomed,)]


def test_ready_of_4_3_spares_aliens_and_by_mistake_routers(sim):
    names = ["my vm", "i-2-17-VM", "r-5-VM"]
    refs = [sim.create_vm(name, power_state="Halted", affinity=0)[0] for name in names]
    cs = cloudstack(sim, version="4.3")

    assert cs.ready(sim.host_refs[0]) is True

    alive = [name for name, ref in zip(names, refs) if sim.vm_record(ref)]
    assert alive == ["my vm", "r-5-VM"]    # isAlienVm takes routers for aliens


def test_blocked_alien_survives_the_stop_command(sim):
    ref, _ = sim.create_vm(ALIEN, blocked_operations=BLOCKED)
    vbds, vifs, _ = devices(sim, sim.vm_record(ref))
    cs = cloudstack(sim)

    assert cs.sync() == {ALIEN: False}

    record = sim.vm_record(ref)
    assert record["power_state"] == "Running"
    assert (set(record["VBDs"]), set(record["VIFs"])) == (vbds, vifs)
    assert writes(cs) == ["VM.set_affinity", "Async.VM.clean_shutdown", "task.cancel",
                          "VM.hard_shutdown", "host.call_plugin", "VM.power_state_reset",
                          "task.destroy"]
    assert cs.failures("VM.hard_shutdown") == [("OPERATION_BLOCKED", ref, REASON)]
    assert cs.failures("VM.power_state_reset")[0][0] == "DOMAIN_EXISTS"
    plugin = next(call for call in cs.calls if call.method == "host.call_plugin")
    assert plugin.args[1:3] == ("vmopspremium", "forceShutdownVM")
    assert plugin.outcome == ("ok", "10#failed")
    task_failed = [line for line in cs.log if line.startswith("WARN Task failed! Task record:")]
    assert len(task_failed) == 1 and "OPERATION_BLOCKED" in task_failed[0]
    assert REASON in task_failed[0]
    unable = [line for line in cs.log if line.startswith("WARN Unable to stop a VM due to ")]
    assert len(unable) == 1 and REASON in unable[0]


def test_blocked_running_alien_is_not_attacked_again_while_it_keeps_running(sim):
    sim.create_vm(ALIEN, blocked_operations=BLOCKED)
    cs = cloudstack(sim)
    assert cs.sync() == {ALIEN: False}

    assert cs.sync() == {}


def test_ready_fails_on_a_blocked_halted_vm_and_keeps_it(sim):
    ref, _ = sim.create_vm(ALIEN, power_state="Halted", affinity=0,
                           blocked_operations=BLOCKED)
    cs = cloudstack(sim)

    assert cs.ready(sim.host_refs[0]) is False

    assert sim.vm_record(ref) is not None
    assert cs.failures("VM.destroy") == [("OPERATION_BLOCKED", ref, REASON)]
    assert any("unable to destroy VM " + ALIEN in line for line in cs.log)


def test_old_host_kill_halts_the_blocked_alien_but_destroy_is_refused(old_host_sim):
    sim = old_host_sim
    ref, _ = sim.create_vm(ALIEN, blocked_operations=BLOCKED)
    vbds, vifs, _ = devices(sim, sim.vm_record(ref))
    cs = cloudstack(sim)

    assert cs.sync() == {ALIEN: False}

    record = sim.vm_record(ref)
    assert record["power_state"] == "Halted"
    assert (set(record["VBDs"]), set(record["VIFs"])) == (vbds, vifs)
    assert cs.failures("VM.power_state_reset") == []
    assert cs.failures("VM.destroy") == [("OPERATION_BLOCKED", ref, REASON)] * 2


def test_a_halted_alien_is_attacked_again_on_every_cycle(old_host_sim):
    sim = old_host_sim
    ref, _ = sim.create_vm(ALIEN, blocked_operations=BLOCKED)
    cs = cloudstack(sim)
    cs.sync()
    destroys = len(cs.failures("VM.destroy"))

    assert cs.sync() == {ALIEN: False}
    assert cs.sync() == {ALIEN: False}

    assert len(cs.failures("VM.destroy")) == destroys + 2
    assert sim.vm_record(ref) is not None


def test_create_vm_clones_the_template_under_the_cloudstack_name(sim):
    template, _ = sim.create_vm("CentOS 5.6 (64-bit)", power_state="Halted",
                                is_a_template=True)
    cs = cloudstack(sim)

    vm = cs.create_vm("i-2-20-VM", template)

    record = sim.vm_record(vm)
    assert (record["name_label"], record["is_a_template"]) == ("i-2-20-VM", False)
    assert cs.methods()[:3] == ["VM.clone", "VM.get_record", "VM.set_is_a_template"]
    with xapi(sim) as xenapi:
        xenapi.VM.start(vm, False, False)
    assert cs.sync() == {}                                 # its own VM, left alone


def test_create_vm_of_4_3_creates_a_vm_with_its_cloudstack_uuid(sim):
    template, _ = sim.create_vm("CentOS 5.6 (64-bit)", power_state="Halted",
                                is_a_template=True)
    cs = cloudstack(sim, version="4.3")

    vm = cs.create_vm("i-2-21-VM", template)

    record = sim.vm_record(vm)
    assert (record["name_label"], record["is_a_template"]) == ("i-2-21-VM", False)
    assert "vm_uuid" in record["other_config"]
    assert "VM.clone" not in cs.methods()


def test_stop_own_keeps_the_halted_vm_on_xenserver_8_unless_expunged(sim):
    kept, _ = sim.create_vm("i-2-17-VM")
    expunged, _ = sim.create_vm("i-2-18-VM")
    cs = cloudstack(sim, version="4.21", known_names=["i-2-17-VM", "i-2-18-VM"])

    assert cs.stop_own("i-2-17-VM") is True
    assert cs.stop_own("i-2-18-VM", expunge=True) is True

    assert sim.vm_record(kept)["power_state"] == "Halted"
    assert sim.vm_record(expunged) is None


@pytest.mark.parametrize("version, xenserver", [("4.0.2", "8.2"), ("4.19", "8.2"),
                                                ("4.21", "7.1")])
def test_stop_own_destroys_the_halted_vm_elsewhere(sim, version, xenserver):
    ref, _ = sim.create_vm("i-2-17-VM")
    cs = cloudstack(sim, version=version, xenserver_version=xenserver,
                    known_names=["i-2-17-VM"])

    assert cs.stop_own("i-2-17-VM") is True

    assert sim.vm_record(ref) is None


def test_stop_own_hits_an_alien_carrying_a_cloudstack_name(sim):
    ref, _ = sim.create_vm("i-2-17-VM", blocked_operations=BLOCKED)
    cs = cloudstack(sim, version="4.21", known_names=["i-2-17-VM"])

    assert cs.stop_own("i-2-17-VM") is False

    assert sim.vm_record(ref)["power_state"] == "Running"
    assert cs.failures("VM.hard_shutdown") == [("OPERATION_BLOCKED", ref, REASON)]


def test_an_alien_on_a_pool_member_is_stopped_by_that_host(two_host_sim):
    sim = two_host_sim
    ref, _ = sim.create_vm(ALIEN, host=1, blocked_operations=BLOCKED)
    cs = cloudstack(sim)

    assert cs.sync() == {ALIEN: False}

    plugin = next(call for call in cs.calls if call.method == "host.call_plugin")
    assert plugin.args[0] == sim.host_refs[1]
    # power_state_reset runs on the master and trusts the live member's domain.
    assert cs.failures("VM.power_state_reset") == [("HOST_IS_LIVE", sim.host_refs[1])]
    assert sim.vm_record(ref)["power_state"] == "Running"


def test_a_stop_sent_to_another_host_reports_success_and_touches_nothing(two_host_sim):
    """The resource ignores VMs running elsewhere: "VM does not exist" is success."""
    sim = two_host_sim
    ref, _ = sim.create_vm(ALIEN, host=1)
    cs = cloudstack(sim)

    assert cs.stop(ALIEN, host_ref=sim.host_refs[0]) is True

    assert sim.vm_record(ref)["power_state"] == "Running"
    assert writes(cs) == []
    assert "INFO VM does not exist on XenServer" + sim.host_uuids[0] in cs.log


def test_sync_of_4_3_only_logs_unknown_names(sim):
    ref, _ = sim.create_vm(ALIEN)
    cs = cloudstack(sim, version="4.3")

    assert cs.sync() == {}

    assert sim.vm_record(ref)["power_state"] == "Running"
    assert "INFO Unable to find matched VM in CloudStack DB. name: " + ALIEN in cs.log
    assert writes(cs) == []
