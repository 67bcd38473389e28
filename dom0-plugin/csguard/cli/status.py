"""What the daemon says about itself (status: its status file) and what it saw
(attempts: the XAPI messages it leaves on blocked operations)."""
import collections
import json
import os
import re

from csguard import records, statelock
from csguard.cli.args import format_duration, parse_uuid
from csguard.cli.daemons import running_daemons, status_pid
from csguard.cli.xe import printable_lines, xe_records
from csguard.messages import MSG_BLOCKED_ATTEMPT
from csguard.outcome import STATUS_UNREADABLE, CommandError, Result
from csguard.statusfile import STATUS_FILE
from csguard.xapi import XapiError, XapiUnavailable

# More than this between this host's clock and the master's is worth a line in status.
MAX_CLOCK_SKEW = 60


def attempts(args, ctx):
    """Blocked attempts (which operation hit which VM, when), from the XAPI messages
    the daemon leaves: this works whether or not the daemon runs."""
    uuid = parse_uuid(args.values["uuid"]) if "uuid" in args.values else None
    found = []
    for message in ctx.xapi.call("message.get_all_records").values():
        if message.get("name") != MSG_BLOCKED_ATTEMPT:
            continue
        if uuid is not None and message.get("obj_uuid") != uuid:
            continue
        found.append(collections.OrderedDict([
            ("timestamp", _message_time(message.get("timestamp"))),
            ("vm-uuid", message.get("obj_uuid", "")),
            ("body", message.get("body", ""))]))
    found.sort(key=lambda m: m["timestamp"])
    if not found:
        only = f" for VM {uuid}" if uuid else ""
        return Result(found, f"No blocked attempts recorded{only}.\n")
    return Result(found, xe_records(found))


def _message_time(value):
    """XAPI's DateTime (20261125T04:10:05Z) as 2026-11-25T04:10:05Z."""
    text = str(getattr(value, "value", value) or "")
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})T(\d{2}:\d{2}:\d{2})Z?", text)
    return "{}-{}-{}T{}Z".format(*match.groups()) if match else text


def status(args, ctx):
    """The daemon's own report (state_dir/status.json): role, connection, counts,
    last event, recent blocked attempts. The daemon rewrites the file only when
    something changes, so whether it runs is told by its pid, not the file's age.
    Without --state-dir, a daemon run by hand elsewhere is found (daemons.py).
    Not OK (1) unless the daemon runs and is connected to XAPI."""
    path, found = _report_path(ctx)
    holder = statelock.holder(os.path.dirname(path))
    try:
        with open(path, encoding="utf-8") as handle:
            daemon = json.load(handle)
        written = os.stat(path).st_mtime
    except FileNotFoundError:
        if holder is not None:
            error = (f"the csguard daemon (pid {holder or 'unknown'}) runs but has not "
                     f"written {path} yet")
            return Result({"running": True, "connected": False, "pid": holder or None,
                           "error": error, "status-file": path}, f"Starting: {error}.\n", 1)
        error = (f"the csguard daemon is not running on this host: it has never written "
                 f"{path} (see: systemctl status csguard)")
        return Result({"running": False, "error": error, "status-file": path},
                      f"{error[0].upper()}{error[1:]}.\n", 1)
    except (OSError, ValueError) as e:
        raise CommandError(STATUS_UNREADABLE, f"cannot read the daemon's status file "
                           f"{path}: {e}")
    if not isinstance(daemon, dict):
        raise CommandError(STATUS_UNREADABLE, f"{path} is not a csguard status report")
    now = ctx.now()
    # The lock is the proof: a report can be stale (another daemon's, or one
    # overwritten) while a daemon holds the state directory.
    running = holder is not None or (
        _pid_alive(daemon.get("pid")) and daemon.get("role") != "stopped")
    if holder and holder != daemon.get("pid"):
        daemon = dict(daemon, pid=holder)
    connected = running and daemon.get("connection") == "connected"
    data = _hyphenated(collections.OrderedDict(sorted(daemon.items())))
    data.update([("running", running), ("connected", connected), ("status-file", path),
                 ("written-seconds-ago", round(now - written, 1))])
    lines = []
    if found:
        lines.append(f"the running daemon (pid {daemon.get('pid')}) reports in "
                     f"{os.path.dirname(path)}, not in the configuration's "
                     f"{ctx.config.state_dir}")
    if not running:
        data["error"] = (f"the csguard daemon is not running (pid {daemon.get('pid')}); its "
                         f"last report was written {format_duration(now - written)} ago")
        lines.append(f"NOT RUNNING: {data['error']}. Nothing protects new VMs; see: "
                     "systemctl status csguard")
    elif not connected:
        data["error"] = (f"the csguard daemon is not connected to XAPI: "
                         f"{daemon.get('connection')}")
        lines.append(f"DISCONNECTED: {data['error']}. Until it reconnects nothing new is "
                     "protected; see: journalctl -u csguard")
    if connected:
        skew = _clock_skew(ctx, now)
        data["clock-offset-seconds"] = skew
        if skew is not None and abs(skew) > MAX_CLOCK_SKEW:
            lines.append(f"CLOCK: this host's clock is about "
                         f"{format_duration(60 * round(abs(skew) / 60))} "
                         f"{'ahead of' if skew > 0 else 'behind'} the pool master's "
                         "(host.get_servertime). Exemptions are timed on the master's clock; "
                         "fix this host's time (NTP) so its logs and reports agree.")
    lines.extend(_status_text(daemon, now))
    return Result(data, printable_lines(lines), 0 if connected else 1)


