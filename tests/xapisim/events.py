"""event.from and event.inject with XAPI's token and batching semantics.

Token: ``"%020d,%020d" % (database generation, message generation)``; ``""`` is
(0, 0). A call collects every subscribed object modified after the token: objects
created after it come as ``add``, others as ``mod`` (one event per object, latest
snapshot), deletions of objects that existed at the token as ``del`` without a
snapshot; objects both created and deleted after the token are not reported.
Messages come first, then adds, mods, dels. Before looking, the call waits 50 ms
(0 for task-only subscriptions) so changes batch up; with nothing to report it
blocks until something relevant changes or the timeout (seconds, float) passes.
"""
import math
import time

from .wire import ApiError

BATCH_DELAY = 0.05                # xapi_globs event_from_delay: before and between looks
BACKOFF_START = BATCH_DELAY / 8   # Throttle.Batching: 2 x (between / 16), doubling up to 50 ms
INVALID_TIMEOUT = 24 * 3600.0


def parse_token(token):
    if token == "":
        return 0, 0
    parts = token.split(",") if isinstance(token, str) else []
    try:
        if len(parts) != 2:
            raise ValueError(token)
        return int(parts[0]), int(parts[1])
    except ValueError:
        raise ApiError("EVENT_FROM_TOKEN_PARSE_FAILURE", token)


def format_token(generation, message_generation):
    return f"{generation:020d},{message_generation:020d}"


def timeout_seconds(timeout):
    """XAPI turns a negative, NaN or absurd timeout into 24 hours."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        return INVALID_TIMEOUT
    timeout = float(timeout)
    if math.isnan(timeout) or timeout < 0 or timeout > 1e12:
        return INVALID_TIMEOUT
    return timeout


class Subscriptions:
    """Parsed class list: ``*``, ``vm`` (any case) or ``vm/OpaqueRef:...``."""

    def __init__(self, classes):
        self.everything = False
        self.tables = set()
        self.objects = {}
        for entry in classes:
            if entry == "*":
                self.everything = True
                continue
            cls, _, ref = entry.partition("/")
            if ref:
                self.objects.setdefault(cls.lower(), set()).add(ref)
            else:
                self.tables.add(cls.lower())

    def table_matches(self, table):
        table = table.lower()
        return self.everything or table in self.tables or table in self.objects

    def object_matches(self, table, ref):
        table = table.lower()
        return (self.everything or table in self.tables
                or ref in self.objects.get(table, ()))

    def task_only(self):
        return (not self.everything and self.tables | set(self.objects) == {"task"})


def event_from(db, session, classes, token, timeout, session_count):
    if not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) for c in classes):
        raise ApiError("FIELD_TYPE_ERROR", "classes")
    subs = Subscriptions(classes)
    since, message_since = parse_token(token)
    deadline = time.time() + timeout_seconds(timeout)
    time.sleep(0 if subs.task_only() else BATCH_DELAY)
    backoff = BACKOFF_START
    while True:
        with db.lock:
            found = _collect(db, subs, since, message_since)
            expired = time.time() >= deadline
            if found.empty() and not expired:
                since, message_since = found.last, found.message_generation
                seen = db.generation
                while (db.generation == seen and session.alive
                       and time.time() < deadline):
                    db.changed.wait(max(0.0, deadline - time.time()))
                if not session.alive:
                    raise ApiError("SESSION_INVALID", session.ref)
            else:
                return _result(db, found, session_count)
        time.sleep(backoff)
        backoff = min(BATCH_DELAY, backoff * 2)


class _Found:
    def __init__(self, since, message_since):
        self.creates, self.mods, self.deletes, self.messages = [], [], [], []
        self.last = since
        self.message_generation = message_since

    def empty(self):
        return not (self.creates or self.mods or self.deletes or self.messages)


def _collect(db, subs, since, message_since):
    found = _Found(since, message_since)
    for cls, table in db.tables.items():
        if not subs.table_matches(cls):
            continue
        for ref, row in table.items():
            if row.modified <= since or not subs.object_matches(cls, ref):
                continue
            found.last = max(found.last, row.modified)
            if row.created > since:
                found.creates.append((row.created, cls, ref, row))
            else:
                found.mods.append((row.modified, cls, ref, row))
    for generation, cls, ref, created in db.deleted:
        if generation > since and subs.object_matches(cls, ref):
            found.last = max(found.last, generation)
            if created <= since:
                found.deletes.append((generation, cls, ref, None))
    if subs.table_matches("message"):
        for ref, (generation, record) in db.messages.items():
            if generation > message_since:
                found.messages.append((generation, "add", ref, record))
                found.message_generation = max(found.message_generation, generation)
        for generation, ref in db.deleted_messages:
            if generation > message_since:
                found.messages.append((generation, "del", ref, None))
                found.message_generation = max(found.message_generation, generation)
    return found


def _result(db, found, session_count):
    events = []
    for generation, operation, ref, record in sorted(found.messages, key=lambda m: m[0]):
        event = {"id": "0", "timestamp": "0.0", "class": "message",
                 "operation": operation, "ref": ref}
        if record is not None:
            event["snapshot"] = record
        events.append(event)
    for operation, entries in (("add", found.creates), ("mod", found.mods),
                               ("del", found.deletes)):
        entries.sort(key=lambda e: e[0])
        for generation, cls, ref, row in entries:
            event = {"id": str(generation), "timestamp": "0.0", "class": cls.lower(),
                     "operation": operation, "ref": ref}
            if row is not None:
                event["snapshot"] = db.fragment_of_row(row)
            events.append(event)
    counts = {cls.lower(): len(table) for cls, table in db.tables.items()}
    counts["session"] = session_count
    return {"events": events, "valid_ref_counts": counts,
            "token": format_token(found.last, found.message_generation)}


def inject(db, cls, ref):
    """Touch ``ref`` and return a token just before that change."""
    with db.lock:
        if cls not in db.tables or not db.exists(cls, ref):
            raise ApiError("HANDLE_INVALID", cls, ref)
        generation = db.touch(cls, ref)
        return format_token(generation - 1, 0)

