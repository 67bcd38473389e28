"""``Simulator``: start/stop the servers and expose the test controls.

Every control is an ordinary method here and, for out-of-process users, the
XML-RPC method ``sim.<name>`` at path ``/simctl`` of any host socket.
"""
import binascii
import copy
import os
import shutil
import threading
import time
import xmlrpc.client

from . import rbac, realdata, schema, tls, wire
from .api import Api
from .audit import AuditLog
from .controls import Faults
from .pool import TASK_GC_INTERVAL, XAPI_VERSION, Pool
from .server import Endpoint
from .wire import ApiError

# How long a master change keeps every host's socket closed (xapi's restart).
MASTER_CHANGE_DOWN_FOR = 0.5

CONTROLS = ("create_vm", "seed_vms", "vm_record", "modify_vm", "modify_object",
            "kill_sessions", "stall", "drop_connection", "latency", "fail_once", "write_once",
            "restart", "set_master", "set_master_in_place", "call_counts", "reset_call_counts",
            "vm_appeared_at", "blocked_op_set_at", "kill_domain", "set_host_live",
            "set_host_reachable", "gc_tasks", "add_user", "begin_import", "end_import",
            "begin_incoming_migration", "create_helper_vm", "load_real_vms", "set_clock_offset",
            "info")


def short_workdir():
    """A fresh directory in /tmp with a short name free of underscores.

    Short because unix socket paths are limited to 107 bytes; no underscores
    because XenAPI's UDSTransport turns "_" into "/".
    """
    while True:
        path = "/tmp/xs-" + binascii.hexlify(os.urandom(4)).decode()
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue


