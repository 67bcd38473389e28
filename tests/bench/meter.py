"""A byte-counting relay in front of the simulator's unix socket.

The simulator counts calls, not bytes, and a call count hides what matters for
the pool master: one listing of 5,000 VMs is a multi-megabyte answer, one idle
event.from a few hundred bytes. Clients pointed at `Meter.socket_path` reach the
simulator unchanged while every byte it answers is counted. Used only where the
relay's extra hop cannot distort a timing (idle load).
"""
import os
import shutil
import socket
import tempfile
import threading

CHUNK = 65536


class Meter:
    def __init__(self, target_path):
        self.target_path = target_path
        self._dir = tempfile.mkdtemp(prefix="xm-", dir="/tmp")
        self.socket_path = os.path.join(self._dir, "xapi")
        self._lock = threading.Lock()
        self._sent = 0
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.socket_path)
        self._listener.listen(16)
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="meter").start()

    @property
    def url(self):
        return "unix://" + self.socket_path

    def bytes_sent(self):
        """Bytes the simulator has answered through the relay so far."""
        with self._lock:
            return self._sent

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                server.connect(self.target_path)
            except OSError:
                client.close()
                server.close()
                continue
            threading.Thread(target=self._pump, args=(client, server, False),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True),
                             daemon=True).start()

    def _pump(self, source, target, counted):
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    break
                target.sendall(data)
                if counted:
                    with self._lock:
                        self._sent += len(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            source.close()

    def close(self):
        self._listener.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
