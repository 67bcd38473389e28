"""A faulty link: a unix-socket relay between a XAPI client and one simulator host
socket, for the faults the simulator's own controls cannot make.

    with FaultyLink(sim.socket_path(0)) as link:
        daemon = DaemonRunner(link.url, ...)
        link.lose_reply("VM.add_to_blocked_operations")   # the call runs, the reply is lost
        link.corrupt_token()                              # the next event.from token is garbage

`sim.drop_connection` closes a connection *before* the call runs; a reset after
XAPI has done the work (the write happened, its answer never arrived) is the
harder case for a client. And only the server hands out event.from tokens, so a
token the client cannot use again has to be spoiled on the way.
"""
import http.client
import http.server
import os
import re
import shutil
import socket
import socketserver
import sys
import tempfile
import threading
import xmlrpc.client

from xapisim.unixhttp import UnixConnection

GARBAGE_TOKEN = "not-a-token"
_TOKEN = re.compile(rb"(<name>token</name><value>)[^<]*(</value>)")


class _Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        http.server.BaseHTTPRequestHandler.setup(self)
        self.upstream = UnixConnection(self.server.link.upstream_path)

    def finish(self):
        self.upstream.close()
        http.server.BaseHTTPRequestHandler.finish(self)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            _, method = xmlrpc.client.loads(body)
        except Exception:  # noqa: BLE001 - not ours to judge: the simulator answers it
            method = None
        try:
            self.upstream.request("POST", self.path, body, {"Content-Type": "text/xml"})
            reply = self.upstream.getresponse()
            data = reply.read()
        except OSError:  # the simulator went away: so does this connection
            self._cut()
            return
        link = self.server.link
        if link.take("lose_reply", method):
            self._cut()
            return
        if method == "event.from" and link.take("corrupt_token", method):
            data = _TOKEN.sub(rb"\g<1>" + GARBAGE_TOKEN.encode() + rb"\g<2>", data)
        self.send_response(reply.status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _cut(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that hung up is no error of the link's (as in the simulator)."""
        if not isinstance(sys.exc_info()[1], OSError):
            socketserver.UnixStreamServer.handle_error(self, request, client_address)


class FaultyLink:
    """Relays every call to `upstream_path` unchanged until a fault is armed."""

    def __init__(self, upstream_path):
        self.upstream_path = upstream_path
        self._dir = tempfile.mkdtemp(prefix="fl-", dir="/tmp")
        self.path = os.path.join(self._dir, "xapi")
        self._lock = threading.Lock()
        self._armed = []        # [fault, method or None, remaining]
        self.fired = []         # (fault, method) each time one happened
        self._server = None

    @property
    def url(self):
        return "unix://" + self.path

    def lose_reply(self, method=None, count=1):
        """The next `count` calls of `method` (any if None) run, but their connection
        is closed instead of answering."""
        self._arm("lose_reply", method, count)

    def corrupt_token(self, count=1):
        """The next `count` event.from replies carry a token XAPI cannot parse."""
        self._arm("corrupt_token", "event.from", count)

    def _arm(self, fault, method, count):
        with self._lock:
            self._armed.append([fault, method, int(count)])

    def take(self, fault, method):
        """True (and counted down) if `fault` is armed for `method`."""
        with self._lock:
            for entry in self._armed:
                if entry[0] == fault and entry[1] in (None, method):
                    entry[2] -= 1
                    if entry[2] <= 0:
                        self._armed.remove(entry)
                    self.fired.append((fault, method))
                    return True
        return False

    def start(self):
        self._server = _Server(self.path, _Relay)
        self._server.link = self
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
