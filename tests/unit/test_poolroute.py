"""Which host a remote client tries: the master a member names, then the pool's others."""
from csguard.poolroute import Route, with_host


def test_with_host_keeps_scheme_port_and_path():
    assert with_host("https://10.0.0.1:8443/", "10.0.0.2") == "https://10.0.0.2:8443/"
    assert with_host("http://xs1/", "xs2.example") == "http://xs2.example/"


def test_with_host_brackets_an_ipv6_address():
    assert with_host("https://10.0.0.1/", "fd00::2") == "https://[fd00::2]/"
    assert with_host("https://[fd00::1]:443/", "10.0.0.3") == "https://10.0.0.3:443/"


def test_a_new_route_tries_only_the_configured_url():
    assert Route("https://xs1/").candidates() == ["https://xs1/"]


def test_after_a_session_the_master_first_then_configured_then_every_other_host():
    route = Route("https://xs1/")
    route.connected("https://xs2/", ["xs2", "xs1", "xs3", ""])
    assert route.candidates() == ["https://xs2/", "https://xs1/", "https://xs3/"]


def test_a_unix_url_is_not_remote_and_has_no_other_hosts():
    route = Route("unix:///var/lib/xcp/xapi")
    assert not route.remote
    assert route.candidates() == ["unix:///var/lib/xcp/xapi"]
