"""HTTP transport: one unix socket and one loopback TCP port per host.

Threaded HTTP/1.1 servers with keep-alive, as xmlrpc.client expects. ``POST /``
(any path but ``/simctl``) is XAPI; ``POST /simctl`` is the test-control endpoint.
Open connections are tracked so stopping the server really cuts clients off.
"""
import http.server
import os
import socket
import socketserver
import sys
import threading
import traceback

from . import wire
from .api import Call
from .wire import ApiError

MAX_UNIX_PATH = 107


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "xapi/1.249"
    sys_version = ""

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        endpoint = self.server.endpoint
        if self.path.startswith("/simctl"):
            payload = endpoint.simulator.handle_control(body)
        else:
            payload = self._xapi(endpoint, body)
            if payload is None:
                self.close_connection = True
                _cut(self.connection)
                return
        data = payload.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _xapi(self, endpoint, body):
        try:
            method, params = wire.parse_call(body)
        except ValueError as error:
            return wire.failure(["INTERNAL_ERROR", str(error)])
        if not endpoint.simulator.faults.admit(method):
            return None
        try:
            endpoint.simulator.faults.before_call(method, params[1:])
            value = endpoint.simulator.api.call(
                Call(endpoint.host_index, endpoint.transport), method, params)
            return wire.success(value)
        except ApiError as error:
            return wire.failure(error.description)
        except Exception as error:  # noqa: BLE001 - a simulator bug: report it like XAPI would
            traceback.print_exc(file=sys.stderr)
            return wire.failure(["INTERNAL_ERROR", repr(error)])

    def do_GET(self):
        self.send_error(404, "the simulator only answers XML-RPC POSTs")


def _cut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _TrackingMixIn(socketserver.ThreadingMixIn):
    daemon_threads = True
    block_on_close = False

    def process_request(self, request, client_address):
        with self.tracking_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.tracking_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def cut_all(self):
        with self.tracking_lock:
            connections = list(self.open_connections)
        for sock in connections:
            _cut(sock)


class _UnixServer(_TrackingMixIn, socketserver.UnixStreamServer):
    pass


class _TcpServer(_TrackingMixIn, socketserver.TCPServer):
    allow_reuse_address = True

    tls_context = None

    def get_request(self):
        """Replies go out at once (no Nagle delay), as xapi's own server sends them.
        With TLS the handshake happens in the handler's thread, on the first read."""
        request, address = super().get_request()
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls_context is not None:
            request = self.tls_context.wrap_socket(request, server_side=True,
                                                   do_handshake_on_connect=False)
        return request, address


class Endpoint:
    """One listening socket of one host."""

    def __init__(self, simulator, host_index, transport, server):
        self.simulator = simulator
        self.host_index = host_index
        self.transport = transport
        self.server = server
        server.endpoint = self
        server.tracking_lock = threading.Lock()
        server.open_connections = set()
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                       name=f"xapisim-{transport}-{host_index}",
                                       daemon=True)
        self.thread.start()

    @classmethod
    def unix(cls, simulator, host_index, path):
        size = len(path.encode())
        if size > MAX_UNIX_PATH:
            raise ValueError(
                f"unix socket path {path!r} is {size} bytes, the limit is {MAX_UNIX_PATH}:"
                " use a short directory, e.g. tempfile.mkdtemp(prefix='xs-', dir='/tmp')")
        if os.path.exists(path):
            os.unlink(path)
        return cls(simulator, host_index, "unix", _UnixServer(path, _Handler))

    @classmethod
    def tcp(cls, simulator, host_index, address, port, tls_context=None):
        server = _TcpServer((address, port), _Handler)
        server.tls_context = tls_context
        return cls(simulator, host_index, "tcp", server)

    @property
    def port(self):
        return self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.server.cut_all()
        if self.transport == "unix":
            try:
                os.unlink(self.server.server_address)
            except OSError:
                pass
