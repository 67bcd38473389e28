"""Standalone simulator: ``PYTHONPATH=tests python3 -m xapisim --unix-socket PATH``.

Prints one line containing ``ready`` (socket paths, TCP URLs, control endpoint)
once every socket serves; SIGTERM or SIGINT stop it cleanly.
"""
import argparse
import os
import signal
import sys
import threading

from .simulator import Simulator


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m xapisim", description=__doc__.split("\n")[0])
    parser.add_argument("--unix-socket", required=True, metavar="PATH",
                        help="unix socket of host 0; host i>0 listens on PATH.i")
    parser.add_argument("--port", type=int, default=0,
                        help="TCP port (127.0.0.<host+1>); 0 picks a free one")
    parser.add_argument("--no-tcp", action="store_true", help="serve unix sockets only")
    parser.add_argument("--hosts", type=int, default=1, help="hosts in the pool (default 1)")
    parser.add_argument("--workdir", help="where state.db and plugins/ live "
                                          "(default: a fresh /tmp/xs-* directory)")
    parser.add_argument("--plugins-dir", help="host plugins directory (default WORKDIR/plugins)")
    parser.add_argument("--password", help="root password checked by TCP logins "
                        "(default: any user and password are accepted)")
    parser.add_argument("--xapi-version", default="1.249",
                        help="1.249 (XenServer/XCP-ng 8.2, the default) or e.g. 25.33 (XenServer 8)")
    parser.add_argument("--seed-demo", action="store_true",
                        help="add a few demo VMs: CloudStack-named ones and aliens")
    args = parser.parse_args(argv)
    if args.hosts < 1:
        parser.error("--hosts must be at least 1")
    if len(args.unix_socket.encode()) > 100:
        parser.error("--unix-socket path is too long for a unix socket (max ~100 bytes)")
    return args


def seed_demo(sim):
    hosts = len(sim.host_refs)
    sim.seed_vms([
        {"name_label": "i-2-10-VM", "host": 0},
        {"name_label": "r-4-VM", "host": 0},
        {"name_label": "s-1-VM", "host": (1 % hosts)},
        {"name_label": "db-prod-01", "host": 0},
        {"name_label": "legacy-erp", "host": (1 % hosts)},
        {"name_label": "scratch", "power_state": "Halted"},
        {"name_label": "CentOS 7 template", "power_state": "Halted", "is_a_template": True,
         "vifs": 0},
    ])


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
    sim = Simulator(hosts=args.hosts, workdir=args.workdir, plugins_dir=args.plugins_dir,
                    tcp=not args.no_tcp, password=args.password, unix_socket=args.unix_socket,
                    port=args.port, xapi_version=args.xapi_version)
    if args.seed_demo:
        seed_demo(sim)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    sim.start()
    info = sim.info()
    sockets = ",".join(info["sockets"])
    tcp = ",".join(info["tcp"]) or "-"
    print(f"xapisim ready: sockets={sockets} tcp={tcp} control=POST /simctl"
          f" workdir={sim.workdir}", flush=True)
    while not stopping.wait(0.5):
        pass
    sim.stop()
    print("xapisim stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