def _clock_skew(ctx, now):
    """Seconds this host's clock is ahead of the pool master's (None if XAPI does not
    say); asked only of a connected daemon's XAPI, so status never waits for one."""
    try:
        return round(now - ctx.xapi.master_time())
    except (CommandError, XapiError, XapiUnavailable):
        return None


def _report_path(ctx):
    """(status file path, whether it was found elsewhere than the configuration says)."""
    path = os.path.join(ctx.config.state_dir, STATUS_FILE)
    if (ctx.state_dir_given or _pid_alive(status_pid(ctx.config.state_dir))
            or statelock.holder(ctx.config.state_dir) is not None):
        return path, False
    others = running_daemons(ctx.config.xapi_url)
    if len(others) > 1:
        listed = ", ".join(f"pid {pid} in {state_dir}" for pid, state_dir in others)
        raise CommandError(STATUS_UNREADABLE, f"{len(others)} csguard daemons run for "
                           f"{ctx.config.xapi_url} ({listed}): choose one with --state-dir")
    if others:
        return os.path.join(others[0][1], STATUS_FILE), True
    return path, False


def _pid_alive(pid):
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_STATUS_FIRST = ("role", "connection", "mode", "counts", "last_event_at", "pid", "version",
                 "started_at", "updated_at")


def _status_text(daemon, now):
    """Lines: the report as one xe record (times with their age), then the recent
    blocked attempts, one per line."""
    row = collections.OrderedDict()
    first = [key for key in _STATUS_FIRST if key in daemon]
    for key in first + sorted(set(daemon) - set(first)):
        value = daemon[key]
        if key == "blocked_attempts":
            continue
        if key.endswith("_at") and isinstance(value, str):
            value = _with_age(value, now)
        row[key.replace("_", "-")] = value
    lines = xe_records([row]).rstrip("\n").split("\n") if row else []
    seen = daemon.get("blocked_attempts") or []
    lines.append(f"recent blocked attempts: {len(seen) or 'none'}")
    for attempt in seen:
        if isinstance(attempt, dict):
            lines.append("  " + " ".join(f"{k.replace('_', '-')}={attempt[k]}"
                                         for k in sorted(attempt)))
        else:
            lines.append(f"  {attempt}")
    return lines


def _hyphenated(value):
    """The report with xe's key spelling (power-state, name-label), as every other
    --json output has it; the status file itself keeps its own."""
    if isinstance(value, dict):
        return collections.OrderedDict((str(k).replace("_", "-"), _hyphenated(v))
                                       for k, v in value.items())
    if isinstance(value, list):
        return [_hyphenated(item) for item in value]
    return value


def _with_age(text, now):
    try:
        return f"{text} ({format_duration(max(0, now - records.parse_time(text)))} ago)"
    except ValueError:
        return text
