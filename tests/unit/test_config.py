"""config: the file's every option, every refusal (with its line and key), the shipped
default file and command-line overrides."""
import json
import os

import pytest
import yaml
from csguard import config, options
from csguard.config import Config, ConfigError, load, parse

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = os.path.join(HERE, "..", "..", "rpm", "csguard.yaml")
UUID = "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b3f"
UUID2 = "7d1c3f44-0b7e-4a8e-9f5e-2a1f0c9b8d11"

# Every option of the file, as a dotted path (the documentation the shipped file must cover).
OPTIONS = [
    "cloudstack.instance_names", "cloudstack.name_patterns",
    "cloudstack.api.url", "cloudstack.api.credentials_file", "cloudstack.api.refresh",
    "cloudstack.api.ca_file", "cloudstack.api.verify_tls", "cloudstack.api.timeout",
    "cloudstack.api.stale_alert_after",
    "overrides.protect.uuids", "overrides.protect.tag",
    "overrides.allow.uuids", "overrides.allow.tag", "overrides.other_config_key",
    "protection.mode", "protection.block_operations", "protection.clear_halted_affinity",
    "exemptions.default_duration",
    "xapi.url", "xapi.credentials_file", "xapi.call_timeout", "xapi.ca_file",
    "xapi.tls_fingerprints", "xapi.allow_plain_http", "attempts.audit_log",
    "state_dir", "log_level",
]


def test_defaults():
    cfg = Config()
    assert cfg.instance_names == ("VM",)
    assert cfg.name_patterns == ()
    assert cfg.protect_uuids == frozenset() and cfg.allow_uuids == frozenset()
    assert (cfg.protect_tag, cfg.allow_tag) == ("csguard-protect", None)
    assert cfg.override_key == "csguard:override"
    assert cfg.block_operations == ("clean_shutdown", "hard_shutdown", "shutdown", "destroy")
    assert cfg.mode == "enforce"
    assert cfg.clear_halted_affinity is True
    assert cfg.exemption_default_duration == 4 * 3600
    assert cfg.xapi_url == "unix:///var/lib/xcp/xapi"
    assert cfg.credentials_file is None
    assert cfg.call_timeout == 30.0
    assert cfg.state_dir == "/var/lib/csguard"
    assert cfg.log_level == "info"
    assert cfg.warnings == ()
    assert cfg.source is None


def test_config_is_immutable():
    cfg = Config()
    with pytest.raises(AttributeError):
        cfg.mode = "audit"
    with pytest.raises(AttributeError):
        cfg.anything = 1


@pytest.mark.parametrize("text", ["", "\n", "# nothing but comments\n", "~\n", "null\n",
                                  "---\n", "\ufeff# BOM\n"])
def test_an_empty_file_is_refused(text):
    with pytest.raises(ConfigError) as error:
        parse(text, "f.yaml")
    assert str(error.value).startswith("f.yaml") and "is empty" in str(error.value)


def test_sections_without_values_give_the_defaults():
    text = "cloudstack:\noverrides:\n  protect:\n"
    assert parse(text, "f.yaml") == Config(source="f.yaml")


def test_the_shipped_file_is_exactly_the_defaults():
    cfg = load(SHIPPED)
    assert cfg == Config(source=SHIPPED)


def _paths(mapping, prefix=""):
    for key, value in mapping.items():
        if isinstance(value, dict):
            yield from _paths(value, prefix + key + ".")
        else:
            yield prefix + key


def test_options_are_the_documented_ones():
    assert sorted(options.OPTIONS) == sorted(OPTIONS)


def test_the_shipped_file_lists_every_option_with_a_comment():
    with open(SHIPPED) as handle:
        text = handle.read()
    assert sorted(_paths(yaml.safe_load(text))) == sorted(OPTIONS)
    lines = text.splitlines()
    for option in OPTIONS:
        key = option.rsplit(".", 1)[-1] + ":"
        index = next(i for i, line in enumerate(lines) if line.strip().startswith(key))
        assert lines[index - 1].strip().startswith("#"), f"{option} has no comment above it"


# ---- every option takes its values ----

