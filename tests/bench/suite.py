"""One benchmark run: every measurement at every pool size, as one results dict.

Every pool is seeded identically in a fresh simulator process. Per size:
adoption, repeated, alternating the bare client (whose first pool also takes the
write probe) and csguard on fresh pools; then one pool for csguard's steady
state, protection latency and memory, its idle load (a second daemon, through
the byte meter), and, with csguard stopped, the cron-style poller. At the
largest size the daemon's memory is measured again under each further
interpreter.
"""
import collections
import subprocess
import sys
import time

from xapisim.events import BATCH_DELAY

from . import (
    adoption,
    alternative,
    busy,
    latency,
    memory,
    procstat,
    slowapi,
    steady,
    workload,
)
from .simproc import SimProcess

Settings = collections.namedtuple("Settings", [
    "sizes", "pythons", "repeats", "new_aliens", "alien_rate", "modifications",
    "modification_rate", "idle_seconds", "poller_interval", "poller_idle_runs",
    "probe_writes", "busy_ms", "busy_rate", "slow_api_s"])

DEFAULTS = Settings(sizes=(100, 1000, 5000), pythons=(), repeats=3, new_aliens=200,
                    alien_rate=20.0, modifications=1000, modification_rate=200.0,
                    idle_seconds=30.0, poller_interval=3.0, poller_idle_runs=3,
                    probe_writes=200, busy_ms=2.0, busy_rate=10.0, slow_api_s=5.0)


def python_version(python):
    return subprocess.check_output(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        universal_newlines=True).strip()


def _ratio(a, b):
    return a / b if a is not None and b else None


def adoptions(python, size, settings):
    """(bare client, csguard, write probe): medians over `repeats` fresh pools each."""
    bare_runs, daemon_runs, probe = [], [], None
    for _ in range(settings.repeats):
        with SimProcess() as sim:
            workload.seed(sim, size)
            bare_runs.append(adoption.bare_adoption(python, sim))
            if probe is None:
                probe, _ = adoption.run_bare(python, sim, "probe", "--count",
                                             str(settings.probe_writes))
        with SimProcess() as sim:
            uuids = workload.seed(sim, size)
            daemon, result = adoption.daemon_adoption(python, sim, workload.aliens(uuids))
            daemon.stop()
            daemon_runs.append(result)
    return adoption.median_run(bare_runs), adoption.median_run(daemon_runs), probe


def csguard_and_poller(python, size, settings, log):
    """csguard's steady state, latency, memory and idle load, then the poller's."""
    result = {}
    with SimProcess() as sim:
        uuids = workload.seed(sim, size)
        daemon, adopted = adoption.daemon_adoption(python, sim, workload.aliens(uuids))
        result["unprotected_after_adoption"] = adopted["unprotected_aliens"]
        try:
            log(f"  {size} VMs: steady state ({settings.modifications} unrelated changes)")
            result["steady"] = steady.measure(sim, daemon, uuids, settings.modifications,
                                              settings.modification_rate)
            log(f"  {size} VMs: protection latency ({settings.new_aliens} new aliens)")
            result["latency"], _ = latency.measure(sim, settings.new_aliens,
                                                   settings.alien_rate, "new-alien")
            result["memory"] = daemon.memory_mb()
        finally:
            daemon.stop()
        log(f"  {size} VMs: idle load ({settings.idle_seconds:g} s)")
        result["idle"] = steady.idle(python, sim, settings.idle_seconds)
        result["bare_listing_memory"] = memory.bare_listing(python, sim)
        log(f"  {size} VMs: cron-style poller")
        result["poller_idle"] = alternative.idle_load(
            python, sim, settings.poller_interval, settings.poller_idle_runs)
        result["poller_latency"] = alternative.latencies(
            python, sim, settings.poller_interval, settings.new_aliens, settings.alien_rate)
    return result


def memory_under(python, size, settings):
    """The daemon's memory under another interpreter: adoption, then the unrelated
    changes, then RSS; the bare listing client's peak next to it."""
    with SimProcess() as sim:
        uuids = workload.seed(sim, size)
        daemon, adopted = adoption.daemon_adoption(python, sim, workload.aliens(uuids))
        try:
            steady.modify(sim, uuids, settings.modifications, settings.modification_rate)
            time.sleep(steady.SETTLE)
            daemon_memory = daemon.memory_mb()
        finally:
            daemon.stop()
        bare = memory.bare_listing(python, sim)
    return {"daemon": daemon_memory, "bare_listing": bare,
            "adoption_s": adopted["seconds"],
            "unprotected_aliens": adopted["unprotected_aliens"]}


