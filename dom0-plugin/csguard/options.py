"""The option table of the configuration file: each option's default, where it
lives in the YAML tree and the validator of its value (optionchecks.py checks the
options that go together). Validators take a plain value and return the field's
value, or raise Invalid saying what is wrong."""
import collections
import difflib
import re

from csguard import records
from csguard.optionvalues import (
    Invalid,
    absolute_path,
    api_url,
    fingerprints,
    list_of,
    optional_path,
    positive_seconds,
    seconds_between,
    text_value,
    xapi_url,
    yaml_type,
)

# XAPI's vm_operations enum (xen-api ocaml/idl/datamodel_vm.ml).
VM_OPERATIONS = frozenset((
    "snapshot", "clone", "copy", "create_template", "revert", "checkpoint",
    "snapshot_with_quiesce", "provision", "start", "start_on", "pause", "unpause",
    "clean_shutdown", "clean_reboot", "hard_shutdown", "power_state_reset", "hard_reboot",
    "suspend", "csvm", "resume", "resume_on", "pool_migrate", "migrate_send",
    "get_boot_record", "send_sysrq", "send_trigger", "query_services", "shutdown",
    "call_plugin", "changing_memory_live", "awaiting_memory_live",
    "changing_dynamic_range", "changing_static_range", "changing_memory_limits",
    "changing_shadow_memory", "changing_shadow_memory_live", "changing_VCPUs",
    "changing_VCPUs_live", "changing_NVRAM", "assert_operation_valid", "data_source_op",
    "update_allowed_operations", "make_into_template", "import", "export",
    "metadata_export", "reverting", "destroy", "create_vtpm", "sysprep",
))

# vm_operations younger than the oldest XAPI csguard supports (xapi 1.249), with the
# first xapi (major, minor) that knows them: an older pool refuses them as keys.
OPERATIONS_SINCE = {"create_vtpm": (23, 10), "sysprep": (25, 24)}

MODES = ("enforce", "audit")
# An exemption lets CloudStack destroy a VM: it always ends, at the latest after this.
MAX_DURATION = 366 * 86400
_DURATION_PART = re.compile(r"([0-9]{1,6})([smhdw])")
DURATION_UNITS = collections.OrderedDict([("w", 604800), ("d", 86400), ("h", 3600),
                                          ("m", 60), ("s", 1)])
LOG_LEVELS = ("debug", "info", "warning", "error")


DEFAULTS = collections.OrderedDict((
    ("instance_names", ("VM",)),
    ("name_patterns", ()),
    ("cloudstack_api_url", None),
    ("cloudstack_api_credentials_file", None),
    ("cloudstack_api_refresh", 300.0),
    ("cloudstack_api_ca_file", None),
    ("cloudstack_api_verify_tls", True),
    ("cloudstack_api_timeout", 30.0),
    ("cloudstack_api_stale_alert", 3600.0),
    ("protect_uuids", frozenset()),
    ("allow_uuids", frozenset()),
    ("protect_tag", "csguard-protect"),
    ("allow_tag", None),
    ("override_key", "csguard:override"),
    ("block_operations", ("clean_shutdown", "hard_shutdown", "shutdown", "destroy")),
    ("mode", "enforce"),
    ("clear_halted_affinity", True),
    ("exemption_default_duration", 4 * 3600.0),
    ("xapi_url", "unix:///var/lib/xcp/xapi"),
    ("credentials_file", None),
    ("xapi_ca_file", None),
    ("xapi_tls_fingerprints", ()),
    ("xapi_allow_plain_http", False),
    ("call_timeout", 30.0),
    ("audit_log", "/var/log/audit.log"),
    ("state_dir", "/var/lib/csguard"),
    ("log_level", "info"),
    ("warnings", ()),
    ("source", None),
))


def closest(word, choices):
    """The choice the user most likely meant (same word in another case first), or None."""
    for choice in choices:
        if choice.lower() == word.lower():
            return choice
    close = difflib.get_close_matches(word, choices, n=1)
    return close[0] if close else None