@pytest.mark.parametrize("text, field, value", [
    ("cloudstack: {instance_names: [CS]}", "instance_names", ("CS",)),
    ("cloudstack: {instance_names: [VM, CS, VM]}", "instance_names", ("VM", "CS")),
    ("cloudstack: {instance_names: ['V.M']}", "instance_names", ("V.M",)),
    ("cloudstack: {name_patterns: }", "name_patterns", ()),
    (f"overrides: {{protect: {{uuids: [{UUID}]}}}}", "protect_uuids", frozenset([UUID])),
    (f"overrides: {{protect: {{uuids: [{UUID.upper()}]}}}}", "protect_uuids", frozenset([UUID])),
    ("overrides: {protect: {uuids: }}", "protect_uuids", frozenset()),
    (f"overrides: {{allow: {{uuids: [{UUID}, {UUID2}]}}}}", "allow_uuids",
     frozenset([UUID, UUID2])),
    ("overrides: {protect: {tag: keep me}}", "protect_tag", "keep me"),
    ("overrides: {protect: {tag: }}", "protect_tag", None),
    ("overrides: {allow: {tag: cs-ok}}", "allow_tag", "cs-ok"),
    ("overrides: {allow: {tag: null}}", "allow_tag", None),
    ("overrides: {other_config_key: 'site:guard'}", "override_key", "site:guard"),
    ("overrides: {other_config_key: }", "override_key", None),
    ("protection: {mode: audit}", "mode", "audit"),
    ("protection: {mode: enforce}", "mode", "enforce"),
    ("protection: {clear_halted_affinity: false}", "clear_halted_affinity", False),
    ("protection: {clear_halted_affinity: true}", "clear_halted_affinity", True),
    ("protection: {block_operations: [destroy, clean_shutdown, hard_shutdown, destroy]}",
     "block_operations", ("destroy", "clean_shutdown", "hard_shutdown")),
    ("xapi: {url: 'unix:///tmp/x_y/sock'}", "xapi_url", "unix:///tmp/x_y/sock"),
    ("xapi: {call_timeout: 5}", "call_timeout", 5.0),
    ("xapi: {call_timeout: 0.5}", "call_timeout", 0.5),
    ("state_dir: /run/csguard", "state_dir", "/run/csguard"),
    ("exemptions: {default_duration: 30m}", "exemption_default_duration", 1800.0),
    ("exemptions: {default_duration: 1d2h}", "exemption_default_duration", 93600.0),
    ("exemptions: {default_duration: 366d}", "exemption_default_duration", 366 * 86400.0),
    ("log_level: debug", "log_level", "debug"),
    ("log_level: error", "log_level", "error"),
])
def test_option_values(text, field, value):
    assert getattr(parse(text), field) == value


@pytest.mark.parametrize("value, problem", [
    ("''", "is not a duration"), ("4 h", "is not a duration"), ("'4'", "is not a duration"),
    ("0s", "every exemption ends"), ("367d", "every exemption ends"),
    ("null", "must be a duration"), ("3600", "must be a duration"),
])
def test_the_default_exemption_duration_is_finite(value, problem):
    with pytest.raises(ConfigError) as error:
        parse(f"exemptions:\n  default_duration: {value}\n")
    assert "exemptions.default_duration" in str(error.value) and problem in str(error.value)


def test_an_allow_tag_is_ignored_with_a_warning():
    """XAPI lets vm-operator set tags; only vm-admin may change blocked_operations."""
    cfg = parse("overrides:\n  allow:\n    tag: csguard-allow\n")
    assert [w for w in cfg.warnings if w.startswith("overrides.allow.tag 'csguard-allow' is "
                                                    "ignored: XAPI lets the vm-operator")]


@pytest.mark.parametrize("key", ["folder", "Folder", "XenCenter.CustomFields.guard",
                                 "xencenter.customfields.x"])
