"""csguard's status-report capability (/etc/xensource/bugtool/csguard*), read the way
xen-bugtool reads it and collected the way it collects, from the unpacked RPM against
the simulator.

The format is xen-bugtool's, in xenserver/status-report (unchanged from v1.0, 2016,
to 2026; XCP-ng 8.2 ships v1.2.10, XenServer 8 and XCP-ng 8.3 v2.x):
- load_plugins(): each directory D of /etc/xensource/bugtool that has a D.xml is a
  capability named D. D.xml's document element is <capability>, with the attributes
  pii (no|yes|maybe|if_customized), min_size, max_size, min_time, max_time (int()),
  mime (application/data|text/plain), checked and hidden (true|false|yes|no). Each
  D/*.xml has a <collect> document element whose <files>, <list recursive=>,
  <directory pattern= negate=> and <command label=> elements say what to collect;
  their text is their direct text nodes (getText). Anything else is ignored without a
  word, so a typo silently loses data: the reader below refuses it.
- cmd_output() and ProcOutput.run(): a command given as a string runs with
  shell=True, stdin and stderr on /dev/null; only stdout is kept.
- run_proc_group(): a command still running max_time seconds after it started gets
  SIGTERM, sent to its shell only (what the shell started lives on, hence timeout(1)
  inside every command); with no max_time (-1) commands are stopped at once.
- construct_filename(): a command's output is stored under its label with " " -> "-",
  "--" -> "-", "/" -> "%", and ".out" added when it has no "."; a file under its path.
- file_output(): files count toward max_size; once it is reached, the rest are left
  out.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import time
from xml.dom.minidom import parse

import pytest
from xapisim import Simulator

BUGTOOL_DIR = "etc/xensource/bugtool"
PII = ("no", "yes", "maybe", "if_customized")
MIMES = ("application/data", "text/plain")
BOOLEANS = ("true", "false", "yes", "no")
INT_ATTRIBUTES = ("min_size", "max_size", "min_time", "max_time")
CAPABILITY_ATTRIBUTES = {"pii", "mime", "checked", "hidden"} | set(INT_ATTRIBUTES)
DIRECTIVES = {"files": set(), "list": {"recursive"}, "directory": {"pattern", "negate"},
              "command": {"label"}}
TIMEOUT = re.compile(r"^timeout -k (\d+) (\d+) \S")


def text_of(element):
    """xen-bugtool's getText: the element's direct text nodes, concatenated."""
    return "".join(node.data for node in element.childNodes
                   if node.nodeType == node.TEXT_NODE)


def read_capabilities(plugin_dir):
    """{name: (attributes, [(tag, attributes, text)])} as load_plugins() finds them,
    refusing what it would silently ignore."""
    found = {}
    for name in sorted(os.listdir(plugin_dir)):
        directory = os.path.join(plugin_dir, name)
        if not os.path.isdir(directory) or not os.path.exists(directory + ".xml"):
            continue
        root = parse(directory + ".xml").documentElement
        assert root.tagName == "capability"
        attributes = dict(root.attributes.items())
        assert set(attributes) <= CAPABILITY_ATTRIBUTES, attributes
        assert attributes.get("pii", "maybe") in PII
        assert attributes.get("mime", "text/plain") in MIMES
        for flag in ("checked", "hidden"):
            assert attributes.get(flag, "true").lower() in BOOLEANS
        for key in INT_ATTRIBUTES:
            if key in attributes:
                attributes[key] = int(attributes[key])
        directives = []
        for file_name in sorted(f for f in os.listdir(directory) if f.endswith(".xml")):
            collect = parse(os.path.join(directory, file_name)).documentElement
            assert collect.tagName == "collect"
            for element in collect.getElementsByTagName("*"):
                assert element.tagName in DIRECTIVES, element.tagName
                attrs = dict(element.attributes.items())
                assert set(attrs) <= DIRECTIVES[element.tagName], attrs
                directives.append((element.tagName, attrs, text_of(element)))
        found[name] = (attributes, directives)
    return found


def archive_name(label):
    """construct_filename() for a command's label."""
    name = label.replace(" ", "-").replace("--", "-").replace("/", "%")
    return name if "." in name else name + ".out"


