"""Build the RPM once per test session and unpack its payload into a temporary root.

Building needs rpmbuild (Debian: `apt-get install rpm`; CI installs it) and pip with
access to the package index (rpm/vendor.py downloads the pinned dependencies).
"""
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_SCRIPT = os.path.join(REPO, "rpm", "build.sh")


def run(argv, **kwargs):
    """Run a command; its stdout as text. A failure shows the command and its output."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True, **kwargs)
    out, err = process.communicate()
    if process.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {process.returncode}\n"
                             f"--- stdout\n{out}\n--- stderr\n{err}")
    return out


def query(rpm_path, *options):
    return run(["rpm", "-qp", "--nosignature"] + list(options) + [rpm_path])


def rpm(root, *args):
    """rpm on a temporary root, with its database inside it at dom0's place."""
    return run(["rpm", "--root", root, "--dbpath", "/var/lib/rpm"] + list(args))


def install(root, *args):
    """rpm without scriptlets (they would run chrooted into the bare root)."""
    return rpm(root, "--nosignature", "--nodeps", "--noscripts", *args)


def files_under(root):
    """Every file (not directory) under root, relative to it."""
    found = set()
    for directory, _, files in os.walk(root):
        for name in files:
            found.add(os.path.relpath(os.path.join(directory, name), root))
    return found


@pytest.fixture(scope="session")
def rpm_path(tmp_path_factory):
    if shutil.which("rpmbuild") is None:
        pytest.skip("rpmbuild is not installed (apt-get install rpm rpm2cpio cpio)")
    outdir = str(tmp_path_factory.mktemp("rpm"))
    env = dict(os.environ, PYTHON=sys.executable)
    return run([BUILD_SCRIPT, outdir], env=env).strip().splitlines()[-1]


@pytest.fixture(scope="session")
def payload_root(rpm_path, tmp_path_factory):
    """The RPM's files as they land on a host, under a temporary directory."""
    root = str(tmp_path_factory.mktemp("root"))
    rpm2cpio = subprocess.Popen(["rpm2cpio", rpm_path], stdout=subprocess.PIPE)
    cpio = subprocess.Popen(["cpio", "-idm", "--quiet", "--no-absolute-filenames"],
                            stdin=rpm2cpio.stdout, cwd=root)
    rpm2cpio.stdout.close()
    assert cpio.wait() == 0 and rpm2cpio.wait() == 0, f"unpacking {rpm_path} failed"
    return root


def python36_candidates():
    yield os.environ.get("CSGUARD_PYTHON36")
    yield sys.executable
    yield shutil.which("python3.6")


@pytest.fixture(scope="session")
def python36():
    """A Python 3.6 interpreter (dom0's), or skip: CSGUARD_PYTHON36, the interpreter
    running the tests, or python3.6 on PATH."""
    for candidate in python36_candidates():
        if not candidate or not os.path.exists(candidate):
            continue
        try:
            version = subprocess.check_output(
                [candidate, "-I", "-S", "-c", "import sys; print(sys.version_info[:2])"],
                stderr=subprocess.DEVNULL, universal_newlines=True).strip()
        except (OSError, subprocess.CalledProcessError):
            continue
        if version == "(3, 6)":
            return candidate
    pytest.skip("no Python 3.6 found (set CSGUARD_PYTHON36 or put python3.6 on PATH)")
