"""Bare XenAPI clients, the yardsticks csguard is measured against.

    python -m bench.bare adopt SOCKET   one listing, then exactly the writes that are
                                        missing (csguard's own classify + plan decide)
    python -m bench.bare list SOCKET    one VM.get_all_records; peak memory
    python -m bench.bare probe SOCKET   N single writes on the probe template; their cost

Each prints one JSON line. They run under the daemon's interpreter, in a process
of their own, with the real XenAPI client.
"""
import argparse
import json
import sys
import time

from xapisim.testing import unix_session

from bench import procstat
from bench.workload import PROBE_TEMPLATE


def adopt(session):
    # Imported here so that `list` measures a client that carries no csguard code.
    from csguard import classify, config, plan
    settings = config.Config()
    now = time.time()
    writes = 0
    records = session.xenapi.VM.get_all_records()
    listed_at = time.time()
    for ref, vm in records.items():
        # No host map: the workload's VMs have no affinity to clear.
        for write in plan.plan(vm, classify.classify(vm, settings, now), settings, now, {}):
            method = getattr(session.xenapi.VM, write.call)
            if write.value is None:
                method(ref, write.key)
            else:
                method(ref, write.key, write.value)
            writes += 1
    return {"listed": len(records), "writes": writes, "listed_at": listed_at,
            "done_at": time.time()}


def listing(session):
    before = procstat.memory_mb()
    records = session.xenapi.VM.get_all_records()
    after = procstat.memory_mb()
    return {"listed": len(records), "rss_before_mb": before["rss_mb"],
            "rss_mb": after["rss_mb"], "peak_mb": after["peak_mb"]}


def probe(session, count):
    ref = session.xenapi.VM.get_by_name_label(PROBE_TEMPLATE)[0]
    seconds = []
    for i in range(count):
        started = time.time()
        session.xenapi.VM.add_to_other_config(ref, f"bench-probe-{i}", "x")
        seconds.append(time.time() - started)
    seconds.sort()
    return {"writes": count, "median_s": seconds[len(seconds) // 2], "min_s": seconds[0]}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.bare")
    parser.add_argument("mode", choices=("adopt", "list", "probe"))
    parser.add_argument("socket")
    parser.add_argument("--count", type=int, default=200, help="probe writes")
    args = parser.parse_args(argv)
    session = unix_session(args.socket, originator="bench-bare")
    try:
        if args.mode == "adopt":
            result = adopt(session)
        elif args.mode == "list":
            result = listing(session)
        else:
            result = probe(session, args.count)
    finally:
        session.xenapi.session.logout()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
