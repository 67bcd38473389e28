"""The daemon's XAPI client (csguard.xapi) against the simulator: any socket path,
two kinds of errors, a lost session noticed, every call bounded, slim records."""
import shutil
import tempfile

import pytest
from csguard import records
from csguard.plan import ADD_BLOCK, Write
from csguard.xapi import Xapi, XapiError, XapiUnavailable
from xapisim import Simulator


@pytest.fixture
def sim():
    # An underscore in the socket's directory: XenAPI's own transport would turn it
    # into a slash.
    workdir = tempfile.mkdtemp(prefix="xs_u_", dir="/tmp")
    try:
        with Simulator(hosts=2, workdir=workdir) as simulator:
            yield simulator
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def xapi(sim):
    with Xapi(sim.unix_url(0), timeout=2.0) as client:
        yield client


def test_socket_path_with_underscores_and_this_host(sim):
    assert "_" in sim.socket_path(1)
    with Xapi(sim.unix_url(1), timeout=2.0) as client:
        assert client.this_host() == sim.host_refs[1]
        assert client.pool_master() == sim.host_refs[0]


def test_http_login_checks_credentials(sim):
    with Xapi(sim.tcp_url, credentials=("root", "xenroot"), timeout=2.0) as client:
        assert client.pool_master() == sim.host_refs[0]
    with pytest.raises(XapiError) as error:
        Xapi(sim.tcp_url, credentials=("root", "wrong"), timeout=2.0).login()
    assert error.value.code == "SESSION_AUTHENTICATION_FAILED"
    assert "wrong" not in str(error.value)


def test_refused_call_is_xapi_error_with_code_and_params(xapi):
    with pytest.raises(XapiError) as error:
        xapi.call("VM.get_record", "OpaqueRef:no-such-vm")
    assert error.value.code == "HANDLE_INVALID"
    assert error.value.params == ["VM", "OpaqueRef:no-such-vm"]
    assert str(error.value) == "HANDLE_INVALID: VM, OpaqueRef:no-such-vm"


def test_nothing_listening_is_unavailable(tmp_path):
    with pytest.raises(XapiUnavailable) as error:
        Xapi("unix://" + str(tmp_path / "absent"), timeout=1.0).login()
    assert "absent" in str(error.value)


def test_killed_session_is_reported_not_hidden(sim, xapi):
    sim.kill_sessions()
    with pytest.raises(XapiUnavailable) as error:
        xapi.pool_master()
    assert "SESSION_INVALID" in str(error.value)


def test_stalled_call_times_out(sim, xapi):
    sim.stall(4.0)
    with pytest.raises(XapiUnavailable) as error:
        xapi.pool_master()
    assert "timed out" in str(error.value)


def test_records_keep_only_what_classify_and_plan_read(sim):
    _, uuid = sim.create_vm("web", other_config={
        "csguard:verdict": "x", "site:override": "protect", "mac_seed": "1234",
        "folder": "/prod"})
    with Xapi(sim.unix_url(0), timeout=2.0, other_config_keys=["site:override"]) as client:
        listed = next(r for r in client.vm_records().values() if r["uuid"] == uuid)
        events, _ = client.event_from(["vm"], "", 0.0)
    streamed = next(e["snapshot"] for e in events if e["snapshot"]["uuid"] == uuid)
    for record in (listed, streamed):
        # current_operations only when an operation runs (here none).
        assert set(record) == {"uuid", "name_label", "is_control_domain", "is_a_template",
                               "is_a_snapshot", "other_config", "tags", "blocked_operations",
                               "power_state", "affinity"}
        assert record["other_config"] == {"csguard:verdict": "x", "site:override": "protect"}


def test_event_from_waits_then_returns_a_token(sim, xapi):
    _, token = xapi.event_from(["vm"], "", 0.0)
    events, next_token = xapi.event_from(["vm"], token, 0.2)
    assert events == [] and next_token
    _, uuid = sim.create_vm("new")
    events, _ = xapi.event_from(["vm"], next_token, 5.0)
    assert [e["snapshot"]["uuid"] for e in events if e["operation"] == "add"] == [uuid]


def test_apply_skips_an_existing_key_and_returns_only_the_writes_it_made(sim, xapi):
    ref, uuid = sim.create_vm("web")
    reason = records.blocked_reason(uuid)
    writes = [Write(ADD_BLOCK, "destroy", reason), Write(ADD_BLOCK, "shutdown", reason)]
    assert xapi.apply(ref, writes[:1]) == writes[:1]
    assert xapi.apply(ref, writes) == writes[1:]
    assert sim.vm_record(uuid)["blocked_operations"] == {"destroy": reason, "shutdown": reason}


def test_logout_ends_the_session(sim, xapi):
    xapi.logout()
    assert not xapi.logged_in
    with pytest.raises(XapiUnavailable):
        xapi.pool_master()


def test_bad_url_is_refused_with_an_example_and_no_password():
    with pytest.raises(ValueError) as error:
        Xapi("ftp://root:secret@host/")
    assert "ftp://***@host/" in str(error.value) and "unix:///" in str(error.value)
    assert "secret" not in str(error.value)
