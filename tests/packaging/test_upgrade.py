"""Install, upgrade and erase with rpm itself into a temporary root (scriptlets left
out: test_scriptlets runs those): the operator's config survives an upgrade and an
erase, and an erase leaves nothing else behind."""
import os
import sys

import pytest

from .conftest import BUILD_SCRIPT, files_under, install, rpm, run


@pytest.fixture(scope="module")
def next_release(rpm_path, tmp_path_factory):
    """The same tree built as the next release, as an upgrade would bring it."""
    outdir = str(tmp_path_factory.mktemp("rpm-next"))
    env = dict(os.environ, PYTHON=sys.executable, CSGUARD_RELEASE="2")
    return run([BUILD_SCRIPT, outdir], env=env).strip().splitlines()[-1]


def test_upgrade_keeps_a_changed_config_and_erase_saves_it(rpm_path, next_release, tmp_path):
    root = str(tmp_path)
    rpm(root, "--initdb")
    install(root, "-i", rpm_path)
    config = os.path.join(root, "etc/csguard/csguard.yaml")
    with open(config, "a") as f:
        f.write("# the operator's change\n")
    with open(config) as f:
        changed = f.read()

    install(root, "-U", next_release)
    assert rpm(root, "-q", "csguard").strip().endswith("-2.noarch")
    with open(config) as f:
        assert f.read() == changed
    assert not os.path.exists(config + ".rpmnew"), "the default did not change"

    install(root, "-e", "csguard")
    with open(config + ".rpmsave") as f:
        assert f.read() == changed
    left = {path for path in files_under(root) if not path.startswith("var/lib/rpm")}
    assert left == {"etc/csguard/csguard.yaml.rpmsave"}


def test_upgrade_replaces_an_unchanged_config_silently(rpm_path, next_release, tmp_path):
    root = str(tmp_path)
    rpm(root, "--initdb")
    install(root, "-i", rpm_path)
    install(root, "-U", next_release)
    assert sorted(os.listdir(os.path.join(root, "etc/csguard"))) == ["csguard.yaml"]
