"""XML-RPC encoding as XAPI writes it, plus the API error type.

XAPI writes strings as bare ``<value>text</value>`` (no ``<string>`` tag), int64
fields as decimal strings and dates as ``dateTime.iso8601``. Records are stored in
this wire form already, so encoding is a straight walk; whole-record fragments are
cached by the database (``Fragment``) and spliced into responses unchanged.
"""
import time
import xmlrpc.client

NULL_REF = "OpaqueRef:NULL"


class ApiError(Exception):
    """A XAPI failure: ``ErrorDescription = [code, param, ...]`` (all strings)."""

    def __init__(self, code, *params):
        Exception.__init__(self, code, *params)
        self.code = code
        self.params = [str(p) for p in params]

    @property
    def description(self):
        return [self.code] + self.params

    def __str__(self):
        return " ".join(self.description)


class Fragment(str):
    """An already encoded ``<value>...</value>``: emitted verbatim."""


def datetime_value(epoch=None):
    """XAPI's UTC DateTime, e.g. ``20261125T04:10:05Z``."""
    if epoch is None:
        epoch = time.time()
    return xmlrpc.client.DateTime(time.strftime("%Y%m%dT%H:%M:%SZ", time.gmtime(epoch)))


EPOCH = datetime_value(0)


def _escape(text):
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def encode(value):
    """Encode one value as a ``<value>`` element (a str)."""
    parts = []
    _encode(value, parts.append)
    return "".join(parts)


def _encode(value, out):
    kind = type(value)
    if kind is Fragment:
        out(value)
    elif kind is str:
        out("<value>" + _escape(value) + "</value>")
    elif kind is dict:
        out("<value><struct>")
        for key, item in value.items():
            out("<member><name>" + _escape(key) + "</name>")
            _encode(item, out)
            out("</member>")
        out("</struct></value>")
    elif kind is list or kind is tuple:
        out("<value><array><data>")
        for item in value:
            _encode(item, out)
        out("</data></array></value>")
    elif kind is bool:
        out("<value><boolean>" + ("1" if value else "0") + "</boolean></value>")
    elif kind is int:
        out(f"<value><int>{value:d}</int></value>")
    elif kind is float:
        out("<value><double>" + repr(value) + "</double></value>")
    elif kind is xmlrpc.client.DateTime:
        out("<value><dateTime.iso8601>" + value.value + "</dateTime.iso8601></value>")
    elif value is None:
        out("<value><nil/></value>")
    elif isinstance(value, str):
        _encode(str(value), out)
    else:
        raise TypeError(f"cannot encode {value!r} for XML-RPC")


_HEAD = '<?xml version="1.0"?>\n<methodResponse><params><param>'
_TAIL = "</param></params></methodResponse>\n"


def success(value):
    """A complete methodResponse carrying ``{Status: Success, Value: value}``."""
    parts = [_HEAD, ("<value><struct><member><name>Status</name><value>Success</value></member>"
             "<member><name>Value</name>")]
    _encode(value, parts.append)
    parts.append("</member></struct></value>" + _TAIL)
    return "".join(parts)


def failure(description):
    """A complete methodResponse carrying ``{Status: Failure, ErrorDescription: [...]}``."""
    return (_HEAD + "<value><struct><member><name>Status</name><value>Failure</value></member>"
            "<member><name>ErrorDescription</name>" + encode([str(d) for d in description])
            + "</member></struct></value>" + _TAIL)


def plain_response(value):
    """A methodResponse with a bare value (used by the /simctl control endpoint)."""
    return _HEAD + encode(value) + _TAIL


def fault_response(code, text):
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, text), methodresponse=True)


def parse_call(body):
    """(method name, params tuple) of a methodCall; ValueError if it is not one."""
    try:
        params, method = xmlrpc.client.loads(body)
    except Exception as exc:  # noqa: BLE001 - expat and xmlrpc raise several unrelated types
        raise ValueError(f"not an XML-RPC methodCall: {exc}")
    if method is None:
        raise ValueError("not an XML-RPC methodCall: no methodName")
    return method, params
