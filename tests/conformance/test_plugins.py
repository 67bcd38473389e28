"""host.call_plugin: the executable, its argv[1] methodCall and its stdout reply."""
import os
import sys
import textwrap
import time
import xmlrpc.client

import pytest
from xapisim.testing import UnixTransport, failure_of, unix_session

# A plugin written against the protocol itself (dom0's XenAPIPlugin.dispatch does
# the same parsing): argv[1] is fn(session, args); stdout is the methodResponse.
PLUGIN = textwrap.dedent('''\
    #!{python}
    import os, sys, xmlrpc.client
    (session, args), fn = xmlrpc.client.loads(sys.argv[1])
    if fn == "echo":
        value = {{"Status": "Success", "Value": repr((session, args))}}
    elif fn == "env":
        value = {{"Status": "Success", "Value": os.environ.get(args["name"], "")}}
    elif fn == "environment":  # as exec'd: Python 3.7+ add LC_CTYPE to os.environ
        with open("/proc/self/environ") as given:
            value = {{"Status": "Success", "Value": given.read().replace("\\0", "\\n")}}
    elif fn == "whoami":  # session.get_auth_user_name(session) on the local socket
        import http.client, socket
        class Local(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(os.environ["XAPISIM_SOCKET"])
        local = Local("localhost")
        local.request("POST", "/", xmlrpc.client.dumps((session, session), "session.get_auth_user_name"))
        (reply,), _ = xmlrpc.client.loads(local.getresponse().read())
        value = {{"Status": "Success", "Value": repr((session, reply.get("Value")))}}
    elif fn == "refuse":
        value = {{"Status": "Failure", "ErrorDescription": ["CSGUARD_REFUSED", args["why"]]}}
    elif fn == "crash":
        sys.stderr.write("boom\\n")
        sys.exit(3)
    elif fn == "number":
        value = {{"Status": "Success", "Value": 42}}
    elif fn == "garbage":
        print("this is not xml")
        sys.exit(0)
    print(xmlrpc.client.dumps((value,), "", True))
    ''')


def install_probe(plugins_dir):
    path = os.path.join(plugins_dir, "probe")
    with open(path, "w") as script:
        script.write(PLUGIN.format(python=sys.executable))
    os.chmod(path, 0o755)
    return "probe"


@pytest.fixture
def plugin(sim):
    return install_probe(sim.plugins_dir)


def test_call_plugin_passes_the_session_and_args_in_argv1_and_returns_the_string(
        sim, x, xapi_session, plugin):
    value = x.host.call_plugin(sim.host_refs[0], plugin, "echo", {"uuid": "abc"})
    assert value == repr((xapi_session.handle, {"uuid": "abc"}))


def test_call_plugin_failure_becomes_the_callers_failure(sim, x, plugin):
    details = failure_of(x.host.call_plugin, sim.host_refs[0], plugin, "refuse", {"why": "no"})
    assert details == ["CSGUARD_REFUSED", "no"]


def test_call_plugin_nonzero_exit_fails_with_xenapi_plugin_failure(sim, x, plugin):
    details = failure_of(x.host.call_plugin, sim.host_refs[0], plugin, "crash", {})
    assert details == ["XENAPI_PLUGIN_FAILURE", "non-zero exit", "", "boom\n"]


def test_call_plugin_with_unparsable_output_fails_with_xenapi_plugin_failure(sim, x, plugin):
    details = failure_of(x.host.call_plugin, sim.host_refs[0], plugin, "garbage", {})
    assert details[:2] == ["XENAPI_PLUGIN_FAILURE", "failed to parse plugin output"]


def test_call_plugin_with_a_non_string_result_fails_with_xenapi_plugin_failure(sim, x, plugin):
    details = failure_of(x.host.call_plugin, sim.host_refs[0], plugin, "number", {})
    assert details[:2] == ["XENAPI_PLUGIN_FAILURE", "unexpected XMLRPC result"]


def test_call_plugin_of_a_missing_plugin_fails_with_xenapi_missing_plugin(sim, x):
    details = failure_of(x.host.call_plugin, sim.host_refs[0], "absent", "fn", {})
    assert details == ["XENAPI_MISSING_PLUGIN", "absent"]


def test_call_plugin_runs_the_plugin_with_path_alone(sim, x, plugin, monkeypatch):
    """xapi_plugins.ml call_plugin -> Forkhelpers.execute_command_get_output: the child
    gets PATH=/sbin:/usr/sbin:/bin:/usr/bin only (forkexecd lib/forkhelpers.ml
    safe_close_and_exec; HEAD default_path_env_pair), no LANG, LC_*, HOME or
    PYTHONPATH; plus, here only, the socket that stands for /var/lib/xcp/xapi."""
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    monkeypatch.setenv("PYTHONPATH", "/nowhere")
    given = x.host.call_plugin(sim.host_refs[0], plugin, "environment", {})
    environment = dict(line.split("=", 1) for line in given.splitlines())
    assert environment == {"PATH": "/sbin:/usr/sbin:/bin:/usr/bin",
                           "XAPISIM_SOCKET": sim.socket_path(0)}


def test_call_plugin_tells_the_child_which_host_socket_it_runs_on(pool3, session_for):
    install_probe(pool3.plugins_dir)
    x = session_for(pool3.socket_path(0)).xenapi
    for index in range(3):
        assert x.host.call_plugin(pool3.host_refs[index], "probe", "env",
                                  {"name": "XAPISIM_SOCKET"}) == pool3.socket_path(index)


def test_async_call_plugin_puts_the_string_in_the_task_result(sim, x, plugin):
    task = x.Async.host.call_plugin(sim.host_refs[0], plugin, "env", {"name": "PATH"})
    deadline = time.time() + 10
    while x.task.get_status(task) == "pending" and time.time() < deadline:
        time.sleep(0.01)
    assert x.task.get_status(task) == "success"
    assert x.task.get_result(task) == "<value>/sbin:/usr/sbin:/bin:/usr/bin</value>"


def test_a_plugin_on_the_master_gets_the_callers_session(pool3):
    """xapi_host.ml call_plugin runs on the host that got the call (the master, as
    members forward every call) with the caller's session."""
    install_probe(pool3.plugins_dir)
    session = unix_session(pool3.socket_path(2), login=False)
    session.xenapi.login_with_password("alice", "", "1.0", "tests")
    try:
        answer = session.xenapi.host.call_plugin(pool3.host_refs[0], "probe", "whoami", {})
        assert eval(answer) == (session.handle, "alice")
    finally:
        session.xenapi.session.logout()


def test_a_plugin_on_a_member_gets_an_anonymous_internal_session(pool3):
    """message_forwarding.ml Host.call_plugin -> do_op_on -> call_slave_with_session:
    a fresh pool session with no user name, destroyed after the call."""
    install_probe(pool3.plugins_dir)
    session = unix_session(pool3.socket_path(0), login=False)
    session.xenapi.login_with_password("alice", "", "1.0", "tests")
    try:
        answer = session.xenapi.host.call_plugin(pool3.host_refs[1], "probe", "whoami", {})
        internal, user = eval(answer)
        assert internal != session.handle and user == ""
        raw = xmlrpc.client.ServerProxy("http://localhost/",
                                        transport=UnixTransport(pool3.socket_path(0)))
        assert raw.session.get_uuid(session.handle, internal)["ErrorDescription"] == [
            "SESSION_INVALID", internal]
    finally:
        session.xenapi.session.logout()
