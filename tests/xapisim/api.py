"""The XAPI method table and dispatcher.

Dispatch order follows XAPI's generated server: unknown name ->
MESSAGE_METHOD_UNKNOWN [name]; wrong number of arguments ->
MESSAGE_PARAMETER_COUNT_MISMATCH [name, expected, received] (session excluded);
then SESSION_INVALID [session]; then the method. ``Async.<class>.<op>`` creates a
task at once and runs the method inside it; the outcome lands on the task.
Calls arriving on a pool member's socket run on the master (XAPI forwards them),
except login, which records the member as the session's host.
"""
import threading
import time

from . import events, rbac, schema
from .accessors import UNKNOWN_ENUM_VALUE, Accessors
from .db import new_uuid
from .lifecycle import assert_operation_valid
from .plugins import call_plugin
from .wire import NULL_REF, ApiError, datetime_value


class Call:
    """Per-call context: which host's socket, which transport, which session."""

    __slots__ = ("host_index", "session", "transport")

    def __init__(self, host_index, transport):
        self.host_index = host_index
        self.transport = transport
        self.session = None


class Method:
    __slots__ = ("asynchronous", "handler", "locked", "nargs", "session")

    def __init__(self, handler, nargs, session=True, locked=True, asynchronous=False):
        self.handler = handler
        self.nargs = nargs if isinstance(nargs, tuple) else (nargs, nargs)
        self.session = session
        self.locked = locked
        self.asynchronous = asynchronous


