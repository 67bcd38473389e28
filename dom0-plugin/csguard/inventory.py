"""What CloudStack's API says it owns: the instance names of its VMs, read every
`cloudstack.api.refresh` seconds and kept in the state directory, so a restart
while the API is down starts from the last inventory, never from name rules.

The calls, checked in apache/cloudstack:
- listVirtualMachines listall=true, field `instancename` (UserVmResponse; without
  listall an admin sees only its own account), and again with projectid=-1: project
  resources are listed only then (AccountManagerImpl.buildACLSearchParameters);
- listSystemVms (console proxies, secondary storage VMs), field `name`;
- listRouters listall=true, and with projectid=-1: routers of Role.VIRTUAL_ROUTER
  only (ListRoutersCmd.getRole);
- listInternalLoadBalancerVMs listall=true, and with projectid=-1 (Role.INTERNAL_LB_VM,
  answered as listinternallbvmsresponse with objects named "router");
- listCapabilities: `cloudstackversion`.
Elastic load balancer VMs (`l-<id>-<instance>`) are routers of Role.LB
(LoadBalanceRuleHandler.deployELBVm) that no list command returns, and NetScaler
VPX VMs are no CloudStack VM records at all: classify keeps the name rule for both.

A refresh is all or nothing: a failed call keeps the previous inventory whole.
Each reading runs on a thread of its own, so an API that takes minutes to answer
never holds up the event loop, and with it the protection of new VMs.
"""
import collections
import itertools
import json
import logging
import os
import re
import tempfile
import threading
import time

import cachetools

from csguard import records
from csguard.cloudstackapi import CloudStackApi, CloudStackError, shown
from csguard.config import ConfigError
from csguard.credentials import load_api_keys

log = logging.getLogger("csguard")

INVENTORY_FILE = "inventory.json"
# VMs with a CloudStack name that csguard has not seen refresh the inventory at most
# this many times a minute (CloudStack writes its database row before the VM
# reaches XAPI; a burst of restored leftovers must not hammer the API).
NEW_VM_REFRESHES_PER_MINUTE = 5
RETRY_INTERVAL = 60.0
# How long the daemon's start waits for the first reading before it goes on with
# the kept inventory (or none): aliens must not wait minutes for CloudStack.
START_WAIT = 10.0
# How long a VM with a CloudStack name waits for that reading before it is
# protected anyway (and released when the reading, finished, shows it is
# CloudStack's): the loop waits with it, so this bounds what a hung API costs.
NEW_VM_WAIT = 2.0
# While a reading runs, the loop looks for its answer this often (seconds).
READ_POLL = 0.5

CALLS = (
    ("listVirtualMachines", "virtualmachine", "instancename", {"listall": "true"}, "user VM"),
    ("listVirtualMachines", "virtualmachine", "instancename",
     {"listall": "true", "projectid": "-1"}, "project user VM"),
    ("listSystemVms", "systemvm", "name", {}, "system VM"),
    ("listRouters", "router", "name", {"listall": "true"}, "virtual router"),
    ("listRouters", "router", "name", {"listall": "true", "projectid": "-1"},
     "project virtual router"),
    ("listInternalLoadBalancerVMs", "router", "name", {"listall": "true"},
     "internal load balancer VM"),
    ("listInternalLoadBalancerVMs", "router", "name", {"listall": "true", "projectid": "-1"},
     "project internal load balancer VM"),
)
# Internal load balancer VMs came with CloudStack 4.2; before, the command is unknown
# and CloudStack answers it as a failed signature (ApiServer.verifyRequest).
SINCE = {"listInternalLoadBalancerVMs": (4, 2)}
CALLS_PER_READING = 1 + len(CALLS)  # listCapabilities first
COMMANDS = ("listCapabilities",) + tuple(sorted({call[0] for call in CALLS}))

Inventory = collections.namedtuple("Inventory", "names version read_at url")
Inventory.__doc__ = """names: {instance name: what it is}; version: CloudStack's;
read_at: epoch seconds; url: the API it came from (as shown in logs)."""


def fetch(api, now):
    """The Inventory the API answers now; CloudStackError if any call fails."""
    capability = api.call("listCapabilities").get("capability")
    version = capability.get("cloudstackversion") if isinstance(capability, dict) else None
    if not isinstance(version, str):
        raise CloudStackError("listCapabilities answered no cloudstackversion")
    names = {}
    release = _release(version)
    for command, object_name, field, params, what in CALLS:
        if release is not None and release < SINCE.get(command, (0, 0)):
            continue
        for item in api.list_all(command, object_name, **params):
            name = item.get(field)
            if not isinstance(name, str) or not name:
                raise CloudStackError(f"{command} answered a VM without its {field}")
            names.setdefault(name, what)
    return Inventory(names, version, now, api.url)


