"""The pool database: rows, generation counts, relations, messages, persistence.

Like XAPI's database, every write takes the next generation number and stamps the
row's ``modified`` (and ``created`` on insert); deletions are remembered with their
generation so ``event.from`` can report them. Each row caches its encoded XML
fragment, dropped on change, so listing thousands of records is a string join.
One re-entrant lock guards everything; ``changed`` wakes ``event.from`` waiters.
"""
import os
import pickle
import threading
import time
import uuid as uuidlib

from . import schema
from .wire import ApiError, Fragment, encode

_CHILD_RELATIONS = {}
for (_child, _field), (_parent, _set) in schema.RELATIONS.items():
    _CHILD_RELATIONS.setdefault(_child, []).append((_field, _parent, _set))


def new_ref():
    return "OpaqueRef:" + str(uuidlib.uuid4())


def new_uuid():
    return str(uuidlib.uuid4())


def copy_record(record):
    """A copy of a record whose maps and sets can be changed independently."""
    return {key: (dict(value) if isinstance(value, dict)
                  else list(value) if isinstance(value, list) else value)
            for key, value in record.items()}


class Row:
    __slots__ = ("created", "fragment", "modified", "record")

    def __init__(self, record, generation):
        self.record = record
        self.created = generation
        self.modified = generation
        self.fragment = None


