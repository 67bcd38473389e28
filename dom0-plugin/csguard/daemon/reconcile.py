"""One VM at a time: classify it, plan the writes, and, as the leader, apply them
and report the change. Every decision is made from the VM's full current snapshot
(level-triggered), so our own writes come back as events that plan nothing.

The Reconciler also keeps what the loop needs to know about the pool: the cache of
slim VM records, each VM's (kind, protected) and their counts, and when each
exemption runs out (no event announces that).
"""
import collections
import logging
import time

from csguard import classify, plan, records
from csguard.daemon.affinity import Affinities
from csguard.daemon.retries import Retries
from csguard.xapi import XapiError

log = logging.getLogger("csguard")

# How often a full pass stops to read the events that came meanwhile (seconds).
POLL_EVERY = 0.3


class _Vanished(Exception):
    """The VM was destroyed while being written (HANDLE_INVALID)."""


class Reconciler:
    def __init__(self, messenger, beat):
        """messenger: messages.Messenger; beat(seconds): the watchdog's promise."""
        self.messenger = messenger
        self._beat = beat
        self.affinities = Affinities()
        self.ownership = None  # daemon.ownership.Ownership: CloudStack's inventory
        # The pool master's time (epoch): exemptions end on its clock, as the
        # commands record them; the loop sets it at each connect.
        self.clock = time.time
        self.reset()

    def reset(self):
        """Forget every VM: a fresh listing follows."""
        self.vms = {}            # ref -> slim record
        self._state = {}         # ref -> (kind, protected)
        self._counts = collections.Counter()
        self.expiries = {}       # ref -> epoch when its exemption runs out
        self.affinities.reset()
        self.retries = Retries()
        self._done = None        # during a full pass: the VMs already reconciled
        self._again = None       # a full pass asked for during one: why

    @property
    def protected(self):
        return self._counts[(classify.ALIEN, True)]

    @property
    def unprotected(self):
        return self._counts[(classify.ALIEN, False)]

    def kind_counts(self):
        counts = collections.Counter()
        for (kind, _), n in self._counts.items():
            counts[kind] += n
        return counts

    def reconcile_all(self, xapi, config, leader, pool_uuid, why, poll=None):
        """Every cached VM. `leader()` says whether to write (it may change while
        the pass polls). During a long pass `poll()` is called every POLL_EVERY
        seconds: VMs created or changed meanwhile are reconciled at once from their
        events (and then skipped by the pass, so none is written twice) instead
        of queueing behind thousands of others. A pass asked for while one runs
        (a takeover seen while polling) follows it."""
        if self._done is not None:
            self._again = why
            return
        now = self.clock()
        outcome = collections.Counter()
        self._done = set()
        try:
            next_poll = time.monotonic() + POLL_EVERY
            for ref in list(self.vms):
                if poll is not None and time.monotonic() >= next_poll:
                    poll()
                    next_poll = time.monotonic() + POLL_EVERY
                vm = self.vms.get(ref)
                if vm is not None and ref not in self._done:
                    self.reconcile(xapi, ref, vm, now, config, leader(), batch=outcome)
        finally:
            self._done = None
        aliens = self._counts[(classify.ALIEN, True)] + self._counts[(classify.ALIEN, False)]
        log.info("%s: %d VMs checked, %d newly protected, %d unprotected, %d aliens (%d "
                 "protected)%s", why, len(self.vms), outcome["protected"],
                 outcome["unprotected"], aliens, self._counts[(classify.ALIEN, True)],
                 "" if leader() else "; standing by (this host is not the pool master)")
        if leader() and (outcome["protected"] or outcome["unprotected"]):
            self.messenger.summary(xapi, pool_uuid, outcome["protected"],
                                   outcome["unprotected"], aliens)
        again, self._again = self._again, None
        if again:
            self.reconcile_all(xapi, config, leader, pool_uuid, again, poll)

    def reconcile(self, xapi, ref, vm, now, config, leader, batch):
        """Classify one VM and, as the leader, make XAPI match. `batch` is a
        Counter for a full reconcile (one summary message), None for a live event."""
        if self._done is not None:
            self._done.add(ref)
        verdict = self._classify(ref, vm, now, config, batch)
        hosts = self.affinities.hosts(xapi, vm)
        writes = plan.plan(vm, verdict, config, now, hosts) if leader else ()
        held, made = set(vm.get("blocked_operations") or {}), ()
        if writes:
            self._beat(config.call_timeout * (len(writes) + 1))
            try:
                held, made = self._write(xapi, ref, vm, verdict, writes, held, batch)
            except _Vanished:
                log.debug("VM %s vanished while being reconciled", vm.get("uuid"))
                self.forget(ref)
                return
            self.affinities.report(ref, vm, made, batch)
        else:
            self.retries.held(ref)
            if leader and verdict.kind == classify.ALIEN and config.mode == "audit":
                self.affinities.audit(ref, vm, hosts)
        protected = verdict.kind == classify.ALIEN and all(
            op in held for op in config.block_operations) and (
            self.affinities.cleared(vm, hosts, config)
            or any(w.call == plan.CLEAR_AFFINITY for w in made))
        self._set_state(ref, verdict, protected, vm, batch, config, leader)
        expiry = plan.next_expiry(vm, now)
        if expiry is None:
            self.expiries.pop(ref, None)
        else:
            self.expiries[ref] = expiry

    def _classify(self, ref, vm, now, config, batch):
        """The verdict; a CloudStack-named VM new to csguard (or just out of being a
        template) that the inventory lacks first has the inventory read again:
        CloudStack records a VM before it reaches XAPI."""
        ownership = self.ownership
        inventory = ownership.current if ownership is not None else None
        verdict = classify.classify(vm, config, now, inventory)
        old = self._state.get(ref)
        if (verdict.rule in ("not-in-inventory", "cloudstack-no-inventory") and batch is None
                and (old is None or old[0] == classify.IGNORED)):
            self._beat(ownership.new_vm_budget() + config.call_timeout)
            if ownership.refresh_for_new_vm(vm.get("name_label")):
                verdict = classify.classify(vm, config, now, ownership.current)
        return verdict

    def _write(self, xapi, ref, vm, verdict, writes, held, batch):
        """Make every write, each whatever became of the others; returns the
        operations blocked afterwards and the writes made. A refused write is
        retried later."""
        made, failures = [], []
        for write in writes:
            try:
                changed = xapi.write(ref, write)
            except XapiError as e:
                if e.code == "HANDLE_INVALID":
                    raise _Vanished()
                failures.append((write, e))
                continue
            if changed is not None:
                made.append(changed)
            if write.call == plan.ADD_BLOCK:
                held.add(write.key)
            elif write.call == plan.REMOVE_BLOCK and changed is not None:
                held.discard(write.key)
        if failures:
            first = not self.retries.pending(ref)
            delay = self.retries.failed(ref, vm, failures)
            log.log(logging.ERROR if first else logging.DEBUG,
                    "XAPI refused %s; trying again in %.1f s and until it holds",
                    self.retries.reason_of(ref), delay)
        elif self.retries.pending(ref):
            self.retries.held(ref)
            log.info("VM %s (uuid %s): the writes XAPI refused before now hold",
                     records.show(vm.get("name_label")), vm.get("uuid"))
        self._report_change(xapi, vm, verdict, made, batch)
        return held, made

    def retry(self, xapi, config, leader):
        """Reconcile again the VMs whose refused writes are due for another try."""
        if not leader:
            self.retries = Retries()
            return
        for ref in self.retries.due(time.time()):
            vm = self.vms.get(ref)
            if vm is None:
                self.retries.held(ref)
            else:
                self.reconcile(xapi, ref, vm, self.clock(), config, leader, batch=None)

    def _report_change(self, xapi, vm, verdict, writes, batch):
        """Log and announce a VM that gained blocks it lacked or lost ours; a mere
        rewrite of our own entry's text is no news."""
        before = vm.get("blocked_operations") or {}
        added = [w.key for w in writes if w.call == plan.ADD_BLOCK and w.key not in before]
        removed = [w.key for w in writes if w.call == plan.REMOVE_BLOCK]
        name = records.show(vm.get("name_label"))
        if verdict.kind == classify.ALIEN and added:
            change = "protected"
            log.log(logging.DEBUG if batch is not None else logging.INFO,
                    "protected VM %s (uuid %s): blocked %s; %s", name, vm.get("uuid"),
                    ", ".join(added), verdict.reason)
            if batch is None:
                self.messenger.vm_protected(xapi, vm, verdict, added)
        elif verdict.kind != classify.ALIEN and removed:
            change = "unprotected"
            log.log(logging.DEBUG if batch is not None else logging.INFO,
                    "unprotected VM %s (uuid %s): removed our blocks on %s; %s", name,
                    vm.get("uuid"), ", ".join(removed), verdict.reason)
            if batch is None:
                self.messenger.vm_unprotected(xapi, vm, verdict)
        else:
            return
        if batch is not None:
            batch[change] += 1

    def _set_state(self, ref, verdict, protected, vm, batch, config, leader):
        state = (verdict.kind, protected)
        old = self._state.get(ref)
        if old == state:
            return
        if old is not None:
            self._counts[old] -= 1
            if batch is None and old[0] != verdict.kind:
                log.info("VM %s (uuid %s) is now %s: %s", records.show(vm.get("name_label")),
                         vm.get("uuid"), verdict.kind, verdict.reason)
        self._state[ref] = state
        self._counts[state] += 1
        if (batch is None and leader and verdict.kind == classify.ALIEN
                and not protected and config.mode == "audit"):
            log.info("audit: VM %s (uuid %s) would be protected: %s",
                     records.show(vm.get("name_label")), vm.get("uuid"), verdict.reason)

    def forget(self, ref):
        self.vms.pop(ref, None)
        self.retries.held(ref)
        self.expiries.pop(ref, None)
        old = self._state.pop(ref, None)
        if old is not None:
            self._counts[old] -= 1

    def expire(self, xapi, config, leader):
        """Reclassify VMs whose exemption ran out: no event announces that."""
        now = self.clock()
        for ref in [r for r, t in self.expiries.items() if t <= now]:
            vm = self.vms.get(ref)
            if vm is None:
                self.expiries.pop(ref, None)
                continue
            log.info("the exemption of VM %s (uuid %s) ran out", records.show(
                vm.get("name_label")), vm.get("uuid"))
            self.reconcile(xapi, ref, vm, now, config, leader, batch=None)
