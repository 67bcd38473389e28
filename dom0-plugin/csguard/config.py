"""The configuration: /etc/csguard/csguard.yaml validated into one immutable Config.

A guard that silently ignores a misspelt option protects less than its operator
thinks, so every unknown key, wrong type or impossible value is a ConfigError that
names the file, the line and the key, and says what to do; nothing starts on a bad
configuration. Risky but legal choices are kept as Config.warnings.
"""
import collections
import difflib

import yaml

from csguard import records
from csguard.optionchecks import check_together, warnings_for
from csguard.options import DEFAULTS, SCHEMA, VALIDATORS, Invalid, all_keys, closest

DEFAULT_PATH = "/etc/csguard/csguard.yaml"
MAX_SIZE = 1024 * 1024
_OVERRIDE = "command-line override"


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


class Config(collections.namedtuple("Config", list(DEFAULTS))):
    """The validated configuration; Config() is the defaults (what an empty file
    gives). Fields are immutable: use with_overrides for command-line flags."""

    __slots__ = ()

    def __new__(cls, **fields):
        return super().__new__(cls, **dict(DEFAULTS, **fields))

    def with_overrides(self, **fields):
        """A copy with some fields replaced, validated like the file's values."""
        values = self._asdict()
        for field, value in fields.items():
            if field not in VALIDATORS:
                raise ConfigError("is not an option that can be overridden", source=_OVERRIDE,
                                  key=field)
            try:
                values[field] = VALIDATORS[field](value)
            except Invalid as error:
                raise ConfigError(error.problem, source=_OVERRIDE, key=field) from None
        try:
            check_together(values)
        except Invalid as error:
            raise ConfigError(error.problem, source=_OVERRIDE, key=error.field) from None
        values["warnings"] = warnings_for(values)
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
        values = dict(DEFAULTS, source=source)
        lines = {}
        _read_mapping(loader, root, SCHEMA, "", values, lines, source)
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
        check_together(values)
    except Invalid as error:
        key, line = lines.get(error.field, (error.field, None))
        raise ConfigError(error.problem, source=source, line=line, key=key) from None
    values["warnings"] = warnings_for(values)
    return Config(**values)


def _too_big():
    return (f"is larger than {MAX_SIZE // 1024 // 1024} MiB, far more than any csguard "
            "configuration needs: check that the path names the right file")


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
        except Invalid as error:
            if error.item is not None and isinstance(value_node, yaml.SequenceNode):
                line = value_node.value[error.item].start_mark.line + 1
            raise ConfigError(error.problem, source=source, line=line, key=path) from None


def _suggest_key(key, schema, prefix):
    """'; did you mean ...?' for a misspelt or misplaced key, else the known keys."""
    close = closest(key, list(schema))
    if close:
        return f"; did you mean {prefix}{close}?"
    elsewhere = [path for path in all_keys(SCHEMA) if path.rsplit(".", 1)[-1] == key
                 or difflib.get_close_matches(key, [path.rsplit(".", 1)[-1]])]
    if elsewhere:
        return f"; did you mean {elsewhere[0]}?"
    return f"; known options here: {', '.join(prefix + name for name in schema)}"
