"""The one invariant every fault test ends with, the pool it is checked on (Watched)
and the daemons it is checked against (Fleet).

After a fault clears, within RECOVERY_BOUND seconds:
- every alien carries a block on every configured operation, and its verdict record;
- no CloudStack VM carries a csguard entry or verdict record;
- every foreign blocked_operations entry (Xen Orchestra's "true", an admin's text)
  is still there, unchanged;
- each daemon runs: one that died is restarted the way systemd's Restart=on-failure
  would (only after a non-zero exit or a signal; a clean exit would leave the pool
  unprotected, so it fails the test);
- its log holds one clear line about what happened (within the same bound), and no
  traceback.
"""
import re
import time

from csguard import records
from integration.daemon_runner import (
    DEFAULT_BLOCKED,
    DaemonError,
    DaemonRunner,
    missing_blocks,
    wait_for,
)

# The daemon retries at most every 30 s (BACKOFF_CAP) and adopts 1,000 VMs in a few
# seconds: this bound fails only a daemon that does not recover at all.
RECOVERY_BOUND = 60.0

XO_SHUTDOWN = {op: "true" for op in ("clean_reboot", "clean_shutdown", "hard_reboot",
                                     "hard_shutdown", "pause", "suspend", "shutdown")}
XO_DELETION = {"destroy": "true"}
ADMIN_NOTE = {"hard_shutdown": "bob: firmware update running, ask before stopping"}
CLOUDSTACK_FOREIGN = {"pool_migrate": "admin: pinned to this host"}

# One line of the daemon log as DaemonRunner captures it (no JOURNAL_STREAM).
LOG_LINE = re.compile(r"^\S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$")


class Watched:
    """The VMs a fault test checks: aliens, CloudStack VMs, and the foreign
    blocked_operations entries ({uuid: {op: reason}}) that must survive."""

    def __init__(self, operations=DEFAULT_BLOCKED):
        self.operations = tuple(operations)
        self.aliens = []
        self.cloudstack = []
        self.foreign = {}

    def seed(self, sim, aliens=0, foreign_aliens=0, cloudstack=0, prefix="", hosts=1):
        """Create VMs in one batch: plain aliens, aliens already carrying Xen
        Orchestra's or an admin's entries, CloudStack VMs (a third with a foreign
        entry). Names start with `prefix` so batches stay distinct."""
        specs, foreign = [], []
        for i in range(aliens):
            specs.append({"name_label": f"{prefix}alien {i}", "host": i % hosts})
            foreign.append(None)
        styles = (dict(XO_SHUTDOWN), dict(XO_DELETION), dict(ADMIN_NOTE))
        for i in range(foreign_aliens):
            entries = styles[i % len(styles)]
            specs.append({"name_label": f"{prefix}guarded by others {i}",
                          "blocked_operations": entries, "host": i % hosts})
            foreign.append(entries)
        start = len(self.cloudstack)
        for i in range(cloudstack):
            entries = dict(CLOUDSTACK_FOREIGN) if i % 3 == 0 else {}
            specs.append({"name_label": f"i-2-{start + i + 100}-VM",
                          "blocked_operations": entries, "host": i % hosts})
            foreign.append(entries or None)
        created = sim.seed_vms(specs)
        for (_, uuid), spec, entries in zip(created, specs, foreign):
            kind = self.cloudstack if spec["name_label"].startswith("i-2-") else self.aliens
            kind.append(uuid)
            if entries:
                self.foreign[uuid] = dict(entries)
        return [uuid for _, uuid in created]

    def unmet(self, sim):
        """What is wrong now, as a list of readable problems ([] = invariant holds)."""
        problems = []
        missing = missing_blocks(sim, self.aliens, self.operations)
        if missing:
            first = min(missing)
            problems.append(f"{len(missing)} aliens not fully blocked, e.g. {first} "
                            f"lacks {missing[first]}")
        unrecorded = [uuid for uuid in self.aliens if uuid not in missing and (
            records.parse_verdict(sim.vm_record(uuid)["other_config"].get(
                records.KEY_VERDICT)) or ("",))[0] != "alien"]
        if unrecorded:
            problems.append(f"{len(unrecorded)} protected aliens lack the verdict record, "
                            f"e.g. {unrecorded[0]}")
        for uuid in self.cloudstack:
            record = sim.vm_record(uuid)
            ours = [op for op, reason in record["blocked_operations"].items()
                    if records.is_ours(reason)]
            if ours or records.KEY_VERDICT in record["other_config"]:
                problems.append(f"CloudStack VM {record['name_label']} ({uuid}) carries "
                                f"csguard entries {ours} or a verdict record")
        for uuid, entries in self.foreign.items():
            blocked = sim.vm_record(uuid)["blocked_operations"]
            changed = {op: blocked.get(op) for op, reason in entries.items()
                       if blocked.get(op) != reason}
            if changed:
                problems.append(f"foreign entries of {uuid} changed: now {changed}")
        return problems


