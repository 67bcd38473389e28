"""``PYTHONPATH=dom0-plugin:tests python3 -m bench [--sizes 100,1000,5000] [--out FILE]``

Runs every measurement, prints the results table and writes the results as JSON.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

from . import report, suite
from .simproc import TESTS_DIR

REPO = os.path.dirname(TESTS_DIR)
DAEMON_IMPORTS = "import XenAPI, yaml, cachetools, sdnotify"


def _positive_ints(text):
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of VM counts, e.g. 100,1000,5000")
    return values


def _at_least_one(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _positive(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _runs_daemon(python):
    try:
        return subprocess.call([python, "-c", DAEMON_IMPORTS], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL) == 0
    except OSError:
        return False


def _version_key(python):
    output = subprocess.check_output(
        [python, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
        universal_newlines=True)
    return tuple(int(v) for v in output.split())


def find_pythons():
    """Interpreters that can run the daemon: tox's environments, then this one."""
    candidates = sorted(glob.glob(os.path.join(REPO, ".tox", "py3*", "bin", "python")))
    candidates.append(sys.executable)
    found = [p for p in candidates if _runs_daemon(p)]
    unique = {}
    for python in sorted(found, key=_version_key):
        unique.setdefault(_version_key(python), python)
    ordered = list(unique.values())
    return ordered[:1] + ordered[-1:] if len(ordered) > 1 else ordered


def parse_args(argv):
    d = suite.DEFAULTS
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[2])
    parser.add_argument("--sizes", type=_positive_ints, default=d.sizes,
                        help="pool sizes in VMs, 80%% aliens (default 100,1000,5000)")
    parser.add_argument("--out", default="bench-results.json",
                        help="results file (JSON; default bench-results.json)")
    parser.add_argument("--pythons", help="comma-separated interpreters with the daemon's "
                        "packages: the first runs every measurement (use dom0's 3.6), the "
                        "others repeat the memory measurement at the largest size "
                        "(default: the oldest and newest of .tox/py3*/bin/python and this one)")
    parser.add_argument("--repeats", type=_at_least_one, default=d.repeats,
                        help="adoption runs per size and client (the median counts)")
    parser.add_argument("--new-aliens", type=_at_least_one, default=d.new_aliens,
                        help="aliens created for the latency measurement")
    parser.add_argument("--alien-rate", type=_positive, default=d.alien_rate,
                        help="new aliens per second")
    parser.add_argument("--modifications", type=_at_least_one, default=d.modifications,
                        help="unrelated VM changes in the steady-state measurement")
    parser.add_argument("--modification-rate", type=_positive, default=d.modification_rate,
                        help="unrelated changes per second")
    parser.add_argument("--idle-seconds", type=_positive, default=d.idle_seconds,
                        help="how long csguard's idle load is watched")
    parser.add_argument("--poller-interval", type=_positive, default=d.poller_interval,
                        help="the cron poller's shortened interval (its results are scaled "
                             "to 60 s)")
    parser.add_argument("--busy-ms", type=_positive, default=d.busy_ms,
                        help="milliseconds every XAPI call takes in the busy-master "
                             "measurement (default 2)")
    parser.add_argument("--busy-rate", type=_positive, default=d.busy_rate,
                        help="new aliens per second during the busy-master adoption")
    parser.add_argument("--slow-api-s", type=_positive, default=d.slow_api_s,
                        help="seconds each CloudStack API call takes in the slow-API "
                             "measurement (default 5)")
    args = parser.parse_args(argv)
    if args.pythons:
        pythons = [p for p in args.pythons.split(",") if p]
        bad = [p for p in pythons if not _runs_daemon(p)]
        if bad:
            parser.error(f"--pythons: {', '.join(bad)} cannot run the daemon (it needs "
                         f"`{DAEMON_IMPORTS}` to work)")
    else:
        pythons = find_pythons()
        if not pythons:
            parser.error("no interpreter with the daemon's packages (XenAPI, PyYAML, "
                         "cachetools, sdnotify) found in .tox or running this; create the "
                         "tox environments (make test) or pass --pythons")
    args.settings = suite.DEFAULTS._replace(
        sizes=args.sizes, pythons=tuple(pythons), repeats=args.repeats,
        new_aliens=args.new_aliens,
        alien_rate=args.alien_rate, modifications=args.modifications,
        modification_rate=args.modification_rate, idle_seconds=args.idle_seconds,
        poller_interval=args.poller_interval, busy_ms=args.busy_ms,
        busy_rate=args.busy_rate, slow_api_s=args.slow_api_s)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    results = suite.run(args.settings)
    results["goals"] = report.goals(results)
    print(report.table(results), flush=True)
    with open(args.out, "w") as out:
        json.dump(results, out, indent=1, sort_keys=True)
        out.write("\n")
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
