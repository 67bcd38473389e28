"""Client-side helpers for tests: real XenAPI sessions on any socket path.

XenAPI's own ``UDSTransport`` turns "_" into "/" in the socket path; this
transport connects to the exact path given, and keeps the connection alive
between calls the way ``xmlrpc.client`` does over TCP.
"""
import http.client
import socket
import xmlrpc.client

import XenAPI


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        http.client.HTTPConnection.__init__(self, "localhost")
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.socket_path)
        self.sock = sock


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        xmlrpc.client.Transport.__init__(self)
        self.socket_path = path

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        self._connection = host, _UnixConnection(self.socket_path)
        return self._connection[1]


def unix_session(path, originator="tests", login=True):
    """A XenAPI.Session on the unix socket ``path``, logged in unless login=False."""
    session = XenAPI.Session("http://localhost/", transport=UnixTransport(path))
    if login:
        session.xenapi.login_with_password("root", "", "1.0", originator)
    return session


def tcp_session(url, user="root", password="xenroot", originator="tests"):
    session = XenAPI.Session(url)
    session.xenapi.login_with_password(user, password, "1.0", originator)
    return session


def control(path):
    """An xmlrpc ServerProxy on a host socket's ``/simctl`` endpoint (methods sim.*)."""
    return xmlrpc.client.ServerProxy("http://localhost/simctl", transport=UnixTransport(path),
                                     allow_none=True)


def failure_of(function, *args):
    """The ErrorDescription of the XenAPI.Failure that ``function(*args)`` raises."""
    try:
        function(*args)
    except XenAPI.Failure as failure:
        return failure.details
    raise AssertionError(f"{function!r}{args!r} succeeded; a XenAPI.Failure was expected")
