"""What "ready" means and the STATUS= line that explains it.

The README promises READY=1 only once every alien is protected, on every host: the
pool master's daemon once its own writes hold, a standby once it sees every alien
protected (by the master's daemon). Until then the unit stays "activating" and
STATUS= says what it waits for: the refusal XAPI keeps answering, or how many
aliens the master's daemon has still to protect. Audit mode blocks nothing, so it
is ready after the first listing.
"""
from csguard import classify


def is_ready(mode, reconciler):
    return mode != "enforce" or reconciler.unprotected == 0


def status_line(role, mode, reconciler, leadership, ready, master_problem=None):
    counts = reconciler.kind_counts()
    tail = (f"{counts[classify.CLOUDSTACK]} cloudstack, {counts[classify.EXEMPT]} exempt, "
            f"{counts[classify.IGNORED]} ignored")
    protected, bare = reconciler.protected, reconciler.unprotected
    head = f"{role} ({mode})" + ("" if ready else ", starting")
    if role == "standby":
        who = f"the pool master's daemon (host {leadership.master_name}) protects"
        if master_problem:
            who = f"the pool master (host {leadership.master_name}) {master_problem}"
        elif not ready:
            who = (f"waiting until the pool master's daemon (host {leadership.master_name}) "
                   "protects every alien")
        return f"{head}: {who}; {protected} aliens protected, {bare} still bare; {tail}"
    line = f"{head}: {protected} aliens protected, {bare} unprotected; {tail}"
    refusal = reconciler.retries.reason()
    if refusal:
        line += f"; XAPI refuses {refusal}, trying again"
    return line
