"""Write the host plugin file with the paths it runs with: XAPI gives a plugin an
environment of PATH alone, so xapi-hooks/csguard cannot be told them at run time.

    python3 rpm/plugin.py TEMPLATE [--python P] [--library DIR] [--config FILE]
                                   [--xapi-url URL | --xapi-socket-variable NAME]

prints the plugin. The RPM build (rpm/build.sh) writes the install paths; the tests
write their own the same way. --xapi-socket-variable reads the XAPI socket's path
from that environment variable instead (a simulator's stand-in for
/var/lib/xcp/xapi, one socket per simulated host).
"""
import argparse
import re
import sys

# The lines of xapi-hooks/csguard this rewrites: NAME = "value"
_SETTING = re.compile(r'^(LIBRARY|CONFIG|XAPI_URL) = "[^"\n]*"$', re.MULTILINE)


def render(template, python=None, library=None, config=None, xapi_url=None,
           xapi_socket_variable=None):
    """The plugin text: `template` with each given setting written in."""
    values = {"LIBRARY": library, "CONFIG": config, "XAPI_URL": xapi_url}

    def setting(match):
        name = match.group(1)
        if name == "XAPI_URL" and xapi_socket_variable:
            return (f'XAPI_URL = "unix://" + __import__("os").environ['
                    f'{xapi_socket_variable!r}]')
        value = values[name]
        return match.group(0) if value is None else f"{name} = {_quoted(value)}"

    text, found = _SETTING.subn(setting, template)
    if found != 3:
        raise ValueError("the template lacks one of LIBRARY, CONFIG, XAPI_URL")
    if python is not None:
        text = re.sub(r"^#!.*", lambda _m: "#!" + python, text, count=1)
    return text


def _quoted(value):
    if '"' in value or "\\" in value or "\n" in value:
        raise ValueError(f"{value!r}: a path with quotes, backslashes or newlines")
    return f'"{value}"'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template")
    for option in ("python", "library", "config", "xapi-url", "xapi-socket-variable"):
        parser.add_argument("--" + option)
    args = parser.parse_args(argv)
    with open(args.template) as source:
        template = source.read()
    sys.stdout.write(render(template, args.python, args.library, args.config, args.xapi_url,
                            args.xapi_socket_variable))
    return 0


if __name__ == "__main__":
    sys.exit(main())