def measure_size(python, size, settings, log):
    log(f"{size} VMs: adoption, {settings.repeats} x (bare client, csguard)")
    bare, adopted, probe = adoptions(python, size, settings)
    run = csguard_and_poller(python, size, settings, log)
    floor = BATCH_DELAY + probe["median_s"]
    csguard_latency = run["latency"]["all_blocks"]
    poller_latency = run["poller_latency"]["all_blocks"]
    adopted["unprotected_aliens"] = max(adopted["unprotected_aliens"],
                                        run["unprotected_after_adoption"])
    return {
        "vms": size,
        "aliens": workload.alien_count(size),
        "write_s": probe["median_s"],
        "floor_s": floor,
        "latency": {
            "csguard": run["latency"],
            "poller": run["poller_latency"],
            "p50_to_floor": _ratio(csguard_latency["p50"], floor),
            "p99_to_floor": _ratio(csguard_latency["p99"], floor),
        },
        "adoption": {
            "csguard": adopted,
            "bare": bare,
            "minimum_calls": bare["minimum_calls"],
            "calls_to_minimum": _ratio(adopted["calls"], bare["minimum_calls"]),
            "time_to_bare": _ratio(adopted["seconds"], bare["seconds"]),
        },
        "steady": run["steady"],
        "load_per_hour": {"csguard_idle": run["idle"], "poller_idle": run["poller_idle"]},
        "memory": {"daemon": run["memory"], "bare_listing": run["bare_listing_memory"]},
        "csguard_to_poller": {
            "latency_p50": _ratio(csguard_latency["p50"], poller_latency["p50"]),
            "latency_p99": _ratio(csguard_latency["p99"], poller_latency["p99"]),
            "calls_per_hour": _ratio(run["idle"]["calls_per_hour"],
                                     run["poller_idle"]["calls_per_hour"]),
            "master_bytes_per_hour": _ratio(run["idle"]["master_mb_sent_per_hour"],
                                            run["poller_idle"]["master_mb_sent_per_hour"]),
        },
    }


def run(settings, log=lambda line: print(line, file=sys.stderr, flush=True)):
    """Every measurement; returns the results dict (bench.report judges the goals)."""
    pythons = list(settings.pythons)
    versions = {p: python_version(p) for p in pythons}
    primary = pythons[0]
    results = {
        "machine": procstat.machine(),
        "pythons": {"daemon": versions[primary], "daemon_interpreter": primary,
                    "memory": [versions[p] for p in pythons],
                    "simulator_and_bench": sys.version.split()[0]},
        "settings": dict(settings._asdict(), sizes=list(settings.sizes), pythons=pythons),
        "started_at": time.time(),
        "sizes": {},
    }
    for size in settings.sizes:
        results["sizes"][str(size)] = measure_size(primary, size, settings, log)
    largest = max(settings.sizes)
    by_python = {versions[primary]: dict(
        results["sizes"][str(largest)]["memory"],
        adoption_s=results["sizes"][str(largest)]["adoption"]["csguard"]["seconds"])}
    for python in pythons[1:]:
        log(f"{largest} VMs: daemon memory under Python {versions[python]}")
        by_python[versions[python]] = memory_under(python, largest, settings)
    results["memory"] = {"vms": largest, "by_python": by_python}
    log(f"{largest} VMs: a busy master ({settings.busy_ms:g} ms per call), bare client and "
        f"csguard, new aliens during csguard's adoption")
    results["busy"] = busy.measure(primary, largest, settings.busy_ms, settings.busy_rate)
    smallest = min(settings.sizes)
    log(f"{smallest} VMs: new aliens while CloudStack's API answers at once, then while "
        f"it takes {settings.slow_api_s:g} s per call")
    results["slow_api"] = slowapi.measure(primary, smallest, settings.slow_api_s,
                                          settings.new_aliens, settings.alien_rate)
    results["seconds"] = time.time() - results["started_at"]
    return results
