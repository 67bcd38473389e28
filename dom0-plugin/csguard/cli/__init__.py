"""xe-style command line: `csguard <command> key=value ... [--flag ...]`.

This module is the program: global options, then dispatch to the command table
(commands.py), whose functions the host plugin calls too. Argument values are
data: validated (args.py), never passed to a shell, every check made before the
first write. Text from VM records is escaped before it reaches a terminal (xe.py).
"""
import collections
import json
import sys

from csguard import config as configuration
from csguard import textio
from csguard.cli.args import parse_tokens
from csguard.cli.commands import COMMANDS, command
from csguard.cli.completion import command_help, overview
from csguard.cli.context import (
    ENV_CONFIG,
    ENV_XAPI_URL,
    Context,
    connect,
    credentials,
    load_config,
    local_user,
)
from csguard.cli.xe import printable
from csguard.options import closest
from csguard.outcome import (
    BAD_ARGUMENT,
    EXIT_REFUSED,
    EXIT_STATUSES,
    XAPI_ERROR,
    XAPI_UNAVAILABLE,
    CommandError,
)
from csguard.records import show
from csguard.xapi import XapiError, XapiUnavailable

GLOBAL_OPTIONS = (
    ("--xapi-url", (f"unix:///path or http(s)://host[:port]/ (env {ENV_XAPI_URL}; "
                    "default: the configuration's, else the local xapi socket)")),
    ("--config", (f"configuration file (env {ENV_CONFIG}; default "
                  f"{configuration.DEFAULT_PATH}, built-in defaults if it is absent)")),
    ("--state-dir", "where the daemon writes status.json (default: the configuration's)"),
)
# Commands that must work while the configuration file is broken (a warning, then
# the defaults): that is when they are needed most.
WORK_WITH_A_BROKEN_CONFIG = ("status",)


def main(argv=None):
    textio.utf8_stdio()
    argv = textio.utf8_argv(sys.argv[1:]) if argv is None else list(argv)
    try:
        options, name, rest = split_global_options(argv)
    except CommandError as e:
        return _fail(e)
    if name == "daemon":
        from csguard import daemon  # only the daemon needs sdnotify and its loop
        forwarded = [token for option, value in options.items() for token in (option, value)]
        return daemon.main(forwarded + rest)
    if name is None and options:
        names = {c.name for c in COMMANDS} | {"daemon", "help"}
        took = [f"{option} took {show(value)} as its value" for option, value in
                options.items() if value in names]
        return _fail(CommandError(BAD_ARGUMENT, f"no command given{': ' if took else ''}"
                                  f"{'; '.join(took)} (csguard --help lists the commands)"))
    if name in (None, "help", "--help", "-h"):
        topic = command(rest[0]) if name == "help" and rest else None
        sys.stdout.write(command_help(topic) if topic else overview(COMMANDS, GLOBAL_OPTIONS))
        return 0
    if name == "--version":
        from csguard import __version__
        sys.stdout.write(f"csguard {__version__}\n")
        return 0
    entry = command(name)
    if entry is None:
        names = [c.name for c in COMMANDS] + ["daemon"]
        close = closest(name, names)
        hint = f"; did you mean {close}?" if close else f"; commands: {', '.join(names)}"
        return _fail(CommandError(BAD_ARGUMENT, f"unknown command {show(name)}{hint} "
                                  "(csguard --help)"))
    if "--help" in rest or "-h" in rest:
        sys.stdout.write(command_help(entry))
        return 0
    try:
        args = parse_tokens(entry, rest)
        warn = _warn if entry.name in WORK_WITH_A_BROKEN_CONFIG else None
        config = load_config(options, warn=warn)
        url = config.xapi_url
        login = credentials(url, config)
    except CommandError as e:
        return _fail(e)
    ctx = Context(config, local_user(), lambda: connect(url, login, config),
                  state_dir_given="--state-dir" in options)
    try:
        result = entry.run(args, ctx)
    except CommandError as e:
        return _fail(e)
    except XapiUnavailable as e:
        return _fail(CommandError(XAPI_UNAVAILABLE, f"cannot reach XAPI at {url}: {e}"))
    except XapiError as e:
        return _fail(CommandError(XAPI_ERROR, f"XAPI refused: {e}"))
    finally:
        ctx.close()
    if "--json" in args.flags:
        sys.stdout.write(json.dumps(result.data, indent=2) + "\n")
    else:
        sys.stdout.write(result.text)
    return result.status


def split_global_options(argv):
    """({option: value}, command name or None, the command's own tokens). Global
    options go anywhere, except after `daemon`, which gets its tokens untouched."""
    options, rest, name = collections.OrderedDict(), [], None
    known = [option for option, _ in GLOBAL_OPTIONS]
    tokens = iter(argv)
    for token in tokens:
        if name == "daemon":
            rest.append(token)
            continue
        option, sep, value = token.partition("=")
        if option not in known:
            if name is None:
                name = token
            else:
                rest.append(token)
            continue
        if not sep:
            value = next(tokens, "")
        if not value:
            raise CommandError(BAD_ARGUMENT, f"{option} needs a value")
        options[option] = value
    return options, name, rest


def _warn(text):
    sys.stderr.write(f"Warning: {printable(text)}\n")


def _fail(error):
    sys.stderr.write(f"Error: {printable(error.message)}\n")
    return EXIT_STATUSES.get(error.code, EXIT_REFUSED)
