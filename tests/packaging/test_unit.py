"""The systemd unit: accepted by systemd-analyze, limited to what dom0's systemd 219
understands, and keeping the contract the daemon is written for."""
import configparser
import os
import shutil
import subprocess

import pytest

UNIT = "usr/lib/systemd/system/csguard.service"

# The directives of systemd 219 (CentOS 7, the base of XenServer 8 / XCP-ng 8.x dom0)
# that this unit may use. 219 ignores unknown ones with a log line, so a directive
# added later (ProtectSystem=strict, StartLimitIntervalSec=, StateDirectory=, ...)
# would silently do nothing on the hosts csguard protects.
SYSTEMD_219 = {
    "Unit": {"Description", "Documentation", "Wants", "Requires", "After", "Before",
             "BindsTo", "PartOf", "Conflicts"},
    "Service": {"Type", "NotifyAccess", "ExecStart", "ExecStartPre", "ExecReload",
                "ExecStop", "TimeoutStartSec", "TimeoutStopSec", "WatchdogSec", "Restart",
                "RestartSec", "StartLimitInterval", "StartLimitBurst", "StandardOutput",
                "StandardError", "SyslogIdentifier", "ProtectSystem", "ProtectHome",
                "PrivateTmp", "PrivateDevices", "NoNewPrivileges", "CapabilityBoundingSet",
                "RestrictAddressFamilies", "SystemCallArchitectures", "UMask",
                "ReadWriteDirectories", "ReadOnlyDirectories", "Environment",
                "KillMode", "RestartPreventExitStatus"},
    "Install": {"WantedBy", "RequiredBy", "Alias"},
}
SYSTEMD_219_VALUES = {"ProtectSystem": {"yes", "full"}, "ProtectHome": {"yes", "read-only"}}


@pytest.fixture(scope="module")
def unit(payload_root):
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    with open(os.path.join(payload_root, UNIT)) as f:
        parser.read_file(f)
    return parser


@pytest.fixture(scope="module")
def verify_root(payload_root, tmp_path_factory):
    """A root holding the packaged unit and launcher plus what any host has and
    verify looks for (the default targets, /bin/kill), so that only the unit's own
    problems are reported."""
    root = str(tmp_path_factory.mktemp("verify-root"))
    for relative in (UNIT, "usr/bin/csguard"):
        os.makedirs(os.path.join(root, os.path.dirname(relative)), exist_ok=True)
        shutil.copy2(os.path.join(payload_root, relative), os.path.join(root, relative))
    os.makedirs(os.path.join(root, "bin"))
    shutil.copy2(shutil.which("kill") or "/bin/kill", os.path.join(root, "bin", "kill"))
    for target in ("sysinit", "basic", "shutdown", "multi-user"):
        with open(os.path.join(root, "usr/lib/systemd/system", target + ".target"), "w") as f:
            f.write(f"[Unit]\nDescription={target} (stub for verify)\n")
    return root


def test_systemd_analyze_verify_reports_nothing(verify_root):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    process = subprocess.Popen(
        ["systemd-analyze", "verify", "--root=" + verify_root, "csguard.service"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
        env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"))
    output = process.communicate()[0]
    # verify exits 0 even on unknown keys and bad values; any line it prints is a finding
    assert (process.returncode, output) == (0, "")


def test_only_directives_systemd_219_understands(unit):
    for section in unit.sections():
        unknown = set(unit[section]) - SYSTEMD_219[section]
        assert not unknown, f"[{section}] {sorted(unknown)} unknown to systemd 219"
    for key, allowed in SYSTEMD_219_VALUES.items():
        assert unit["Service"].get(key, "yes") in allowed, key


def test_ready_means_protected_contract(unit):
    service = unit["Service"]
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert service["ExecStart"] == "/usr/bin/csguard daemon"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    assert int(service["StartLimitBurst"]) > 0 and int(service["StartLimitInterval"]) > 0
    assert "xapi-init-complete.target" in unit["Unit"]["After"].split()
    assert "xapi-init-complete.target" in unit["Unit"]["Wants"].split()
    assert "Requires" not in unit["Unit"] and "BindsTo" not in unit["Unit"], \
        "a toolstack restart must not stop csguard"
    assert (service["StandardOutput"], service["StandardError"]) == ("journal", "journal")
    assert service["SyslogIdentifier"] == "csguard"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_a_start_that_cannot_succeed_is_not_retried(unit):
    """The daemon exits 78 (EX_CONFIG) on a bad configuration and 64 (EX_USAGE) on bad
    arguments: retrying either only fills the journal until the start limit."""
    from csguard.outcome import BAD_ARGUMENT, CONFIG_ERROR, EXIT_STATUSES
    prevented = unit["Service"]["RestartPreventExitStatus"].split()
    assert str(EXIT_STATUSES[CONFIG_ERROR]) in prevented
    assert str(EXIT_STATUSES[BAD_ARGUMENT]) in prevented