def test_an_override_key_a_vm_operator_may_write_is_refused(key):
    """datamodel_vm.ml other_config map_keys_roles: folder, XenCenter.CustomFields.*
    are writable by vm-operator; every other key needs vm-admin, as blocks do."""
    with pytest.raises(ConfigError) as error:
        parse(f"overrides:\n  other_config_key: '{key}'\n")
    assert "vm-operator" in str(error.value) and "overrides.other_config_key" in str(error.value)


def test_name_patterns_are_compiled():
    cfg = parse("cloudstack:\n  name_patterns: ['web-[0-9]+', 'db\\d']\n")
    assert [p.pattern for p in cfg.name_patterns] == ["web-[0-9]+", "db\\d"]
    assert cfg.name_patterns[0].fullmatch("web-12")


@pytest.mark.parametrize("url", ["https://10.0.0.1/", "https://pool-master.example:443/",
                                 "http://127.0.0.1:8080", "https://[::1]:443/"])
def test_remote_urls_take_a_credentials_file(url):
    cfg = parse(f"xapi:\n  url: '{url}'\n  credentials_file: /etc/csguard/xapi.secret\n")
    assert (cfg.xapi_url, cfg.credentials_file) == (url, "/etc/csguard/xapi.secret")


@pytest.mark.parametrize("op", sorted(options.VM_OPERATIONS - {"power_state_reset"}))
def test_every_xapi_operation_but_power_state_reset_can_be_blocked(op):
    assert parse(f"protection: {{block_operations: [{op}]}}").block_operations == (op,)


@pytest.mark.parametrize("version, unknown", [
    ("1.249", ("create_vtpm", "sysprep")), ("23.9", ("create_vtpm", "sysprep")),
    ("23.10", ("sysprep",)), ("25.23.1", ("sysprep",)), ("25.24", ()), ("26.1.3", ()),
    ("", ()), ("not a version", ()), (None, ()), ("25", ()),
])
def test_operations_a_pools_xapi_does_not_know(version, unknown):
    ops = ("destroy", "create_vtpm", "sysprep", "shutdown")
    assert options.unknown_to_xapi(ops, version) == unknown


def test_vm_operations_is_xapis_enum():
    for op in ("destroy", "clean_shutdown", "hard_shutdown", "shutdown", "start", "start_on",
               "pool_migrate", "migrate_send", "power_state_reset", "changing_VCPUs_live",
               "sysprep", "create_vtpm"):
        assert op in options.VM_OPERATIONS
    assert len(options.VM_OPERATIONS) == 50


# ---- warnings: legal but risky ----

@pytest.mark.parametrize("text, warning", [
    ("protection: {block_operations: [clean_shutdown, hard_shutdown, destroy, start]}",
     "blocking start: HA can no longer restart"),
    ("protection: {block_operations: [clean_shutdown, hard_shutdown, destroy, start_on]}",
     "blocking start_on: HA can no longer restart"),
    ("protection: {block_operations: [clean_shutdown, hard_shutdown, destroy, pool_migrate]}",
     "blocking pool_migrate: maintenance mode"),
    ("protection: {block_operations: [clean_shutdown, hard_shutdown, destroy, migrate_send]}",
     "blocking migrate_send: "),
    ("protection: {block_operations: [clean_shutdown, hard_shutdown]}",
     "destroy is not blocked"),
    ("protection: {block_operations: [destroy, hard_shutdown]}",
     "clean_shutdown is not blocked"),
    ("protection: {mode: audit}", "nothing is blocked"),
    ("cloudstack: {name_patterns: ['.*']}", "matches the empty name"),
    ("xapi: {url: 'https://10.0.0.1/'}", "xapi.credentials_file is not set"),
])
def test_warnings(text, warning):
    cfg = parse(text)
    assert any(warning in w for w in cfg.warnings), cfg.warnings


@pytest.mark.parametrize("ops", [
    "[clean_shutdown, hard_shutdown, shutdown, destroy, clean_reboot, hard_reboot]",
    "[clean_shutdown, hard_shutdown, destroy, suspend, pause]",
])
def test_harmless_operations_give_no_warning(ops):
    assert parse(f"protection: {{block_operations: {ops}}}").warnings == ()


# ---- errors: each names the file, the line, the key and what is wrong ----

