"""The alternative to csguard: the cron job an administrator would write.

    python -m bench.cron SOCKET [--interval 60] [--runs N]

Every interval (on a fixed schedule, as cron starts it): log in, list every VM,
and block shutdown and destroy on each VM whose name is not CloudStack's
(templates, snapshots and control domains skipped). This is the kind version of
the script: one session and one listing per run, and only blocks that are
missing are written (a plain `xe vm-param-set` loop would rewrite them all every
minute). Prints one JSON line per run: start, listed, end (epoch seconds), writes.
"""
import argparse
import json
import re
import sys
import time

from xapisim.testing import unix_session

from bench.workload import DEFAULT_BLOCKED

CLOUDSTACK_NAME = re.compile(r"i-[0-9]+-[0-9]+-VM|[rsvlb]-[0-9]+-VM")


def protect_once(socket_path):
    started = time.time()
    session = unix_session(socket_path, originator="cron-protect")
    try:
        records = session.xenapi.VM.get_all_records()
        listed = time.time()
        writes = 0
        for ref, vm in records.items():
            if (vm["is_control_domain"] or vm["is_a_template"] or vm["is_a_snapshot"]
                    or CLOUDSTACK_NAME.fullmatch(vm["name_label"])):
                continue
            for op in DEFAULT_BLOCKED:
                if op not in vm["blocked_operations"]:
                    session.xenapi.VM.add_to_blocked_operations(ref, op, "true")
                    writes += 1
    finally:
        session.xenapi.session.logout()
    return {"start": started, "listed": listed, "end": time.time(), "writes": writes}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.cron")
    parser.add_argument("socket")
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    first = time.time()
    for run in range(args.runs):
        delay = first + run * args.interval - time.time()
        if delay > 0:
            time.sleep(delay)
        print(json.dumps(protect_once(args.socket)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