class Database:
    def __init__(self):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.generation = 0
        self.tables = {cls: {} for cls in schema.CLASSES}
        self.uuid_index = {cls: {} for cls in schema.CLASSES}
        self.deleted = []           # (deleted generation, class, ref, created generation)
        self.messages = {}          # ref -> (generation, record)
        self.deleted_messages = []  # (generation, ref)
        self.vm_appeared = {}       # VM uuid -> time.time() of creation
        self.blocked_first_set = {}  # (VM uuid, op) -> time.time() the key first appeared
        self.vm_operations = schema.VM_OPERATIONS  # the pool's xapi version's enum
        self.snapshot_metadata = {}  # snapshot ref -> its VM's record at snapshot time

    # --- reading -------------------------------------------------------------

    def row(self, cls, ref):
        row = self.tables[cls].get(ref) if isinstance(ref, str) else None
        if row is None:
            raise ApiError("HANDLE_INVALID", cls, ref)
        return row

    def get(self, cls, ref):
        """The live record. Never mutate it or its values: writes replace values
        (``update``), so a value handed out stays valid while it is encoded."""
        return self.row(cls, ref).record

    def exists(self, cls, ref):
        return isinstance(ref, str) and ref in self.tables[cls]

    def by_uuid(self, cls, uuid):
        ref = self.uuid_index[cls].get(uuid) if isinstance(uuid, str) else None
        if ref is None:
            raise ApiError("UUID_INVALID", cls, uuid)
        return ref

    def fragment(self, cls, ref):
        row = self.row(cls, ref)
        if row.fragment is None:
            row.fragment = Fragment(encode(row.record))
        return row.fragment

    def fragment_of_row(self, row):
        if row.fragment is None:
            row.fragment = Fragment(encode(row.record))
        return row.fragment

    def all_records_fragment(self, cls):
        """``{ref: record}`` for a whole class, spliced from cached fragments."""
        parts = ["<value><struct>"]
        for ref, row in self.tables[cls].items():
            parts.append("<member><name>" + ref + "</name>")
            parts.append(self.fragment_of_row(row))
            parts.append("</member>")
        parts.append("</struct></value>")
        return Fragment("".join(parts))

    # --- writing -------------------------------------------------------------

    def _next_generation(self):
        self.generation += 1
        return self.generation

    def create(self, cls, record, ref=None, notify=True):
        """Insert a full record (wire form); returns its ref."""
        ref = ref or new_ref()
        generation = self._next_generation()
        self.tables[cls][ref] = Row(record, generation)
        self.uuid_index[cls][record["uuid"]] = ref
        for field, parent_cls, parent_set in _CHILD_RELATIONS.get(cls, ()):
            self._link(parent_cls, parent_set, record[field], ref, generation)
        self._after_write(cls, record, set(record))
        if notify:
            self.changed.notify_all()
        return ref

    def update(self, cls, ref, changes):
        """Write several fields of one row in one generation."""
        row = self.row(cls, ref)
        if not changes:
            return
        generation = self._next_generation()
        record = row.record
        for field, value in changes.items():
            relation = schema.RELATIONS.get((cls, field))
            if relation is not None and record[field] != value:
                self._unlink(relation[0], relation[1], record[field], ref, generation)
                self._link(relation[0], relation[1], value, ref, generation)
            record[field] = value
        row.modified = generation
        row.fragment = None
        self._after_write(cls, record, set(changes))
        self.changed.notify_all()

    def touch(self, cls, ref):
        """Bump a row's generation without changing it (event.inject)."""
        row = self.row(cls, ref)
        row.modified = self._next_generation()
        self.changed.notify_all()
        return row.modified

    def delete(self, cls, ref):
        row = self.row(cls, ref)
        generation = self._next_generation()
        del self.tables[cls][ref]
        self.uuid_index[cls].pop(row.record["uuid"], None)
        for field, parent_cls, parent_set in _CHILD_RELATIONS.get(cls, ()):
            self._unlink(parent_cls, parent_set, row.record[field], ref, generation)
        self.deleted.append((generation, cls, ref, row.created))
        self.changed.notify_all()

    def _link(self, parent_cls, parent_set, parent_ref, child_ref, generation):
        parent = self.tables[parent_cls].get(parent_ref)
        if parent is not None and child_ref not in parent.record[parent_set]:
            parent.record[parent_set] = parent.record[parent_set] + [child_ref]
            parent.modified = generation
            parent.fragment = None

    def _unlink(self, parent_cls, parent_set, parent_ref, child_ref, generation):
        parent = self.tables[parent_cls].get(parent_ref)
        if parent is not None and child_ref in parent.record[parent_set]:
            parent.record[parent_set] = [r for r in parent.record[parent_set] if r != child_ref]
            parent.modified = generation
            parent.fragment = None

    def _after_write(self, cls, record, fields):
        now = time.time()
        if cls == "VM":
            uuid = record["uuid"]
            self.vm_appeared.setdefault(uuid, now)
            if "blocked_operations" in fields:
                for op in record["blocked_operations"]:
                    self.blocked_first_set.setdefault((uuid, op), now)

    # --- messages (kept outside the tables, as XAPI keeps them on disk) -------

    def add_message(self, record):
        ref = new_ref()
        self.messages[ref] = (self._next_generation(), record)
        self.changed.notify_all()
        return ref

    def remove_message(self, ref):
        if ref not in self.messages:
            raise ApiError("HANDLE_INVALID", "message", ref)
        del self.messages[ref]
        self.deleted_messages.append((self._next_generation(), ref))
        self.changed.notify_all()

    # --- persistence ---------------------------------------------------------

    def save(self, path):
        """Write rows with their generation stamps, like XAPI's state.db.

        Deletion history is not saved (XAPI does not keep it either), so a token
        from before a restart no longer sees objects deleted before the restart.
        """
        with self.lock:
            state = {
                "generation": self.generation,
                "tables": {cls: {ref: (row.record, row.created, row.modified)
                                 for ref, row in table.items()}
                           for cls, table in self.tables.items()},
                "messages": self.messages,
                "vm_appeared": self.vm_appeared,
                "blocked_first_set": self.blocked_first_set,
                "snapshot_metadata": self.snapshot_metadata,
            }
            data = pickle.dumps(state, protocol=2)
        tmp = path + ".tmp"
        with open(tmp, "wb") as out:
            out.write(data)
        os.replace(tmp, path)

    def load(self, path):
        with open(path, "rb") as src:
            state = pickle.load(src)
        with self.lock:
            self.generation = state["generation"]
            self.tables = {cls: {} for cls in schema.CLASSES}
            self.uuid_index = {cls: {} for cls in schema.CLASSES}
            for cls, table in state["tables"].items():
                for ref, (record, created, modified) in table.items():
                    row = Row(record, created)
                    row.modified = modified
                    self.tables[cls][ref] = row
                    self.uuid_index[cls][record["uuid"]] = ref
            self.deleted = []
            self.messages = state["messages"]
            self.deleted_messages = []
            self.vm_appeared = state["vm_appeared"]
            self.blocked_first_set = state["blocked_first_set"]
            self.snapshot_metadata = state["snapshot_metadata"]