def all_keys(schema, prefix=""):
    for key, entry in schema.items():
        if isinstance(entry, dict):
            yield from all_keys(entry, prefix + key + ".")
        else:
            yield prefix + key


# ---- validators: plain value in, field value out, Invalid(problem) if bad ----

def _instance_names(value):
    names = []
    for index, name in enumerate(list_of(value, "CloudStack instance names")):
        if not isinstance(name, str) or not name:
            raise Invalid(f"instance names must be non-empty text, not {yaml_type(name)}",
                           item=index)
        if any(char.isspace() for char in name) or not name.isprintable():
            raise Invalid(f"instance name {records.show(name)} contains whitespace or "
                           "control characters; CloudStack's instance.name has none",
                           item=index)
        if name not in names:
            names.append(name)
    if not names:
        raise Invalid("needs at least one name (CloudStack's instance.name, default VM)")
    return tuple(names)


def _name_patterns(value):
    patterns = []
    for index, pattern in enumerate(list_of(value or [], "regular expressions")):
        if not isinstance(pattern, str) or not pattern:
            raise Invalid(f"name patterns must be non-empty text, not {yaml_type(pattern)}",
                           item=index)
        try:
            patterns.append(re.compile(pattern))
        except re.error as error:
            raise Invalid(f"pattern {records.show(pattern)} is not a valid regular "
                           f"expression: {error}", item=index) from None
    return tuple(patterns)


def _uuids(value):
    uuids = set()
    for index, uuid in enumerate(list_of(value or [], "VM uuids")):
        if not isinstance(uuid, str) or not records.UUID_SHAPE.fullmatch(uuid):
            raise Invalid(f"{records.show(uuid)} is not a VM uuid (like "
                           "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b3f; see xe vm-list)", item=index)
        uuids.add(uuid.lower())
    return frozenset(uuids)


def _tag(value):
    if value is None:
        return None
    tag = text_value(value, "a tag (text), or empty to turn this override off")
    if not tag or tag != tag.strip() or not tag.isprintable():
        raise Invalid(f"tag {records.show(tag)} must be non-empty, printable and without "
                       "leading or trailing spaces")
    return tag


def _override_key(value):
    if value is None:
        return None
    key = text_value(value, "an other_config key (text), or empty to turn this override off")
    if not key or any(char.isspace() for char in key) or not key.isprintable():
        raise Invalid(f"other_config key {records.show(key)} must be non-empty, printable "
                       "and without spaces")
    if key in (records.KEY_VERDICT, records.KEY_EXEMPTION, records.KEY_AFFINITY):
        raise Invalid(f"{key} is csguard's own record; choose another key, "
                       "e.g. csguard:override")
    if key.lower() == "folder" or key.lower().startswith("xencenter.customfields."):
        raise Invalid(f"XAPI lets the vm-operator role write {records.show(key)} "
                       "(datamodel_vm.ml other_config map_keys_roles), but only vm-admin "
                       "and above may change blocked_operations: a vm-operator could lift "
                       "csguard's blocks with it; choose another key, e.g. csguard:override")
    return key


def _one_of(choices, what):
    def validate(value):
        if not isinstance(value, str):
            raise Invalid(f"must be one of {', '.join(choices)}, not {yaml_type(value)}")
        if value not in choices:
            close = closest(value, choices)
            hint = f"; did you mean {close}?" if close else ""
            raise Invalid(f"{records.show(value)} is not a {what}: use one of "
                           f"{', '.join(choices)}{hint}")
        return value
    return validate


def _boolean(value):
    if not isinstance(value, bool):
        raise Invalid(f"must be true or false, not {yaml_type(value)}")
    return value


