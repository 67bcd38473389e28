"""Who writes: one writer per pool. Every host runs the daemon and follows the
whole pool's events through its own host's socket, but only the daemon on the
pool master writes. A standby that sees the master become its own host takes over
(reconciles everything from its cache at once); a leader that sees another master
stops writing."""
import logging

from csguard import records
from csguard.xapi import XapiError

log = logging.getLogger("csguard")


class Leadership:
    """This host, the pool's master (from the pool record's events), and whether
    this daemon leads. A master change restarts xapi on every host, so it is most
    often found on reconnect, not in the event stream: `known` remembers the role
    of the last session to tell that change apart."""

    def __init__(self):
        self.this_host = None
        self.master = None
        self.pool_uuid = None
        self.leader = False
        self.known = None
        self.master_name = None     # for a standby's STATUS=: who protects

    def pool_changed(self, pool):
        self.pool_uuid = pool.get("uuid")
        self.master = pool.get("master")

    def elect(self, xapi):
        """Lead if this host is the pool master; after a fresh listing. True when
        this host has become the master since the last session (take over)."""
        self.leader = self.master == self.this_host
        if not self.leader:
            self.master_name = self._host_name(xapi, self.master)
        changed = self.known is not None and self.known != self.leader
        self.known = self.leader
        if changed:
            self._announce(xapi)
        return changed and self.leader

    def follow(self, xapi):
        """After a pool event: True when this host has just become the pool master
        (take over), False when it has just stopped being it (stand by), None when
        nothing changed."""
        leader = self.master == self.this_host
        if leader == self.leader:
            return None
        self.leader = self.known = leader
        self._announce(xapi)
        return leader

    def _announce(self, xapi):
        if self.leader:
            log.warning("this host is now the pool master: csguard takes over protecting "
                        "the pool")
        else:
            self.master_name = self._host_name(xapi, self.master)
            log.warning("this host is no longer the pool master (now host %s): csguard "
                        "stops writing and stands by", self.master_name)

    def _host_name(self, xapi, ref):
        """A host's name for a log line; its ref if XAPI cannot say."""
        try:
            return records.show(xapi.call("host.get_name_label", ref))
        except XapiError:
            return ref
