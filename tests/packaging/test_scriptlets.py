"""The RPM's scriptlets, run as rpm runs them ($1 = number of instances left or being
installed) with systemctl and rm replaced by recorders: what each case does to the
service, and what an erase tells the operator."""
import os
import shutil
import subprocess

import pytest

from .conftest import query

RECORDER = """#!/bin/sh
echo "$(basename "$0") $*" >> "$CALLS"
case "$*" in
  "is-active --quiet xapi.service") exit "${XAPI_ACTIVE_STATUS:-0}" ;;
  "start csguard.service"|"try-restart csguard.service") exit "${START_STATUS:-0}" ;;
esac
exit 0
"""


class Scriptlet:
    """One scriptlet's text, runnable with only recorders and cat on PATH."""

    def __init__(self, text, workdir):
        self.text = text
        self.workdir = workdir

    def run(self, arg, xapi_active=True, start_fails=False):
        bin_dir = os.path.join(self.workdir, "bin")
        if not os.path.isdir(bin_dir):
            os.makedirs(bin_dir)
            for name in ("systemctl", "rm"):
                path = os.path.join(bin_dir, name)
                with open(path, "w") as f:
                    f.write(RECORDER)
                os.chmod(path, 0o755)
            os.symlink(shutil.which("cat"), os.path.join(bin_dir, "cat"))
            os.symlink(shutil.which("basename"), os.path.join(bin_dir, "basename"))
        calls = os.path.join(self.workdir, "calls")
        if os.path.exists(calls):
            os.remove(calls)
        env = {"PATH": bin_dir, "CALLS": calls,
               "XAPI_ACTIVE_STATUS": "0" if xapi_active else "3",
               "START_STATUS": "1" if start_fails else "0"}
        process = subprocess.Popen(["/bin/sh", "-c", self.text, "scriptlet", str(arg)],
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   universal_newlines=True)
        out, err = process.communicate()
        recorded = []
        if os.path.exists(calls):
            with open(calls) as f:
                recorded = f.read().splitlines()
        return process.returncode, recorded, out, err


@pytest.fixture(scope="module")
def scriptlets(rpm_path, tmp_path_factory):
    found = {}
    for tag in ("POSTIN", "PREUN", "POSTUN"):
        assert query(rpm_path, "--qf", "%{" + tag + "PROG}") == "/bin/sh"
        found[tag] = Scriptlet(query(rpm_path, "--qf", "%{" + tag + "}"),
                               str(tmp_path_factory.mktemp(tag.lower())))
    return found


def test_install_enables_and_starts_when_xapi_runs(scriptlets):
    status, calls, _, _ = scriptlets["POSTIN"].run(1, xapi_active=True)
    assert status == 0
    assert calls == ["systemctl daemon-reload", "systemctl enable csguard.service",
                     "systemctl is-active --quiet xapi.service",
                     "systemctl start csguard.service"]


def test_install_without_xapi_enables_only(scriptlets):
    status, calls, out, _ = scriptlets["POSTIN"].run(1, xapi_active=False)
    assert status == 0
    assert "systemctl enable csguard.service" in calls
    assert not [c for c in calls if c.startswith("systemctl start")]
    assert "next boot" in out


def test_failed_start_does_not_fail_the_install_but_says_where_to_look(scriptlets):
    status, _, _, err = scriptlets["POSTIN"].run(1, start_fails=True)
    assert status == 0
    assert "journalctl -u csguard" in err


def test_upgrade_restarts_only_a_running_service(scriptlets):
    status, calls, _, _ = scriptlets["POSTIN"].run(2)
    assert status == 0
    assert calls == ["systemctl daemon-reload", "systemctl try-restart csguard.service"]
    for step in ("PREUN", "POSTUN"):
        status, calls, out, _ = scriptlets[step].run(1)
        assert status == 0 and out == ""
        assert [c for c in calls if c != "systemctl daemon-reload"] == [], step


def test_erase_stops_and_disables(scriptlets):
    status, calls, _, _ = scriptlets["PREUN"].run(0)
    assert status == 0
    assert calls == ["systemctl stop csguard.service", "systemctl disable csguard.service"]


def test_erase_keeps_the_blocks_and_prints_how_to_remove_them(scriptlets):
    status, calls, out, _ = scriptlets["POSTUN"].run(0)
    assert status == 0
    assert calls == ["systemctl daemon-reload", "rm -rf /var/lib/csguard"]
    assert "LEFT IN PLACE" in out
    assert "for vm in $(xe vm-list --minimal" in out  # run in test_erase_instructions
