"""The server-side state every host shares: database, sessions, domains, hosts.

Builds the initial pool (one pool object, N hosts each with its control domain,
a local SR and a network), and offers the data helpers the tests use to seed
VMs, messages and tasks without going through XAPI's checks.
"""
import calendar
import itertools
import time

from . import schema
from .arrivals import Arrivals
from .db import Database, new_uuid
from .lifecycle import Lifecycle, random_mac, refresh_allowed_operations
from .sessions import Sessions
from .wire import NULL_REF, ApiError, datetime_value, encode

# The pool's xapi by default: XenServer / XCP-ng 8.2 (no create_vtpm, no sysprep).
XAPI_VERSION = "1.249"
PRODUCTS = {
    "1.249": {"product_version": "8.2.1", "product_brand": "XenServer", "platform_name": "XCP",
              "xen": "4.13.5"},
    "25.33": {"product_version": "8.4.0", "product_brand": "XenServer", "platform_name": "XCP",
              "xen": "4.17.5"},
}
COMPLETED_TASK_TIMEOUT = 65 * 60.0
PENDING_TASK_TIMEOUT = 24 * 3600.0
MAX_TASKS = 200
TASK_GC_INTERVAL = 30.0

MESSAGE_CLASSES = {"VM": "VM", "Host": "host", "SR": "SR", "Pool": "pool", "VDI": "VDI",
                   "VMPP": None, "VMSS": None, "PVS_proxy": None, "Certificate": None}


