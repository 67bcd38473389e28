"""The cron-style poller measured in the same run as csguard.

It runs with a shortened interval so the run stays short; its numbers are scaled
to the real 60 s interval: the wait for the next run grows by 60/interval (the
listing and writes that follow do not), and per-hour load counts 60 runs.
"""
import json
import math
import os
import subprocess

from . import latency
from .adoption import pythonpath
from .meter import Meter
from .simproc import counts_since, write_calls
from .stats import summary

REAL_INTERVAL = 60.0


def _start(python, socket_path, interval, runs):
    return subprocess.Popen(
        [python, "-m", "bench.cron", socket_path, "--interval", str(interval),
         "--runs", str(runs)],
        env=dict(os.environ, **pythonpath()), stdout=subprocess.PIPE,
        universal_newlines=True)


def _finish(process):
    """The remaining run lines once the poller is done."""
    output, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the cron poller exited {process.returncode}")
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def idle_load(python, sim, interval, runs):
    """Calls and bytes the pool master sends, per hour at the real interval, with
    nothing to protect."""
    with Meter(sim.socket_path) as meter:
        before = sim.call_counts()
        done = _finish(_start(python, meter.socket_path, interval, runs))
        calls = counts_since(before, sim.call_counts())
        sent = meter.bytes_sent()
    per_hour = 3600.0 / REAL_INTERVAL / len(done)
    seconds = [run["end"] - run["start"] for run in done]
    return {"runs": len(done), "run_seconds": max(seconds),
            "calls_per_hour": sum(calls.values()) * per_hour,
            "writes_per_hour": write_calls(calls) * per_hour,
            "master_mb_sent_per_hour": sent * per_hour / 1e6}


def scaled_latencies(times, runs, interval):
    """Latencies at the real interval: (wait for the run that wrote the blocks) x
    60/interval + (that run's time from its start to the blocks)."""
    scale = REAL_INTERVAL / interval
    starts = sorted(run["start"] for run in runs)
    first, full = [], []
    for appeared, first_at, all_at in times:
        if all_at is None:
            continue
        start = max(s for s in starts if s <= all_at)
        waited = max(0.0, start - appeared) * scale
        first.append(waited + (first_at - start))
        full.append(waited + (all_at - start))
    return {"first_block": summary(first), "all_blocks": summary(full),
            "unprotected": sum(1 for _, _, b in times if b is None)}


def latencies(python, sim, interval, count, rate):
    """New aliens at `rate`/s while the poller runs; latencies scaled to 60 s."""
    runs = math.ceil(count / float(rate) / interval) + 2
    process = _start(python, sim.socket_path, interval, runs)
    first_run = json.loads(process.stdout.readline())
    uuids = latency.create_aliens(sim, count, rate, "cron-era-alien")
    done = [first_run] + _finish(process)
    times = latency.protection_times(sim, uuids, timeout=interval * 2)
    result = scaled_latencies(times, done, interval)
    result.update(measured_interval_s=interval, scale=REAL_INTERVAL / interval)
    return result
