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
        sim.seed_vms([{"name_label": f"vm-{i}", "tags": ["bench"],
                       "other_config": {"cloudstack-vm-id": str(i)}} for i in range(args.vms)])
        print(f"seed {args.vms} VMs: {time.time() - started:.3f} s")
        session = unix_session(sim.socket_path(0), originator="bench")
        try:
            for _ in range(args.rounds):
                started = time.time()
                records = session.xenapi.VM.get_all_records()
                print(f"VM.get_all_records ({len(records)} records): {time.time() - started:.3f} s")
            for _ in range(args.rounds):
                started = time.time()
                result = session.xenapi.event_from(["vm"], "", 30.0)
                print(f"event.from('') ({len(result['events'])} events):"
                      f" {time.time() - started:.3f} s")
        finally:
            session.xenapi.session.logout()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
