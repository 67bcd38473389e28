"""The csguard XAPI host plugin:
`xe host-call-plugin host-uuid=<uuid> plugin=csguard fn=<fn> args:<key>=<value>`.

XAPI runs /etc/xapi.d/plugins/csguard with argv[1] = an XML-RPC methodCall
`fn(session_id, {key: value})` and reads one XML-RPC methodResponse from stdout: a
Success whose Value is one string, or a Failure whose ErrorDescription
([code, params...]) becomes the caller's error. dom0's XenAPIPlugin module speaks
this protocol but is Python 2 only on 8.2-era hosts, so the few lines live here.

Each fn is the command-line command of the same name (the entries of
csguard.cli.commands.COMMANDS marked for the plugin) with the same keys and checks.
It runs as the caller, with the caller's session: XAPI's role checks apply
(host.call_plugin needs pool-admin) and the exemption record names the caller's
user. The Value is the command's result as JSON; refusals are Failures
[CSGUARD_<CODE>, message, params...].
"""
import json
import sys
import xmlrpc.client

from csguard import textio
from csguard.cli.args import check_keys
from csguard.cli.commands import command
from csguard.cli.context import Context, load_config, xapi_options
from csguard.config import DEFAULT_PATH
from csguard.outcome import BAD_ARGUMENT, XAPI_UNAVAILABLE, CommandError
from csguard.records import show
from csguard.xapi import DEFAULT_URL, Xapi, XapiError, XapiUnavailable

BAD_REQUEST = "CSGUARD_BAD_REQUEST"
ANONYMOUS_CALLER = "CSGUARD_ANONYMOUS_CALLER"
# The fns that change a VM's protection: each leaves a record of who asked.
CHANGES = frozenset(("vm-unblock", "vm-block"))


def main(argv=None, config=DEFAULT_PATH, xapi_url=DEFAULT_URL):
    """`config` and `xapi_url` come from the plugin file (XAPI gives a plugin no
    environment but PATH); the default file may be absent, then defaults apply."""
    textio.utf8_stdio()
    argv = textio.utf8_argv(sys.argv) if argv is None else argv
    if len(argv) != 2:
        sys.stderr.write("This is csguard's XAPI host plugin; call it through XAPI: "
                         "xe host-call-plugin host-uuid=<uuid> plugin=csguard fn=<fn> "
                         "[args:<key>=<value> ...]\n")
        return 2
    sys.stdout.write(respond(argv[1], config, xapi_url) + "\n")
    sys.stdout.flush()
    return 0


def respond(request, config=DEFAULT_PATH, xapi_url=DEFAULT_URL):
    """The methodResponse text for one methodCall text."""
    try:
        params, fn = xmlrpc.client.loads(request)
    except Exception as e:  # noqa: BLE001 - any garbage in argv gets a Failure
        return failure([BAD_REQUEST, f"argv[1] is not an XML-RPC methodCall: {e}"])
    if len(params) != 2 or not isinstance(params[0], str) or not isinstance(params[1], dict):
        return failure([BAD_REQUEST, (f"expected {fn}(session_id, {{args}}), got "
                                      f"{len(params)} parameter(s)")])
    return call(fn, params[0], params[1], config, xapi_url)


def call(fn, session_id, args, config_path=DEFAULT_PATH, url=DEFAULT_URL):
    entry = command(fn)
    if entry is None or not entry.plugin:
        return failure(["UNKNOWN_XENAPI_PLUGIN_FUNCTION", str(fn)])
    xapi = None
    try:
        bad = [key for key, value in args.items() if not isinstance(value, str)]
        if bad:
            raise CommandError(BAD_ARGUMENT,
                               f"argument {show(str(bad[0]))} must be text")
        parsed = check_keys(entry, args)
        config = load_config({} if config_path == DEFAULT_PATH else {"--config": config_path})
        xapi = Xapi.from_session_id(url, session_id, timeout=config.call_timeout,
                                    **xapi_options(config))
        who = caller(xapi, session_id)
        if who is None and entry.name in CHANGES:
            raise CommandError(ANONYMOUS_CALLER, _anonymous(xapi, entry.name))
        ctx = Context(config, who and f"{who} via host plugin", lambda: xapi)
        result = entry.run(parsed, ctx)
        return success(json.dumps(result.data))
    except CommandError as e:
        return failure([e.code, e.message] + e.params)
    except XapiError as e:
        return failure([e.code] + e.params)
    except XapiUnavailable as e:
        return failure([XAPI_UNAVAILABLE, str(e)])
    except Exception as e:  # noqa: BLE001 - as XenAPIPlugin.dispatch reports it
        return failure(["XENAPI_PLUGIN_FAILURE", str(fn), type(e).__name__, str(e)])
    finally:
        if xapi is not None:
            xapi.close()


def caller(xapi, session_id):
    """The calling session's user name, or None when XAPI does not say: on a pool
    member the plugin gets a fresh internal pool session with no user
    (message_forwarding.ml Host.call_plugin, call_slave_with_session), and nothing
    in the API names the session the caller used on the master (task.session is
    internal)."""
    try:
        name = xapi.call("session.get_auth_user_name", session_id)
    except XapiError:
        return None
    return name or None


def _anonymous(xapi, fn):
    try:
        master = xapi.call("host.get_uuid", xapi.pool_master())
    except XapiError:
        master = "<the pool master's host uuid>"
    return (f"{fn} changes a VM's protection and records who did it, but XAPI does not "
            "name the caller of this plugin (a call through a pool member reaches the "
            "plugin with an internal session of the pool's own). Call it on the pool "
            f"master: xe host-call-plugin host-uuid={master} plugin=csguard fn={fn} "
            "args:...; nothing was changed")


def success(value):
    return xmlrpc.client.dumps(({"Status": "Success", "Value": value},), "", True)


def failure(description):
    return xmlrpc.client.dumps(({"Status": "Failure", "ErrorDescription": description},),
                               "", True)
