"""Finding the daemon `csguard status` describes when it is not where the
configuration says: a daemon run by hand with its own --state-dir or --config.

Running daemons are found by their command line in /proc; a candidate state
directory counts only if its status file names that very process, so a stale
file or a daemon of another pool is never taken for this one.
"""
import json
import os

from csguard import config as configuration
from csguard.options import VALIDATORS, Invalid
from csguard.statusfile import STATUS_FILE

PROC = "/proc"
_STATE_DIR = "--state-dir"
_CONFIG = "--config"
_XAPI_URL = "--xapi-url"


def running_daemons(xapi_url, proc=PROC):
    """[(pid, state_dir)] of the csguard daemons running here that talk to xapi_url
    and whose status file names them."""
    found = []
    for name in sorted(os.listdir(proc)):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        pid = int(name)
        argv = _argv(os.path.join(proc, name))
        options = _daemon_options(argv)
        if options is None:
            continue
        cwd = _cwd(os.path.join(proc, name))
        state_dir, url = _settings(options, cwd)
        if url == xapi_url and state_dir and status_pid(state_dir) == pid:
            found.append((pid, state_dir))
    return found


def _argv(process_dir):
    try:
        with open(os.path.join(process_dir, "cmdline"), "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _cwd(process_dir):
    try:
        return os.readlink(os.path.join(process_dir, "cwd"))
    except OSError:
        return "/"


def _daemon_options(argv):
    """{option: value} of a `csguard ... daemon ...` command line (global options
    before `daemon` count too), or None for any other process."""
    try:
        at = argv.index("daemon")
    except ValueError:
        return None
    program = argv[:at]
    if not any(os.path.basename(part) == "csguard" for part in program):
        return None
    options, tokens = {}, iter(program[1:] + argv[at + 1:])
    for token in tokens:
        option, sep, value = token.partition("=")
        if option in (_STATE_DIR, _CONFIG, _XAPI_URL):
            options[option] = value if sep else next(tokens, "")
    return options


def _settings(options, cwd):
    """(state_dir, xapi_url) the daemon uses: its flags, else its configuration file,
    else the defaults; relative paths are the daemon's, not ours."""
    config_path = options.get(_CONFIG)
    values = dict(configuration.DEFAULTS)
    if config_path or os.path.exists(configuration.DEFAULT_PATH):
        try:
            path = os.path.join(cwd, config_path or configuration.DEFAULT_PATH)
            values = configuration.load(path)._asdict()
        except configuration.ConfigError:
            pass  # a daemon runs on its last good configuration: its flags still tell
    state_dir = options.get(_STATE_DIR) or values["state_dir"]
    url = options.get(_XAPI_URL) or values["xapi_url"]
    try:
        url = VALIDATORS["xapi_url"](url)
    except Invalid:
        return None, None
    return os.path.join(cwd, state_dir), url


def status_pid(state_dir):
    """The pid the status file in state_dir names (None if none can be read)."""
    try:
        with open(os.path.join(state_dir, STATUS_FILE), encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError):
        return None
    return report.get("pid") if isinstance(report, dict) else None