class Fleet:
    """The csguard daemons of one test, each a DaemonRunner of the test's Python.

    `start` launches one; `crash_restarted` is what systemd does with a daemon that
    died (Restart=on-failure); `host_down` kills one for good (its host is gone, so
    nothing restarts it). `close` stops the rest with SIGTERM, which must exit 0.
    """

    def __init__(self):
        self.current = []        # the live incarnation of each daemon, by index
        self.incarnations = []   # every runner started for each index
        self.gone = set()        # indexes whose host went down

    def start(self, xapi_url, state_dir, **options):
        runner = DaemonRunner(xapi_url, state_dir, **options).start()
        self.current.append(runner)
        self.incarnations.append([runner])
        return runner

    def index(self, daemon):
        return next(i for i, runner in enumerate(self.current) if runner is daemon)

    def host_down(self, daemon):
        """SIGKILL, and no restart: the host itself failed."""
        daemon.kill()
        self.gone.add(self.index(daemon))

    def crash_restarted(self, index):
        """Restart=on-failure: a daemon that died of a signal or a non-zero exit is
        started again (and must become ready); a clean exit 0 fails the test, since
        systemd would leave the pool unprotected."""
        daemon = self.current[index]
        if daemon.running or index in self.gone:
            return daemon
        if daemon.returncode == 0:
            raise DaemonError("the daemon exited 0 by itself: systemd (Restart=on-failure) "
                              f"would not restart it\n{daemon.log_tail()}")
        daemon.close()
        again = DaemonRunner(daemon.xapi_url, daemon.state_dir, config=daemon.config,
                             extra_args=daemon.extra_args, env=daemon.extra_env,
                             python=daemon.python, log_level=daemon.log_level).start()
        self.current[index] = again
        self.incarnations[index].append(again)
        again.wait_ready(RECOVERY_BOUND)
        return again

    def serving(self):
        return [d for i, d in enumerate(self.current) if i not in self.gone]

    def logs(self, index):
        """Everything daemon `index` logged, over all its incarnations."""
        return "\n".join(runner.logs() for runner in self.incarnations[index])

    def close(self):
        problems = []
        for i, runner in enumerate(self.current):
            if runner.running:
                code = runner.stop()
                if code != 0:
                    problems.append(f"daemon {i} exited {code} on SIGTERM\n{runner.log_tail()}")
        for runners in self.incarnations:
            for runner in runners:
                runner.close()
        if problems:
            raise DaemonError("\n".join(problems))


def log_lines(text, levels=("WARNING", "ERROR")):
    """[(level, message)] of the log lines in `text` at the given levels."""
    found = []
    for line in text.splitlines():
        match = LOG_LINE.match(line)
        if match and match.group(1) in levels:
            found.append((match.group(1), match.group(2)))
    return found


def assert_recovered(sim, watched, fleet, said, levels=("WARNING", "ERROR"), speaker=0,
                     bound=RECOVERY_BOUND):
    """The invariant (see the module docstring) over every daemon of `fleet` whose
    host is up. `said`: a regex that a log line of daemon `speaker` at one of
    `levels` must match; None for a fault the daemon never noticed (then no daemon
    may have warned at all). Returns the matching line."""
    for index in range(len(fleet.current)):
        fleet.crash_restarted(index)
    daemons = fleet.serving()
    try:
        wait_for(lambda: not watched.unmet(sim), timeout=bound, what="the invariant",
                 daemons=daemons, interval=0.2)
    except DaemonError as error:
        raise DaemonError(f"{error}\nstill wrong: {'; '.join(watched.unmet(sim))}") from None
    for index, daemon in enumerate(fleet.current):
        if index not in fleet.gone:
            assert daemon.running, daemon.log_tail()
        logs = fleet.logs(index)
        assert "Traceback" not in logs and "unexpected error" not in logs, daemon.log_tail()
    if said is None:
        for index in range(len(fleet.current)):
            assert log_lines(fleet.logs(index), levels) == [], fleet.current[index].log_tail()
        return None
    pattern = re.compile(said)

    def found():
        return [message for _, message in log_lines(fleet.logs(speaker), levels)
                if pattern.search(message)]

    try:
        return wait_for(found, timeout=bound, what=f"a {'/'.join(levels)} log line matching "
                        f"{said!r}", daemons=[fleet.current[speaker]], interval=0.2)[0]
    except DaemonError as error:
        logged = "\n".join(message for _, message in log_lines(fleet.logs(speaker), levels))
        raise DaemonError(f"{error}\nit logged at those levels:\n{logged}") from None

def wait_for_calls(sim, method, count, timeout=60.0):
    """Block until the simulator has received `count` calls of `method`: how a test
    strikes in the middle of a run of writes."""
    deadline = time.monotonic() + timeout
    while sim.call_counts().get(method, 0) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"only {sim.call_counts().get(method, 0)} {method} calls "
                                 f"after {timeout} s, waiting for {count}")
        time.sleep(0.005)