ERRORS = [
    # unknown keys and typos, with suggestions
    ("cloudstack:\n  instance_name: [VM]\n", 2, "cloudstack.instance_name",
     "unknown option; did you mean cloudstack.instance_names?"),
    ("cloudstak:\n  instance_names: [VM]\n", 1, "cloudstak", "did you mean cloudstack?"),
    ("log_levle: info\n", 1, "log_levle", "did you mean log_level?"),
    ("instance_names: [VM]\n", 1, "instance_names", "did you mean cloudstack.instance_names?"),
    ("protection:\n  block_operation: [destroy]\n", 2, "protection.block_operation",
     "did you mean protection.block_operations?"),
    ("overrides:\n  protect:\n    uuid: []\n", 3, "overrides.protect.uuid",
     "did you mean overrides.protect.uuids?"),
    ("xapi:\n  timeout: 3\n", 2, "xapi.timeout", "unknown option"),
    ("state_dir: /x\nfoo: 1\n", 2, "foo", "known options here: cloudstack, overrides"),
    ("log_level: info\nlog_level: debug\n", 2, "log_level", "given twice (first on line 1)"),
    ("? [a]\n: 1\n", 1, None, "keys in the file must be plain names"),
    # wrong shapes and types
    ("- cloudstack\n", 1, None, "must be a mapping of options"),
    ("just text\n", 1, None, "must be a mapping of options"),
    ("cloudstack: VM\n", 1, "cloudstack", "must be a mapping of options"),
    ("cloudstack:\n  instance_names: VM\n", 2, "cloudstack.instance_names",
     "must be a list of CloudStack instance names"),
    ("cloudstack:\n  instance_names:\n", 2, "cloudstack.instance_names", "not empty"),
    ("cloudstack:\n  instance_names: []\n", 2, "cloudstack.instance_names",
     "needs at least one name"),
    ("cloudstack:\n  instance_names:\n    - VM\n    - NO\n", 4, "cloudstack.instance_names",
     "not the boolean false (quote it if you mean text)"),
    ("cloudstack:\n  instance_names:\n    - VM\n    - 12\n", 4, "cloudstack.instance_names",
     "not a number"),
    ("cloudstack:\n  instance_names:\n    - VM\n    - ''\n", 4, "cloudstack.instance_names",
     "non-empty text"),
    ("cloudstack:\n  instance_names: [VM, 'a b']\n", 2, "cloudstack.instance_names",
     "'a b' contains whitespace"),
    ("cloudstack:\n  instance_names: [' VM']\n", 2, "cloudstack.instance_names",
     "contains whitespace"),
    ("cloudstack:\n  instance_names: [\"V\\tM\"]\n", 2, "cloudstack.instance_names",
     "contains whitespace"),
    ("cloudstack:\n  instance_names: [\"V\\x01M\"]\n", 2, "cloudstack.instance_names",
     "control characters"),
    ("cloudstack:\n  name_patterns: 'web-.*'\n", 2, "cloudstack.name_patterns",
     "must be a list of regular expressions"),
    ("cloudstack:\n  name_patterns:\n    - ok\n    - 'web-('\n", 4, "cloudstack.name_patterns",
     "pattern 'web-(' is not a valid regular expression: missing ), unterminated subpattern"),
    ("cloudstack:\n  name_patterns: ['[z-a]']\n", 2, "cloudstack.name_patterns",
     "pattern '[z-a]' is not a valid regular expression: bad character range"),
    ("cloudstack:\n  name_patterns: ['']\n", 2, "cloudstack.name_patterns", "non-empty text"),
    # overrides
    (f"overrides:\n  protect:\n    uuids:\n      - {UUID}\n      - not-a-uuid\n", 5,
     "overrides.protect.uuids", "'not-a-uuid' is not a VM uuid"),
    (f"overrides:\n  allow:\n    uuids: [{UUID}0]\n", 3, "overrides.allow.uuids",
     "is not a VM uuid"),
    (f"overrides:\n  allow:\n    uuids: {UUID}\n", 3, "overrides.allow.uuids",
     "must be a list of VM uuids"),
    ((f"overrides:\n  protect:\n    uuids: [{UUID}]\n  allow:\n"
      f"    uuids: [{UUID2}, {UUID.upper()}]\n"), 5, "overrides.allow.uuids",
     f"{UUID} is also listed in overrides.protect.uuids"),
    ("overrides:\n  protect: {tag: ' x'}\n", 2, "overrides.protect.tag",
     "without leading or trailing spaces"),
    ("overrides:\n  protect: {tag: ''}\n", 2, "overrides.protect.tag", "must be non-empty"),
    ("overrides:\n  protect: {tag: [a]}\n", 2, "overrides.protect.tag", "not a list"),
    ("overrides:\n  other_config_key: 'csguard:verdict'\n", 2, "overrides.other_config_key",
     "csguard's own record"),
    ("overrides:\n  other_config_key: 'csguard:exemption'\n", 2,
     "overrides.other_config_key", "csguard's own record"),
    ("overrides:\n  other_config_key: 'csguard:affinity'\n", 2,
     "overrides.other_config_key", "csguard's own record"),
    ("overrides:\n  other_config_key: 'a key'\n", 2, "overrides.other_config_key",
     "without spaces"),
    ("overrides:\n  protect: [x]\n", 2, "overrides.protect", "must be a mapping"),
    # protection
    ("protection:\n  mode: Enforce\n", 2, "protection.mode",
     "'Enforce' is not a mode: use one of enforce, audit; did you mean enforce?"),
    ("protection:\n  mode: off\n", 2, "protection.mode", "not the boolean false"),
    ("protection:\n  mode:\n", 2, "protection.mode", "not empty"),
    ("protection:\n  block_operations:\n    - destroy\n    - power_state_reset\n", 4,
     "protection.block_operations",
     "power_state_reset cannot be blocked: XAPI never checks blocked_operations for it"),
    ("protection:\n  block_operations: [destroy, clean_shutdwn]\n", 2,
     "protection.block_operations",
     "'clean_shutdwn' is not a XAPI VM operation; did you mean clean_shutdown?"),
    ("protection:\n  block_operations: [reboot]\n", 2, "protection.block_operations",
     "'reboot' is not a XAPI VM operation"),
    ("protection:\n  block_operations: [Destroy]\n", 2, "protection.block_operations",
     "did you mean destroy?"),
    ("protection:\n  block_operations: []\n", 2, "protection.block_operations",
     "set protection.mode: audit instead"),
    ("protection:\n  block_operations: destroy\n", 2, "protection.block_operations",
     "must be a list of XAPI VM operations"),
    ("protection:\n  block_operations: [[destroy]]\n", 2, "protection.block_operations",
     "operations are names, not a list"),
    # xapi
    ("xapi:\n  credentials_file: /etc/csguard/secret\n", 2, "xapi.credentials_file",
     "only used with an http(s) xapi.url"),
    ("xapi:\n  url: unix://var/lib/xcp/xapi\n", 2, "xapi.url", "absolute socket path"),
    ("xapi:\n  url: /var/lib/xcp/xapi\n", 2, "xapi.url", "must be unix:///path/to/socket"),
    ("xapi:\n  url: ftp://h/\n", 2, "xapi.url", "must be unix:///path/to/socket"),
    ("xapi:\n  url: 'http://h:99999/'\n  credentials_file: /c\n", 2, "xapi.url",
     "invalid port"),
    ("xapi:\n  url: 'https://root:secret@h/'\n  credentials_file: /c\n", 2, "xapi.url",
     "must not contain a user or password"),
    ("xapi:\n  url: 'http:///x'\n  credentials_file: /c\n", 2, "xapi.url", "must be unix"),
    ("xapi:\n  url: 5\n", 2, "xapi.url", "must be a URL, not a number"),
    ("xapi:\n  url: 'https://h/'\n  credentials_file: secret\n", 3, "xapi.credentials_file",
     "must be an absolute path"),
    ("xapi:\n  call_timeout: 0\n", 2, "xapi.call_timeout", "positive number of seconds"),
    ("xapi:\n  call_timeout: -3\n", 2, "xapi.call_timeout", "positive number of seconds"),
    ("xapi:\n  call_timeout: .inf\n", 2, "xapi.call_timeout", "positive number of seconds"),
    ("xapi:\n  call_timeout: .nan\n", 2, "xapi.call_timeout", "positive number of seconds"),
    ("xapi:\n  call_timeout: 30s\n", 2, "xapi.call_timeout", "number of seconds, not text"),
    ("xapi:\n  call_timeout: yes\n", 2, "xapi.call_timeout", "not the boolean true"),
    ("protection:\n  clear_halted_affinity: 'no'\n", 2, "protection.clear_halted_affinity",
     "must be true or false, not text"),
    ("protection:\n  clear_halted_affinity: 1\n", 2, "protection.clear_halted_affinity",
     "must be true or false, not a number"),
    ("protection:\n  clear_halted_affinity:\n", 2, "protection.clear_halted_affinity",
     "must be true or false, not empty"),
    # top level
    ("state_dir: var/lib/csguard\n", 1, "state_dir", "must be an absolute path"),
    ("state_dir: 2026-11-25\n", 1, "state_dir", "not a date"),
    ("log_level: verbose\n", 1, "log_level", "use one of debug, info, warning, error"),
    ("log_level: INFO\n", 1, "log_level", "did you mean info?"),
    ("log_level: warn\n", 1, "log_level", "did you mean warning?"),
]