class Api(Accessors):
    def __init__(self, pool, config):
        self.pool = pool
        self.db = pool.db
        self.config = config       # password, plugins_dir, auth_failure_delay
        self.methods = {}
        self.users = {}            # name -> (password, role): external users, over TCP
        self.clock_offsets = {}    # host ref -> seconds its clock is ahead (negative: behind)
        self.audit = None          # audit.AuditLog when the simulator writes one
        self._register_generic()
        self._register_specific()

    # --- dispatch ------------------------------------------------------------

    def call(self, call, name, params):
        """Run one XAPI call; returns the value or raises ApiError."""
        asynchronous = name.startswith("Async.")
        method = self.methods.get(name[len("Async."):] if asynchronous else name)
        if method is None or (asynchronous and not method.asynchronous):
            raise ApiError("MESSAGE_METHOD_UNKNOWN", name)
        given = len(params) - (1 if method.session else 0)
        fewest, most = method.nargs
        if not fewest <= given <= most:
            raise ApiError("MESSAGE_PARAMETER_COUNT_MISMATCH", name, fewest, max(given, 0))
        args = params
        if method.session:
            call.session = self.pool.sessions.check(params[0])
            args = params[1:]
            rbac.check(call.session, rbac.needed(name[len("Async."):] if asynchronous
                                                 else name, args))
        if asynchronous:
            return self._start_async(call, name, method, args)
        return self._run(call, method, args, name)

    def _run(self, call, method, args, name):
        if self.audit is None:
            return self._handle(call, method, args)
        action = name[len("Async."):] if name.startswith("Async.") else name
        with self.db.lock:
            objects = self.audit.objects(self.db, action, args)
        try:
            result = self._handle(call, method, args)
        except ApiError as error:
            self.audit.record(call.session, action, objects, error.description)
            raise
        self.audit.record(call.session, action, objects, None)
        return result

    def _handle(self, call, method, args):
        if method.locked:
            with self.db.lock:
                return method.handler(call, *args)
        return method.handler(call, *args)

    def _start_async(self, call, name, method, args):
        with self.db.lock:
            task = self.pool.create_task(name, self.pool.master_ref())

        def run():
            try:
                result = self._run(call, method, args, name)
            except ApiError as error:
                self.pool.finish_task(task, error=error)
            except Exception as error:  # noqa: BLE001 - a simulator bug must still end the task
                self.pool.finish_task(task, error=ApiError("INTERNAL_ERROR", repr(error)))
            else:
                self.pool.finish_task(task, result=result)

        threading.Thread(target=run, name=name, daemon=True).start()
        return task

    def add(self, name, handler, nargs, **options):
        self.methods[name] = Method(handler, nargs, **options)

    # --- specific methods ----------------------------------------------------

    def _register_specific(self):
        add = self.add
        pool = self.pool
        life = pool.lifecycle

        add("session.login_with_password", self.login_with_password, (2, 4), session=False,
            locked=False)
        add("session.logout", self.logout, 0)
        add("session.get_this_host", lambda call, s: self._session(s).host, 1)
        add("session.get_auth_user_name", lambda call, s: self._session(s).user, 1)
        add("session.get_originator", lambda call, s: self._session(s).originator, 1)
        add("session.get_uuid", lambda call, s: self._session(s).uuid, 1)
        add("session.get_is_local_superuser",
            lambda call, s: self._session(s).local_superuser, 1)
        add("session.get_record", lambda call, s: self._session(s).record(), 1)

        add("event.from", self.event_from, 3, locked=False)
        add("event_from", self.event_from, 3, locked=False)
        add("event.inject", lambda call, cls, ref: events.inject(self.db, cls, ref), 2)

        add("pool.get_master", lambda call, ref: self.db.get("pool", ref)["master"], 1)
        add("host.call_plugin", self.call_plugin, 4, locked=False, asynchronous=True)
        add("host.get_servertime", self.get_servertime, 1)

        vm_ops = [
            ("create", lambda call, record: life.create(self._vm_fields(record)), 1),
            ("destroy", lambda call, vm: self._void(life.destroy(vm)), 1),
            ("clone", lambda call, vm, name: life.clone(vm, name), 2),
            ("copy", lambda call, vm, name, sr: life.copy(vm, name), 3),
            ("snapshot", lambda call, vm, name, ignore_vdis=(): life.snapshot(vm, name), (2, 3)),
            ("start", lambda call, vm, paused, force: self._void(life.start(vm, paused, force)), 3),
            ("start_on", lambda call, vm, host, paused, force:
                self._void(life.start(vm, paused, force, host)), 4),
            ("resume", lambda call, vm, paused, force:
                self._void(life.resume(vm, paused, force)), 3),
            ("resume_on", lambda call, vm, host, paused, force:
                self._void(life.resume(vm, paused, force, host)), 4),
            ("clean_shutdown", lambda call, vm: self._void(life.shutdown(vm, "clean_shutdown")), 1),
            ("hard_shutdown", lambda call, vm: self._void(life.shutdown(vm, "hard_shutdown")), 1),
            ("shutdown", lambda call, vm: self._void(life.shutdown(vm, "shutdown")), 1),
            ("clean_reboot", lambda call, vm: self._void(life.reboot(vm, "clean_reboot")), 1),
            ("hard_reboot", lambda call, vm: self._void(life.reboot(vm, "hard_reboot")), 1),
            ("suspend", lambda call, vm: self._void(life.suspend(vm)), 1),
            ("pause", lambda call, vm: self._void(life.pause(vm)), 1),
            ("unpause", lambda call, vm: self._void(life.unpause(vm)), 1),
            ("power_state_reset", lambda call, vm: self._void(life.power_state_reset(vm)), 1),
        ]
        for op, handler, nargs in vm_ops:
            add("VM." + op, handler, nargs, asynchronous=True)
        add("VM.revert", lambda call, snapshot: pool.arrivals.revert(snapshot), 1,
            asynchronous=True)
        add("VM.assert_operation_valid", self.assert_operation_valid, 2, asynchronous=True)
        add("VM.set_is_a_template", self.set_is_a_template, 2)
        for field in ("memory_static_max", "memory_dynamic_max", "memory_dynamic_min",
                      "memory_static_min", "VCPUs_max", "VCPUs_at_startup",
                      "ha_restart_priority"):
            add("VM.set_" + field, self._setter("VM", field), 2)

        for cls in ("VBD", "VIF"):
            add(cls + ".create", self._device_create(cls), 1, asynchronous=True)
            add(cls + ".destroy", self._device_destroy(cls), 1, asynchronous=True)
        add("VDI.destroy", self.vdi_destroy, 1, asynchronous=True)

        add("task.create", self.task_create, 2)
        add("task.destroy", lambda call, task: self._void(self.db.delete("task", task)), 1)
        add("task.cancel", self.task_cancel, 1, asynchronous=True)

        add("message.create", self.message_create, 5)
        add("message.destroy", lambda call, ref: self._void(self.db.remove_message(ref)), 1)
        add("message.get_all", lambda call: list(self.db.messages), 0)
        add("message.get_all_records",
            lambda call: {ref: rec for ref, (_g, rec) in self.db.messages.items()}, 0)
        add("message.get_record", self.message_get_record, 1)
        add("message.get_by_uuid", self.message_get_by_uuid, 1)

    def get_servertime(self, call, host):
        """That host's own clock, in UTC (``xapi_host.ml`` get_servertime:
        ``Date.of_float (Unix.gettimeofday ())``, run on the host named)."""
        self.db.get("host", host)
        return datetime_value(time.time() + self.clock_offsets.get(host, 0.0))

    @staticmethod
    def _void(_result):
        return ""

    def _session(self, ref):
        return self.pool.sessions.check(ref)

    def login_with_password(self, call, user, password, version="1.0", originator=""):
        if not isinstance(user, str) or not isinstance(password, str):
            raise ApiError("FIELD_TYPE_ERROR", "uname")
        pool = self.pool
        host_ref = pool.host_refs[call.host_index]
        if call.transport == "tcp":
            if pool.master_ref() != host_ref:
                raise ApiError("HOST_IS_SLAVE",
                               self.db.get("host", pool.master_ref())["address"])
            named = self.users.get(user)
            if named is not None:
                if password != named[0]:
                    self._authentication_failed(user)
                return pool.sessions.login(host_ref, user, str(originator),
                                           role=named[1]).ref
            wanted = self.config["password"]
            if wanted is not None and (user != "root" or password != wanted):
                self._authentication_failed(user)
        return pool.sessions.login(host_ref, user, str(originator)).ref

    def _authentication_failed(self, user):
        time.sleep(self.config["auth_failure_delay"])
        raise ApiError("SESSION_AUTHENTICATION_FAILED", user, "Authentication failure")

    def logout(self, call):
        self.pool.sessions.destroy(call.session.ref)
        return ""

    def event_from(self, call, classes, token, timeout):
        return events.event_from(self.db, call.session, classes, token, timeout,
                                 self.pool.sessions.count())

    def call_plugin(self, call, host, plugin, fn, args):
        """On the master the plugin gets the caller's session (``xapi_host.ml``
        call_plugin); for another host ``message_forwarding.ml`` Host.call_plugin ->
        do_op_on -> call_slave_with_session makes a fresh internal pool session
        (no user name) and destroys it after the call."""
        with self.db.lock:
            self.db.get("host", host)
            on_master = host == self.pool.master_ref()
        if not isinstance(args, dict):
            raise ApiError("FIELD_TYPE_ERROR", "args")
        env = self.config["plugin_env"](self.pool.host_refs.index(host))
        if on_master:
            return call_plugin(self.config["plugins_dir"], call.session.ref, plugin, fn, args,
                               env)
        internal = self.pool.sessions.login(host, "", "", pool=True)
        try:
            return call_plugin(self.config["plugins_dir"], internal.ref, plugin, fn, args, env)
        finally:
            self.pool.sessions.destroy(internal.ref)

    def assert_operation_valid(self, call, vm, op):
        if op not in self.pool.vm_operations:
            raise UNKNOWN_ENUM_VALUE
        assert_operation_valid(self.db, vm, op)
        return ""

    def set_is_a_template(self, call, vm, value):
        if not isinstance(value, bool):
            raise ApiError("FIELD_TYPE_ERROR", "value")
        if value:
            assert_operation_valid(self.db, vm, "make_into_template")
        self.write("VM", vm, {"is_a_template": value})
        return ""

    def _vm_fields(self, record):
        if not isinstance(record, dict):
            raise ApiError("FIELD_TYPE_ERROR", "args")
        fields = {}
        for field, value in record.items():
            if field in schema.FIELDS["VM"]:
                fields[field] = self.coerce("VM", field, value)
        for ref_field in ("affinity",):
            if fields.get(ref_field, NULL_REF) != NULL_REF:
                self.db.get("host", fields[ref_field])
        return fields

    def _device_create(self, cls):
        def create(call, record):
            if not isinstance(record, dict):
                raise ApiError("FIELD_TYPE_ERROR", "args")
            fields = schema.default_record(cls)
            for field, value in record.items():
                if field in schema.FIELDS[cls]:
                    fields[field] = self.coerce(cls, field, value)
            self.db.get("VM", fields["VM"])
            if cls == "VBD" and fields["VDI"] != NULL_REF:
                self.db.get("VDI", fields["VDI"])
            fields.update(uuid=new_uuid(), currently_attached=False,
                          allowed_operations=[], current_operations={})
            return self.db.create(cls, fields)
        return create

    def _device_destroy(self, cls):
        def destroy(call, ref):
            record = self.db.get(cls, ref)
            if record["currently_attached"]:
                raise ApiError("OPERATION_NOT_ALLOWED",
                               f"{cls} is currently attached")
            self.db.delete(cls, ref)
            return ""
        return destroy

    def vdi_destroy(self, call, vdi):
        record = self.db.get("VDI", vdi)
        if any(self.db.get("VBD", vbd)["currently_attached"] for vbd in record["VBDs"]):
            raise ApiError("VDI_IN_USE", vdi, "destroy")
        for vbd in list(record["VBDs"]):
            self.db.update("VBD", vbd, {"VDI": NULL_REF, "empty": True})
        self.db.delete("VDI", vdi)
        return ""

    def task_create(self, call, label, description):
        task = self.pool.create_task(label, self.pool.host_refs[call.host_index])
        self.db.update("task", task, {"name_description": description})
        return task

    def task_cancel(self, call, task):
        record = self.db.get("task", task)
        if record["status"] == "pending":
            self.db.update("task", task, {"status": "cancelling"})
        return ""

    def message_create(self, call, name, priority, cls, obj_uuid, body):
        try:
            priority = str(int(priority))
        except (TypeError, ValueError):
            raise ApiError("FIELD_TYPE_ERROR", "priority")
        return self.pool.create_message(name, priority, cls, obj_uuid, body)

    def message_get_record(self, call, ref):
        entry = self.db.messages.get(ref)
        if entry is None:
            raise ApiError("HANDLE_INVALID", "message", ref)
        return entry[1]

    def message_get_by_uuid(self, call, uuid):
        for ref, (_generation, record) in self.db.messages.items():
            if record["uuid"] == uuid:
                return ref
        raise ApiError("UUID_INVALID", "message", uuid)

