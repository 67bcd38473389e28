"""Pure: xapi's RBAC audit lines, and the refusals by csguard's blocks in them.

A refused synchronous call (CloudStack's VM.destroy, VM.hard_shutdown) leaves no
task to see, but xapi audits every side-effecting call it serves, refused or not
(xen-api ocaml/xapi/rbac.ml check -> rbac_audit.ml allowed_post_fn_error). The
line goes through syslog facility local6 to /var/log/audit.log on the host that
took the call (the pool master, for CloudStack). Its shape (debug.ml format and
audit, rbac_audit.ml sexpr_of, sExpr.ml string_of):

    [20261203T09:00:00.123Z|audit|...|...|...|audit] ('trackid=...'
    'LOCAL_SUPERUSER' 'root' 'ALLOWED' 'ERROR:OPERATION_BLOCKED: [ OpaqueRef:...;
    csguard: ... ]' 'API' 'VM.destroy' (('self' 'name' 'uuid' 'OpaqueRef:...')))

(OPERATION_BLOCKED's parameters are the VM and the block's reason:
xapi_vm_lifecycle.ml check_operation_error, datamodel_errors.ml).

after syslog's own prefix, with every byte outside printable ASCII, and the
backslash, escaped by debug.ml escape (Astring.String.Ascii.escape).
"""
import collections
import re

from csguard import records

Audit = collections.namedtuple(
    "Audit", "at trackid subject_sid subject_name verdict result call_type action args")
# args: (name, object name, uuid, ref) of each object argument the line names.
Refusal = collections.namedtuple("Refusal", "at operation vm_ref vm_uuid vm_name by reason")

_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z")
_BLOCKED = re.compile(r"ERROR:OPERATION_BLOCKED: \[ (.*) \]\Z", re.DOTALL)
_ESCAPE = re.compile(rb"\\(x[0-9A-Fa-f]{2}|.)", re.DOTALL)
_SIMPLE = {b"n": b"\n", b"t": b"\t", b"r": b"\r"}


def _unescape_line(text):
    """Undo debug.ml escape: \\xHH bytes (UTF-8 names), \\\\, and the usual \\n \\t \\r."""
    def replace(match):
        code = match.group(1)
        if code[:1] == b"x" and len(code) == 3:
            return bytes([int(code[1:], 16)])
        return _SIMPLE.get(code, code)
    raw = _ESCAPE.sub(replace, text.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "replace")


def _tokens(text):
    """sExpr.ml's tokens: '(' , ')' and strings ('...' with \\\\ and \\' escapes)."""
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in " \t\r\n":
            i += 1
        elif char in "()":
            yield char
            i += 1
        elif char in "'\"":
            value, i = [], i + 1
            while i < n and text[i] != char:
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(text[i])
                i += 1
            if i >= n:
                raise ValueError("unterminated string")
            yield "".join(value), None
            i += 1
        else:
            start = i
            while i < n and text[i] not in " \t\r\n()'\"":
                i += 1
            yield text[start:i], None


def _sexpr(text):
    """The nested lists of one s-expression (strings as str)."""
    stack = [[]]
    for token in _tokens(text):
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) < 2:
                raise ValueError("unbalanced")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token[0])
    if len(stack) != 1 or len(stack[0]) != 1:
        raise ValueError("not one s-expression")
    return stack[0][0]


def parse(line):
    """The Audit of one line of the audit log, or None if it is not an audit record."""
    start = line.find("[")
    end = line.find("]", start + 1)
    if start < 0 or end < 0:
        return None
    fields = line[start + 1:end].split("|")
    if len(fields) < 2 or fields[-1].strip() != "audit":
        return None
    try:
        node = _sexpr(_unescape_line(line[end + 1:].strip()))
    except ValueError:
        return None
    if not isinstance(node, list) or len(node) != 8 or not isinstance(node[7], list):
        return None
    if not all(isinstance(field, str) for field in node[:7]):
        return None
    args = tuple(tuple(arg) for arg in node[7] if isinstance(arg, list) and len(arg) == 4
                 and all(isinstance(part, str) for part in arg))
    match = _TIME.match(fields[0])
    at = "{}-{}-{}T{}Z".format(*match.groups()) if match else None
    return Audit(at, *node[:7], args)


def refusal(audit):
    """The Refusal in an Audit whose call one of csguard's blocks refused, else None."""
    if audit is None or audit.verdict != "ALLOWED":
        return None
    match = _BLOCKED.match(audit.result)
    if match is None:
        return None
    params = match.group(1).split("; ", 1)
    if len(params) != 2 or not records.is_ours(params[1]):
        return None
    vm_ref, reason = params
    name = uuid = None
    for _arg, obj_name, obj_uuid, ref in audit.args:
        if ref == vm_ref:
            name, uuid = obj_name or None, obj_uuid or None
    operation = audit.action.rpartition(".")[2]
    return Refusal(audit.at, operation, vm_ref, uuid, name, who(audit), reason)


def who(audit):
    """Who made the call as xapi names them: the user name, else the subject
    (LOCAL_SUPERUSER is root's password login, LOCAL_SESSION an emergency one)."""
    return audit.subject_name or audit.subject_sid or None
