"""How XML-RPC reaches XAPI: small transports over a unix socket, HTTP and HTTPS,
every connect and request bounded by a timeout (XenAPI's own unix-socket
transport turns "_" into "/" in the path and has no timeout), and a parser that
slims each struct while it is read. HTTPS verifies the peer before anything is
sent: against the system's CAs, a CA file, or pinned SHA-256 fingerprints (XAPI's
certificates are self-signed, so pinning is what most pools need). Plain
standard library: XenAPI is imported by xapi.py alone.
"""
import hashlib
import http.client
import socket
import ssl
import xml.parsers.expat
import xmlrpc.client


class _SlimUnmarshaller(xmlrpc.client.Unmarshaller):
    """Passes each struct through `reduce` as soon as it is parsed, so an answer
    with 5,000 VM records never holds 5,000 full records at once."""

    dispatch = dict(xmlrpc.client.Unmarshaller.dispatch)  # noqa: RUF012 (xmlrpc's own design)

    def __init__(self, reduce):
        xmlrpc.client.Unmarshaller.__init__(self)
        self._reduce = reduce

    def end_struct(self, data):
        xmlrpc.client.Unmarshaller.end_struct(self, data)
        self._stack[-1] = self._reduce(self._stack[-1])

    dispatch["struct"] = end_struct


class _TimeoutMixin:
    """A transport whose connect and every request are bounded by `timeout`,
    and whose answers' structs go through `reduce_struct` while being parsed.

    The xmlrpc transport keeps one HTTP/1.1 connection open; the timeout is
    re-applied to its socket before each request, so one call can be given a
    longer budget (event.from) than the others.
    """

    timeout = 30.0
    reduce_struct = None

    def getparser(self):
        if self.reduce_struct is None:
            return super().getparser()
        unmarshaller = _SlimUnmarshaller(self.reduce_struct)
        return xmlrpc.client.ExpatParser(unmarshaller), unmarshaller

    def send_request(self, host, handler, request_body, debug):
        connection = self.make_connection(host)
        connection.timeout = self.timeout
        if connection.sock is not None:
            connection.sock.settimeout(self.timeout)
        return super().send_request(host, handler, request_body, debug)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except Exception:
            sock.close()
            raise
        self.sock = sock


class UnixTransport(_TimeoutMixin, xmlrpc.client.Transport):
    """XML-RPC over HTTP on a unix socket at any path."""

    def __init__(self, path, timeout):
        xmlrpc.client.Transport.__init__(self)
        self.path = path
        self.timeout = timeout

    def make_connection(self, host):
        if self._connection[1] is not None:
            return self._connection[1]
        self._extra_headers = []
        self._connection = host, _UnixConnection(self.path, self.timeout)
        return self._connection[1]


class HttpTransport(_TimeoutMixin, xmlrpc.client.Transport):
    """XML-RPC over plain HTTP with a timeout."""

    def __init__(self, timeout):
        xmlrpc.client.Transport.__init__(self)
        self.timeout = timeout

    def make_connection(self, host):
        connection = xmlrpc.client.Transport.make_connection(self, host)
        connection.timeout = self.timeout
        return connection


TLS_HINT = ("XAPI's certificate is self-signed unless you installed one: pin it with "
            "xapi.tls_fingerprints (xe certificate-list params=host,fingerprint_sha256) "
            "or name its CA in xapi.ca_file")


class CertificateMismatch(ssl.SSLError):
    """The peer's certificate is not one of the pinned fingerprints."""


def fingerprint(der):
    """A DER certificate's SHA-256 fingerprint as XAPI shows it (AB:CD:...)."""
    digits = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digits[i:i + 2] for i in range(0, len(digits), 2))


class _PinnedConnection(http.client.HTTPSConnection):
    """An HTTPS connection that closes before sending anything unless the peer's
    certificate has one of `fingerprints` (the pin replaces CA and name checks)."""

    def __init__(self, host, fingerprints, context):
        http.client.HTTPSConnection.__init__(self, host, context=context)
        self.fingerprints = fingerprints

    def connect(self):
        http.client.HTTPSConnection.connect(self)
        seen = fingerprint(self.sock.getpeercert(binary_form=True))
        if seen not in self.fingerprints:
            self.close()
            raise CertificateMismatch(
                f"the certificate of {self.host} has SHA-256 fingerprint {seen}, which is "
                "not in xapi.tls_fingerprints; if this host's certificate was replaced, "
                "check it (xe certificate-list) and add it")


class HttpsTransport(_TimeoutMixin, xmlrpc.client.SafeTransport):
    """XML-RPC over HTTPS with a timeout; the certificate is verified against
    `fingerprints` if given, else `ca_file`, else the system's CAs."""

    def __init__(self, timeout, ca_file=None, fingerprints=()):
        if fingerprints:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context = ssl.create_default_context(cafile=ca_file)
        xmlrpc.client.SafeTransport.__init__(self, context=context)
        self.timeout = timeout
        self.fingerprints = frozenset(fingerprints)

    def make_connection(self, host):
        if self.fingerprints and not (self._connection and host == self._connection[0]):
            chost, self._extra_headers, _x509 = self.get_host_info(host)
            self._connection = host, _PinnedConnection(chost, self.fingerprints,
                                                       self.context)
        connection = xmlrpc.client.SafeTransport.make_connection(self, host)
        connection.timeout = self.timeout
        return connection


WIRE_ERRORS = (
    OSError,  # includes socket.timeout, refused/reset connections and TLS errors
    ssl.CertificateError,  # Python 3.6: a name mismatch is a ValueError
    http.client.HTTPException,
    xmlrpc.client.ProtocolError,
    xmlrpc.client.Fault,  # XenAPI raises these when its re-login fails
    xml.parsers.expat.ExpatError,
)


def shown_url(url):
    """The URL without any user:password@ part, fit for logs and status output."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return scheme + sep + netloc + slash + path


def describe(error):
    """A one-line reason for a wire error (socket.timeout's str is just "timed out")."""
    if isinstance(error, socket.timeout):
        return "no answer in time (timed out)"
    if isinstance(error, CertificateMismatch):
        return str(error)
    if isinstance(error, ssl.CertificateError) or (
            isinstance(error, ssl.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(error)):
        reason = getattr(error, "verify_message", None) or str(error)
        return f"the certificate could not be verified ({reason}); {TLS_HINT}"
    if isinstance(error, xmlrpc.client.Fault):
        return error.faultString
    if isinstance(error, xmlrpc.client.ProtocolError):
        return f"HTTP {error.errcode} {error.errmsg}"
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
