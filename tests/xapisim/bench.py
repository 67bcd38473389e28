"""Benchmark: ``PYTHONPATH=tests python3 -m xapisim.bench [--vms 5000]``.

Prints how long the real XenAPI client takes, over the unix socket, for
VM.get_all_records and for event.from("") at that many VMs. Numbers only, no
pass/fail: performance is measured here, never asserted in tests.
"""
import argparse
import time

from .simulator import Simulator
from .testing import unix_session


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with Simulator() as sim:
        started = time.time()
        sim.seed_vms([{"name_label": "vm-%d" % i, "tags": ["bench"],
                       "other_config": {"cloudstack-vm-id": str(i)}} for i in range(args.vms)])
        print("seed %d VMs: %.3f s" % (args.vms, time.time() - started))
        session = unix_session(sim.socket_path(0), originator="bench")
        try:
            for _ in range(args.rounds):
                started = time.time()
                records = session.xenapi.VM.get_all_records()
                print("VM.get_all_records (%d records): %.3f s" % (len(records), time.time() - started))
            for _ in range(args.rounds):
                started = time.time()
                result = session.xenapi.event_from(["vm"], "", 30.0)
                print("event.from('') (%d events): %.3f s"
                      % (len(result["events"]), time.time() - started))
        finally:
            session.xenapi.session.logout()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
