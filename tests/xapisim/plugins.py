"""host.call_plugin: run an executable from the plugins directory as XAPI does.

``xapi_plugins.ml``: only a name listed in the directory can run; argv[1] is the
XML-RPC methodCall ``fn(session_ref, {args})``; stdout must hold a methodResponse
whose Success value is one string. A Failure becomes the caller's error as is;
a non-zero exit, a signal, a fault or unparsable output become
XENAPI_PLUGIN_FAILURE. The child's environment is PATH alone, as forkexecd gives
it (``lib/forkhelpers.ml``), plus XAPISIM_SOCKET: the socket of the host it runs
on, which stands for /var/lib/xcp/xapi.
"""
import os
import signal
import subprocess
import xmlrpc.client

from .wire import ApiError

PLUGIN_PATH = "/sbin:/usr/sbin:/bin:/usr/bin"


def call_plugin(plugins_dir, session_ref, plugin, fn, args, extra_env):
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in args.items()):
        raise ApiError("FIELD_TYPE_ERROR", "args")
    try:
        names = os.listdir(plugins_dir) if plugins_dir else []
    except OSError:
        names = []
    if plugin not in names:
        raise ApiError("XENAPI_MISSING_PLUGIN", plugin)
    request = xmlrpc.client.dumps((session_ref, args), fn)
    try:
        child = subprocess.Popen([os.path.join(plugins_dir, plugin), request],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, universal_newlines=True,
                                 env=dict(extra_env, PATH=PLUGIN_PATH))
    except OSError as error:
        raise ApiError("XENAPI_PLUGIN_FAILURE", "non-zero exit", "", str(error))
    output, log = child.communicate()
    if child.returncode < 0:
        raise ApiError("XENAPI_PLUGIN_FAILURE",
                       f"signal: {signal.Signals(-child.returncode).name}", output, log)
    if child.returncode > 0:
        raise ApiError("XENAPI_PLUGIN_FAILURE", "non-zero exit", output, log)
    return _result(output)


def _result(output):
    try:
        params, _ = xmlrpc.client.loads(output)
    except xmlrpc.client.Fault as fault:
        raise ApiError("XENAPI_PLUGIN_FAILURE", "fault", str(fault.faultCode), fault.faultString)
    except Exception as error:  # noqa: BLE001 - expat and xmlrpc raise several unrelated types
        raise ApiError("XENAPI_PLUGIN_FAILURE", "failed to parse plugin output", output,
                       str(error))
    reply = params[0] if len(params) == 1 else None
    if isinstance(reply, dict) and reply.get("Status") == "Success" \
            and isinstance(reply.get("Value"), str):
        return reply["Value"]
    if isinstance(reply, dict) and reply.get("Status") == "Failure":
        description = reply.get("ErrorDescription")
        if isinstance(description, list) and description:
            raise ApiError(*[str(d) for d in description])
    raise ApiError("XENAPI_PLUGIN_FAILURE", "unexpected XMLRPC result", output)
