"""config: TLS to XAPI. Verified by default; a CA file or pinned SHA-256 fingerprints
for XAPI's self-signed certificates; plain http only to this machine, or when the
file says so."""
import pytest
from csguard.config import Config, ConfigError, parse

FP = ("C7:5D:47:7D:DE:A4:0E:D5:37:41:64:FE:31:1D:B3:D8:"
      "47:C9:35:EE:F9:8C:C3:D2:07:88:61:E3:98:48:38:2C")


def test_defaults_verify_with_the_system_trust_store_and_refuse_plain_http():
    cfg = Config()
    assert cfg.xapi_ca_file is None
    assert cfg.xapi_tls_fingerprints == ()
    assert cfg.xapi_allow_plain_http is False


@pytest.mark.parametrize("url", ["http://10.0.0.1/", "http://xs1.example:80/",
                                 "http://[fd00::1]/"])
def test_plain_http_to_another_machine_is_refused(url):
    with pytest.raises(ConfigError) as error:
        parse(f"xapi:\n  url: '{url}'\n")
    text = str(error.value)
    assert "line 2" in text and "xapi.url" in text
    assert "in clear" in text and "allow_plain_http" in text


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/", "http://127.0.0.3/",
                                 "http://localhost/", "http://[::1]:80/"])
def test_plain_http_to_this_machine_is_allowed(url):
    assert parse(f"xapi:\n  url: '{url}'\n").xapi_url == url


def test_plain_http_elsewhere_when_the_file_says_so():
    cfg = parse("xapi:\n  url: http://10.0.0.1/\n  allow_plain_http: true\n")
    assert cfg.xapi_allow_plain_http is True
    assert any("allow_plain_http" in w and "in clear" in w for w in cfg.warnings)


def test_a_plain_http_override_is_refused_like_the_file():
    with pytest.raises(ConfigError) as error:
        Config().with_overrides(xapi_url="http://10.0.0.1/")
    assert "allow_plain_http" in str(error.value)


@pytest.mark.parametrize("written", [FP, FP.lower(), FP.replace(":", ""),
                                     f"sha256 Fingerprint={FP}"])
def test_a_fingerprint_is_read_as_xe_and_openssl_show_it(written):
    cfg = parse(f"xapi:\n  url: https://10.0.0.1/\n  tls_fingerprints: ['{written}']\n")
    assert cfg.xapi_tls_fingerprints == (FP,)


def test_one_fingerprint_may_be_given_as_text():
    cfg = parse(f"xapi:\n  url: https://10.0.0.1/\n  tls_fingerprints: '{FP}'\n")
    assert cfg.xapi_tls_fingerprints == (FP,)


@pytest.mark.parametrize("written, problem", [
    ("AB:CD", "is not a SHA-256 fingerprint"),
    (FP.replace("C7", "G7"), "is not a SHA-256 fingerprint"),
    ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "SHA-1"),
])
def test_a_bad_fingerprint_is_refused(written, problem):
    with pytest.raises(ConfigError) as error:
        parse(f"xapi:\n  url: https://10.0.0.1/\n  tls_fingerprints: ['{written}']\n")
    assert problem in str(error.value) and "xapi.tls_fingerprints" in str(error.value)


def test_a_ca_file_is_an_absolute_path():
    cfg = parse("xapi:\n  url: https://xs1/\n  ca_file: /etc/csguard/pool-ca.pem\n")
    assert cfg.xapi_ca_file == "/etc/csguard/pool-ca.pem"
    with pytest.raises(ConfigError):
        parse("xapi:\n  url: https://xs1/\n  ca_file: pool-ca.pem\n")


def test_ca_file_and_fingerprints_together_are_refused():
    with pytest.raises(ConfigError) as error:
        parse(f"xapi:\n  url: https://xs1/\n  ca_file: /etc/ca.pem\n"
              f"  tls_fingerprints: ['{FP}']\n")
    assert "one or the other" in str(error.value)


@pytest.mark.parametrize("option", ["ca_file: /etc/ca.pem", f"tls_fingerprints: ['{FP}']"])
def test_tls_options_with_a_plain_http_url_are_refused(option):
    with pytest.raises(ConfigError) as error:
        parse(f"xapi:\n  url: http://127.0.0.1/\n  {option}\n")
    assert "https" in str(error.value)