def _block_operations(value):
    operations = []
    for index, op in enumerate(list_of(value, "XAPI VM operations")):
        if not isinstance(op, str):
            raise Invalid(f"operations are names, not {yaml_type(op)}", item=index)
        if op == "power_state_reset":
            raise Invalid("power_state_reset cannot be blocked: XAPI never checks "
                           "blocked_operations for it, so blocking it would protect "
                           "nothing; remove it", item=index)
        if op not in VM_OPERATIONS:
            close = closest(op, sorted(VM_OPERATIONS))
            hint = f"; did you mean {close}?" if close else ""
            raise Invalid(f"{records.show(op)} is not a XAPI VM operation{hint}", item=index)
        if op not in operations:
            operations.append(op)
    if not operations:
        raise Invalid("is empty, so nothing would be protected; to only classify and "
                       "report, set protection.mode: audit instead")
    return tuple(operations)


def duration(value):
    """Seconds in "30m", "2h", "1d", "1h30m", "1w" (units s, m, h, d, w), more than 0
    and at most 366d: the grammar of vm-unblock's duration= and of the option."""
    text = text_value(value, "a duration, e.g. 4h, 30m, 1d or 1h30m")
    parts = _DURATION_PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise Invalid(f"{records.show(text)} is not a duration: use a number and a unit "
                      "(s, m, h, d, w), e.g. 30m, 2h, 1d, 1h30m")
    seconds = sum(int(n) * DURATION_UNITS[u] for n, u in parts)
    if not 0 < seconds <= MAX_DURATION:
        raise Invalid(f"{records.show(text)} must be more than 0 and at most 366d: "
                      "every exemption ends")
    return float(seconds)


def unknown_to_xapi(operations, xapi_version):
    """The operations a pool master running xapi `xapi_version` (its host's
    software_version "xapi": "1.249", "25.24"...) does not know; () when the
    version cannot be read (a refused write then says so)."""
    try:
        version = tuple(int(part) for part in str(xapi_version).split(".")[:2])
    except ValueError:
        return ()
    if len(version) < 2:
        return ()
    return tuple(op for op in operations if version < OPERATIONS_SINCE.get(op, version))


SCHEMA = {
    "cloudstack": {
        "instance_names": ("instance_names", _instance_names),
        "name_patterns": ("name_patterns", _name_patterns),
        "api": {
            "url": ("cloudstack_api_url", api_url),
            "credentials_file": ("cloudstack_api_credentials_file", optional_path),
            "refresh": ("cloudstack_api_refresh", seconds_between(10, 86400)),
            "ca_file": ("cloudstack_api_ca_file", optional_path),
            "verify_tls": ("cloudstack_api_verify_tls", _boolean),
            "timeout": ("cloudstack_api_timeout", seconds_between(1, 600)),
            "stale_alert_after": ("cloudstack_api_stale_alert", seconds_between(60, 604800)),
        },
    },
    "overrides": {
        "protect": {"uuids": ("protect_uuids", _uuids), "tag": ("protect_tag", _tag)},
        "allow": {"uuids": ("allow_uuids", _uuids), "tag": ("allow_tag", _tag)},
        "other_config_key": ("override_key", _override_key),
    },
    "protection": {
        "mode": ("mode", _one_of(MODES, "mode")),
        "block_operations": ("block_operations", _block_operations),
        "clear_halted_affinity": ("clear_halted_affinity", _boolean),
    },
    "exemptions": {
        "default_duration": ("exemption_default_duration", duration),
    },
    "xapi": {
        "url": ("xapi_url", xapi_url),
        "credentials_file": ("credentials_file", optional_path),
        "call_timeout": ("call_timeout", positive_seconds),
        "ca_file": ("xapi_ca_file", optional_path),
        "tls_fingerprints": ("xapi_tls_fingerprints", fingerprints),
        "allow_plain_http": ("xapi_allow_plain_http", _boolean),
    },
    "attempts": {"audit_log": ("audit_log", optional_path)},
    "state_dir": ("state_dir", lambda value: absolute_path(value, "a directory path")),
    "log_level": ("log_level", _one_of(LOG_LEVELS, "log level")),
}


def _entries(schema):
    for entry in schema.values():
        if isinstance(entry, dict):
            yield from _entries(entry)
        else:
            yield entry


VALIDATORS = dict(_entries(SCHEMA))
# Every option of the file as a dotted path, e.g. "xapi.url".
OPTIONS = tuple(all_keys(SCHEMA))
