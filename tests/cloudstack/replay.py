"""Apache CloudStack's XenServer code paths, replayed call for call against XAPI.

Each method follows the Java of the version it names (``CitrixResourceBase`` for
the host side, from 4.3 on also its ``Citrix<Command>CommandWrapper`` classes;
``VirtualMachineManagerImpl`` for the management server) in its own words: the same XAPI calls in the same order, the same branches, the same
exception handling (including Java's ``finally`` blocks whose ``return`` replaces
the one of the ``catch``), and the log lines CloudStack writes. Every XAPI call is
recorded in ``calls``; ``log`` holds ``"<LEVEL> <message>"`` lines.

Not replayed (no effect on the VMs this project protects): network rules and VLAN
teardown, ISO SR removal, the memory/VCPU setup of a new VM, the snapshot-dir and
link-local setup of a ReadyCommand.
"""
import collections
import http.client
import time
import uuid
import xmlrpc.client

import XenAPI

from . import names
from .java import (
    BadAsyncResult,
    CloudRuntimeException,
    XenAPIException,
    XmlRpcException,
    record_text,
)

NULL_REF = "OpaqueRef:NULL"
RUNNING, HALTED = "Running", "Halted"
# CitrixResourceBase.s_statesTable: XAPI power state -> CloudStack VM state.
_STATES = {"Halted": "Stopped", "Running": "Running", "Paused": "Running",
           "Suspended": "Running"}
_TRANSPORT_ERRORS = (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError,
                     xmlrpc.client.Fault)
# What CloudStack's Java code catches as "Exception" around XAPI work.
_JAVA_EXCEPTIONS = (XenAPIException, XmlRpcException, CloudRuntimeException)

Call = collections.namedtuple("Call", "method args outcome")
Call.__doc__ = """One XAPI call: outcome is ("ok", value) or the failure's
ErrorDescription as a tuple (("OPERATION_BLOCKED", ref, reason)), or
("transport", text) when no answer came."""


def parse_version(text):
    """"4.0.2" -> (4, 0, 2); a clear ValueError for anything else."""
    parts = str(text).split(".")
    if not all(part.isdigit() for part in parts):
        raise ValueError(f"version {text!r}: expected dotted numbers such as '4.0.2' or '8.2'")
    return tuple(int(part) for part in parts)