class Pool:
    def __init__(self, hosts=1, xapi_version=XAPI_VERSION):
        self.db = Database()
        self.xapi_version = xapi_version
        self.vm_operations = self.db.vm_operations = schema.vm_operations(xapi_version)
        self.sessions = Sessions(self.db)
        self.lifecycle = Lifecycle(self)
        self.arrivals = Arrivals(self)
        self.domains = {}          # VM ref -> domid of a live domain
        self.dead_hosts = set()    # host refs whose agent is not alive
        self._domids = itertools.count(1)
        self.host_refs = []
        self.pool_ref = None
        self.sr_ref = None
        self.network_ref = None
        self._bootstrap(hosts)

    # --- initial objects -----------------------------------------------------

    def _bootstrap(self, hosts):
        db = self.db
        with db.lock:
            for i in range(hosts):
                host = schema.default_record("host")
                name = f"xs-{i}"
                host.update(
                    uuid=new_uuid(), name_label=name, hostname=name,
                    address=f"127.0.0.{i + 1}",
                    software_version=dict(PRODUCTS.get(self.xapi_version, PRODUCTS["25.33"]),
                                          xapi=self.xapi_version, hostname=name),
                    capabilities=["xen-3.0-x86_64", "hvm-3.0-x86_64"],
                    cpu_info={"cpu_count": "8", "vendor": "GenuineIntel"})
                ref = db.create("host", host)
                self.host_refs.append(ref)
                dom0 = schema.default_record("VM")
                dom0.update(uuid=new_uuid(), name_label="Control domain on host: " + name,
                            name_description="The domain which manages physical devices "
                                             "and manages other domains",
                            power_state="Running", is_control_domain=True, domid="0",
                            resident_on=ref, memory_target="4294967296",
                            memory_static_max="4294967296", memory_dynamic_max="4294967296",
                            memory_dynamic_min="4294967296", domain_type="pv",
                            VCPUs_max="8", VCPUs_at_startup="8",
                            other_config={"storage_driver_domain": ref})
                dom0_ref = db.create("VM", dom0)
                self.domains[dom0_ref] = 0
                refresh_allowed_operations(db, dom0_ref)
                db.update("host", ref, {"control_domain": dom0_ref})
            sr = schema.default_record("SR")
            sr.update(uuid=new_uuid(), name_label="Local storage",
                      other_config={"i18n-key": "local-storage"})
            self.sr_ref = db.create("SR", sr)
            network = schema.default_record("network")
            network.update(uuid=new_uuid(), name_label="Pool-wide network associated with eth0",
                           bridge="xenbr0")
            self.network_ref = db.create("network", network)
            pool = schema.default_record("pool")
            pool.update(uuid=new_uuid(), master=self.host_refs[0], default_SR=self.sr_ref,
                        suspend_image_SR=self.sr_ref, crash_dump_SR=self.sr_ref)
            self.pool_ref = db.create("pool", pool)

    # --- hosts ---------------------------------------------------------------

    def master_ref(self):
        return self.db.get("pool", self.pool_ref)["master"]

    def master_index(self):
        return self.host_refs.index(self.master_ref())

    def set_master(self, index):
        with self.db.lock:
            self.db.update("pool", self.pool_ref, {"master": self.host_refs[index]})

    def forget_tasks(self):
        """Tasks do not survive a xapi restart (``PersistNothing``)."""
        for ref in list(self.db.tables["task"]):
            self.db.delete("task", ref)

    def set_host_live(self, index, live):
        """Mark a host's agent dead or alive (XAPI's host liveness, from heartbeats)."""
        with self.db.lock:
            if live:
                self.dead_hosts.discard(self.host_refs[index])
            else:
                self.dead_hosts.add(self.host_refs[index])

    def host_is_live(self, host_ref):
        return self.db.exists("host", host_ref) and host_ref not in self.dead_hosts

    def new_domid(self):
        return next(self._domids)

    # --- VMs -----------------------------------------------------------------

    def create_vm(self, name_label, power_state="Running", host=0, affinity=None,
                  is_a_template=False, is_a_snapshot=False, other_config=None, tags=None,
                  blocked_operations=None, vbds=1, vifs=1, notify=True, uuid=None):
        """Insert a VM (and its disks and network devices) as if it had always been there."""
        if power_state not in ("Running", "Halted", "Paused", "Suspended"):
            raise ValueError("power_state must be Running, Halted, Paused or Suspended,"
                             f" not {power_state!r}")
        for what, index in (("host", host), ("affinity", affinity)):
            if index is not None and index not in range(len(self.host_refs)):
                raise ValueError(f"{what}={index!r} is not a host number of this pool"
                                 f" (0..{len(self.host_refs) - 1})")
        db = self.db
        with db.lock:
            host_ref = self.host_refs[host]
            live = power_state in ("Running", "Paused")
            record = self.lifecycle.new_vm_record({
                "uuid": uuid, "name_label": name_label, "power_state": power_state,
                "resident_on": host_ref if live else NULL_REF,
                "affinity": self.host_refs[affinity] if affinity is not None else NULL_REF,
                "is_a_template": bool(is_a_template or is_a_snapshot),
                "is_a_snapshot": bool(is_a_snapshot),
                "other_config": dict(other_config or {}), "tags": list(tags or []),
                "blocked_operations": dict(blocked_operations or {}),
                "memory_target": "2147483648" if live else "0",
            })
            if live:
                domid = self.new_domid()
                record["domid"] = str(domid)
            ref = db.create("VM", record, notify=False)
            if live:
                self.domains[ref] = domid
            for i in range(vbds):
                self._attach_disk(ref, name_label, i, live)
            for i in range(vifs):
                self._attach_vif(ref, i, live)
            refresh_allowed_operations(db, ref)
            if notify:
                db.changed.notify_all()
            return ref, record["uuid"]

    def _attach_disk(self, vm_ref, vm_name, position, attached):
        vdi = schema.default_record("VDI")
        vdi.update(uuid=new_uuid(), name_label=f"{vm_name} disk {position}",
                   SR=self.sr_ref)
        vdi["location"] = vdi["uuid"]
        vdi_ref = self.db.create("VDI", vdi, notify=False)
        vbd = schema.default_record("VBD")
        vbd.update(uuid=new_uuid(), VM=vm_ref, VDI=vdi_ref, userdevice=str(position),
                   device="xvd" + "abcdefghijklmnop"[position % 16] if attached else "",
                   bootable=position == 0, currently_attached=attached)
        self.db.create("VBD", vbd, notify=False)

    def _attach_vif(self, vm_ref, position, attached):
        vif = schema.default_record("VIF")
        vif.update(uuid=new_uuid(), VM=vm_ref, network=self.network_ref, device=str(position),
                   MAC=random_mac(), currently_attached=attached)
        self.db.create("VIF", vif, notify=False)

    def create_helper_vm(self, kind, host=0):
        """One of XenServer's own helper VMs, marked as its creator marks it:
        ``transfer-vm`` (xenserver/transfervm transferplugin/transfer clone_utility_vm:
        VM.create with other_config HideFromXenCenter and transfervm_clone, then
        started), ``driver-domain`` (a storage driver domain: a control domain,
        ``system_domains.ml`` is_system_domain)."""
        if kind == "transfer-vm":
            vdi = new_uuid()
            return self.create_vm(f"Transfer VM for VDI {vdi}", host=host, vifs=1,
                                  other_config={"HideFromXenCenter": "true",
                                                "transfervm_clone": "true",
                                                "transfer_vdi_uuid": vdi})
        if kind == "driver-domain":
            with self.db.lock:     # no client may see it before it is a control domain
                ref, uuid = self.create_vm("Storage driver domain", host=host, vbds=1, vifs=0,
                                           notify=False)
                self.db.update("VM", ref, {"is_control_domain": True})
                refresh_allowed_operations(self.db, ref)
                return ref, uuid
        raise ValueError(f"kind {kind!r} is not one of transfer-vm, driver-domain")

    def seed_vms(self, specs):
        with self.db.lock:
            created = [self.create_vm(notify=False, **spec) for spec in specs]
            self.db.changed.notify_all()
            return created

    def resolve_vm(self, ref_or_uuid):
        """A VM ref from a ref or a uuid (None if there is no such VM)."""
        if self.db.exists("VM", ref_or_uuid):
            return ref_or_uuid
        return self.db.uuid_index["VM"].get(ref_or_uuid)

    # --- messages and tasks --------------------------------------------------

    def create_message(self, name, priority, cls, obj_uuid, body):
        if cls not in MESSAGE_CLASSES:
            raise ApiError("INTERNAL_ERROR", f"Unknown value for enum cls: {cls}")
        table = MESSAGE_CLASSES[cls]
        if table is None or obj_uuid not in self.db.uuid_index[table]:
            raise ApiError("UUID_INVALID", cls, obj_uuid)
        record = {"uuid": new_uuid(), "name": name, "priority": str(priority), "cls": cls,
                  "obj_uuid": obj_uuid, "timestamp": datetime_value(), "body": body}
        return self.db.add_message(record)

    def create_task(self, name_label, host_ref):
        record = schema.default_record("task")
        record.update(uuid=new_uuid(), name_label=name_label, created=datetime_value(),
                      resident_on=host_ref, allowed_operations=["cancel"])
        return self.db.create("task", record)

    def finish_task(self, task, result=None, error=None):
        """Record the outcome of an Async call on its task (if the task still exists)."""
        with self.db.lock:
            if not self.db.exists("task", task):
                return
            changes = {"finished": datetime_value(), "allowed_operations": [],
                       "progress": 1.0}
            if self.db.get("task", task)["status"] == "cancelling":
                changes.update(status="cancelled", error_info=["TASK_CANCELLED", task])
            elif error is None:
                changes.update(status="success", result=_task_result(result))
            else:
                changes.update(status="failure", error_info=list(error.description))
            self.db.update("task", task, changes)

    def gc_tasks(self, now=None):
        """One pass of ``db_gc_util.ml`` timeout_tasks (xapi runs it every 30 s): completed
        tasks finished over 65 minutes ago go, pending ones created over 24 hours ago
        (``xapi_globs.ml`` completed_task_timeout, pending_task_timeout), then the
        oldest completed ones beyond ``max_tasks`` (200). Returns the refs removed."""
        now = time.time() if now is None else now
        with self.db.lock:
            completed, young = [], []
            for ref, row in self.db.tables["task"].items():
                task = row.record
                if task["status"] in ("pending", "cancelling"):
                    if _epoch(task["created"]) >= now - PENDING_TASK_TIMEOUT:
                        young.append(ref)
                elif _epoch(task["finished"]) >= now - COMPLETED_TASK_TIMEOUT:
                    completed.append((_epoch(task["finished"]), ref))
            completed.sort()
            overflow = max(0, len(completed) + len(young) - MAX_TASKS)
            keep = set(young) | {ref for _finished, ref in completed[overflow:]}
            doomed = [ref for ref in self.db.tables["task"] if ref not in keep]
            for ref in doomed:
                self.db.delete("task", ref)
            return doomed


def _epoch(value):
    return calendar.timegm(time.strptime(value.value, "%Y%m%dT%H:%M:%SZ"))


def _task_result(value):
    """XAPI stores an Async result as its XML-RPC ``<value>`` text ("" for void)."""
    if value is None:
        return ""
    return encode(value)
