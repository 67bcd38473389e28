"""A remove takes away only an entry that is csguard's at the moment it is made:
Xen Orchestra's deletion protection ("destroy": "true") written after csguard
decided to unprotect a VM, just before its removes run, survives them (the
simulator's one-shot write lands it between the decision and the removes)."""
import os
import subprocess
import sys

from csguard import records
from integration.daemon_runner import PLUGIN_DIR, wait_for

from faults.invariant import log_lines

REMOVE = "VM.remove_from_blocked_operations"


def xo_protects_before_first_remove(sim, ref):
    """Xen Orchestra's deletion protection replaces csguard's destroy entry just
    before the first of csguard's removes (clean_shutdown comes first)."""
    sim.write_once(REMOVE, ref, "blocked_operations", "true", key="destroy",
                   args=[ref, "clean_shutdown"])


def protected(sim, uuid):
    blocked = sim.vm_record(uuid)["blocked_operations"]
    return len(blocked) == 4 and all(records.is_ours(r) for r in blocked.values())


def test_the_daemons_remove_leaves_xen_orchestras_entry_written_in_between(sim, fleet,
                                                                          tmp_path):
    ref, uuid = sim.create_vm("soon CloudStack's")
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"))
    daemon.wait_ready()
    assert protected(sim, uuid)
    xo_protects_before_first_remove(sim, ref)
    sim.modify_vm(ref, "name_label", "i-2-77-VM")     # now CloudStack's: unprotect
    wait_for(lambda: records.KEY_VERDICT not in sim.vm_record(uuid)["other_config"],
             what="csguard's verdict removed", daemons=[daemon])
    assert sim.vm_record(uuid)["blocked_operations"] == {"destroy": "true"}
    assert log_lines(daemon.logs()) == []


def test_vm_unblock_leaves_xen_orchestras_entry_written_in_between(sim, fleet, tmp_path):
    ref, uuid = sim.create_vm("to release")
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"))
    daemon.wait_ready()
    xo_protects_before_first_remove(sim, ref)
    done = subprocess.run(
        [sys.executable, "-m", "csguard", "--xapi-url", sim.unix_url(0), "vm-unblock",
         "uuid=" + uuid, "reason=decommission"], check=False, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=PLUGIN_DIR),
        universal_newlines=True)
    assert done.returncode == 0, done.stdout
    assert sim.vm_record(uuid)["blocked_operations"] == {"destroy": "true"}
