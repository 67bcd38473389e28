"""TLS to XAPI against the simulator's HTTPS listener (a self-signed certificate per
host, made with openssl at test time): verified by default, a CA file or pinned
SHA-256 fingerprints accepted, the password never sent to an unverified peer, and
plain http refused to another machine unless allowed."""
import os
import subprocess
import sys

import pytest
from csguard.xapi import Xapi, XapiUnavailable
from xapisim import Simulator, tls

from integration.daemon_runner import DaemonRunner, missing_blocks, write_config
from integration.test_cli import PLUGIN_DIR, REPO, run

ROOT = ("root", "xenroot")
OTHER = ("C7:5D:47:7D:DE:A4:0E:D5:37:41:64:FE:31:1D:B3:D8:"
         "47:C9:35:EE:F9:8C:C3:D2:07:88:61:E3:98:48:38:2C")

pytestmark = pytest.mark.skipif(not tls.available(), reason="no openssl command to make "
                                                            "the simulator's certificates")


@pytest.fixture(scope="module")
def https_pool():
    with Simulator(hosts=2, tls=True) as simulator:
        yield simulator


def logins(sim):
    return sim.call_counts().get("session.login_with_password", 0)


def test_the_listener_is_https_with_each_hosts_own_certificate(https_pool):
    """xapi's TLS endpoint on 443 with the self-signed certificate xapi makes at first
    boot (ocaml/gencert/selfcert.ml host: CN and DNS name the host's, IP its address)."""
    assert https_pool.host_tcp_url(0).startswith("https://")
    assert https_pool.host_fingerprint(0) != https_pool.host_fingerprint(1)
    shown = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-subject",
                            "-ext", "subjectAltName", "-in", https_pool.host_certificate(1)],
                           stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    assert https_pool.host_fingerprint(1) in shown
    assert "CN = xs-1" in shown and "DNS:xs-1" in shown and "IP Address:127.0.0.2" in shown


def test_a_self_signed_certificate_is_refused_by_default_before_the_password_is_sent(
        https_pool):
    before = logins(https_pool)
    with pytest.raises(XapiUnavailable) as error:
        Xapi(https_pool.host_tcp_url(0), credentials=ROOT, timeout=5.0).login()
    assert "certificate" in str(error.value)
    assert "xapi.ca_file" in str(error.value) and "xapi.tls_fingerprints" in str(error.value)
    assert logins(https_pool) == before


def test_a_ca_file_holding_the_hosts_certificate_is_trusted(https_pool):
    with Xapi(https_pool.host_tcp_url(0), credentials=ROOT, timeout=5.0,
              ca_file=https_pool.host_certificate(0)) as client:
        assert client.this_host() == https_pool.host_refs[0]


def test_a_pinned_fingerprint_is_trusted(https_pool):
    with Xapi(https_pool.host_tcp_url(0), credentials=ROOT, timeout=5.0,
              fingerprints=(https_pool.host_fingerprint(0),)) as client:
        assert client.this_host() == https_pool.host_refs[0]


def test_another_fingerprint_is_refused_before_the_password_is_sent(https_pool):
    before = logins(https_pool)
    with pytest.raises(XapiUnavailable) as error:
        Xapi(https_pool.host_tcp_url(0), credentials=ROOT, timeout=5.0,
             fingerprints=(OTHER,)).login()
    assert https_pool.host_fingerprint(0) in str(error.value)
    assert "xapi.tls_fingerprints" in str(error.value)
    assert logins(https_pool) == before


def test_the_master_a_member_names_is_verified_too(https_pool):
    with pytest.raises(XapiUnavailable) as error:
        Xapi(https_pool.host_tcp_url(1), credentials=ROOT, timeout=5.0,
             fingerprints=(https_pool.host_fingerprint(1),)).login()
    assert https_pool.host_fingerprint(0) in str(error.value)


def test_with_every_hosts_fingerprint_a_member_url_leads_to_the_master(https_pool):
    prints = (https_pool.host_fingerprint(0), https_pool.host_fingerprint(1))
    with Xapi(https_pool.host_tcp_url(1), credentials=ROOT, timeout=5.0,
              fingerprints=prints) as client:
        assert client.this_host() == https_pool.host_refs[0]


def test_plain_http_to_another_machine_is_refused_unless_allowed():
    with pytest.raises(ValueError) as error:
        Xapi("http://192.0.2.1/", credentials=ROOT)
    assert "allow_plain_http" in str(error.value)
    Xapi("http://192.0.2.1/", credentials=ROOT, allow_plain_http=True)
    Xapi("http://127.0.0.1:1/", credentials=ROOT)


def test_the_cli_refuses_a_plain_http_url_to_another_machine(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([PLUGIN_DIR, os.path.join(REPO, "tests")]),
               CSGUARD_CONFIG=str(tmp_path / "csguard.yaml"))
    env.pop("CSGUARD_XAPI_URL", None)
    (tmp_path / "csguard.yaml").write_text("log_level: info\n")
    result = run([sys.executable, "-m", "csguard", "--xapi-url", "http://192.0.2.1/",
                  "vm-list"], env)
    assert result.returncode == 64, result.stderr
    assert "in clear" in result.stderr and "allow_plain_http" in result.stderr


def test_a_daemon_with_pinned_fingerprints_protects_over_https(https_pool, tmp_path):
    credentials = write_config(str(tmp_path), "root\nxenroot\n", name="credentials")
    os.chmod(credentials, 0o600)
    prints = ", ".join(f"'{https_pool.host_fingerprint(i)}'" for i in range(2))
    url = https_pool.host_tcp_url(1)
    config = write_config(str(tmp_path), f"xapi:\n  url: {url}\n"
                                         f"  credentials_file: {credentials}\n"
                                         f"  tls_fingerprints: [{prints}]\n")
    _, uuid = https_pool.create_vm("alien seen over https")
    with DaemonRunner(url, str(tmp_path / "state"), config=config) as daemon:
        daemon.wait_ready()
        assert not missing_blocks(https_pool, [uuid])
