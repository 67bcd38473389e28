"""A slow CloudStack API: the protection latency of new aliens while csguard's
reading of CloudStack's inventory waits on an API that takes seconds per call,
next to the same measurement, in the same run, with the API answering at once.

The daemon reads the inventory beside its event loop, so the two must match:
a new alien must not wait for CloudStack. `reading_unfinished` says the reading
was still waiting on the API when the last alien was protected.
"""
import os
import shutil
import tempfile

from cloudstacksim import CloudStackSim
from csguard import inventory
from integration.daemon_runner import wait_for, write_config

from . import adoption, latency, workload
from .simproc import SimProcess

KEY, SECRET = "AK-bench", "SK-bench"
REFRESH = 10.0                  # the shortest cloudstack.api.refresh


def _config(folder, url):
    keys = os.path.join(folder, "cloudstack.yaml")
    with open(keys, "w") as handle:
        handle.write(f"api_key: {KEY}\nsecret_key: {SECRET}\n")
    os.chmod(keys, 0o600)
    return write_config(folder, f"cloudstack:\n  api:\n    url: {url}\n"
                                f"    credentials_file: {keys}\n    refresh: {REFRESH:g}\n")


def measure(python, size, seconds_per_call, aliens, rate):
    """{"healthy": latencies, "slow": latencies, ...} at `size` VMs."""
    folder = tempfile.mkdtemp(prefix="cgb-api-", dir="/tmp")
    try:
        with CloudStackSim(api_key=KEY, secret_key=SECRET) as cloud, SimProcess() as sim:
            workload.seed(sim, size)
            daemon = adoption.Daemon(python, sim.url, config=_config(folder, cloud.url))
            daemon.start()
            try:
                daemon.wait_ready()
                healthy, _ = latency.measure(sim, aliens, rate, "api-up")
                cloud.delay, cloud.mode = seconds_per_call, "slow"
                asked = len(cloud.requests)
                wait_for(lambda: len(cloud.requests) > asked, REFRESH * 3,
                         "the next reading of the inventory", interval=0.02)
                slow, _ = latency.measure(sim, aliens, rate, "api-slow")
                unfinished = len(cloud.requests) - asked < inventory.CALLS_PER_READING
                cloud.mode = "up"
            finally:
                daemon.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"vms": size, "seconds_per_call": seconds_per_call, "new_aliens": aliens,
            "rate": rate, "healthy": healthy, "slow": slow,
            "reading_unfinished": unfinished}
