"""Follows xapi's audit log for calls refused by csguard's blocks (auditlog.py
parses the lines). Starts at the end of the file (what happened before the daemon
ran is not news), reads only complete lines, and follows logrotate: a new file is
read from its start, a truncated one from its new start. A file that did not exist
at the start is new too: rsyslog creates it with its first line."""
import errno
import logging
import os

from csguard import auditlog

log = logging.getLogger("csguard")

# xapi's "audit" debug facility is syslog local6, which XenServer's and XCP-ng's
# rsyslog configuration (/etc/rsyslog.d/xenserver.conf) writes here.
DEFAULT_PATH = "/var/log/audit.log"
# Bytes read per poll at most; the rest waits for the next poll.
MAX_READ = 1024 * 1024


class AuditFollower:
    def __init__(self, path):
        self.path = path
        self._file = None
        self._inode = None
        self._partial = b""
        self._first_open = True
        self._missing = False

    def poll(self):
        """The auditlog.Refusal of every complete line written since the last poll."""
        if not self.path:
            return []
        lines = self._read_lines()
        found = []
        for line in lines:
            refusal = auditlog.refusal(auditlog.parse(line.decode("utf-8", "replace")))
            if refusal is not None:
                found.append(refusal)
        return found

    def _read_lines(self):
        try:
            inode = os.stat(self.path).st_ino
        except OSError as e:
            if e.errno == errno.ENOENT:
                self._first_open = False    # whatever appears later was written later
            if not self._missing:
                log.info("xapi's audit log %s cannot be read (%s): blocked synchronous "
                         "calls are not reported until it can", self.path, e.strerror)
                self._missing = True
            return self._drain() if self._file is not None else []
        data = b""
        if self._file is not None and inode != self._inode:
            data = self._drain_bytes()          # the rest of the rotated file first
        if self._file is None and not self._open(inode):
            return self._split(data)
        if os.fstat(self._file.fileno()).st_size < self._file.tell():
            self._file.seek(0)                  # truncated in place (copytruncate)
            self._partial = b""
        return self._split(data + self._file.read(MAX_READ))

    def _open(self, inode):
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - kept open between polls
        except OSError as e:
            if not self._missing:
                log.info("cannot open xapi's audit log %s: %s", self.path, e.strerror)
                self._missing = True
            return False
        if self._first_open:
            self._file.seek(0, os.SEEK_END)
            self._first_open = False
        if self._missing:
            log.info("reading xapi's audit log %s", self.path)
        self._missing = False
        self._inode = inode
        return True

    def _drain_bytes(self):
        data = self._file.read()
        self._file.close()
        self._file = None
        return data

    def _drain(self):
        return self._split(self._drain_bytes())

    def _split(self, data):
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        return [line for line in lines if line]

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