class CloudStack:
    """One CloudStack management server with the pool behind ``session`` as a cluster.

    ``known_names`` are the instance names in CloudStack's database (its own VMs,
    whose database state is taken to agree with XAPI). ``version`` selects the
    behaviour: below 4.3 the alien-killing ClusterSync and the unfiltered
    ReadyCommand cleanup; from 4.3 the power-state report that only logs unknown
    names, the ``isAlienVm`` filter and VM creation with ``VM.create``.
    ``xenserver_version`` matters for ``stop_own`` of 4.20.1 and later only.

    A new instance has no cached VM states, as if CloudStack had connected to an
    empty pool: its first ``sync()`` attacks every running alien; later ones only
    the VMs that appeared, changed state or host, or went missing, so a running
    alien that survives is left alone while a halted one is attacked on every
    cycle. ``connect()`` first starts from what runs now instead.
    """

    def __init__(self, session, version="4.0.2", instance_name="VM", known_names=(),
                 poll_interval=1.0, task_timeout=600.0, xenserver_version="8.2"):
        self.version = parse_version(version)
        self.xenserver_version = parse_version(xenserver_version)
        self.instance_name = instance_name
        self.known_names = set(known_names)
        self.poll_interval = poll_interval
        self.task_timeout = task_timeout
        self.calls = []
        self.log = []
        self._session = session
        # What the resource learns when it is configured (not replayed as calls).
        pools = session.xenapi.pool.get_all_records()
        self._pool_uuid = next(iter(pools.values()))["uuid"]
        self._host_uuids = {ref: record["uuid"]
                            for ref, record in session.xenapi.host.get_all_records().items()}
        # CitrixResourceBase.s_vms: the cluster's VM states as last reported,
        # name -> (host uuid, state). Empty = CloudStack connected to an empty pool.
        self._cluster_vms = {}

    # -- recording --------------------------------------------------------------

    def _xapi(self, method, *args):
        target = self._session.xenapi
        for part in method.split("."):
            target = getattr(target, part)
        try:
            value = target(*args)
        except XenAPI.Failure as failure:
            self.calls.append(Call(method, args, tuple(failure.details)))
            raise XenAPIException(failure.details)
        except _TRANSPORT_ERRORS as error:
            self.calls.append(Call(method, args, ("transport", str(error))))
            raise XmlRpcException(str(error))
        self.calls.append(Call(method, args, ("ok", value)))
        return value

    def _log(self, level, message):
        self.log.append(f"{level} {message}")

    def methods(self):
        """The XAPI methods called so far, in order."""
        return [call.method for call in self.calls]

    def failures(self, method):
        """The ErrorDescriptions of the failed calls of ``method``."""
        return [call.outcome for call in self.calls
                if call.method == method and call.outcome[0] != "ok"]

    # -- names (the VM gurus) ---------------------------------------------------

    def _identify(self, name):
        """findByName, then convertToId: ("known", name), ("cloudstack", id) or None."""
        if name in self.known_names:
            return ("known", name)
        vm_id = names.convert_to_id(name, self.instance_name, self.version)
        return None if vm_id is None else ("cloudstack", vm_id)

    def _convert_to_infos(self, states):
        """VirtualMachineManagerImpl.convertToInfos: key -> (name, host uuid).
        Keys: ("known", name), ("cloudstack", id) (two names with one id collide,
        as in Java's map) or ("alien", -n) with a WARN per alien."""
        infos = collections.OrderedDict()
        aliens = 0
        for name, (host_uuid, _state) in states.items():
            key = self._identify(name)
            if key is None:
                aliens -= 1
                key = ("alien", aliens)
                self._log("WARN", "Found an alien VM " + name)
            infos[key] = (name, host_uuid)
        return infos

    # -- the host's VM listing (CitrixResourceBase.getAllVms) --------------------

    def _all_vms(self):
        """name -> (host uuid, state) of every resident non-template VM; None if
        XAPI cannot be read (two tries)."""
        records = None
        for _ in range(2):
            try:
                records = self._xapi("VM.get_all_records")
                break
            except (XenAPIException, XmlRpcException) as error:
                self._log("WARN", "Unable to get vms " + error.java_text())
                time.sleep(self.poll_interval)
        if records is None:
            return None
        states = collections.OrderedDict()
        for record in records.values():
            if record["is_control_domain"] or record["is_a_snapshot"] or record["is_a_template"]:
                continue
            if record["resident_on"] == NULL_REF:
                continue
            try:
                host_uuid = self._xapi("host.get_uuid", record["resident_on"])
            except (XenAPIException, XmlRpcException):
                host_uuid = None
            state = _STATES.get(record["power_state"], "Unknown")
            states[record["name_label"]] = (host_uuid, state)
        return states

    def _host_ref(self, host_uuid):
        """The host CloudStack's database knows by this guid (findHostByGuid)."""
        for ref, known_uuid in self._host_uuids.items():
            if known_uuid == host_uuid:
                return ref
        return None

    # -- cluster sync (4.0 - 4.2) --------------------------------------------------

    def connect(self):
        """The host connect of 4.0 - 4.2: fullClusterSync fills the state cache with
        what runs now, fullSync logs the aliens and stops only unknown ``i-`` VMs.
        VMs running at this point are left alone by later ``sync()`` calls until
        they start, stop or move. Returns {name: StopAnswer result}."""
        self._cluster_vms = dict(self._all_vms() or {})
        results = {}
        for key, (name, host_uuid) in self._convert_to_infos(self._cluster_vms).items():
            if key[0] == "known" or not names.is_valid_vm_name(name):
                continue
            host = self._host_ref(host_uuid)
            if host is not None:
                self._log("WARN", "Stopping a VM which we do not have any record of " + name)
                results[name] = self._cleanup(name, host)
        return results

    def sync(self):
        """One ClusterSync cycle (every 60 s). Below 4.3: deltaClusterSync on the
        pool master reports the VMs that appeared, changed state or host, or went
        missing since the last report, and deltaSync sends a StopCommand for each
        one CloudStack has no record of (aliens, and CloudStack-named VMs missing
        from its database). From 4.3: unknown names are only logged.
        Returns {name: StopAnswer result} for the StopCommands sent."""
        if self.version >= (4, 3):
            return self._power_state_report()
        changes = self._delta_cluster_sync()
        results = {}
        for key, (name, host_uuid) in self._convert_to_infos(changes).items():
            if key[0] == "known":
                continue
            self._log("DEBUG", "Cleaning up a VM that is no longer found <deltaSync>: " + name)
            host = self._host_ref(host_uuid)
            if host is not None:
                results[name] = self._cleanup(name, host)
        return results

    def _check_master(self):
        """ClusterSyncCommand answers only on the resource of the pool master (this
        replay is that resource; the check's calls are what it costs)."""
        pool = self._xapi("pool.get_by_uuid", self._pool_uuid)
        self._xapi("host.get_record", self._xapi("pool.get_record", pool)["master"])

    def _delta_cluster_sync(self):
        """CitrixResourceBase.deltaClusterSync: the changes since the cached states."""
        try:
            self._check_master()
        except _JAVA_EXCEPTIONS:
            self._log("WARN", "Check for master failed, failing the Cluster sync command")
            return {}
        new_states = self._all_vms()
        if new_states is None:
            self._log("WARN", "Unable to get the vm states so no state sync at this point.")
            return {}
        old_states = dict(self._cluster_vms)
        changes = collections.OrderedDict()
        for name, (host_uuid, new_state) in new_states.items():
            old = old_states.pop(name, None)
            if host_uuid is not None and old is not None and host_uuid != old[0] \
                    and new_state not in ("Stopped", "Stopping"):
                self._log("WARN", "Detecting a change in host for " + name)
                changes[name] = (host_uuid, new_state)
                self._cluster_vms[name] = (host_uuid, new_state)
                continue
            if name.startswith("migrating"):
                self._log("WARN", "Migrating from xen detected.  Skipping")
                continue
            if old is None:
                self._cluster_vms[name] = (host_uuid, new_state)
                self._log("WARN", "Detecting a new state but couldn't find a old state so "
                                  "adding it to the changes: " + name)
                changes[name] = (host_uuid, new_state)
            elif old[1] != new_state:
                self._cluster_vms[name] = (host_uuid, new_state)
                changes[name] = (host_uuid, new_state)
        # (The Starting/Migrating/Stopping branches of Java need a start, a migration
        # or a StopCommand in flight; this replay runs one command at a time.)
        for name, (host_uuid, old_state) in old_states.items():
            if old_state == "Stopped":
                del self._cluster_vms[name]
            else:
                # The cache keeps the old state: reported again on every cycle.
                self._log("WARN", "The VM is now missing marking it as Stopped " + name)
                changes[name] = (host_uuid, "Stopped")
        return changes

    def _power_state_report(self):
        """4.3+: the host VM state report; names not in the database are logged."""
        for name in self._all_vms() or {}:
            if name not in self.known_names:
                self._log("INFO", "Unable to find matched VM in CloudStack DB. name: " + name)
        return {}

    # -- StopCommand ------------------------------------------------------------------

    def stop(self, name, host_ref=None):
        """``cleanup(name)``: one 4.0 - 4.2 StopCommand sent to the host's resource
        (default: the host the VM runs on, else the pool master). Returns the
        StopAnswer's result."""
        return self._cleanup(name, host_ref or self._default_host(name))

    def stop_own(self, name, expunge=False, host_ref=None):
        """CloudStack stopping one of its own VMs, by instance name (so whatever VM
        carries that name is hit). Below 4.3 this is ``stop()``; later versions run
        the current resource code: no state cache, a look for GPUs, and from 4.20.1
        on XenServer / XCP-ng 8 or later the halted VM is kept unless the stop is
        part of an expunge. Returns the StopAnswer's result."""
        host = host_ref or self._default_host(name)
        if self.version < (4, 3):
            return self._cleanup(name, host)
        ok, details = self._stop_command(name, host, modern=True, expunge=expunge)
        if not ok:
            self._log("WARN", "Unable to stop a VM due to " + details)
        return ok

    def _default_host(self, name):
        """Where the agent manager sends a command for this VM name (unrecorded:
        the management server's own knowledge)."""
        xenapi = self._session.xenapi
        for vm in xenapi.VM.get_by_name_label(name):
            resident = xenapi.VM.get_resident_on(vm)
            if resident != NULL_REF:
                return resident
        pool = next(iter(xenapi.pool.get_all_records().values()))
        return pool["master"]

    def _cleanup(self, name, host_ref):
        ok, details = self._stop_command(name, host_ref)
        if not ok:
            self._log("WARN", "Unable to stop a VM due to " + details)
        return ok

    def _stop_command(self, name, host_ref, modern=False, expunge=False):
        """execute(StopCommand) on the resource of ``host_ref``: (result, details)."""
        own_uuid = self._host_uuids[host_ref]
        try:
            vms = self._xapi("VM.get_by_name_label", name)
            targets = []
            for vm in vms:
                record = self._xapi("VM.get_record", vm)
                if record["power_state"] != RUNNING or record["resident_on"] == NULL_REF \
                        or self._xapi("host.get_uuid", record["resident_on"]) == own_uuid:
                    targets.append(vm)
            if not targets:
                if not modern:
                    self._log("INFO", "VM does not exist on XenServer" + own_uuid)
                    self._cluster_vms.pop(name, None)
                return True, "VM does not exist"
            for vm in targets:
                answer = self._stop_vm(vm, name, own_uuid, modern, expunge)
                if answer is not None:
                    return answer
        except XenAPIException as error:
            message = f"Stop Vm {name} fail due to {error.java_text()}"
            self._log("WARN", message)
            return False, message
        except XmlRpcException as error:
            message = f"Stop Vm {name} fail due to {error.args[0]}"
            self._log("WARN", message)
            return False, message
        return False, "Stop VM failed"

    def _stop_vm(self, vm, name, own_uuid, modern, expunge):
        """The body of the StopCommand loop for one VM: an answer, or None to go on."""
        record = self._xapi("VM.get_record", vm)
        if record["is_control_domain"]:
            message = "Tring to Shutdown control domain"
            self._log("WARN", message)
            return False, message
        resident = record["resident_on"]
        if record["power_state"] == RUNNING and resident != NULL_REF \
                and self._xapi("host.get_uuid", resident) != own_uuid:
            other_uuid = self._xapi("host.get_uuid", resident)
            message = (f"Stop Vm {name} failed due to this vm is not running on this host: "
                       f"{own_uuid} but host:{other_uuid}")
            self._log("WARN", message)
            return False, message
        state = "Stopped" if modern else self._cluster_vms.get(name, (None, None))[1]
        self._set_cached_state(name, own_uuid, "Stopping", modern)
        self._log("DEBUG", f"9. The VM {name} is in Stopping state")
        failure = None
        try:
            if record["power_state"] == RUNNING:
                # "when stop a vm, set affinity to current xenserver"
                self._xapi("VM.set_affinity", vm, self._xapi("VM.get_resident_on", vm))
                self._shutdown_vm(vm, name, own_uuid)
        except _JAVA_EXCEPTIONS as error:
            message = (f"Catch exception {error.java_class()} when stop VM:{name} due to "
                       f"{error.java_text()}")
            self._log("DEBUG", message)
            failure = (False, message)
        # Java's finally: a success answer here replaces the catch's failure answer.
        try:
            if self._xapi("VM.get_power_state", vm) == HALTED:
                answer = self._destroy_halted(vm, name, modern, expunge)
                state = "Stopped"
                return answer
        except _JAVA_EXCEPTIONS as error:
            self._log("WARN", f"VM destroy failed in Stop {name} Command due to "
                              f"{error.java_text()}")
        finally:
            self._set_cached_state(name, own_uuid, state, modern)
            self._log("DEBUG", f"10. The VM {name} is in {state} state")
        return failure

    def _destroy_halted(self, vm, name, modern, expunge):
        if modern:
            try:
                self._xapi("VM.get_VGPUs", vm)
            except XenAPIException:
                self._log("DEBUG", f"VM {name} does not have GPU support.")
        networks = [self._xapi("VIF.get_network", vif) for vif in self._xapi("VM.get_VIFs", vm)]
        if not modern:
            self._look_up_vdis(vm)
        if not self._keeps_halted_vms() or expunge:
            self._xapi("VM.destroy", vm)
        self._look_up_iso_sr(name)
        for network in networks:
            try:
                self._xapi("network.get_name_label", network)
            except _JAVA_EXCEPTIONS:
                pass  # "network might be destroyed by other host"
        return True, f"Stop VM {name} Succeed"

    def _keeps_halted_vms(self):
        """apache/cloudstack#9175 (4.20.1): a stop on XenServer 8+ leaves the VM."""
        return self.version >= (4, 20, 1) and self.xenserver_version >= (8,)

    def _look_up_vdis(self, vm):
        """getVdis: CloudStack notes the VDIs behind the VBDs (it never destroys them)."""
        try:
            for vbd in self._xapi("VM.get_VBDs", vm):
                self._xapi("VBD.get_VDI", vbd)
        except _JAVA_EXCEPTIONS as error:
            self._log("WARN", "getVdis can not get VPD due to " + error.java_text())

    def _look_up_iso_sr(self, name):
        """getISOSRbyVmName: CloudStack's per-VM ISO SR (removing one found is not
        replayed: aliens have none)."""
        try:
            self._xapi("SR.get_by_name_label", name + "-ISO")
        except _JAVA_EXCEPTIONS as error:
            self._log("WARN", "getIsoSRbyVmName failed due to " + error.java_text())

    def _set_cached_state(self, name, host_uuid, state, modern):
        if not modern:
            self._cluster_vms[name] = (host_uuid, state)

    # -- shutdownVM and its helpers ----------------------------------------------------

    def _shutdown_vm(self, vm, name, own_uuid):
        """shutdownVM: Async clean_shutdown polled each second, then hard_shutdown,
        then forceShutdownVM while the VM still runs."""
        task = None
        try:
            task = self._xapi("Async.VM.clean_shutdown", vm)
            try:
                self._wait_for_task(task)
                self._check_for_success(task)
            except XenAPIException as error:
                if error.code != "HANDLE_INVALID":
                    raise
                if self._xapi("VM.get_power_state", vm) == HALTED:
                    task = None
                    return
                raise CloudRuntimeException(
                    "Shutdown VM catch HandleInvalid and VM is not in HALTED state")
        except XenAPIException as error:
            self._log("DEBUG", f"Unable to cleanShutdown VM({name}) on host({own_uuid}) due to "
                               f"{error.java_text()}")
            self._after_failed_clean_shutdown(vm, name, own_uuid, error)
        finally:
            if task is not None:
                try:
                    self._xapi("task.destroy", task)
                except _JAVA_EXCEPTIONS as destroy_error:
                    self._log("DEBUG", f"unable to destroy task({task}) on host({own_uuid}) "
                                       f"due to {destroy_error.java_text()}")

    def _after_failed_clean_shutdown(self, vm, name, own_uuid, clean_error):
        # Java logs the clean_shutdown error (``e``) where it means hard_shutdown's.
        unable = (f"Unable to hardShutdown VM({name}) on host({own_uuid}) due to "
                  f"{clean_error.java_text()}")
        try:
            state = self._xapi("VM.get_power_state", vm)
            if state == RUNNING:
                try:
                    self._xapi("VM.hard_shutdown", vm)
                except _JAVA_EXCEPTIONS:
                    self._log("DEBUG", unable)
                    if self._xapi("VM.get_power_state", vm) == RUNNING:
                        self._force_shutdown_vm(vm, own_uuid)
            elif state != HALTED:
                message = f"After cleanShutdown the VM status is {state}, that is not expected"
                self._log("WARN", message)
                raise CloudRuntimeException(message)
        except _JAVA_EXCEPTIONS:
            self._log("WARN", unable)
            raise CloudRuntimeException(unable)

    def _force_shutdown_vm(self, vm, own_uuid):
        """forceShutdownVM: kill the domain from dom0 (the plugin's answer is not
        looked at), then power_state_reset and destroy."""
        try:
            domid = self._xapi("VM.get_domid", vm)
            self._call_host_plugin(own_uuid, "vmopspremium", "forceShutdownVM", {"domId": domid})
            self._xapi("VM.power_state_reset", vm)
            self._xapi("VM.destroy", vm)
        except _JAVA_EXCEPTIONS as error:
            message = "forceShutdown failed due to " + error.java_text()
            self._log("WARN", message)
            raise CloudRuntimeException(message)

    def _call_host_plugin(self, own_uuid, plugin, function, args):
        arguments = "".join(f"{key}: {value}, " for key, value in args.items())
        try:
            host = self._xapi("host.get_by_uuid", own_uuid)
            return self._xapi("host.call_plugin", host, plugin, function, args).replace("\n", "")
        except XenAPIException as error:
            message = (f"callHostPlugin failed for cmd: {function} with args {arguments} "
                       f"due to {error.java_text()}")
            self._log("WARN", message)
        except XmlRpcException as error:
            message = (f"callHostPlugin failed for cmd: {function} with args {arguments} "
                       f"due to {error.args[0]}")
            self._log("DEBUG", message)
        raise CloudRuntimeException(message)

    def _wait_for_task(self, task):
        began = time.monotonic()
        while self._xapi("task.get_status", task) == "pending":
            time.sleep(self.poll_interval)
            if time.monotonic() - began > self.task_timeout:
                message = f"Async {int(self.task_timeout)} seconds timeout for task {task}"
                self._log("WARN", message)
                self._xapi("task.cancel", task)
                raise BadAsyncResult(message)

    def _check_for_success(self, task):
        if self._xapi("task.get_status", task) == "success":
            return
        message = "Task failed! Task record: " + record_text(self._xapi("task.get_record", task))
        self._log("WARN", message)
        self._xapi("task.cancel", task)
        raise BadAsyncResult(message)

    # -- ReadyCommand -----------------------------------------------------------------

    def ready(self, host_ref):
        """The ReadyCommand's cleanupHaltedVms at host connect: VM.destroy on every
        halted non-template VM whose affinity is this host (from 4.3 only those
        ``isAlienVm`` takes for CloudStack's: names matching ``^[ivs]-\\d+-.+``,
        read after the power state and affinity tests). One failed destroy fails the
        ReadyAnswer: False (CitrixReadyCommandWrapper: "Unable to cleanup halted
        vms"). The wrapper's CD-ROM clean-up of r-/s-/v- VMs is not replayed."""
        own_uuid = self._host_uuids[host_ref]
        try:
            host = self._xapi("host.get_by_uuid", own_uuid)
            records = self._xapi("VM.get_all_records")
        except (XenAPIException, XmlRpcException) as error:
            self._log("WARN", "Unable to cleanup halted vms " + error.java_text())
            return False
        success = True
        for vm, record in records.items():
            if record["is_a_template"] or record["is_control_domain"]:
                continue
            if record["power_state"] != HALTED or record["affinity"] != host:
                continue
            if self.version >= (4, 3) and names.is_alien_since_4_3(
                    self._xapi("VM.get_name_label", vm)):
                continue
            try:
                self._xapi("VM.destroy", vm)
            except _JAVA_EXCEPTIONS as error:
                self._log("WARN", f"Catch Exception {error.java_class()}: unable to destroy VM "
                                  f"{record['name_label']} due to {error.java_text()}")
                success = False
        return success

    # -- StartCommand (4.3+: CitrixStartCommandWrapper) ----------------------------------

    def start(self, name, template_ref, host_ref=None):
        """CitrixStartCommandWrapper.execute for the instance ``name``: every VM that
        carries the name is looked at first; a halted one is destroyed
        (CitrixResourceBase.destroyVm, replayed as its VM.destroy), a running one ends
        the command ("VM <name> is runing on host <uuid>"), any other state too
        ("There is already a VM having the same name"). Only then is the VM created
        from the template (as ``create_vm`` of 4.3+) and started on the host. An
        exception fails the StartAnswer (handleVmStartFailure is not replayed).
        Returns (result, details)."""
        host = host_ref or self._default_host(name)
        try:
            for vm in self._xapi("VM.get_by_name_label", name):
                record = self._xapi("VM.get_record", vm)
                if record["power_state"] == HALTED:
                    self._xapi("VM.destroy", vm)
                elif record["power_state"] == RUNNING:
                    message = (f"VM {name} is runing on host "
                               f"{self._xapi('host.get_uuid', record['resident_on'])}")
                    self._log("DEBUG", message)
                    return False, message
                else:
                    message = f"There is already a VM having the same name {name} vm record ..."
                    self._log("WARN", message)
                    return False, message
            self._log("DEBUG", f"1. The VM {name} is in Starting state.")
            self.known_names.add(name)
            vm = self._create_from_record(name, template_ref, host)
            self._xapi("VM.start_on", vm, host, False, True)
        except _JAVA_EXCEPTIONS as error:
            message = f"Catch Exception: {error.java_class()} due to {error.java_text()}"
            self._log("WARN", message)
            self._log("DEBUG", f"The VM is in stopped state, detected problem during startup : "
                               f"{name}")
            return False, message
        self._log("DEBUG", f"2. The VM {name} is in Running state.")
        return True, "started"

    # -- creating a VM ------------------------------------------------------------------

    def create_vm(self, name, template_ref, host_ref=None):
        """createVmFromTemplate for a new instance ``name`` (recorded in the
        database first): below 4.3 a clone of the template under the final name
        (briefly a template), then ``is_a_template = false``; from 4.3 a VM.create
        from the template's record with ``other_config:vm_uuid``. Returns the ref."""
        self.known_names.add(name)
        host = host_ref or self._default_host(name)
        if self.version >= (4, 3):
            return self._create_from_record(name, template_ref, host)
        vm = self._xapi("VM.clone", template_ref, name)
        for console in self._xapi("VM.get_record", vm).get("consoles", ()):
            self._xapi("console.destroy", console)
        self._xapi("VM.set_is_a_template", vm, False)
        self._xapi("VM.set_affinity", vm, host)
        self._xapi("VM.remove_from_other_config", vm, "disks")
        self._xapi("VM.set_name_label", vm, name)
        return vm

    def _create_from_record(self, name, template_ref, host):
        record = self._xapi("VM.get_record", template_ref)
        other_config = dict(record["other_config"])
        for key in ("disks", "default_template", "mac_seed"):
            other_config.pop(key, None)
        other_config["vm_uuid"] = str(uuid.uuid4())
        record.update(affinity=host, other_config=other_config, is_a_template=False,
                      name_label=name, actions_after_crash="destroy",
                      actions_after_shutdown="destroy")
        return self._xapi("VM.create", record)