def _release(version):
    """(major, minor) of "4.20.1.0", or None for a version not shaped like that."""
    match = re.match(r"([0-9]+)\.([0-9]+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def source_for(config, state_dir):
    """An InventorySource when cloudstack.api.url is set, else None. ConfigError when
    the credentials file is unusable."""
    if config.cloudstack_api_url is None:
        return None
    api_key, secret_key = load_api_keys(config.cloudstack_api_credentials_file)
    api = CloudStackApi(config.cloudstack_api_url, api_key, secret_key,
                        timeout=config.cloudstack_api_timeout,
                        ca_file=config.cloudstack_api_ca_file,
                        verify_tls=config.cloudstack_api_verify_tls)
    return InventorySource(api, state_dir, config.cloudstack_api_refresh,
                           config.cloudstack_api_stale_alert)


def read_kept(path, url):
    """(the Inventory kept at path, or None; why it is unusable, or None). One kept
    for another API than url does not count."""
    try:
        with open(path, encoding="utf-8") as handle:
            kept = json.load(handle)
        inventory = Inventory({str(k): str(v) for k, v in kept["names"].items()},
                              str(kept["version"]), float(kept["read_at"]), kept["url"])
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return None, f"ignoring the kept inventory {path}: {error}"
    if inventory.url != url:
        return None, (f"ignoring the kept inventory {path}: it came from {inventory.url}, "
                      f"not {url}")
    return inventory, None


def kept(config):
    """The inventory the daemon keeps, for commands: what the daemon decides by
    (None without cloudstack.api, or before the daemon read one)."""
    if config.cloudstack_api_url is None:
        return None
    return read_kept(os.path.join(config.state_dir, INVENTORY_FILE),
                     shown(config.cloudstack_api_url))[0]


def for_report(config, now):
    """(Inventory or None, what preflight says of it) read from the API now, or the
    kept one if the API cannot be read; (None, None) without cloudstack.api."""
    if config.cloudstack_api_url is None:
        return None, None
    problem = None
    try:
        found = fetch(source_for(config, config.state_dir).api, now)
        where = "read now"
    except (ConfigError, CloudStackError) as error:
        problem = str(error)
        found = kept(config)
        where = ("the daemon's kept copy, read at " + records.format_time(found.read_at)
                 if found is not None else "none")
    return found, {"url": shown(config.cloudstack_api_url),
                   "version": found.version if found is not None else None,
                   "inventory": where, "vms": len(found.names) if found is not None else 0,
                   "error": problem}


class _Reading:
    """One fetch on a daemon thread (a hung API must not delay csguard's exit)."""

    def __init__(self, api, now, why):
        self.now, self.why = now, why
        self.inventory = self.error = None
        self._done = threading.Event()
        threading.Thread(target=self._run, args=(api,), name="csguard-inventory",
                         daemon=True).start()

    def _run(self, api):
        try:
            self.inventory = fetch(api, self.now)
        except CloudStackError as error:
            self.error = str(error)
        except Exception as error:  # noqa: BLE001 - the loop must get an answer
            self.error = f"unexpected {type(error).__name__} reading it: {error}"
        finally:
            self._done.set()

    def wait(self, timeout):
        """True once finished; waits at most timeout seconds (None: as long as it takes)."""
        return self._done.wait(timeout)


class InventorySource:
    """The current inventory, its refreshes, its kept copy and its staleness."""

    def __init__(self, api, state_dir, refresh, alert_after, clock=time.time):
        self.api, self.refresh_interval, self.alert_after = api, refresh, alert_after
        self.path = os.path.join(state_dir, INVENTORY_FILE)
        self._clock = clock
        self.current = None
        self.error = None          # text of the last failure, None after a success
        self.failing_since = None
        self.alerted = False       # the staleness alert was raised for this outage
        self.changed = False       # names changed since the loop last looked
        self._next = 0.0
        # Names that already asked for a refresh: each asks at most once per refresh.
        self._asked = cachetools.TTLCache(4096, refresh, timer=clock)
        self._on_demand = cachetools.TTLCache(NEW_VM_REFRESHES_PER_MINUTE, 60.0, timer=clock)
        self._tickets = itertools.count()
        self._reading = None       # the _Reading under way
        self._again = None         # why a reading is wanted once that one ends

    def start(self, wait=START_WAIT):
        """Before the first reconcile: the kept inventory, then a fresh one, waited
        for at most `wait` seconds (a later answer arrives through refresh_if_due)."""
        self.current = self._load_kept()
        self._begin("start")
        if self._collect(wait) is None:
            going_on = ("going on without one: every VM with a CloudStack name is "
                        "protected until it answers" if self.current is None else
                        "going on with the kept one read at "
                        f"{records.format_time(self.current.read_at)}")
            log.warning("CloudStack's API has not answered within %g s: %s", wait, going_on)

    def due_in(self):
        if self._reading is not None:
            return READ_POLL
        return max(0.0, self._next - self._clock())

    def refresh_if_due(self):
        """Take the answer of a reading that finished, and start one when due; never
        waits. True when the names changed."""
        changed = self._collect(0)
        if self._reading is None and (self._again or self.due_in() == 0):
            self._begin(self._again or "periodic")
            self._again = None
        return changed is True

    def refresh_for_new_vm(self, name, wait=NEW_VM_WAIT):
        """For a VM with a CloudStack name that is new to csguard and missing from the
        inventory: read it again (rate-limited), waiting at most `wait` seconds; True
        if a reading made since answered. A reading under way is waited for first:
        it may have begun before CloudStack recorded the VM."""
        self._on_demand.expire()
        if name in self._asked or len(self._on_demand) >= NEW_VM_REFRESHES_PER_MINUTE:
            return False
        self._asked[name] = True
        self._on_demand[next(self._tickets)] = True
        deadline = time.monotonic() + wait
        answered = self._collect(wait) is not None
        if answered and self.current is not None and name in self.current.names:
            return True
        if answered:
            self._begin(f"new VM {records.show(name)}")
            answered = self._collect(max(0.0, deadline - time.monotonic())) is not None
        else:
            self._again = f"new VM {records.show(name)}"
        if not answered:
            log.warning("CloudStack's API has not answered within %g s: VM %s is protected "
                        "for now, and released once a reading shows CloudStack holds it",
                        wait, records.show(name))
        return answered and self.error is None

    def _begin(self, why):
        self._reading = _Reading(self.api, self._clock(), why)

    def _collect(self, wait):
        """Take the answer of the reading under way, waiting at most `wait` seconds:
        True when the names changed, False when not (or no reading was under way),
        None when it has not finished."""
        reading = self._reading
        if reading is None:
            return False
        if not reading.wait(wait):
            return None
        self._reading = None
        now, why = reading.now, reading.why
        if reading.error is not None:
            self._next = now + min(self.refresh_interval, RETRY_INTERVAL)
            self._failed(reading.error, now)
            return False
        self._next = now + self.refresh_interval
        new = reading.inventory
        old = self.current
        changed = old is None or new.names != old.names or new.version != old.version
        self.current = new
        if self.error is not None:
            log.info("CloudStack's inventory read again (%s): %d VMs, CloudStack %s",
                     self.api.url, len(new.names), new.version)
        elif changed:
            log.info("CloudStack's inventory (%s, %s): %d VMs, CloudStack %s", why,
                     self.api.url, len(new.names), new.version)
        self.error, self.failing_since, self.alerted = None, None, False
        if changed:
            self.changed = True
            self._keep(new)
        return changed

    def stale_alert_due(self):
        """True once per outage, when reading has failed for alert_after seconds."""
        if (self.failing_since is None or self.alerted
                or self._clock() - self.failing_since < self.alert_after):
            return False
        self.alerted = True
        return True

    def state(self):
        if self.current is None:
            return "none"
        return "fresh" if self.error is None else "stale"

    def status(self):
        """For status.json: nothing secret."""
        current = self.current
        return {
            "url": self.api.url,
            "inventory": self.state(),
            "version": current.version if current else None,
            "read_at": records.format_time(current.read_at) if current else None,
            "vms": len(current.names) if current else 0,
            "error": self.error,
            "failing_since": (records.format_time(self.failing_since)
                              if self.failing_since is not None else None),
        }

    def _failed(self, text, now):
        if self.failing_since is None:
            self.failing_since = now
        if text == self.error:
            log.debug("still cannot read CloudStack's inventory: %s", text)
            return
        self.error = text
        if self.current is None:
            kept = ("there is no earlier one, so every VM with a CloudStack name stays "
                    "protected until it can be read")
        else:
            kept = (f"keeping the one read at {records.format_time(self.current.read_at)} "
                    f"({len(self.current.names)} VMs); nothing is unprotected because of it")
        log.error("cannot read CloudStack's inventory: %s; %s", text, kept)

    def _load_kept(self):
        inventory, problem = read_kept(self.path, self.api.url)
        if problem is not None:
            log.warning("%s", problem)
        elif inventory is not None:
            log.info("kept inventory loaded: %d VMs read at %s", len(inventory.names),
                     records.format_time(inventory.read_at))
        return inventory

    def _keep(self, inventory):
        state_dir = os.path.dirname(self.path)
        text = json.dumps({"url": inventory.url, "version": inventory.version,
                           "read_at": inventory.read_at, "names": inventory.names},
                          sort_keys=True)
        try:
            os.makedirs(state_dir, mode=0o750, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".inventory-", dir=state_dir)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.rename(tmp, self.path)
        except OSError as error:
            log.error("cannot keep the inventory in %s (%s): a restart during an API "
                      "outage would start without it", self.path, error)
