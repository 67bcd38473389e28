"""The methods XAPI generates for every class and field: get_all, get_all_records,
get_record, get_by_uuid, get_by_name_label, get_<f>, and for writable fields
set_<f>, add_to_/remove_from_<f> (maps) and add_/remove_<f> (sets).

Map keys of enum type are checked against the pool's xapi version (an unknown
``blocked_operations`` key fails as XAPI's unmarshalling fails); ``add_to_`` an existing key is MAP_DUPLICATE_KEY
(``database/db_cache_types.ml`` add_to_map).
"""
from . import rbac, schema
from .lifecycle import refresh_allowed_operations
from .wire import ApiError

# An enum value the xapi version does not know: the generated server's unmarshaller
# (ppx_deriving_rpc: failwith "Unknown tag/contents") fails, and exnHelper.ml
# error_of_exn turns that Failure into INTERNAL_ERROR [Printexc.to_string e].
UNKNOWN_ENUM_VALUE = ApiError("INTERNAL_ERROR", 'Failure("Unknown tag/contents")')


class Accessors:
    """Mixed into ``Api``: needs ``self.db``, ``self.pool`` and ``self.add``."""

    def _register_generic(self):
        for cls, fields in schema.CLASSES.items():
            self.add(cls + ".get_all", self._get_all(cls), 0)
            self.add(cls + ".get_all_records", self._get_all_records(cls), 0)
            self.add(cls + ".get_record", self._get_record(cls), 1)
            self.add(cls + ".get_by_uuid", self._get_by_uuid(cls), 1)
            if "name_label" in schema.FIELDS[cls]:
                self.add(cls + ".get_by_name_label", self._get_by_name_label(cls), 1)
            for field, kind, rw, _default in fields:
                self.add(f"{cls}.get_{field}", self._getter(cls, field), 1)
                if not rw:
                    continue
                self.add(f"{cls}.set_{field}", self._setter(cls, field), 2)
                if kind == "m":
                    self.add(f"{cls}.add_to_{field}", self._map_add(cls, field), 3)
                    self.add(f"{cls}.remove_from_{field}", self._map_remove(cls, field), 2)
                elif kind == "l":
                    self.add(f"{cls}.add_{field}", self._set_add(cls, field), 2)
                    self.add(f"{cls}.remove_{field}", self._set_remove(cls, field), 2)

    def _get_all(self, cls):
        return lambda call: list(self.db.tables[cls])

    def _get_all_records(self, cls):
        return lambda call: self.db.all_records_fragment(cls)

    def _get_record(self, cls):
        return lambda call, ref: self.db.fragment(cls, ref)

    def _get_by_uuid(self, cls):
        return lambda call, uuid: self.db.by_uuid(cls, uuid)

    def _get_by_name_label(self, cls):
        return lambda call, label: [ref for ref, row in self.db.tables[cls].items()
                                    if row.record["name_label"] == label]

    def _getter(self, cls, field):
        return lambda call, ref: self.db.get(cls, ref)[field]

    def _setter(self, cls, field):
        def set_field(call, ref, value):
            current = self.db.get(cls, ref)[field]
            value = self.coerce(cls, field, value)
            if (cls, field) == ("VM", "other_config"):
                rbac.check(call.session, rbac.other_config_keys_needed(current, value))
            self.write(cls, ref, {field: value})
            return ""
        return set_field

    def _map_add(self, cls, field):
        def add_to_map(call, ref, key, value):
            current = self.db.get(cls, ref)[field]
            key = self._coerce_key(cls, field, key)
            if not isinstance(value, str):
                raise ApiError("FIELD_TYPE_ERROR", "value")
            if key in current:
                raise ApiError("MAP_DUPLICATE_KEY", cls, field, ref, key)
            updated = dict(current)
            updated[key] = value
            self.write(cls, ref, {field: updated})
            return ""
        return add_to_map

    def _map_remove(self, cls, field):
        def remove_from_map(call, ref, key):
            current = self.db.get(cls, ref)[field]
            key = self._coerce_key(cls, field, key)
            if key in current:
                updated = dict(current)
                del updated[key]
                self.write(cls, ref, {field: updated})
            return ""
        return remove_from_map

    def _set_add(self, cls, field):
        def add_to_set(call, ref, value):
            current = self.db.get(cls, ref)[field]
            if not isinstance(value, str):
                raise ApiError("FIELD_TYPE_ERROR", "value")
            if value not in current:
                self.write(cls, ref, {field: current + [value]})
            return ""
        return add_to_set

    def _set_remove(self, cls, field):
        def remove_from_set(call, ref, value):
            current = self.db.get(cls, ref)[field]
            if value in current:
                self.write(cls, ref, {field: [v for v in current if v != value]})
            return ""
        return remove_from_set

    def coerce(self, cls, field, value):
        try:
            value = schema.coerce(cls, field, value)
        except ValueError:
            raise ApiError("FIELD_TYPE_ERROR", field)
        if schema.kind(cls, field) == "m":
            for key in value:
                self._coerce_key(cls, field, key)
        return value

    def _coerce_key(self, cls, field, key):
        enum = schema.ENUM_MAP_KEYS.get((cls, field))
        if not isinstance(key, str):
            raise ApiError("FIELD_TYPE_ERROR", "key")
        if enum is not None and key not in self.pool.vm_operations:
            raise UNKNOWN_ENUM_VALUE
        return key

    def write(self, cls, ref, changes):
        """A client's field write; VM state changes refresh allowed_operations."""
        self.db.update(cls, ref, changes)
        if cls == "VM" and set(changes) & {"blocked_operations", "is_a_template",
                                           "power_state", "other_config"}:
            refresh_allowed_operations(self.db, ref)
