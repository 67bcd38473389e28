"""The unpacked payload runs on dom0's Python 3.6 by itself: run with -I -S, so
nothing from the interpreter's site-packages (or PYTHONPATH) can stand in for a
package the RPM forgot."""
import json
import os
import subprocess

LIBRARY = "usr/lib/csguard"

IMPORT_ALL = """
import json, sys
sys.path.insert(0, sys.argv[1])
import cachetools, csguard, csguard.cli, csguard.daemon, csguard.hostplugin
import sdnotify, XenAPI, yaml
print(json.dumps({
    "files": {m.__name__: m.__file__ for m in (cachetools, csguard, sdnotify, XenAPI, yaml)},
    "libyaml": yaml.__with_libyaml__,
    "loaded": yaml.safe_load("ops: [clean_shutdown, destroy]"),
    "version": list(sys.version_info[:2]),
}))
"""

DEFAULT_CONFIG = """
import sys
sys.path.insert(0, sys.argv[1])
from csguard import config
loaded = config.load(sys.argv[2])
print(loaded._replace(source=None) == config.Config(), list(loaded.warnings))
"""


def python36_output(python36, *args):
    return subprocess.check_output([python36, "-I", "-S"] + list(args),
                                   universal_newlines=True)


def test_every_package_imports_from_the_private_library(payload_root, python36):
    library = os.path.join(payload_root, LIBRARY)
    result = json.loads(python36_output(python36, "-c", IMPORT_ALL, library))
    assert result["version"] == [3, 6]
    for name, path in result["files"].items():
        assert path.startswith(library + os.sep), name
    assert result["libyaml"] is False, "PyYAML must be the pure-Python build"
    assert result["loaded"] == {"ops": ["clean_shutdown", "destroy"]}


def test_shipped_config_is_valid_and_states_the_defaults(payload_root, python36):
    out = python36_output(python36, "-c", DEFAULT_CONFIG,
                          os.path.join(payload_root, LIBRARY),
                          os.path.join(payload_root, "etc/csguard/csguard.yaml"))
    assert out.split() == ["True", "[]"]


def test_launcher_finds_its_library_next_to_itself(payload_root, python36):
    process = subprocess.Popen(
        [python36, "-I", "-S", os.path.join(payload_root, "usr/bin/csguard"), "--help"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    out = process.communicate()[0]
    assert process.returncode == 0, out
    assert "vm-unblock" in out


def test_launcher_runs_dom0s_python3_isolated(payload_root):
    with open(os.path.join(payload_root, "usr/bin/csguard")) as f:
        assert f.readline().strip() == "#!/usr/bin/python3 -I"