@pytest.mark.parametrize("text, line, key, problem", ERRORS,
                         ids=[text[:40] for text, _, _, _ in ERRORS])
def test_errors_name_file_line_key_and_problem(text, line, key, problem):
    with pytest.raises(ConfigError) as caught:
        parse(text, "/etc/csguard/csguard.yaml")
    error = caught.value
    assert (error.line, error.source) == (line, "/etc/csguard/csguard.yaml")
    message = str(error)
    assert message.startswith(f"/etc/csguard/csguard.yaml, line {line}")
    if key is not None:
        assert key in error.key and key in message
    assert problem in message


@pytest.mark.parametrize("text, line, problem", [
    ("cloudstack:\n  instance_names: [VM\n", 3, "is not valid YAML"),
    ("a: b: c\n", 1, "mapping values are not allowed here"),
    ("cloudstack:\n\tinstance_names: [VM]\n", 2, "is not valid YAML"),
    ("a: 1\n---\nb: 2\n", 2, "expected a single document"),
    ("log_level: 'info\n", 2, "is not valid YAML"),
    ("log_level: !!python/object/apply:os.system [id]\n", 1, "could not determine a constructor"),
    ("log_level: *nothing\n", 1, "found undefined alias"),
    ("state_dir: /x\nlog_level: \x00\n", 2, "contains a character YAML does not allow ('\\x00')"),
])
def test_malformed_yaml_is_refused_with_its_line(text, line, problem):
    with pytest.raises(ConfigError) as caught:
        parse(text, "c.yaml")
    assert caught.value.line == line
    assert problem in str(caught.value)
    assert str(caught.value).startswith(f"c.yaml, line {line}: ")


