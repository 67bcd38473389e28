"""The configuration: /etc/csguard/csguard.yaml validated into one immutable Config.

A guard that silently ignores a misspelt option protects less than its operator
thinks, so every unknown key, wrong type or impossible value is a ConfigError that
names the file, the line and the key, and says what to do; nothing starts on a bad
configuration. Risky but legal choices are kept as Config.warnings.
"""
import collections
import difflib
import math
import os
import re
import stat
import urllib.parse

import yaml

from csguard import records

DEFAULT_PATH = "/etc/csguard/csguard.yaml"
MAX_SIZE = 1024 * 1024
MAX_CREDENTIALS_SIZE = 64 * 1024
_OVERRIDE = "command-line override"

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

# Blocking these is allowed but takes something away from the pool's own machinery.
DISRUPTIVE_OPERATIONS = {
    "start": "HA can no longer restart protected VMs after a host failure",
    "start_on": "HA can no longer restart protected VMs after a host failure",
    "pool_migrate": "maintenance mode (host.evacuate) fails on hosts running protected VMs",
    "migrate_send": "protected VMs can no longer be live-migrated with their storage, "
                    "and evacuating a host may fail",
}

MODES = ("enforce", "audit")
LOG_LEVELS = ("debug", "info", "warning", "error")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                   re.IGNORECASE)

_DEFAULTS = collections.OrderedDict((
    ("instance_names", ("VM",)),
    ("name_patterns", ()),
    ("protect_uuids", frozenset()),
    ("allow_uuids", frozenset()),
    ("protect_tag", "csguard-protect"),
    ("allow_tag", "csguard-allow"),
    ("override_key", "csguard:override"),
    ("block_operations", ("clean_shutdown", "hard_shutdown", "shutdown", "destroy")),
    ("mode", "enforce"),
    ("xapi_url", "unix:///var/lib/xcp/xapi"),
    ("credentials_file", None),
    ("call_timeout", 30.0),
    ("state_dir", "/var/lib/csguard"),
    ("log_level", "info"),
    ("warnings", ()),
    ("source", None),
))


class ConfigError(Exception):
    """A configuration problem: where it is (file, line, key) and what to do."""

    def __init__(self, problem, source=None, line=None, key=None):
        self.problem, self.source, self.line, self.key = problem, source, line, key
        super().__init__(problem)

    def __str__(self):
        where = [self.source or "configuration"]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.key:
            where.append(self.key)
        return ", ".join(where) + ": " + self.problem


class Config(collections.namedtuple("Config", list(_DEFAULTS))):
    """The validated configuration; Config() is the defaults (what an empty file
    gives). Fields are immutable: use with_overrides for command-line flags."""

    __slots__ = ()

    def __new__(cls, **fields):
        return super().__new__(cls, **dict(_DEFAULTS, **fields))

    def with_overrides(self, **fields):
        """A copy with some fields replaced, validated like the file's values."""
        values = self._asdict()
        for field, value in fields.items():
            if field not in _VALIDATORS:
                raise ConfigError("is not an option that can be overridden", source=_OVERRIDE,
                                  key=field)
            try:
                values[field] = _VALIDATORS[field](value)
            except _Invalid as error:
                raise ConfigError(error.problem, source=_OVERRIDE, key=field) from None
        try:
            _check_together(values)
        except _Invalid as error:
            raise ConfigError(error.problem, source=_OVERRIDE, key=error.field) from None
        values["warnings"] = _warnings(values)
        return Config(**values)


