"""Protection latency: from an alien's creation to its blocks, by the simulator's
own clock (vm_appeared_at, blocked_op_set_at), while aliens arrive at a steady rate.
"""
import time

from .stats import summary
from .workload import DEFAULT_BLOCKED

PROTECT_TIMEOUT = 120.0


def create_aliens(sim, count, rate, prefix):
    """Create `count` aliens, `rate` per second on a fixed schedule; their uuids."""
    uuids = []
    started = time.time()
    for i in range(count):
        delay = started + i / float(rate) - time.time()
        if delay > 0:
            time.sleep(delay)
        _, uuid = sim.control.sim.create_vm(f"{prefix}-{i}")
        uuids.append(uuid)
    return uuids


def protection_times(sim, uuids, timeout=PROTECT_TIMEOUT, operations=DEFAULT_BLOCKED):
    """[(appeared_at, first block at, all blocks at)] once every VM is fully blocked;
    VMs still unprotected after `timeout` seconds get None for the missing times."""
    deadline = time.time() + timeout
    pending = list(uuids)
    times = {}
    while pending:
        still = []
        for uuid in pending:
            stamps = [sim.control.sim.blocked_op_set_at(uuid, op) for op in operations]
            if all(isinstance(s, float) for s in stamps):
                times[uuid] = (min(stamps), max(stamps))
            else:
                still.append(uuid)
        pending = still
        if pending:
            if time.time() > deadline:
                break
            time.sleep(0.2)
    return [(sim.control.sim.vm_appeared_at(u),) + times.get(u, (None, None)) for u in uuids]


def latencies(times):
    """{"first_block": summary, "all_blocks": summary, "unprotected": n} in seconds."""
    first = [f - a for a, f, _ in times if f is not None]
    full = [b - a for a, _, b in times if b is not None]
    return {"first_block": summary(first), "all_blocks": summary(full),
            "unprotected": sum(1 for _, _, b in times if b is None)}


def measure(sim, count, rate, prefix):
    """Create aliens at `rate`/s and return their latencies."""
    uuids = create_aliens(sim, count, rate, prefix)
    return latencies(protection_times(sim, uuids)), uuids
