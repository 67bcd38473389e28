"""Bytecode under /usr/lib/csguard. The RPM ships the bytecode of dom0's Python 3.6,
compiled at build time and owned by the package (as dom0's own Python packages do),
so running csguard on a host writes nothing there and an erase leaves nothing behind.
Bytecode that another Python writes (XenServer 9's 3.11, XCP-ng 9's 3.12, an
administrator's) is removed by the erase scriptlet."""
import os
import shutil
import subprocess
import sys

import pytest
from xapisim import Simulator

from .conftest import files_under, install, query, rpm, run

LIBRARY = "usr/lib/csguard"


def tree(root):
    """{file: (size, mtime)} under root: what a Python writing bytecode would change."""
    found = {}
    for path in files_under(root):
        status = os.stat(os.path.join(root, path))
        found[path] = (status.st_size, status.st_mtime)
    return found


def version_of(python):
    return subprocess.check_output(
        [python, "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        universal_newlines=True).strip()


@pytest.fixture
def installed(rpm_path, tmp_path):
    root = str(tmp_path / "root")
    os.makedirs(root)
    rpm(root, "--initdb")
    install(root, "-i", rpm_path)
    return root


def test_running_csguard_on_dom0s_python_writes_no_bytecode(installed, python36):
    library = os.path.join(installed, LIBRARY)
    before = tree(library)
    # compileall writes a .pyc for every module whose bytecode is missing or stale
    run([python36, "-I", "-m", "compileall", "-q", library])
    with Simulator(hosts=1) as sim:
        sim.create_vm("web-01")
        out = run([python36, "-I", "-S", os.path.join(installed, "usr/bin/csguard"),
                   "--xapi-url", sim.unix_url(0),
                   "--config", os.path.join(installed, "etc/csguard/csguard.yaml"),
                   "vm-list", "--json"])
    assert "web-01" in out
    assert tree(library) == before

    install(installed, "-e", "csguard")
    assert {p for p in files_under(installed) if not p.startswith("var/lib/rpm")} == set()


def other_python():
    """An interpreter that is not 3.6, whose bytecode the RPM does not ship."""
    for candidate in (sys.executable, shutil.which("python3.13"),
                      shutil.which("python3.12"), shutil.which("python3.11")):
        if candidate and version_of(candidate) != "3.6":
            return candidate
    pytest.skip("no Python other than 3.6 found")


def test_erase_removes_bytecode_another_python_wrote(installed, rpm_path, tmp_path):
    library = os.path.join(installed, LIBRARY)
    run([other_python(), "-I", "-m", "compileall", "-q", library])
    written = {p for p in files_under(installed) if p.endswith(".pyc")
               and ".cpython-36." not in p}
    assert written, "the other Python wrote no bytecode"

    install(installed, "-e", "csguard")
    left = {p for p in files_under(installed) if not p.startswith("var/lib/rpm")}
    assert left == written, "rpm removes exactly the files it owns"

    # the erase scriptlet ($1 = 0), with the host's paths moved under the test root
    script = query(rpm_path, "--qf", "%{POSTUN}")
    for path in ("/usr/lib/csguard", "/var/lib/csguard"):
        script = script.replace(path, installed + path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "systemctl").chmod(0o755)
    env = dict(os.environ, PATH=str(bin_dir) + os.pathsep + os.environ["PATH"])
    run(["/bin/sh", "-c", script, "postun", "0"], env=env)
    assert not os.path.exists(library)
    assert {p for p in files_under(installed) if not p.startswith("var/lib/rpm")} == set()
