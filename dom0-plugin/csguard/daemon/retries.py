"""Writes XAPI refused, tried again until they hold.

A refused write (OPERATION_NOT_ALLOWED while XAPI is busy with the VM, an RBAC
refusal, a database hiccup...) is not final: the VM is reconciled again from its
latest snapshot after a capped, per-VM exponential backoff, until its plan is
empty. Until then the VM counts as unprotected, so READY=1 waits and STATUS= says
which refusal holds it up.
"""
import time

from csguard import records
from csguard.daemon.backoff import Backoff

# A refusal that keeps coming back is tried at least this often.
RETRY_CAP = 30.0


class Retries:
    def __init__(self):
        self._pending = {}      # ref -> [due (epoch), Backoff, what failed]

    def __len__(self):
        return len(self._pending)

    def failed(self, ref, vm, failures):
        """`failures`: [(plan.Write, XapiError)] of this attempt on the VM."""
        entry = self._pending.get(ref)
        if entry is None:
            entry = self._pending[ref] = [0.0, Backoff(cap=RETRY_CAP), ""]
        entry[0] = time.time() + entry[1].next_delay()
        entry[2] = "{} on VM {} (uuid {}): {}".format(
            ", ".join(w.key for w, _ in failures), records.show(vm.get("name_label")),
            vm.get("uuid"), failures[0][1])
        return entry[0] - time.time()

    def pending(self, ref):
        return ref in self._pending

    def reason_of(self, ref):
        return self._pending[ref][2]

    def held(self, ref):
        """The VM's writes all held (or it is gone): no more retries for it."""
        self._pending.pop(ref, None)

    def due(self, now):
        return [ref for ref, entry in self._pending.items() if entry[0] <= now]

    def next_due(self):
        """Epoch of the next retry, None when nothing waits."""
        return min((entry[0] for entry in self._pending.values()), default=None)

    def reason(self):
        """One line about a pending refusal (the most recent), for STATUS=."""
        if not self._pending:
            return ""
        return max(self._pending.values(), key=lambda entry: entry[0])[2]
