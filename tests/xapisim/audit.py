"""xapi's RBAC audit log, written as xapi writes it (opt-in: Simulator(audit_log=True)
writes <workdir>/audit.log, as syslog local6 lands in /var/log/audit.log on a host).

rbac.ml check audits every side-effecting call after it ran (rbac_audit.ml
allowed_post_fn_ok / allowed_post_fn_error; has_to_audit leaves out getters,
event.from, session.logout); sexpr_of makes the record, sExpr.ml string_of quotes
it, debug.ml format and audit prefix and escape it. Of the arguments only object
references are written, as (name, name_label, uuid, ref) like rbac_audit.ml's
heuristic 2; the parameter is "self" for destroy and field calls and "vm" (the
class, lowercase) otherwise, as datamodel_vm.ml names them. Async calls are
audited under their plain name (server_helpers.ml sync_ty_and_maybe_remove_prefix).
"""
import threading
import time

NOT_AUDITED = ("session.logout", "session.local_logout", "event.next", "event.from",
               "host.tickle_heartbeat")
TRACKID = "trackid=8f3c6c0a2f1b4d1e9b7a6c5d4e3f2a1b"


def audited(action):
    return ".get" not in action and action not in NOT_AUDITED


def sexpr(node):
    """sExpr.ml string_of: nodes in parentheses, strings in single quotes, \\ and '
    escaped."""
    if isinstance(node, list):
        return "(" + " ".join(sexpr(item) for item in node) + ")"
    return "'" + node.replace("\\", "\\\\").replace("'", "\\'") + "'"


def escape(text):
    """debug.ml escape (Astring.String.Ascii.escape): bytes outside printable ASCII
    as \\xHH, the backslash doubled."""
    out = []
    for byte in text.encode("utf-8"):
        if byte == 0x5C:
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def result_text(error):
    """'OK', or 'ERROR:' + exnHelper.ml string_of_exn of the API error."""
    if error is None:
        return "OK"
    return f"ERROR:{error[0]}: [ {'; '.join(str(p) for p in error[1:])} ]"


def line(action, subject_sid, subject_name, result, args, hostname="xs-0", at=None):
    """One line of audit.log: rsyslog's prefix, then the debug.ml record."""
    at = time.time() if at is None else at
    stamp = time.strftime("%Y%m%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"
    record = [TRACKID, subject_sid, subject_name, "ALLOWED", result, "API", action,
              [list(arg) for arg in args]]
    prefix = f"[{stamp}|audit||1234 INET :::80|{action} D:9a8b7c6d5e4f|audit]"
    syslog = time.strftime("%b %d %H:%M:%S", time.localtime(at))
    return f"{syslog} {hostname} xapi: {escape(prefix + ' ' + sexpr(record))}"


class AuditLog:
    """Appends one line per audited call to `path`."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()

    def objects(self, db, action, args):
        """The object arguments, read before the call runs (rbac_audit.ml
        allowed_pre_fn: a destroyed object has no name afterwards)."""
        if not audited(action):
            return None
        objects = []
        for value in args:
            found = _object(db, value) if isinstance(value, str) else None
            if found is not None:
                cls, row = found
                call = action.rpartition(".")[2]
                name = "self" if call.startswith(("destroy", "set_", "add_", "remove_")) \
                    else cls.lower()
                objects.append((name, row.get("name_label", ""), row.get("uuid", ""), value))
        return objects

    def record(self, session, action, objects, error):
        """The line of one call that ran (objects: from objects(), None if not audited)."""
        if objects is None or session is None:
            return
        sid = "LOCAL_SUPERUSER" if session.local_superuser else "S-1-5-21-" + session.user
        text = line(action, sid, session.user, result_text(error), objects)
        with self._lock, open(self.path, "a") as f:
            f.write(text + "\n")


def _object(db, ref):
    for cls in ("VM", "host", "pool", "SR", "VDI", "network"):
        if cls in db.tables and db.exists(cls, ref):
            return cls, db.get(cls, ref)
    return None
