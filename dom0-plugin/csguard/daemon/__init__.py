"""`csguard daemon`: protect the VMs of this pool that CloudStack did not create.

The entry point: arguments, the configuration, logging, then the loop (loop.py)
until SIGTERM. Exit statuses (sysexits.h, as the CLI's): 78 when the configuration
stops it from starting (also when the pool's XAPI cannot carry it out), 64 for bad
arguments, 75 when another daemon holds the state directory's lock (statelock.py).
"""
import argparse
import logging
import os
import sys

from csguard import config as configuration
from csguard import journal, statelock, textio
from csguard.daemon.loop import Daemon
from csguard.options import LOG_LEVELS
from csguard.outcome import BAD_ARGUMENT, CONFIG_ERROR, EXIT_STATUSES

log = logging.getLogger("csguard")
EXIT_BAD_CONFIG = EXIT_STATUSES[CONFIG_ERROR]
EXIT_BAD_ARGUMENTS = EXIT_STATUSES[BAD_ARGUMENT]
# EX_TEMPFAIL: another daemon runs on this host; systemd tries again later.
EXIT_LOCKED = 75


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 64 like the CLI's, not argparse's 2."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_ARGUMENTS, f"{self.prog}: error: {message}\n")


def parse_args(argv):
    parser = _Parser(
        prog="csguard daemon",
        description="Protect the VMs of this XenServer / XCP-ng pool that CloudStack did "
                    "not create. Runs in the foreground, logs to stderr, talks to systemd "
                    "through NOTIFY_SOCKET.")
    parser.add_argument("--config", help=f"configuration file (default {configuration.DEFAULT_PATH}; a missing default "
                        "file means built-in defaults)")
    parser.add_argument("--xapi-url", help="unix:///path/to/socket or http(s)://host[:port]/ "
                        "(overrides the configuration)")
    parser.add_argument("--state-dir", help="where status.json is written (overrides the "
                        "configuration)")
    parser.add_argument("--log-level", choices=LOG_LEVELS,
                        help="overrides the configuration")
    return parser.parse_args(argv)


def load_config(args):
    """The Config from --config (or the default file, if present) plus the flags."""
    path = args.config or configuration.DEFAULT_PATH
    if args.config is None and not os.path.exists(path):
        config = configuration.Config()
    else:
        config = configuration.load(path)
    overrides = {}
    if args.xapi_url:
        overrides["xapi_url"] = args.xapi_url
    if args.state_dir:
        overrides["state_dir"] = args.state_dir
    if args.log_level:
        overrides["log_level"] = args.log_level
    return config.with_overrides(**overrides) if overrides else config


def main(argv=None):
    textio.utf8_stdio()
    args = parse_args(textio.utf8_argv(sys.argv[1:]) if argv is None else argv)
    journal.setup_logging(args.log_level or "info")
    try:
        config = load_config(args)
    except configuration.ConfigError as e:
        log.error("not starting: %s", e)
        return EXIT_BAD_CONFIG
    journal.set_level(config.log_level)
    try:
        lock = statelock.acquire(config.state_dir)
    except statelock.Locked as e:
        log.error("not starting: %s; stop it first (systemctl stop csguard) or give this "
                  "one a --state-dir of its own", e)
        return EXIT_LOCKED
    except OSError as e:
        lock = None
        log.warning("cannot take the lock in the state directory %s (%s): protecting "
                    "anyway, but a second daemon on this host would not be stopped",
                    config.state_dir, e)
    for warning in config.warnings:
        log.warning("configuration: %s", warning)
    try:
        daemon = Daemon(config, lambda: load_config(args))
    except configuration.ConfigError as e:
        log.error("not starting: %s", e)
        return EXIT_BAD_CONFIG
    try:
        return daemon.run()
    finally:
        statelock.release(lock)
