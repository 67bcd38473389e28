"""Sessions: login, logout, the per-originator cap, and waking waiters on destroy.

XAPI trims each originator's sessions to the newest 500 (by last use) in its
30-second database GC; the simulator trims at login so the cap is observable
without waiting. Destroying a session wakes any ``event.from`` blocked on it,
which then fails with SESSION_INVALID.
"""
import time

from .db import new_ref, new_uuid
from .wire import ApiError, datetime_value

MAX_SESSIONS_PER_ORIGINATOR = 500


class Session:
    __slots__ = (
        "alive",
        "created",
        "host",
        "last_active",
        "local_superuser",
        "originator",
        "pool",
        "ref",
        "role",
        "user",
        "uuid",
    )

    def __init__(self, host, user, originator, local_superuser, pool=False, role=None):
        self.ref = new_ref()
        self.pool = pool
        self.role = role           # None: the local superuser, RBAC does not apply
        self.uuid = new_uuid()
        self.host = host
        self.user = user
        self.originator = originator
        self.local_superuser = local_superuser
        self.created = time.time()
        self.last_active = self.created
        self.alive = True

    def record(self):
        return {
            "uuid": self.uuid, "this_host": self.host, "this_user": "OpaqueRef:NULL",
            "last_active": datetime_value(self.last_active), "pool": self.pool,
            "other_config": {}, "is_local_superuser": self.local_superuser,
            "subject": "OpaqueRef:NULL", "validation_time": datetime_value(self.created),
            "auth_user_sid": "", "auth_user_name": self.user, "rbac_permissions": [],
            "tasks": [], "parent": "OpaqueRef:NULL", "originator": self.originator,
            "client_certificate": False,
        }


class Sessions:
    def __init__(self, db):
        self.db = db
        self.by_ref = {}

    def login(self, host, user, originator, local_superuser=True, pool=False, role=None):
        with self.db.lock:
            session = Session(host, user, originator, local_superuser and role is None, pool,
                              role)
            self.by_ref[session.ref] = session
            self._trim(originator)
            return session

    def _trim(self, originator):
        mine = [s for s in self.by_ref.values() if s.originator == originator]
        if len(mine) > MAX_SESSIONS_PER_ORIGINATOR:
            mine.sort(key=lambda s: s.last_active)
            for old in mine[:len(mine) - MAX_SESSIONS_PER_ORIGINATOR]:
                self.destroy(old.ref)

    def check(self, ref):
        """The live session ``ref``, refreshed; SESSION_INVALID [ref] otherwise."""
        session = self.by_ref.get(ref) if isinstance(ref, str) else None
        if session is None:
            raise ApiError("SESSION_INVALID", ref)
        session.last_active = time.time()
        return session

    def destroy(self, ref):
        with self.db.lock:
            session = self.by_ref.pop(ref, None)
            if session is not None:
                session.alive = False
                self.db.changed.notify_all()

    def destroy_all(self):
        with self.db.lock:
            for ref in list(self.by_ref):
                self.destroy(ref)

    def count(self):
        return len(self.by_ref)
