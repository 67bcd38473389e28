"""The daemon's log: lines on stderr, which systemd sends to the journal."""
import logging
import os
import sys
import time

log = logging.getLogger("csguard")

_JOURNAL_PRIORITY = {
    logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class _JournalFormatter(logging.Formatter):
    """"<priority>message": journald takes the level from the prefix and adds
    its own timestamp and unit name."""

    def format(self, record):
        priority = _JOURNAL_PRIORITY.get(record.levelno, 6)
        return f"<{priority}>{logging.Formatter.format(self, record)}"


def setup_logging(level="info", stream=None):
    """Log to stderr: bare lines with a syslog priority prefix under systemd
    (JOURNAL_STREAM set), timestamped lines otherwise."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(message)s"))
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                      "%Y-%m-%dT%H:%M:%SZ")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    log.handlers[:] = [handler]
    log.propagate = False
    set_level(level)


def set_level(level):
    log.setLevel(getattr(logging, str(level).upper(), logging.INFO))
