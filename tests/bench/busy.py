"""A busy master: adoption with every XAPI call answered after N ms, and the
protection latency of aliens created while that adoption runs.

The baseline is the bare client (bench.bare adopt) making the same calls against
the same slowed simulator. The daemon must protect a VM created in the middle of
a long adoption without waiting for the adoption to end, and write no VM twice
(its block writes equal the minimum plus the new aliens' own).
"""
import threading
import time

from . import adoption, latency, workload
from .simproc import SimProcess
from .workload import DEFAULT_BLOCKED

BLOCK_WRITE = "VM.add_to_blocked_operations"


def _minimum_blocks(uuids):
    """Block writes adoption needs: 4 per bare alien, 3 per destroy-only one."""
    return (len(uuids.get(workload.ALIEN_BARE, ())) * len(DEFAULT_BLOCKED)
            + len(uuids.get(workload.ALIEN_DESTROY_BLOCKED, ())) * (len(DEFAULT_BLOCKED) - 1))


def bare(python, size, milliseconds):
    with SimProcess() as sim:
        workload.seed(sim, size)
        sim.control.sim.latency(milliseconds)
        return adoption.bare_adoption(python, sim)


def daemon(python, size, milliseconds, rate):
    """csguard adopting `size` VMs at `milliseconds` per call while new aliens
    arrive at `rate` per second, from its first block write until READY=1."""
    with SimProcess() as sim:
        uuids = workload.seed(sim, size)
        sim.control.sim.latency(milliseconds)
        sim.reset_call_counts()
        created = []
        ready = threading.Event()

        def arrive():
            while not sim.call_counts().get(BLOCK_WRITE) and not ready.is_set():
                time.sleep(0.05)
            started = time.time()
            while not ready.is_set():
                delay = started + len(created) / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                    continue
                created.append(sim.control.sim.create_vm(f"busy-new-{len(created)}")[1])

        creator = threading.Thread(target=arrive, daemon=True)
        run = adoption.Daemon(python, sim.url).start()
        creator.start()
        try:
            seconds = run.wait_ready()
            ready.set()
            creator.join()
            times = latency.protection_times(sim, created)
            calls = sim.call_counts()
        finally:
            run.stop()
        return {"seconds": seconds, "calls": sum(calls.values()),
                "block_writes": calls.get(BLOCK_WRITE, 0),
                "minimum_block_writes": _minimum_blocks(uuids) + len(created) * len(
                    DEFAULT_BLOCKED),
                "new_aliens": len(created), "latency": latency.latencies(times)}


def measure(python, size, milliseconds, rate):
    return {"vms": size, "ms_per_call": milliseconds, "rate": rate,
            "bare": bare(python, size, milliseconds),
            "csguard": daemon(python, size, milliseconds, rate)}
