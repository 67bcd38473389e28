"""Sessions: login over the socket and TCP, logout, this host, originator, cap."""
import pytest
import XenAPI
from xapisim.testing import failure_of, unix_session


def test_login_over_the_unix_socket_ignores_the_credentials(sim):
    session = unix_session(sim.socket_path(0), login=False)
    session.xenapi.login_with_password("nobody", "wrong", "1.0", "tests")
    try:
        assert session.xenapi.session.get_auth_user_name(session.handle) == "nobody"
        assert session.xenapi.session.get_is_local_superuser(session.handle) is True
    finally:
        session.xenapi.session.logout()


def test_login_over_tcp_accepts_root_and_the_password(sim):
    session = XenAPI.Session(sim.tcp_url)
    session.xenapi.login_with_password("root", "xenroot", "1.0", "tests")
    try:
        assert session.handle.startswith("OpaqueRef:")
    finally:
        session.xenapi.session.logout()


def test_login_over_tcp_with_a_wrong_password_fails_with_session_authentication_failed(sim):
    session = XenAPI.Session(sim.tcp_url)
    details = failure_of(session.xenapi.login_with_password, "root", "nope", "1.0", "tests")
    assert details == ["SESSION_AUTHENTICATION_FAILED", "root", "Authentication failure"]


def test_login_over_tcp_with_another_user_fails_with_session_authentication_failed(sim):
    session = XenAPI.Session(sim.tcp_url)
    details = failure_of(session.xenapi.login_with_password, "admin", "xenroot", "1.0", "t")
    assert details[:2] == ["SESSION_AUTHENTICATION_FAILED", "admin"]


def test_login_over_tcp_on_a_pool_member_fails_with_host_is_slave_and_the_master_address(pool3):
    """xapi_session.ml login_with_password: a login that is not pre-authenticated
    raises HOST_IS_SLAVE [Pool_role.get_master_address ()] on a member
    (datamodel_errors.ml: its one parameter is the "Master IP address")."""
    session = XenAPI.Session(pool3.host_tcp_url(1))
    details = failure_of(session.xenapi.login_with_password, "root", "xenroot", "1.0", "t")
    assert details == ["HOST_IS_SLAVE", pool3.host_address(0)]


def test_after_a_master_change_the_old_master_names_the_new_one(pool3):
    """xapi_session.ml login_with_password, as above: after designate_new_master the
    former master is a member like the others."""
    pool3.set_master(2)
    for i in (0, 1):
        session = XenAPI.Session(pool3.host_tcp_url(i))
        details = failure_of(session.xenapi.login_with_password, "root", "xenroot", "1.0",
                             "t")
        assert details == ["HOST_IS_SLAVE", pool3.host_address(2)]


def test_an_unreachable_host_refuses_connections_and_the_others_answer(pool3):
    """Not XAPI but the network: a host powered off answers nothing."""
    pool3.set_host_reachable(0, False)
    with pytest.raises(OSError):
        XenAPI.Session(pool3.host_tcp_url(0)).xenapi.login_with_password(
            "root", "xenroot", "1.0", "t")
    session = XenAPI.Session(pool3.host_tcp_url(1))
    details = failure_of(session.xenapi.login_with_password, "root", "xenroot", "1.0", "t")
    assert details == ["HOST_IS_SLAVE", pool3.host_address(0)]
    pool3.set_host_reachable(0, True)
    session = XenAPI.Session(pool3.host_tcp_url(0))
    session.xenapi.login_with_password("root", "xenroot", "1.0", "t")
    session.xenapi.session.logout()


def test_logout_makes_the_session_invalid(raw):
    ref = raw.session.login_with_password("root", "", "1.0", "tests")["Value"]
    assert raw.session.logout(ref)["Status"] == "Success"
    assert raw.VM.get_all(ref)["ErrorDescription"] == ["SESSION_INVALID", ref]


def test_unknown_session_fails_with_session_invalid_and_the_session(raw):
    reply = raw.VM.get_all("OpaqueRef:not-a-session")
    assert reply["ErrorDescription"] == ["SESSION_INVALID", "OpaqueRef:not-a-session"]


def test_xenapi_client_logs_in_again_after_session_invalid(sim, xapi_session, vm):
    before = xapi_session.handle
    sim.kill_sessions()
    assert xapi_session.xenapi.VM.get_power_state(vm) == "Running"
    assert xapi_session.handle != before


def test_get_this_host_is_the_host_whose_socket_was_used(pool3, session_for):
    for index in range(3):
        session = session_for(pool3.socket_path(index))
        assert session.xenapi.session.get_this_host(session.handle) == pool3.host_refs[index]


def test_session_keeps_its_originator(xapi_session):
    assert xapi_session.xenapi.session.get_originator(xapi_session.handle) == "tests"


def test_sessions_are_capped_at_500_per_originator_oldest_destroyed_first(sim, raw):
    refs = [raw.session.login_with_password("root", "", "1.0", "leaky")["Value"]
            for _ in range(501)]
    assert raw.VM.get_all(refs[0])["ErrorDescription"] == ["SESSION_INVALID", refs[0]]
    assert raw.VM.get_all(refs[1])["Status"] == "Success"
    assert raw.VM.get_all(refs[500])["Status"] == "Success"


def test_session_cap_does_not_touch_other_originators(raw):
    other = raw.session.login_with_password("root", "", "1.0", "careful")["Value"]
    for _ in range(501):
        raw.session.login_with_password("root", "", "1.0", "leaky")
    assert raw.VM.get_all(other)["Status"] == "Success"