class Simulator:
    """A pool of ``hosts`` XAPI hosts sharing one database.

    ``workdir`` (default: a fresh short /tmp/xs-* directory, removed on stop) holds
    the sockets, ``state.db`` and ``plugins/``; ``tcp`` adds a loopback TCP port per
    host, where login checks root/``password`` (None: any credentials). ``xapi_version``
    ("1.249": XenServer/XCP-ng 8.2; "25.33": XenServer 8) sets the hosts'
    software_version and the vm_operations the pool knows. ``tls`` serves HTTPS on the
    TCP ports, each host with its own self-signed certificate (``host_certificate(i)``,
    ``host_fingerprint(i)``; needs the openssl command). ``audit_log`` writes xapi's RBAC
audit lines to ``audit_log_path`` (``<workdir>/audit.log``). Use as a context manager or
    ``start()``/``stop()``.
    """

    def __init__(self, hosts=1, workdir=None, plugins_dir=None, tcp=True, password="xenroot",
                 unix_socket=None, port=0, auth_failure_delay=0.0, xapi_version=XAPI_VERSION,
                 tls=False, audit_log=False):
        if hosts < 1:
            raise ValueError(f"a pool needs at least one host (hosts={hosts!r})")
        self._own_workdir = workdir is None
        self.workdir = workdir or short_workdir()
        self.plugins_dir = plugins_dir or os.path.join(self.workdir, "plugins")
        os.makedirs(self.plugins_dir, exist_ok=True)
        self.tcp = tcp
        self._base_socket = unix_socket or os.path.join(self.workdir, "xapi")
        self._requested_port = port
        self.pool = Pool(hosts, xapi_version)
        self.faults = Faults()
        self.api = Api(self.pool, {"password": password, "plugins_dir": self.plugins_dir,
                                   "auth_failure_delay": auth_failure_delay,
                                   "plugin_env": self._plugin_env})
        self.audit_log_path = os.path.join(self.workdir, "audit.log")
        if audit_log:
            self.api.audit = AuditLog(self.audit_log_path)
        self._endpoints = []
        self._tcp_ports = {}
        self._unreachable = set()
        self._certificates = {}
        self.https = tls
        self.running = False

    # --- lifecycle -----------------------------------------------------------

    def start(self):
        try:
            for i in range(len(self.pool.host_refs)):
                if i not in self._unreachable:
                    self._open_host(i)
        except BaseException:
            self._close()
            raise
        self.running = True
        self._gc_stop = threading.Event()
        threading.Thread(target=self._gc_loop, args=(self._gc_stop,), name="xapisim-gc",
                         daemon=True).start()
        return self

    def _gc_loop(self, stop):
        while not stop.wait(TASK_GC_INTERVAL):
            self.pool.gc_tasks()

    def _open_host(self, i):
        self._endpoints.append(Endpoint.unix(self, i, self.socket_path(i)))
        if self.tcp:
            self._endpoints.append(self._open_tcp(i))

    def _open_tcp(self, i):
        address = self.host_address(i)
        wanted = self._tcp_ports.get(i, self._tcp_ports.get(0, self._requested_port))
        context = None
        if self.https:
            context = tls.server_context(*self._certificate(i))
        try:
            endpoint = Endpoint.tcp(self, i, address, wanted, context)
        except OSError:
            if i == 0 and wanted == self._requested_port and wanted:
                raise
            endpoint = Endpoint.tcp(self, i, address, 0, context)
        self._tcp_ports[i] = endpoint.port
        return endpoint

    def _close(self):
        closers = [threading.Thread(target=endpoint.close) for endpoint in self._endpoints]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join()
        self._endpoints = []
        self.pool.sessions.destroy_all()
        if self.running:
            self._gc_stop.set()
        self.running = False

    def stop(self):
        if self.running:
            self._close()
            if not self._own_workdir:
                self.pool.db.save(self.state_path)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- addresses -----------------------------------------------------------

    @property
    def state_path(self):
        return os.path.join(self.workdir, "state.db")

    def socket_path(self, i=0):
        return self._base_socket if i == 0 else f"{self._base_socket}.{i}"

    def unix_url(self, i=0):
        return "unix://" + self.socket_path(i)

    def host_address(self, i):
        return self.pool.db.get("host", self.pool.host_refs[i])["address"]

    def tcp_port(self, i=0):
        return self._tcp_ports.get(i)

    def host_tcp_url(self, i):
        if i not in self._tcp_ports:
            raise RuntimeError("no TCP port: the simulator was created with tcp=False"
                               if not self.tcp else "no TCP port yet: call start() first")
        scheme = "https" if self.https else "http"
        return f"{scheme}://{self.host_address(i)}:{self._tcp_ports[i]}/"

    def _certificate(self, i):
        if i not in self._certificates:
            name = self.pool.db.get("host", self.pool.host_refs[i])["hostname"]
            self._certificates[i] = tls.make_host_certificate(self.workdir, name,
                                                              self.host_address(i))
        return self._certificates[i]

    def host_certificate(self, i=0):
        """The PEM file of host i's certificate (what a CA file would hold)."""
        return self._certificate(i)[0]

    def host_fingerprint(self, i=0):
        """Host i's certificate's SHA-256 fingerprint, as xe certificate-list shows it."""
        return tls.fingerprint(self.host_certificate(i))

    @property
    def tcp_url(self):
        """The master's TCP URL (login there checks root/password)."""
        return self.host_tcp_url(self.pool.master_index())

    @property
    def pool_ref(self):
        return self.pool.pool_ref

    @property
    def host_refs(self):
        return list(self.pool.host_refs)

    @property
    def host_uuids(self):
        return [self.pool.db.get("host", ref)["uuid"] for ref in self.pool.host_refs]

    # --- data helpers --------------------------------------------------------

    def create_vm(self, name_label, **options):
        return self.pool.create_vm(name_label, **options)

    def seed_vms(self, specs):
        return self.pool.seed_vms(specs)

    def load_real_vms(self, directory):
        """Every real VM record under ``directory`` (../shared/realdata), loaded with its
        own uuid, flags, names, other_config, tags and blocks; returns [(source, uuid)]."""
        return realdata.load(self.pool, realdata.vm_records(directory))

    def create_helper_vm(self, kind, host=0):
        """A XenServer helper VM (``transfer-vm``, ``driver-domain``), marked as XenServer
        marks it; returns (ref, uuid)."""
        return self.pool.create_helper_vm(kind, host)

    def vm_record(self, ref_or_uuid):
        with self.pool.db.lock:
            ref = self.pool.resolve_vm(ref_or_uuid)
            return copy.deepcopy(self.pool.db.get("VM", ref)) if ref else None

    def modify_vm(self, ref_or_uuid, field, value):
        """Write a VM field as another XAPI client would (events, allowed_operations)."""
        self.modify_object("VM", ref_or_uuid, field, value)

    def modify_object(self, cls, ref_or_uuid, field, value):
        """Write any field of any object, read-only ones included, as XAPI itself
        would (e.g. a host's software_version); produces events like a real change."""
        db = self.pool.db
        if cls not in db.tables:
            raise KeyError(f"no class {cls!r}; classes: {', '.join(db.tables)}")
        if field not in schema.FIELDS[cls]:
            raise KeyError(f"{cls} has no field {field!r}")
        with db.lock:
            ref = ref_or_uuid if db.exists(cls, ref_or_uuid) else db.uuid_index[cls].get(
                ref_or_uuid)
            if ref is None:
                raise KeyError(f"no {cls} with ref or uuid {ref_or_uuid!r}")
            self.api.write(cls, ref, {field: self.api.coerce(cls, field, value)})

    def _vm(self, ref_or_uuid):
        ref = self.pool.resolve_vm(ref_or_uuid)
        if ref is None:
            raise KeyError(f"no VM with ref or uuid {ref_or_uuid!r}")
        return ref

    # --- controls ------------------------------------------------------------

    def kill_sessions(self):
        self.pool.sessions.destroy_all()

    def stall(self, seconds, method=None):
        self.faults.stall(seconds, method)

    def drop_connection(self, method=None, count=1):
        self.faults.drop_connection(method, count)

    def latency(self, milliseconds, method=None):
        self.faults.latency(milliseconds, method)

    def fail_once(self, method, code, params=(), args=None):
        """The next call of `method` (whose arguments after the session start with
        `args`, if given) is refused with XAPI error [code, *params] and not run."""
        error = ApiError(code, *params)

        def refuse(_call_args):
            raise error
        self.faults.once(method, args, refuse)

    def write_once(self, method, ref_or_uuid, field, value, key=None, args=None):
        """Just before the next matching call of `method` runs, another client
        writes the VM's `field` (only map entry `key`, if given)."""
        def write(_call_args):
            if key is None:
                self.modify_vm(ref_or_uuid, field, value)
                return
            with self.pool.db.lock:
                current = dict(self.vm_record(ref_or_uuid)[field])
                current[key] = value
                self.modify_vm(ref_or_uuid, field, current)
        self.faults.once(method, args, write)

    def restart(self, down_for=0.0):
        """Like ``xe-toolstack-restart``: sockets, sessions and tasks go, the database stays.

        The database is written to ``state.db`` and read back, so only what
        XAPI persists survives (rows with their generation stamps, messages;
        sessions and tasks are ``PersistNothing`` in ``idl/datamodel.ml``).
        """
        self._restart(down_for)

    def _restart(self, down_for, while_down=None):
        self._close()
        with self.pool.db.lock:
            self.pool.forget_tasks()
            if while_down is not None:
                while_down()
        self.pool.db.save(self.state_path)
        self.pool.db.load(self.state_path)
        if down_for:
            time.sleep(down_for)
        self.start()

    def set_master(self, i, down_for=MASTER_CHANGE_DOWN_FOR):
        """``pool.designate_new_master``: xapi restarts on every host
        (``xapi_pool_transition.ml`` designate_new_master -> ``xapi_ha.ml``
        commit_new_master -> ``xapi_fuse.ml`` light_fuse_and_run). Every connection,
        session, task and waiting ``event.from`` dies; every socket is gone for
        ``down_for`` seconds; xapi comes back with host ``i`` as ``pool.master``
        (``dbsync_master.ml`` rewrites it at start-up)."""
        self._restart(down_for, lambda: self.pool.set_master(i))

    def set_master_in_place(self, i):
        """Not XAPI: only ``pool.master`` changes (one ``pool`` mod event), connections
        and sessions live on. For tests of a client's reaction to that event alone."""
        self.pool.set_master(i)

    def call_counts(self):
        return self.faults.call_counts()

    def reset_call_counts(self):
        self.faults.reset_call_counts()

    def vm_appeared_at(self, uuid):
        return self.pool.db.vm_appeared.get(uuid)

    def blocked_op_set_at(self, uuid, op):
        return self.pool.db.blocked_first_set.get((uuid, op))

    def kill_domain(self, ref_or_uuid):
        """The VM's domain dies outside XAPI; power_state stays as it was."""
        with self.pool.db.lock:
            self.pool.lifecycle.kill_domain(self._vm(ref_or_uuid))

    def set_host_live(self, i, live=True):
        """Host i's agent stops (or resumes) heartbeating: VM.power_state_reset of a
        VM resident there is then allowed instead of failing with HOST_IS_LIVE."""
        self.pool.set_host_live(i, live)

    def begin_import(self, name_label, other_config=None, host=0, uuid=None):
        """A VM.import (or metadata import) under way: a Halted VM with ``import`` in
        current_operations; end it with ``end_import``. Returns (ref, uuid)."""
        return self.pool.arrivals.begin_import(name_label, uuid, other_config, host)

    def begin_incoming_migration(self, source_uuid, name_label, other_config=None, host=0):
        """A cross-pool migrate_send arriving here: an import of the source VM's
        metadata, so the VM has the source's uuid."""
        return self.pool.arrivals.begin_import(name_label, source_uuid, other_config, host)

    def end_import(self, ref_or_uuid, ok=True):
        """The import (or incoming migration) ends; on failure XAPI's clean-up calls
        VM.destroy, which a destroy block refuses. Returns whether the VM remains."""
        return self.pool.arrivals.end_import(self._vm(ref_or_uuid), ok)

    def add_user(self, name, role, password=""):
        """An external (directory) user with one RBAC role, who logs in over TCP with
        ``password``: its sessions are not the local superuser's, so every call is
        checked against ``role`` (xapisim.rbac.ROLES)."""
        if role not in rbac.ROLES:
            raise ValueError(f"role {role!r} is not one of {', '.join(rbac.ROLES)}")
        self.api.users[name] = (password, role)

    def set_host_reachable(self, i, reachable=True):
        """Host i's sockets close (a powered-off or cut-off host: nothing answers,
        nothing in the database changes) or open again; a restart keeps it so."""
        if not reachable and i not in self._unreachable:
            self._unreachable.add(i)
            for endpoint in [e for e in self._endpoints if e.host_index == i]:
                self._endpoints.remove(endpoint)
                endpoint.close()
        elif reachable and i in self._unreachable:
            self._unreachable.discard(i)
            if self.running:
                self._open_host(i)

    def set_clock_offset(self, i, seconds):
        """Host i's clock runs ``seconds`` ahead of the real time (negative: behind),
        as host.get_servertime reports it."""
        self.api.clock_offsets[self.pool.host_refs[i]] = float(seconds)

    def gc_tasks(self, advance=0.0):
        """Run xapi's task GC pass now, as if ``advance`` seconds had passed (it also
        runs every 30 s by itself); returns the task refs it removed."""
        return self.pool.gc_tasks(time.time() + float(advance))

    def _plugin_env(self, i):
        return {"XAPISIM_SOCKET": self.socket_path(i)}

    def info(self):
        return {"sockets": [self.socket_path(i) for i in range(len(self.pool.host_refs))],
                "tcp": [self.host_tcp_url(i) for i in sorted(self._tcp_ports)],
                "pool": self.pool_ref, "hosts": self.host_refs, "workdir": self.workdir}

    def handle_control(self, body):
        """Serve one ``/simctl`` XML-RPC call (``sim.<control>``)."""
        try:
            params, method = xmlrpc.client.loads(body)
            name = (method or "").split(".", 1)[-1]
            if not (method or "").startswith("sim.") or name not in CONTROLS:
                known = ", sim.".join(CONTROLS)
                raise ValueError(f"unknown control {method!r}; known: sim.{known}")
            if name in ("restart", "set_master"):
                # The reply goes out before the socket it travels on closes.
                threading.Thread(target=getattr(self, name), args=params, daemon=True).start()
                return wire.plain_response(None)
            if name == "create_vm" and params and isinstance(params[-1], dict):
                result = getattr(self, name)(*params[:-1], **params[-1])
            else:
                result = getattr(self, name)(*params)
            return wire.plain_response(result)
        except Exception as error:  # noqa: BLE001 - reported to the control client as a fault
            return wire.fault_response(1, f"{type(error).__name__}: {error}")
