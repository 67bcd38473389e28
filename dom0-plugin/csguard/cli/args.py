"""The arguments of a command: key=value tokens and --flags, and the parsers of
their values. Every check happens here, before a command's first write, so a
refused command changes nothing."""
import collections
import re

from csguard import classify, options
from csguard.cli.xe import CONTROL
from csguard.outcome import BAD_ARGUMENT, CommandError
from csguard.records import show

MAX_REASON = 500

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                  r"[0-9a-fA-F]{12}")
KINDS = (classify.ALIEN, classify.CLOUDSTACK, classify.EXEMPT, classify.IGNORED)
_BOOLEANS = {"true": True, "false": False}

Args = collections.namedtuple("Args", "values flags")
Args.__doc__ = "values: {key: value} of the key=value arguments; flags: the set of --flags."


def parse_tokens(command, tokens):
    """Args from command-line tokens; CommandError for a token that is not
    key=value or a known --flag, and for a key given twice."""
    values, flags = {}, set()
    known_flags = [flag for flag, _ in command.flags]
    for token in tokens:
        if token.startswith("--"):
            if token not in known_flags:
                raise CommandError(BAD_ARGUMENT, f"unknown option {show(token)} for "
                                   f"{command.name}; it takes: "
                                   f"{', '.join(known_flags) or 'no options'}")
            flags.add(token)
            continue
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise CommandError(BAD_ARGUMENT, f"argument {show(token)} is not of the form "
                               f"key=value (see: csguard {command.name} --help)")
        if key in values:
            raise CommandError(BAD_ARGUMENT, f"argument {show(key)} is given more than once")
        values[key] = value
    return check_keys(command, values, flags)


def check_keys(command, values, flags=()):
    """Args for values whose keys the command takes; CommandError naming an unknown key."""
    known = [key for key, _ in command.keys]
    for key in values:
        if key not in known:
            raise CommandError(BAD_ARGUMENT, f"unknown argument {show(key)} for "
                               f"{command.name}; it takes: {', '.join(known) or 'none'}")
    return Args(dict(values), set(flags))


def parse_uuid(value, key="uuid"):
    if not UUID.fullmatch(value):
        raise CommandError(BAD_ARGUMENT, f"{key}={show(value)} is not a uuid (a uuid looks "
                           "like 6f1b7a3c-0d2e-4b8a-9c1d-2e3f4a5b6c7d)")
    return value.lower()


def parse_bool(value, key):
    if value not in _BOOLEANS:
        raise CommandError(BAD_ARGUMENT, f"{key}={show(value)}: use true or false")
    return _BOOLEANS[value]


def parse_duration(value):
    """Seconds in "30m", "2h", "1d", "1h30m", "1w" (units s, m, h, d, w)."""
    try:
        return options.duration(value)
    except options.Invalid as e:
        raise CommandError(BAD_ARGUMENT, f"duration={e.problem}") from None


def format_duration(seconds):
    seconds, text = int(seconds), ""
    for unit, size in options.DURATION_UNITS.items():
        if seconds >= size:
            text += f"{seconds // size}{unit}"
            seconds %= size
    return text or "0s"


def parse_reason(value):
    if not value.strip():
        raise CommandError(BAD_ARGUMENT, "reason= is empty: say why (it is recorded on the "
                           "VM and in the audit message)")
    if len(value) > MAX_REASON or CONTROL.search(value):
        raise CommandError(BAD_ARGUMENT, f"reason= must be one line of at most {MAX_REASON} "
                           "printable characters")
    return value
