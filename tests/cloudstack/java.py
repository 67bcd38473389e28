"""How CloudStack's Java side turns XAPI failures and records into log text.

The XenServer Java SDK that CloudStack ships raises a typed exception per XAPI
error code whose ``toString()`` is only the generic description of the code: the
parameters (the VM ref, *our blocked-operation reason*) are not printed. The
parameters reach CloudStack's log only where it prints a whole record, as it does
for a failed Async task ("Task failed! Task record: ... errorInfo: [...]").
These classes keep the XAPI ErrorDescription and print what Java would print.
"""

# Generic descriptions of the codes a StopCommand / ReadyCommand meets (XAPI's
# datamodel texts, as the SDK's typed exceptions carry them).
DESCRIPTIONS = {
    "OPERATION_BLOCKED": "You attempted an operation that was explicitly blocked (see the "
                         "blocked_operations field of the given object).",
    "DOMAIN_EXISTS": "The operation could not be performed because a domain still exists "
                     "for the specified VM.",
    "HANDLE_INVALID": "You gave an invalid object reference.  The object may have recently "
                      "been deleted.  The class parameter gives the type of reference given, "
                      "and the handle parameter echoes the bad value given.",
    "VM_BAD_POWER_STATE": "You attempted an operation on a VM that was not in an appropriate "
                          "power state at the time; for example, you attempted to start a VM "
                          "that was already running.  The parameters returned are the VM's "
                          "handle, and the expected and actual VM state at the time of the call.",
    "XENAPI_PLUGIN_FAILURE": "There was a failure communicating with the plugin.",
    "XENAPI_MISSING_PLUGIN": "The requested plugin could not be found.",
}


class XenAPIException(Exception):
    """``Types.XenAPIException`` and its typed subclasses: one XAPI failure."""

    def __init__(self, details):
        self.details = tuple(str(d) for d in details)
        Exception.__init__(self, *self.details)

    @property
    def code(self):
        return self.details[0] if self.details else ""

    def java_text(self):
        """``toString()``: the generic description; codes without a typed class
        print their ErrorDescription."""
        return DESCRIPTIONS.get(self.code, " ".join(self.details))

    def java_class(self):
        name = "".join(part.capitalize() for part in self.code.split("_"))
        return "com.xensource.xenapi.Types$" + (name or "XenAPIException")

    def __str__(self):
        return self.java_text()


class BadAsyncResult(XenAPIException):
    """``Types.BadAsyncResult``: a failed or timed-out task; prints its message."""

    def __init__(self, message):
        XenAPIException.__init__(self, ())
        self.message = message

    def java_text(self):
        return self.message

    def java_class(self):
        return "com.xensource.xenapi.Types$BadAsyncResult"


class CloudRuntimeException(Exception):
    """``com.cloud.utils.exception.CloudRuntimeException`` (not a XenAPIException)."""

    def java_text(self):
        return "com.cloud.utils.exception.CloudRuntimeException: " + self.args[0]

    def java_class(self):
        return "com.cloud.utils.exception.CloudRuntimeException"

    def __str__(self):
        return self.args[0]


class XmlRpcException(Exception):
    """``org.apache.xmlrpc.XmlRpcException``: the connection failed, no XAPI answer."""

    def java_text(self):
        return "org.apache.xmlrpc.XmlRpcException: " + self.args[0]

    def java_class(self):
        return "org.apache.xmlrpc.XmlRpcException"


def _camel(field):
    head, *rest = field.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _java_value(value):
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_java_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def record_text(record):
    """``X.Record.toString()``: one ``%20s: %s`` line per field, camelCase names."""
    return "".join(f"{_camel(field):>20}: {_java_value(value)}\n"
                   for field, value in record.items())
