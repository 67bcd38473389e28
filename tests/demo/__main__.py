"""The csguard demo: CloudStack 4.0.2 meets an existing pool, without and with csguard.

    PYTHONPATH=dom0-plugin:tests python3 -m demo        (or: make demo)

Both rounds build the same pool in the bundled XAPI simulator (aliens running and
halted, CloudStack's own VMs, a template, a snapshot) and replay what CloudStack
4.0.2 does when it takes the pool over: the ReadyCommand clean-up at host connect,
then the first 60-second sync, which stops and destroys every VM it did not create.
With csguard every host still connects: the halted VM's home server is recorded and
cleared, so the connect's clean-up has nothing to destroy.
The second round runs the real csguard daemon first. Exit status 0 when the outcome
is the expected one: VMs lost without csguard, none with it, and every host connected.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import XenAPI
from cloudstack import CloudStack
from integration.daemon_runner import DaemonRunner
from xapisim import Simulator

PASSWORD = "demo"
CLOUDSTACK_VMS = ("i-2-10-VM", "r-4-VM", "v-1-VM", "s-2-VM")
POOL = [
    # (name, what it is, simulator options)
    ("Windows 7 (32-bit) (1)", "alien, running (the article's VM)", {}),
    ("db-prod-01", "alien, running", {"host": 1}),
    ("legacy-erp", "alien, running, Xen Orchestra 'protect from deletion'",
     {"blocked_operations": {"destroy": "true"}}),
    ("archive-2019", "alien, halted, home server host 0",
     {"power_state": "Halted", "affinity": 0}),
    ("i-2-10-VM", "CloudStack user VM", {}),
    ("r-4-VM", "CloudStack virtual router", {"host": 1}),
    ("v-1-VM", "CloudStack console proxy", {}),
    ("s-2-VM", "CloudStack secondary storage VM", {"host": 1}),
    ("CentOS 7 (64-bit)", "template", {"power_state": "Halted", "is_a_template": True}),
    ("db-prod-01 before upgrade", "snapshot", {"power_state": "Halted", "is_a_snapshot": True}),
]
ALIENS = [name for name, kind, _ in POOL if kind.startswith("alien")]
PLUGINS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "cloudstack", "plugins", "current")


def build_pool():
    sim = Simulator(hosts=2, plugins_dir=PLUGINS, password=PASSWORD)
    sim.start()
    sim.seed_vms([dict(options, name_label=name) for name, _, options in POOL])
    return sim


def take_over(sim):
    """CloudStack 4.0.2 connects both hosts, then runs its first cluster sync."""
    session = XenAPI.Session(sim.tcp_url)
    session.login_with_password("root", PASSWORD, "1.0")
    try:
        cs = CloudStack(session, version="4.0.2", known_names=CLOUDSTACK_VMS,
                        poll_interval=0.02)
        connected = {i: cs.ready(ref) for i, ref in enumerate(sim.host_refs)}
        cs.sync()
        return cs, connected
    finally:
        session.xenapi.session.logout()


def outcome(sim, name):
    """What is left of one VM: gone, or its power state and who blocks what."""
    session = XenAPI.Session(sim.tcp_url)
    session.login_with_password("root", PASSWORD, "1.0")
    try:
        refs = session.xenapi.VM.get_by_name_label(name)
        if not refs:
            return "DESTROYED (only its disks remain)"
        record = session.xenapi.VM.get_record(refs[0])
        return record["power_state"]
    finally:
        session.xenapi.session.logout()


def recorded_home(sim, name):
    """The host csguard recorded as the VM's home server before clearing it."""
    session = XenAPI.Session(sim.tcp_url)
    session.login_with_password("root", PASSWORD, "1.0")
    try:
        ref = session.xenapi.VM.get_by_name_label(name)[0]
        uuid = session.xenapi.VM.get_other_config(ref).get("csguard:affinity")
        return "(none)" if uuid is None else "host " + str(sim.host_uuids.index(uuid))
    finally:
        session.xenapi.session.logout()


def _connected(ok):
    return "connected" if ok else "FAILED: left Disconnected"


def vm_list(sim):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run(
        [sys.executable, "-m", "csguard", "--xapi-url", sim.unix_url(0), "vm-list",
         "class=alien", "params=name-label,power-state,class,protected,reason"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env,
        timeout=60, check=False)
    return result.stdout


def round_without_csguard():
    sim = build_pool()
    try:
        cs, connected = take_over(sim)
        return {name: outcome(sim, name) for name, _, _ in POOL}, cs, connected
    finally:
        sim.stop()


def round_with_csguard():
    sim = build_pool()
    state_dir = tempfile.mkdtemp(prefix="csguard-demo-")
    try:
        with DaemonRunner(sim.unix_url(0), state_dir, log_level="info") as daemon:
            daemon.wait_ready(timeout=60)
            cs, connected = take_over(sim)
            result = {name: outcome(sim, name) for name, _, _ in POOL}
            listing = vm_list(sim)
            home = recorded_home(sim, "archive-2019")
        return result, cs, connected, listing, home
    finally:
        sim.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


def log_excerpt(line):
    """A CloudStack log line cut to its start and the XAPI error it carries."""
    first = line.split("\n")[0]
    error = [part.strip() for part in line.split("\n") if part.strip().startswith("errorInfo:")]
    text = textwrap.shorten(first, 110, placeholder=" ...")
    return text + ("\n    " + error[0] if error else "")


def show(title):
    print()
    print(title)
    print("-" * len(title))


def main():
    print(__doc__.split("\n\n")[2].replace("\n", " "))
    without, _, connected_without = round_without_csguard()
    with_, cs_with, connected_with, listing, home = round_with_csguard()

    show("What is left of each VM after CloudStack 4.0.2 took the pool over")
    width = max(len(name) for name, _, _ in POOL) + 2
    print(f"{'VM':{width}}{'without csguard':36}{'with csguard':16}what it is")
    for name, kind, _ in POOL:
        print(f"{name:{width}}{without[name]:36}{with_[name]:16}{kind}")

    lost_without = [n for n in ALIENS if without[n].startswith("DESTROYED")]
    lost_with = [n for n in ALIENS if with_[n].startswith("DESTROYED")]
    stopped_with = [n for n in ALIENS if with_[n] != "Running" and n != "archive-2019"]
    show("Summary")
    print(f"without csguard: {len(lost_without)} of {len(ALIENS)} VMs CloudStack did not "
          f"create were destroyed: {', '.join(lost_without)}")
    print(f"with csguard:    {len(lost_with)} destroyed, {len(stopped_with)} shut down; "
          "CloudStack's own VMs were left to it")

    show("Each host's connect to CloudStack (its ReadyCommand)")
    print(f"{'host':{width}}{'without csguard':36}{'with csguard':16}")
    for i in sorted(connected_with):
        print(f"{'host ' + str(i):{width}}{_connected(connected_without[i]):36}"
              f"{_connected(connected_with[i]):16}")
    print(f"with csguard, archive-2019 keeps its record; its home server {home} is in "
          "other_config:csguard:affinity and comes back when csguard releases it")

    show("What CloudStack logged (with csguard)")
    for line in cs_with.log:
        if "alien" in line or "Unable to stop" in line or "unable to destroy" in line:
            print(log_excerpt(line))

    show("csguard vm-list class=alien (with csguard)")
    print(listing.rstrip())

    expected = lost_without and not lost_with and not stopped_with and all(
        connected_with.values())
    print()
    print("demo: " + ("as expected: csguard kept every VM" if expected
                      else "UNEXPECTED outcome, see above"))
    return 0 if expected else 1


if __name__ == "__main__":
    sys.exit(main())
