"""A client for CloudStack's API: signed GET requests, every page of a list, TLS.

Written here, not vendored: the well-kept Python client (`cs`) needs Python >= 3.10
and `requests` (with urllib3, idna, certifi, charset-normalizer), dom0 has 3.6, and
what csguard needs is a few read-only list calls. The signature is the one
CloudStack's ApiServer.verifyRequest checks: the parameters but `signature`
sorted by name, each value encoded as java.net.URLEncoder does (space as %20),
the whole string lowercased, HMAC-SHA1 with the secret key, base64. Names are
sent in lower case so sorting them is the same in Java and here. Requests carry
signatureversion=3 and an `expires` 10 minutes ahead (CloudStack refuses expiry
further than 15 minutes when it enforces timestamps).

The secret key is only ever fed to HMAC: no error, log line or URL shown to anyone
contains it (nor the API key, nor the signature).
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import re
import ssl
import urllib.parse

EXPIRY = datetime.timedelta(minutes=10)
PAGE_SIZE = 500  # CloudStack's default.page.size, the largest page it allows by default
MAX_PAGES = 10000
_UNRESERVED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_")
_MAX_PAGE = re.compile(r"max allowed page size value: (\d+)")
MAX_BODY = 64 * 1024 * 1024


class CloudStackError(Exception):
    """The API could not be used: `refused` when CloudStack answered with an error
    that retrying will not fix (credentials, permissions), else unavailable."""

    def __init__(self, problem, refused=False, code=None):
        super().__init__(problem)
        self.refused, self.code = refused, code


def encode(value):
    """java.net.URLEncoder.encode(value, "UTF-8") with "+" as "%20"."""
    return "".join(char if char in _UNRESERVED
                   else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
                   for char in value)


def sign(params, secret_key):
    """The `signature` of a parameter dict (without signature), as verifyRequest
    computes it."""
    text = "&".join(name + "=" + encode(params[name]) for name in sorted(params)).lower()
    digest = hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode("ascii")


def shown(url):
    """The URL as it may appear in logs and status: scheme, host, port, path."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


class CloudStackApi:
    """One management server. `now()` returns an aware UTC datetime (for tests)."""

    def __init__(self, url, api_key, secret_key, timeout=30.0, ca_file=None,
                 verify_tls=True, now=None):
        parts = urllib.parse.urlsplit(url)
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = parts.path or "/client/api"
        self._keys = (api_key, secret_key)
        self.timeout = timeout
        self.url = shown(url)
        self._context = None
        if self._https:
            self._context = ssl.create_default_context(cafile=ca_file)
            if not verify_tls:
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE
        self._now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))
        self.page_size = PAGE_SIZE

    def call(self, command, **params):
        """The response object of one command (the value under <command>response)."""
        api_key, secret_key = self._keys
        params = {name.lower(): str(value) for name, value in params.items()}
        expires = (self._now() + EXPIRY).strftime("%Y-%m-%dT%H:%M:%SZ+0000")
        params.update(command=command, response="json", apikey=api_key,
                      signatureversion="3", expires=expires)
        params["signature"] = sign(params, secret_key)
        query = "&".join(name + "=" + encode(value) for name, value in params.items())
        status, body = self._get(self._path + "?" + query, command)
        return self._parse(command, status, body)

    def list_all(self, command, object_name, **params):
        """Every object of a list command, page by page (a list without `pagesize`
        stops at CloudStack's default page size)."""
        found, page = [], 1
        while page <= MAX_PAGES:
            try:
                answer = self.call(command, page=page, pagesize=self.page_size, **params)
            except CloudStackError as error:
                smaller = _MAX_PAGE.search(str(error))
                if error.code == 431 and smaller and int(smaller.group(1)) < self.page_size:
                    self.page_size = max(1, int(smaller.group(1)))
                    continue
                raise
            count = answer.get("count", 0)
            items = answer.get(object_name, [])
            if (not isinstance(count, int) or isinstance(count, bool) or count < 0
                    or not isinstance(items, list)
                    or not all(isinstance(item, dict) for item in items)):
                raise CloudStackError(f"{command} answered a list CloudStack would not send "
                                      f"(count {count!r}, {object_name} not a list of objects)")
            found.extend(items)
            if not items or len(found) >= count or len(items) < self.page_size:
                return found
            page += 1
        raise CloudStackError(f"{command} has more than {MAX_PAGES} pages")

    def _get(self, target, command):
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        extra = {"context": self._context} if self._https else {}
        connection = cls(self._host, self._port, timeout=self.timeout, **extra)
        try:
            connection.request("GET", target, headers={"Accept": "application/json"})
            reply = connection.getresponse()
            body = _read(reply)
        except ssl.SSLError as error:
            raise CloudStackError(f"TLS with {self.url} failed ({error.reason or error}); set "
                                  "cloudstack.api.ca_file to the CA that signed the management "
                                  "server's certificate") from None
        except (OSError, http.client.HTTPException) as error:
            raise CloudStackError(f"{command} on {self.url} failed: "
                                  f"{_describe(error)}") from None
        finally:
            connection.close()
        if len(body) > MAX_BODY:
            raise CloudStackError(f"{command}: the answer is larger than "
                                  f"{MAX_BODY // 1024 // 1024} MiB")
        return reply.status, body

    def _parse(self, command, status, body):
        try:
            document = json.loads(body.decode("utf-8"))
        except ValueError:
            raise CloudStackError(f"{command} on {self.url} answered HTTP {status} with "
                                  "something that is not CloudStack's JSON (a proxy or the "
                                  "wrong URL?)", code=status) from None
        if not isinstance(document, dict) or len(document) != 1:
            raise CloudStackError(f"{command} answered JSON CloudStack would not send",
                                  code=status)
        (key, inner), = document.items()
        if not isinstance(inner, dict):
            raise CloudStackError(f"{command} answered JSON CloudStack would not send",
                                  code=status)
        if "errorcode" in inner or status != 200:
            code = inner.get("errorcode", status)
            text = str(inner.get("errortext", "no error text"))[:500]
            refused = code in (401, 405, 411, 432)
            hint = ""
            if code == 401:
                hint = ("; check api_key and secret_key in cloudstack.api.credentials_file, "
                        "that the account is enabled and its role allows " + command +
                        ", and that this host's clock is right (requests expire after "
                        "10 minutes)")
            raise CloudStackError(f"CloudStack refused {command} (error {code}: {text}){hint}",
                                  refused=refused, code=code)
        if not key.endswith("response"):
            # Not always <command>response: listInternalLoadBalancerVMs answers
            # listinternallbvmsresponse (ListInternalLBVMsCmd.s_name).
            raise CloudStackError(f"{command} answered {key!r}, not a CloudStack response",
                                  code=status)
        return inner


def _read(reply):
    """The body, at most MAX_BODY + 1 bytes, in chunks (Python 3.6's read(amt) would
    allocate the whole limit for every answer)."""
    chunks, size = [], 0
    while size <= MAX_BODY:
        chunk = reply.read(1024 * 1024)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _describe(error):
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