@pytest.fixture(scope="module")
def capability(payload_root):
    found = read_capabilities(os.path.join(payload_root, BUGTOOL_DIR))
    assert list(found) == ["csguard"]
    return found["csguard"]


def test_capability_is_collected_by_default_within_its_limits(capability):
    attributes, directives = capability
    assert attributes["pii"] == "yes", "VM names and XAPI user names are personal data"
    assert attributes["checked"] == "true" and attributes["hidden"] == "false"
    assert attributes["max_size"] > 0
    commands = [(attrs["label"], text) for tag, attrs, text in directives if tag == "command"]
    assert commands, "nothing to run"
    bounds = []
    for label, text in commands:
        assert label.startswith("csguard-"), "labels share one namespace in the archive"
        match = TIMEOUT.match(text)
        assert match, f"{label}: not bounded by timeout(1): {text}"
        bounds.append(int(match.group(1)) + int(match.group(2)))
        assert text.endswith(" 2>&1"), f"{label}: its errors would be lost"
    # older xen-bugtool times a capability's commands together, newer ones each alone
    assert sum(bounds) <= attributes["max_time"]
    names = [archive_name(label) for label, _ in commands]
    assert len(set(names)) == len(names)


CONFIG_ADDITION = """
# Remote use, with secrets an administrator might leave here:
#   old password: hunter2-in-a-comment
#   cloudstack api_key: Q4Cg4hoKzP9BKe5Ar2xYz0123456789abcdefGHIJ
"""
SECRETS = ("hunter2-in-a-comment", "Q4Cg4hoKzP9BKe5Ar2xYz0123456789abcdefGHIJ",
           "credential-file-password")


@pytest.fixture
def host(payload_root, tmp_path):
    """A copy of the unpacked RPM as a host has it: a changed configuration with
    secrets in comments, a credentials file, the daemon's status file."""
    root = str(tmp_path / "root")
    shutil.copytree(payload_root, root, symlinks=True)
    with open(os.path.join(root, "etc/csguard/csguard.yaml"), "a") as f:
        f.write(CONFIG_ADDITION)
    credentials = os.path.join(root, "etc/csguard/xapi-credentials")
    with open(credentials, "w") as f:
        f.write("root\ncredential-file-password\n")
    os.chmod(credentials, 0o600)
    with open(os.path.join(root, "var/lib/csguard/status.json"), "w") as f:
        json.dump({"role": "leader", "connection": "connected"}, f)
    return root


def as_on(root, python36, text):
    """A directive's text with the host's paths moved under root, and the payload's
    Python scripts run by dom0's Python."""
    text = text.replace("/usr/libexec/csguard/", f"{python36} -I {root}/usr/libexec/csguard/")
    text = text.replace("/usr/bin/csguard", f"{python36} -I -S {root}/usr/bin/csguard")
    for path in ("/etc/csguard", "/var/lib/csguard"):
        text = text.replace(path, root + path)
    return text


def collect(capability, root, python36, env):
    """{archive name: (bytes, seconds)} for every directive, run as xen-bugtool runs it."""
    _, directives = capability
    collected = {}
    for tag, attrs, text in directives:
        if tag == "files":
            for pattern in text.split():
                for path in glob.glob(as_on(root, python36, pattern)):
                    with open(path, "rb") as f:
                        collected[os.path.relpath(path, root)] = (f.read(), 0.0)
        elif tag == "list":
            flags = "-lR" if attrs.get("recursive") == "true" else "-l"
            for path in text.split():
                listing = subprocess.check_output(["ls", flags, as_on(root, python36, path)])
                collected[archive_name(f"ls {flags} {path}")] = (listing, 0.0)
        elif tag == "command":
            started = time.monotonic()
            process = subprocess.Popen(as_on(root, python36, text), shell=True, env=env,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL)
            out = process.communicate(timeout=120)[0]
            collected[archive_name(attrs["label"])] = (out, time.monotonic() - started)
        else:
            pytest.fail(f"no runner for <{tag}>")
    return collected


