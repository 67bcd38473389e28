"""The csguard host plugin written into a plugins directory the way rpm/build.sh
writes it (rpm/plugin.py), with this test run's paths: XAPI runs a plugin with PATH
alone in its environment, so the file itself must carry them."""
import importlib.util
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(REPO, "xapi-hooks", "csguard")
LIBRARY = os.path.join(REPO, "dom0-plugin")
BARE_ENV = {"PATH": "/sbin:/usr/sbin:/bin:/usr/bin"}


def _generator():
    spec = importlib.util.spec_from_file_location(
        "csguard_rpm_plugin", os.path.join(REPO, "rpm", "plugin.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = _generator().render


def install(plugins_dir, config, template=TEMPLATE, python=sys.executable, library=LIBRARY):
    """Write `plugins_dir`/csguard from `template`: this Python, csguard's library,
    the config file, and the simulated host's own socket (XAPISIM_SOCKET)."""
    with open(template) as source:
        text = render(source.read(), python=python, library=library, config=config,
                      xapi_socket_variable="XAPISIM_SOCKET")
    path = os.path.join(plugins_dir, "csguard")
    with open(path, "w") as plugin:
        plugin.write(text)
    os.chmod(path, 0o755)
    return path