def load(path=DEFAULT_PATH):
    """The Config in the file at path; ConfigError if it cannot be read or is bad."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SIZE + 1)
    except OSError as error:
        raise ConfigError(f"cannot read it: {error.strerror or error}", source=path) from None
    if len(data) > MAX_SIZE:
        raise ConfigError(_too_big(), source=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError("is not UTF-8 text: save it as UTF-8", source=path,
                          line=data[:error.start].count(b"\n") + 1) from None
    return parse(text, path)


def parse(text, source=None):
    """The Config in YAML text (source names it in errors). A file with no settings
    at all is refused: it is far more often a truncated file than a wish for the
    defaults (which a missing default file gives)."""
    if len(text) > MAX_SIZE:
        raise ConfigError(_too_big(), source=source)
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
        if root is None or (isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null")):
            raise ConfigError(
                "is empty (no settings at all; a truncated file?): restore it from the "
                "package (rpm -V csguard; the shipped file lists every option), or remove "
                "it to run with the built-in defaults", source=source)
        values = dict(_DEFAULTS, source=source)
        lines = {}
        _read_mapping(loader, root, _SCHEMA, "", values, lines, source)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = "; ".join(part for part in (error.context, error.problem) if part)
        raise ConfigError(f"is not valid YAML: {problem}",
                          source=source, line=mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as error:
        raise ConfigError(f"contains a character YAML does not allow "
                          f"({records.show(chr(error.character))})", source=source,
                          line=text[:error.position].count("\n") + 1) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"is not valid YAML: {error}", source=source) from None
    except RecursionError:
        raise ConfigError("is nested too deeply to be a csguard configuration",
                          source=source) from None
    finally:
        if loader is not None:
            loader.dispose()
    try:
        _check_together(values)
    except _Invalid as error:
        key, line = lines.get(error.field, (error.field, None))
        raise ConfigError(error.problem, source=source, line=line, key=key) from None
    values["warnings"] = _warnings(values)
    return Config(**values)


def load_credentials(path):
    """(user, password) from a credentials file: "user" and "password" on two lines,
    or one "user:password" line. Refused unless only its owner can read it."""
    try:
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise ConfigError("is not a regular file", source=path)
            if mode & 0o077:
                raise ConfigError(
                    f"is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
                    f"it holds a password: run chmod 600 {path}", source=path)
            data = handle.read(MAX_CREDENTIALS_SIZE + 1)
    except OSError as error:
        raise ConfigError(f"cannot read it: {error.strerror or error}", source=path) from None
    if len(data) > MAX_CREDENTIALS_SIZE:
        raise ConfigError("is too large to be a credentials file", source=path)
    try:
        lines = [line for line in data.decode("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8 text", source=path) from None
    usage = "write the user name on the first line and the password on the second"
    if not lines:
        raise ConfigError("is empty: " + usage, source=path)
    if len(lines) > 2:
        raise ConfigError("has more than two lines: " + usage, source=path)
    if len(lines) == 1:
        if ":" not in lines[0]:
            raise ConfigError("has one line without ':': " + usage +
                              ", or write user:password on one line", source=path)
        user, password = lines[0].split(":", 1)
    else:
        user, password = lines
    user = user.strip()
    if not user:
        raise ConfigError("has an empty user name: " + usage, source=path)
    if not password:
        raise ConfigError("has an empty password: " + usage, source=path)
    return user, password


def _too_big():
    return (f"is larger than {MAX_SIZE // 1024 // 1024} MiB, far more than any csguard "
            "configuration needs: check that the path names the right file")


class _Invalid(Exception):
    """A bad value: what is wrong, and which list item (or field, for cross-checks)."""

    def __init__(self, problem, item=None, field=None):
        super().__init__(problem)
        self.problem, self.item, self.field = problem, item, field


# ---- reading the YAML tree (nodes keep their line numbers) ----

def _read_mapping(loader, node, schema, prefix, values, lines, source):
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        return
    what = prefix[:-1] or "the file"
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"must be a mapping of options (key: value lines), "
                          f"like the shipped {DEFAULT_PATH}", source=source,
                          line=node.start_mark.line + 1, key=prefix[:-1] or None)
    first_seen = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode) or not key_node.tag.endswith(":str"):
            raise ConfigError(f"keys in {what} must be plain names", source=source, line=line,
                              key=prefix[:-1] or None)
        key = key_node.value
        path = prefix + key
        if key not in schema:
            raise ConfigError("unknown option" + _suggest_key(key, schema, prefix),
                              source=source, line=line, key=records.show(path))
        if key in first_seen:
            raise ConfigError(f"is given twice (first on line {first_seen[key]}); "
                              "keep one", source=source, line=line, key=path)
        first_seen[key] = line
        entry = schema[key]
        if isinstance(entry, dict):
            _read_mapping(loader, value_node, entry, path + ".", values, lines, source)
            continue
        field, validate = entry
        value = loader.construct_object(value_node, deep=True)
        lines[field] = (path, line)
        try:
            values[field] = validate(value)
        except _Invalid as error:
            if error.item is not None and isinstance(value_node, yaml.SequenceNode):
                line = value_node.value[error.item].start_mark.line + 1
            raise ConfigError(error.problem, source=source, line=line, key=path) from None


def _suggest_key(key, schema, prefix):
    """'; did you mean ...?' for a misspelt or misplaced key, else the known keys."""
    close = _closest(key, list(schema))
    if close:
        return f"; did you mean {prefix}{close}?"
    elsewhere = [path for path in _all_keys(_SCHEMA) if path.rsplit(".", 1)[-1] == key
                 or difflib.get_close_matches(key, [path.rsplit(".", 1)[-1]])]
    if elsewhere:
        return f"; did you mean {elsewhere[0]}?"
    return f"; known options here: {', '.join(prefix + name for name in schema)}"


def _closest(word, choices):
    """The choice the user most likely meant (same word in another case first), or None."""
    for choice in choices:
        if choice.lower() == word.lower():
            return choice
    close = difflib.get_close_matches(word, choices, n=1)
    return close[0] if close else None


def _all_keys(schema, prefix=""):
    for key, entry in schema.items():
        if isinstance(entry, dict):
            yield from _all_keys(entry, prefix + key + ".")
        else:
            yield prefix + key


# ---- validators: plain value in, field value out, _Invalid(problem) if bad ----

def _text(value, what="a text value"):
    if not isinstance(value, str):
        raise _Invalid(f"must be {what}, not {_yaml_type(value)}")
    return value


def _list(value, what):
    if not isinstance(value, list):
        raise _Invalid(f"must be a list of {what}, e.g. [a, b], not {_yaml_type(value)}")
    return value


def _yaml_type(value):
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()} (quote it if you mean text)"
    names = {int: "a number", float: "a number", list: "a list", dict: "a mapping",
             str: "text"}
    return names.get(type(value), f"a {type(value).__name__}")


def _instance_names(value):
    names = []
    for index, name in enumerate(_list(value, "CloudStack instance names")):
        if not isinstance(name, str) or not name:
            raise _Invalid(f"instance names must be non-empty text, not {_yaml_type(name)}",
                           item=index)
        if any(char.isspace() for char in name) or not name.isprintable():
            raise _Invalid(f"instance name {records.show(name)} contains whitespace or "
                           "control characters; CloudStack's instance.name has none",
                           item=index)
        if name not in names:
            names.append(name)
    if not names:
        raise _Invalid("needs at least one name (CloudStack's instance.name, default VM)")
    return tuple(names)


def _name_patterns(value):
    patterns = []
    for index, pattern in enumerate(_list(value or [], "regular expressions")):
        if not isinstance(pattern, str) or not pattern:
            raise _Invalid(f"name patterns must be non-empty text, not {_yaml_type(pattern)}",
                           item=index)
        try:
            patterns.append(re.compile(pattern))
        except re.error as error:
            raise _Invalid(f"pattern {records.show(pattern)} is not a valid regular "
                           f"expression: {error}", item=index) from None
    return tuple(patterns)


def _uuids(value):
    uuids = set()
    for index, uuid in enumerate(_list(value or [], "VM uuids")):
        if not isinstance(uuid, str) or not _UUID.fullmatch(uuid):
            raise _Invalid(f"{records.show(uuid)} is not a VM uuid (like "
                           "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b3f; see xe vm-list)", item=index)
        uuids.add(uuid.lower())
    return frozenset(uuids)


def _tag(value):
    if value is None:
        return None
    tag = _text(value, "a tag (text), or empty to turn this override off")
    if not tag or tag != tag.strip() or not tag.isprintable():
        raise _Invalid(f"tag {records.show(tag)} must be non-empty, printable and without "
                       "leading or trailing spaces")
    return tag


def _override_key(value):
    if value is None:
        return None
    key = _text(value, "an other_config key (text), or empty to turn this override off")
    if not key or any(char.isspace() for char in key) or not key.isprintable():
        raise _Invalid(f"other_config key {records.show(key)} must be non-empty, printable "
                       "and without spaces")
    if key in (records.KEY_VERDICT, records.KEY_EXEMPTION):
        raise _Invalid(f"{key} is csguard's own record; choose another key, "
                       "e.g. csguard:override")
    return key


def _one_of(choices, what):
    def validate(value):
        if not isinstance(value, str):
            raise _Invalid(f"must be one of {', '.join(choices)}, not {_yaml_type(value)}")
        if value not in choices:
            close = _closest(value, choices)
            hint = f"; did you mean {close}?" if close else ""
            raise _Invalid(f"{records.show(value)} is not a {what}: use one of "
                           f"{', '.join(choices)}{hint}")
        return value
    return validate


def _block_operations(value):
    operations = []
    for index, op in enumerate(_list(value, "XAPI VM operations")):
        if not isinstance(op, str):
            raise _Invalid(f"operations are names, not {_yaml_type(op)}", item=index)
        if op == "power_state_reset":
            raise _Invalid("power_state_reset cannot be blocked: XAPI never checks "
                           "blocked_operations for it, so blocking it would protect "
                           "nothing; remove it", item=index)
        if op not in VM_OPERATIONS:
            close = _closest(op, sorted(VM_OPERATIONS))
            hint = f"; did you mean {close}?" if close else ""
            raise _Invalid(f"{records.show(op)} is not a XAPI VM operation{hint}", item=index)
        if op not in operations:
            operations.append(op)
    if not operations:
        raise _Invalid("is empty, so nothing would be protected; to only classify and "
                       "report, set protection.mode: audit instead")
    return tuple(operations)


def _url(value):
    url = _text(value, "a URL")
    if url.startswith("unix://"):
        if not url[len("unix://"):].startswith("/") or "\0" in url:
            raise _Invalid(f"{records.show(url)} must name an absolute socket path, "
                           "e.g. unix:///var/lib/xcp/xapi")
        return url
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise _Invalid(f"{records.show(url)} has an invalid port")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Invalid(f"{records.show(url)} must be unix:///path/to/socket or "
                       "http(s)://host[:port]/")
    if parts.username is not None or parts.password is not None:
        raise _Invalid("must not contain a user or password: put them in "
                       "xapi.credentials_file (chmod 600)")
    return url


def _path(value, what):
    path = _text(value, what)
    if not path.startswith("/") or "\0" in path:
        raise _Invalid(f"{records.show(path)} must be an absolute path")
    return path


def _credentials_file(value):
    return None if value is None else _path(value, "a file path")


def _call_timeout(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(f"must be a number of seconds, not {_yaml_type(value)}")
    if not math.isfinite(value) or value <= 0:
        raise _Invalid(f"must be a positive number of seconds, not {value}")
    return float(value)


_SCHEMA = {
    "cloudstack": {
        "instance_names": ("instance_names", _instance_names),
        "name_patterns": ("name_patterns", _name_patterns),
    },
    "overrides": {
        "protect": {"uuids": ("protect_uuids", _uuids), "tag": ("protect_tag", _tag)},
        "allow": {"uuids": ("allow_uuids", _uuids), "tag": ("allow_tag", _tag)},
        "other_config_key": ("override_key", _override_key),
    },
    "protection": {
        "mode": ("mode", _one_of(MODES, "mode")),
        "block_operations": ("block_operations", _block_operations),
    },
    "xapi": {
        "url": ("xapi_url", _url),
        "credentials_file": ("credentials_file", _credentials_file),
        "call_timeout": ("call_timeout", _call_timeout),
    },
    "state_dir": ("state_dir", lambda value: _path(value, "a directory path")),
    "log_level": ("log_level", _one_of(LOG_LEVELS, "log level")),
}

def _entries(schema):
    for entry in schema.values():
        if isinstance(entry, dict):
            yield from _entries(entry)
        else:
            yield entry


_VALIDATORS = dict(_entries(_SCHEMA))
# Every option of the file as a dotted path, e.g. "xapi.url".
OPTIONS = tuple(_all_keys(_SCHEMA))


def _check_together(values):
    """Rules that involve two options; _Invalid.field names the one to point at."""
    both = values["protect_uuids"] & values["allow_uuids"]
    if both:
        raise _Invalid(f"{min(both)} is also listed in overrides.protect.uuids; "
                       "a VM can be protected or allowed, not both", field="allow_uuids")
    if values["protect_tag"] is not None and values["protect_tag"] == values["allow_tag"]:
        raise _Invalid("is the same as overrides.protect.tag; use two different tags",
                       field="allow_tag")
    remote = not values["xapi_url"].startswith("unix://")
    if not remote and values["credentials_file"] is not None:
        raise _Invalid("is only used with an http(s) xapi.url: the local socket needs no "
                       "password; remove it", field="credentials_file")


def _warnings(values):
    warnings = []
    for op in values["block_operations"]:
        if op in DISRUPTIVE_OPERATIONS:
            warnings.append(f"protection.block_operations: blocking {op}: "
                            f"{DISRUPTIVE_OPERATIONS[op]}")
    if "destroy" not in values["block_operations"]:
        warnings.append("protection.block_operations: destroy is not blocked, so "
                        "CloudStack can delete the records of protected VMs (its StopCommand "
                        "ends with VM.destroy, and it destroys halted aliens on connect)")
    for op in ("clean_shutdown", "hard_shutdown"):
        if op not in values["block_operations"]:
            warnings.append(f"protection.block_operations: {op} is not blocked, so "
                            "CloudStack can shut protected VMs down")
    for pattern in values["name_patterns"]:
        if pattern.fullmatch(""):
            warnings.append(f"cloudstack.name_patterns: {records.show(pattern.pattern)} "
                            "matches the empty name and maybe every name, so it may leave "
                            "VMs unprotected")
    if not values["xapi_url"].startswith("unix://") and values["credentials_file"] is None:
        warnings.append("xapi.url is http(s) and xapi.credentials_file is not set: csguard "
                        "logs in as root with an empty password, which XAPI refuses unless "
                        "root has none; set xapi.credentials_file (a chmod 600 file with the "
                        "user name and password)")
    if values["mode"] == "audit":
        warnings.append("protection.mode is audit: VMs are classified and reported, "
                        "nothing is blocked")
    return tuple(warnings)
