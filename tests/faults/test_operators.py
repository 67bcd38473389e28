"""People and other tools act while the daemon works: an operator unblocks VMs with
the CLI in the middle of adoption, and Xen Orchestra rewrites whole
blocked_operations maps, dropping csguard's entries."""
import os
import subprocess
import sys

from csguard import records
from integration.daemon_runner import REPO
from xapisim.testing import unix_session

from faults.invariant import XO_DELETION, XO_SHUTDOWN, assert_recovered, wait_for_calls


def unblock_all(sim, uuids, config):
    """`csguard vm-unblock` for each VM, all at once, as separate processes."""
    env = dict(os.environ, CSGUARD_XAPI_URL=sim.unix_url(0), CSGUARD_CONFIG=config,
               SUDO_USER="carol",
               PYTHONPATH=os.pathsep.join([os.path.join(REPO, "dom0-plugin"),
                                           os.path.join(REPO, "tests")]))
    children = [subprocess.Popen(
        [sys.executable, "-m", "csguard", "vm-unblock", "uuid=" + uuid,
         "reason=migration to the new cluster", "duration=2h"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        for uuid in uuids]
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        assert "exemption recorded by carol" in out


def test_operator_unblocks_vms_while_the_daemon_adopts_them(sim, crowd, fleet, tmp_path):
    config = str(tmp_path / "csguard.yaml")
    with open(config, "w") as f:
        f.write("protection:\n  mode: enforce\n")   # the defaults
    # The daemon reconciles VMs in listing order: the first ones are done before the
    # operator acts; the last ones it meets either in the events it reads during the
    # pass or, later, in the pass (from a listing taken before the exemption).
    chosen = crowd.aliens[:2] + crowd.aliens[-2:]
    sim.reset_call_counts()
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"))
    wait_for_calls(sim, "VM.add_to_blocked_operations", 200)
    unblock_all(sim, chosen, config)
    for uuid in chosen:
        crowd.aliens.remove(uuid)
    daemon.wait_ready()
    assert_recovered(sim, crowd, fleet, levels=("INFO",), said=r"is now exempt")
    for uuid in chosen[:2]:     # protected first, then exempt
        daemon.wait_log(f"(uuid {uuid}) is now exempt", timeout=10)
    for uuid in chosen:
        record = sim.vm_record(uuid)
        exemption = records.parse_exemption(record["other_config"][records.KEY_EXEMPTION])
        assert (exemption.by, exemption.reason) == ("carol", "migration to the new cluster")
        assert not [op for op, reason in record["blocked_operations"].items()
                    if records.is_ours(reason)]
        assert records.KEY_VERDICT not in record["other_config"]
        for op, reason in crowd.foreign.get(uuid, {}).items():
            assert record["blocked_operations"][op] == reason


def test_xen_orchestra_rewrites_whole_maps_and_both_sides_keep_their_entries(
        sim, watched, fleet, tmp_path):
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"))
    daemon.wait_ready()
    session = unix_session(sim.socket_path(0), originator="xo-server")
    try:
        # Xen Orchestra writes its own idea of each map with VM.set_blocked_operations,
        # dropping whatever else was there; again each time the daemon is busy putting
        # its entries back.
        styles = [XO_SHUTDOWN, XO_DELETION, {}]
        sim.reset_call_counts()
        for round_ in range(5):
            wait_for_calls(sim, "VM.add_to_blocked_operations", 10 * round_)
            for i, uuid in enumerate(watched.aliens + watched.cloudstack):
                xo = dict(styles[(i + round_) % len(styles)])
                session.xenapi.VM.set_blocked_operations(
                    session.xenapi.VM.get_by_uuid(uuid), xo)
                watched.foreign[uuid] = xo
    finally:
        session.xenapi.session.logout()
    assert_recovered(sim, watched, fleet, levels=("INFO",),
                     said=r"^protected VM .*: blocked (destroy|clean_shutdown)")
    for uuid in watched.aliens:
        blocked = sim.vm_record(uuid)["blocked_operations"]
        ours = {op for op, reason in blocked.items() if records.is_ours(reason)}
        assert ours == set(watched.operations) - set(watched.foreign[uuid])
