"""Steady state: what 1,000 VM changes csguard does not care about cost it.

The changes are the everyday noise of a pool: memory targets moving and other
tools writing their own other_config keys, spread over aliens (which carry
csguard's verdict record, kept intact) and CloudStack VMs, at a steady rate.
Whatever XAPI calls, writes and CPU seconds the daemon spends meanwhile is the
price of watching; writes must be zero. And with nothing changing at all, what
it costs the pool master per hour.
"""
import time

from . import workload
from .adoption import Daemon
from .meter import Meter
from .simproc import counts_since, write_calls

TARGETS = 100
SETTLE = 1.5


def _targets(uuids):
    aliens = workload.aliens(uuids)
    cloudstack = uuids.get(workload.CLOUDSTACK, [])
    half = TARGETS // 2
    return aliens[:half] + cloudstack[:TARGETS - min(half, len(aliens))]


def modify(sim, uuids, count, rate):
    """Make `count` unrelated changes at `rate` per second."""
    targets = _targets(uuids)
    other_config = {u: sim.control.sim.vm_record(u)["other_config"] for u in targets}
    started = time.time()
    for i in range(count):
        delay = started + i / float(rate) - time.time()
        if delay > 0:
            time.sleep(delay)
        uuid = targets[i % len(targets)]
        if i % 2:
            changed = dict(other_config[uuid], **{"backup-tool:last-run": str(i)})
            sim.control.sim.modify_vm(uuid, "other_config", changed)
        else:
            sim.control.sim.modify_vm(uuid, "memory_target", str(1073741824 + i * 4096))


def measure(sim, daemon, uuids, count, rate):
    """Calls, writes and daemon CPU seconds per 1,000 unrelated changes."""
    before = sim.call_counts()
    cpu = daemon.cpu_seconds()
    started = time.time()
    modify(sim, uuids, count, rate)
    time.sleep(SETTLE)
    calls = counts_since(before, sim.call_counts())
    scale = 1000.0 / count
    return {"modifications": count, "rate_per_s": rate,
            "seconds": time.time() - started,
            "calls_per_1000": sum(calls.values()) * scale,
            "writes_per_1000": write_calls(calls) * scale,
            "cpu_s_per_1000": (daemon.cpu_seconds() - cpu) * scale,
            "calls_by_method": calls}


def idle(python, sim, seconds):
    """XAPI calls and bytes the pool master sends, per hour, with nothing changing.

    A daemon of its own, started through the byte meter on the already protected
    pool, is watched for `seconds` once it is ready."""
    with Meter(sim.socket_path) as meter:
        daemon = Daemon(python, meter.url).start()
        try:
            daemon.wait_ready()
            time.sleep(SETTLE)
            before = sim.call_counts()
            sent = meter.bytes_sent()
            cpu = daemon.cpu_seconds()
            time.sleep(seconds)
            sent = meter.bytes_sent() - sent
            calls = counts_since(before, sim.call_counts())
            cpu = daemon.cpu_seconds() - cpu
        finally:
            daemon.stop()
    scale = 3600.0 / seconds
    return {"seconds": seconds, "calls_per_hour": sum(calls.values()) * scale,
            "master_mb_sent_per_hour": sent * scale / 1e6,
            "daemon_cpu_s_per_hour": cpu * scale}
