"""A standby's look at the pool master's csguard, through the master's host plugin
(the `status` call preflight makes): while this standby sees aliens bare it asks,
at most once a minute, so that a master without csguard, or with csguard stopped,
is said in STATUS= and the journal instead of waited for in silence."""
import logging
import time

from csguard.preflight import facts
from csguard.preflight.collecting import probe_daemon

log = logging.getLogger("csguard")

INTERVAL = 60.0

_PROBLEMS = {
    facts.NOT_INSTALLED: "has no csguard ({detail}): install csguard there",
    facts.NOT_RUNNING: "does not run csguard ({detail}): systemctl start csguard there",
    facts.UNKNOWN: "cannot say whether it runs csguard ({detail})",
}


class MasterWatch:
    def __init__(self, beat=lambda: None, clock=time.monotonic):
        """beat(): tells the watchdog a XAPI call follows (as Reconciler's does)."""
        self.problem = None        # what is wrong with the master's csguard, or None
        self._next = 0.0
        self._beat = beat
        self._clock = clock

    def check(self, xapi, leadership, bare):
        """Ask the master's plugin when due; `bare`: how many aliens are unprotected."""
        if leadership.leader or not bare or leadership.master is None:
            self._next = 0.0
            self._set(None, leadership)
            return
        now = self._clock()
        if now < self._next:
            return
        self._next = now + INTERVAL
        self._beat()
        state, detail = facts.daemon_state(probe_daemon(xapi, leadership.master))
        problem = _PROBLEMS.get(state)
        self._set(problem.format(detail=detail) if problem else None, leadership)

    def _set(self, problem, leadership):
        if problem == self.problem:
            return
        if problem is not None:
            log.warning("the pool master (host %s) %s; nothing protects new VMs until "
                        "csguard runs there", leadership.master_name, problem)
        elif self.problem is not None:
            log.info("the pool master's csguard protects the pool again")
        self.problem = problem
