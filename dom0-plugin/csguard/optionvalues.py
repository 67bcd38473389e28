"""Validators of option values that are not csguard's own vocabulary: text, lists,
absolute paths, seconds, URLs and TLS fingerprints. Each takes a plain value from
the YAML file or the command line and returns the field's value, or raises
Invalid saying what is wrong (options.py puts them in the option table)."""
import ipaddress
import math
import re
import urllib.parse

from csguard import records


class Invalid(Exception):
    """A bad value: what is wrong, and which list item (or field, for cross-checks)."""

    def __init__(self, problem, item=None, field=None):
        super().__init__(problem)
        self.problem, self.item, self.field = problem, item, field


def text_value(value, what="a text value"):
    if not isinstance(value, str):
        raise Invalid(f"must be {what}, not {yaml_type(value)}")
    return value


def list_of(value, what):
    if not isinstance(value, list):
        raise Invalid(f"must be a list of {what}, e.g. [a, b], not {yaml_type(value)}")
    return value


def yaml_type(value):
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()} (quote it if you mean text)"
    names = {int: "a number", float: "a number", list: "a list", dict: "a mapping",
             str: "text"}
    return names.get(type(value), f"a {type(value).__name__}")


def xapi_url(value):
    url = text_value(value, "a URL")
    if url.startswith("unix://"):
        if not url[len("unix://"):].startswith("/") or "\0" in url:
            raise Invalid(f"{records.show(url)} must name an absolute socket path, "
                           "e.g. unix:///var/lib/xcp/xapi")
        return url
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise Invalid(f"{records.show(url)} has an invalid port")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"{records.show(url)} must be unix:///path/to/socket or "
                       "http(s)://host[:port]/")
    if parts.username is not None or parts.password is not None:
        raise Invalid("must not contain a user or password: put them in "
                       "xapi.credentials_file (chmod 600)")
    return url


PLAIN_HTTP_REFUSED = (
    "is plain http to another machine, which sends the XAPI password in clear: use "
    "https:// (with xapi.ca_file or xapi.tls_fingerprints for XAPI's self-signed "
    "certificate), or set xapi.allow_plain_http: true")


def is_loopback(url):
    """Whether an http(s) URL names this machine (localhost, 127.0.0.0/8, ::1)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_HEX = re.compile(r"[0-9A-Fa-f]+")


def fingerprints(value):
    """SHA-256 fingerprints as xe certificate-list (fingerprint_sha256) and openssl
    x509 -fingerprint -sha256 show them, kept in XAPI's form (AB:CD:...)."""
    if value is None:
        return ()
    single = isinstance(value, str)
    items = [value] if single else list_of(value, "SHA-256 certificate fingerprints")
    prints = []
    for index, item in enumerate(items):
        where = None if single else index
        if not isinstance(item, str):
            raise Invalid(f"fingerprints are text, not {yaml_type(item)}", item=where)
        digits = item.rpartition("=")[2].strip().replace(":", "")
        if _HEX.fullmatch(digits) and len(digits) == 40:
            raise Invalid(f"{records.show(item)} is a SHA-1 fingerprint; give the SHA-256 "
                           "one (xe certificate-list: fingerprint_sha256)", item=where)
        if not _HEX.fullmatch(digits) or len(digits) != 64:
            raise Invalid(f"{records.show(item)} is not a SHA-256 fingerprint (32 hex "
                           "octets, as xe certificate-list shows fingerprint_sha256)",
                           item=where)
        digits = digits.upper()
        fingerprint = ":".join(digits[i:i + 2] for i in range(0, 64, 2))
        if fingerprint not in prints:
            prints.append(fingerprint)
    return tuple(prints)


def absolute_path(value, what):
    path = text_value(value, what)
    if not path.startswith("/") or "\0" in path:
        raise Invalid(f"{records.show(path)} must be an absolute path")
    return path


def positive_seconds(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(f"must be a number of seconds, not {yaml_type(value)}")
    if not math.isfinite(value) or value <= 0:
        raise Invalid(f"must be a positive number of seconds, not {value}")
    return float(value)


def seconds_between(low, high):
    def validate(value):
        seconds = positive_seconds(value)
        if not low <= seconds <= high:
            raise Invalid(f"must be between {low} and {high} seconds, not {value:g}")
        return seconds
    return validate


def api_url(value):
    if value is None:
        return None
    url = text_value(value, "a URL (CloudStack's API endpoint, e.g. "
                "https://cloudstack.example.com/client/api)")
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise Invalid(f"{records.show(url)} must be http(s)://host[:port]/client/api")
    if parts.username is not None or parts.password is not None or parts.query:
        raise Invalid("must not contain a user, password or query: the API keys go in "
                       "cloudstack.api.credentials_file")
    return url


def optional_path(value):
    return None if value is None else absolute_path(value, "a file path")