def test_deep_nesting_is_refused():
    with pytest.raises(ConfigError) as caught:
        parse("a: " + "[" * 20000)
    assert "nested too deeply" in str(caught.value)


def test_aliases_cannot_smuggle_a_wrong_type():
    with pytest.raises(ConfigError) as caught:
        parse("log_level: &level info\nstate_dir: *level\n")
    assert (caught.value.line, caught.value.key) == (2, "state_dir")


def test_many_aliases_do_not_expand():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi"))
    with pytest.raises(ConfigError) as caught:
        parse(bomb)
    assert "unknown option" in str(caught.value)


def test_a_huge_file_is_refused(tmp_path):
    path = tmp_path / "csguard.yaml"
    path.write_text("# padding\n" * (config.MAX_SIZE // 10 + 1))
    with pytest.raises(ConfigError) as caught:
        load(str(path))
    assert "larger than 1 MiB" in str(caught.value)
    with pytest.raises(ConfigError):
        parse(path.read_text())


def test_a_file_just_under_the_limit_is_read(tmp_path):
    path = tmp_path / "csguard.yaml"
    path.write_text("log_level: debug\n" + "#" * (config.MAX_SIZE - 100) + "\n")
    assert load(str(path)).log_level == "debug"


def test_a_non_utf8_file_is_refused_with_its_line(tmp_path):
    path = tmp_path / "csguard.yaml"
    path.write_bytes(b"state_dir: /x\nlog_level: d\xe9bug\n")
    with pytest.raises(ConfigError) as caught:
        load(str(path))
    assert caught.value.line == 2
    assert "not UTF-8" in str(caught.value)


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_an_unreadable_file_is_refused(tmp_path, make):
    path = tmp_path / "csguard.yaml"
    if make == "directory":
        path.mkdir()
    with pytest.raises(ConfigError) as caught:
        load(str(path))
    assert str(caught.value).startswith(f"{path}: cannot read it: ")


def test_load_names_the_file_in_errors(tmp_path):
    path = tmp_path / "csguard.yaml"
    path.write_text("protection:\n  mode: enforced\n")
    with pytest.raises(ConfigError) as caught:
        load(str(path))
    assert str(caught.value).startswith(f"{path}, line 2, protection.mode: ")


def test_load_records_its_source(tmp_path):
    path = tmp_path / "csguard.yaml"
    path.write_text("log_level: debug\n")
    assert load(str(path)).source == str(path)


@pytest.mark.parametrize("key", ["cloudstack.\x1b[2Jx", "\u202eevil", "x" * 5000])
def test_hostile_unknown_keys_are_rendered_safely(key):
    with pytest.raises(ConfigError) as caught:
        parse(f"{json.dumps(key)}: 1\n")
    message = str(caught.value)
    assert message.isprintable() and len(message) < 1000


# ---- command-line overrides ----

def test_overrides_replace_validated_fields():
    cfg = Config().with_overrides(xapi_url="unix:///tmp/xs-1/sock", state_dir="/tmp/state",
                                  log_level="debug")
    assert (cfg.xapi_url, cfg.state_dir, cfg.log_level) == (
        "unix:///tmp/xs-1/sock", "/tmp/state", "debug")
    assert cfg.block_operations == Config().block_operations


def test_overrides_keep_the_source_and_recompute_warnings():
    cfg = parse("log_level: debug\n", "f.yaml").with_overrides(mode="audit")
    assert cfg.source == "f.yaml"
    assert any("nothing is blocked" in w for w in cfg.warnings)


def test_a_remote_url_override_without_credentials_is_accepted_with_a_warning():
    cfg = Config().with_overrides(xapi_url="http://127.0.0.1:8080/")
    assert cfg.xapi_url == "http://127.0.0.1:8080/" and cfg.credentials_file is None
    assert any("xapi.credentials_file is not set" in w for w in cfg.warnings)


def test_a_remote_url_override_with_its_credentials_file():
    cfg = Config().with_overrides(xapi_url="http://127.0.0.1:8080/",
                                  credentials_file="/tmp/creds")
    assert (cfg.xapi_url, cfg.credentials_file) == ("http://127.0.0.1:8080/", "/tmp/creds")


@pytest.mark.parametrize("fields, key, problem", [
    ({"xapi_url": "tcp://x"}, "xapi_url", "must be unix:///path/to/socket"),
    ({"state_dir": "relative"}, "state_dir", "must be an absolute path"),
    ({"mode": "off"}, "mode", "use one of enforce, audit"),
    ({"call_timeout": 0}, "call_timeout", "positive"),
    ({"block_operations": ["power_state_reset"]}, "block_operations", "cannot be blocked"),
    ({"warnings": ()}, "warnings", "not an option"),
    ({"source": "x"}, "source", "not an option"),
    ({"nonsense": 1}, "nonsense", "not an option"),
])
def test_bad_overrides_are_refused(fields, key, problem):
    with pytest.raises(ConfigError) as caught:
        Config().with_overrides(**fields)
    assert caught.value.key == key
    assert problem in str(caught.value)
    assert str(caught.value).startswith(f"command-line override, {key}: ")
