"""HTTP and XML-RPC over a unix socket at an exact path (standard library only).

XenAPI's own ``UDSTransport`` turns "_" into "/" in the socket path; these connect
to the path given, and keep the connection alive between calls the way
``xmlrpc.client`` does over TCP. Standard library only, so processes without
XenAPI (the benchmark's driver, relays) can use them too.
"""
import http.client
import socket
import xmlrpc.client


class UnixConnection(http.client.HTTPConnection):
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
        self._connection = host, UnixConnection(self.socket_path)
        return self._connection[1]