def test_report_has_config_without_secrets_status_journal_and_vm_list(
        capability, host, python36, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # journalctl as on a host whose journal has one csguard line; it shows its arguments
    (bin_dir / "journalctl").write_text(
        '#!/bin/sh\necho "2026-12-02T10:00:00+0000 host csguard[42]: ready ($*)"\n')
    (bin_dir / "journalctl").chmod(0o755)
    with Simulator(hosts=1) as sim:
        sim.create_vm("web-01")
        sim.create_vm("i-2-10-VM")
        env = dict(os.environ, PATH=str(bin_dir) + os.pathsep + os.environ["PATH"],
                   CSGUARD_XAPI_URL=sim.unix_url(0))
        report = collect(capability, host, python36, env)

    text = {name: data.decode("utf-8") for name, (data, _) in report.items()}
    for name, body in text.items():
        for secret in SECRETS:
            assert secret not in body, f"{name} holds a secret"
    config = text["csguard-config.yaml"]
    assert "instance_names: [VM]" in config and "<redacted>" in config
    assert "xapi-credentials" in text["ls-l-%etc%csguard.out"]
    assert json.loads(text["var/lib/csguard/status.json"])["role"] == "leader"
    assert "--unit=csguard.service --since=-24h --lines=" in text["csguard-journal.log"]
    rows = json.loads(text["csguard-vm-list.json"])
    assert {"i-2-10-VM", "web-01"} <= {row["name-label"] for row in rows}
    attributes, _ = capability
    files = sum(len(data) for name, (data, _) in report.items() if "/" in name)
    assert files <= attributes["max_size"]
    for name, (_, seconds) in report.items():
        assert seconds < 30, f"{name} took {seconds:.1f} s"


REDACTOR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "rpm", "bugtool", "redacted-config")

# (configuration text, what must go, what must stay)
REDACTION_CASES = [
    ("xapi:\n  password: hunter2 # set by Bob\n", "hunter2", "# set by Bob"),
    ("password: 'with # and, comma'\n", "with # and", "password:"),
    ("cloudstack: {api_key: k3y, secret_key: s3cr3t, url: x}\n", "k3y", "url: x"),
    ("cloudstack: {api_key: k3y, secret_key: s3cr3t, url: x}\n", "s3cr3t", "url: x"),
    ("xapi:\n  url: https://root:pa55@master/\n", "pa55", "https://root:"),
    ("# old token: abc123def\nlog_level: info\n", "abc123def", "log_level: info"),
    ("private_key: |\n  -----BEGIN KEY-----\n  MIIEow\nstate_dir: /x\n", "MIIEow", "state_dir: /x"),
    ("passwords:\n  - one1\n  - two2\nmode: audit\n", "two2", "mode: audit"),
    ("note: Q4Cg4hoKzP9BKe5Ar2xYz0123456789abcdefGHIJ\n", "Q4Cg4hoKzP9BKe5Ar2", "note:"),
    ("uuids: [0b4f1a6e-8d2c-4f9e-9b1a-2c3d4e5f6a7b]\n", "", "0b4f1a6e-8d2c-4f9e-9b1a"),
    ("xapi:\n  credentials_file: /etc/csguard/xapi-credentials\n", "",
     "/etc/csguard/xapi-credentials"),
    ("a: [unclosed\n  password: in a broken file\n", "in a broken", "a: [unclosed"),
]


def redacted(python, tmp_path, text):
    path = tmp_path / "csguard.yaml"
    path.write_text(text)
    out = run_redactor(python, str(path))
    assert out.startswith(f"# {path} (secrets redacted)\n")
    return out.split("\n", 1)[1]


def run_redactor(python, *args):
    return subprocess.check_output([python, "-I", REDACTOR] + list(args),
                                   universal_newlines=True, env={"PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("text, secret, kept", REDACTION_CASES)
def test_config_redaction_removes_secrets_and_keeps_the_rest(python36, tmp_path,
                                                             text, secret, kept):
    out = redacted(python36, tmp_path, text)
    if secret:
        assert secret not in out and "<redacted>" in out
    assert kept in out
    assert len(out.splitlines()) == len(text.splitlines()), "every line is shown"


def test_shipped_config_passes_unchanged(payload_root, python36, tmp_path):
    with open(os.path.join(payload_root, "etc/csguard/csguard.yaml")) as f:
        shipped = f.read()
    assert redacted(python36, tmp_path, shipped) == shipped


def test_unreadable_file_is_said_not_hidden(python36):
    out = run_redactor(python36, "/nonexistent/csguard.yaml")
    assert "cannot read it: No such file or directory" in out
