"""Benchmark: ``PYTHONPATH=tests python3 -m xapisim.bench [--vms 5000]``.

Runs the simulator as its own process (as XAPI is, so the client's memory and
garbage collector are not burdened by the server's objects), seeds it through
``/simctl``, and prints how long the real XenAPI client takes over the unix
socket for VM.get_all_records and for event.from(""). Numbers only, no
pass/fail: performance is measured here, never asserted in tests.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

from .simulator import short_workdir
from .testing import control, unix_session


def start_server(workdir):
    path = os.path.join(workdir, "xapi")
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    server = subprocess.Popen([sys.executable, "-m", "xapisim", "--unix-socket", path,
                               "--no-tcp", "--workdir", workdir],
                              stdout=subprocess.PIPE, universal_newlines=True,
                              env=dict(os.environ, PYTHONPATH=tests_dir))
    line = server.stdout.readline()
    if "ready" not in line:
        server.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    return server, path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workdir = short_workdir()
    server, path = start_server(workdir)
    try:
        started = time.time()
        control(path).sim.seed_vms([
            {"name_label": f"vm-{i}", "tags": ["bench"],
             "other_config": {"cloudstack-vm-id": str(i)}} for i in range(args.vms)])
        print(f"seed {args.vms} VMs: {time.time() - started:.3f} s")
        session = unix_session(path, originator="bench")
        for _ in range(args.rounds):
            started = time.time()
            records = session.xenapi.VM.get_all_records()
            print(f"VM.get_all_records ({len(records)} records): {time.time() - started:.3f} s")
        for _ in range(args.rounds):
            started = time.time()
            result = session.xenapi.event_from(["vm"], "", 30.0)
            print(f"event.from('') ({len(result['events'])} events):"
                  f" {time.time() - started:.3f} s")
        session.xenapi.session.logout()
    finally:
        server.terminate()
        server.wait(10)
        server.stdout.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
