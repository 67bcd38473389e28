"""The simulated management server: /client/api over HTTP on 127.0.0.1.

What it mirrors, file by file (apache/cloudstack):
- ApiServlet.processRequestInContext: JSON only when `response=json` (else XML);
  a request that fails verifyRequest gets HTTP 401 and errorcode 401 "unable to
  verify user credentials and/or request signature"; a ServerApiException gets its
  code as the HTTP status and the body of getSerializedApiError;
- ApiServer.verifyRequest (signature.py) and checkCommandAvailable (the role,
  plugins/acl/dynamic-role-based/.../DynamicRoleBasedAPIAccessChecker.java);
- ApiServer.getSerializedApiError + ExceptionResponse: {"<cmd>response":
  {"uuidList":[],"errorcode":N,"cserrorcode":M,"errortext":"..."}}, "errorresponse"
  for an unknown command;
- BaseListCmd: page/pagesize rules, default page size = default.page.size (500);
- ApiResponseSerializer.toJSONSerializedString: {"<cmd>response":{"count":N,
  "<object>":[...]}}, and {"<cmd>response":{}} when nothing matched;
- AccountManagerImpl.buildACLSearchParameters: without listall=true an admin sees
  its own account's resources; project resources only with projectid=-1.
"""
import datetime
import json
import socketserver
import ssl
import threading
import time
import urllib.parse
import uuid as uuidlib
from http.server import BaseHTTPRequestHandler, HTTPServer

from cloudstacksim import signature

BAD_SIGNATURE = "unable to verify user credentials and/or request signature"
MAX_PAGE_SIZE = 500  # default.page.size
CS_SERVER_API = 9999  # CSExceptionErrorCode: ServerApiException
CS_INVALID_PARAMETER = 4350  # CSExceptionErrorCode: InvalidParameterValueException
CS_CLOUD_RUNTIME = 4250  # CSExceptionErrorCode: CloudRuntimeException

# command -> (response name, object name, kind of record, scoped by account/project)
COMMANDS = {
    "listVirtualMachines": ("listvirtualmachinesresponse", "virtualmachine", "user", True),
    "listSystemVms": ("listsystemvmsresponse", "systemvm", "system", False),
    "listRouters": ("listroutersresponse", "router", "router", True),
    # ListInternalLBVMsCmd.s_name; DomainRouterJoinDaoImpl names each object "router".
    "listInternalLoadBalancerVMs": ("listinternallbvmsresponse", "router", "internallb", True),
    "listCapabilities": ("listcapabilitiesresponse", "capability", None, False),
}


class ApiError(Exception):
    def __init__(self, code, text, cs_code=None):
        super().__init__(text)
        self.code, self.text, self.cs_code = code, text, cs_code


class CloudStackSim:
    """One management server with one API user (an admin, account "admin")."""

    def __init__(self, api_key="csguard-test-key", secret_key="csguard-test-secret",
                 version="4.20.1.0", max_page_size=MAX_PAGE_SIZE, certificate=None):
        """certificate: (cert file, key file) to serve HTTPS instead of HTTP."""
        self.api_key, self.secret_key, self.version = api_key, secret_key, version
        self.certificate = certificate
        self.max_page_size = max_page_size
        self.allowed = None  # the role's commands; None allows every command
        self.account = "csguard"
        self.enforce_timestamps = False  # enforce.post.requests.and.timestamps
        self.mode = "up"  # up | error (HTTP 530) | garbage (200, not JSON) | slow
        self.delay = 0.0
        self.records = []
        self.requests = []  # (command, params) of every request that arrived
        self._lock = threading.Lock()
        self._server = None

    # ---- the cloud's content ----

    def add(self, kind, name, account="admin", project=None, display=None):
        """A VM CloudStack knows: kind user | system | router | internallb; `name`
        is its instance name (the XAPI name_label), `display` a user VM's name."""
        record = {"kind": kind, "name": name, "account": account, "project": project,
                  "id": str(uuidlib.uuid4()), "display": display or "vm-" + name}
        with self._lock:
            self.records.append(record)
        return record

    def remove(self, name):
        with self._lock:
            self.records = [r for r in self.records if r["name"] != name]

    # ---- the server ----

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sim = self
        if self.certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.certificate)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self):
        scheme = "https" if self.certificate else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}/client/api"

    # ---- one request ----

    def answer(self, params):
        """(HTTP status, body text, content type) for one request's parameters."""
        with self._lock:
            self.requests.append((params.get("command"), dict(params)))
        json_wanted = params.get("response", "").lower() == "json"
        command = params.get("command")
        response_name = COMMANDS[command][0] if self._known(command) else "errorresponse"
        try:
            if not self._verify(params):
                raise ApiError(401, BAD_SIGNATURE)
            if self.mode == "error":
                raise ApiError(530, "Internal error executing command, please contact your "
                               "system administrator", CS_CLOUD_RUNTIME)
            body = self._execute(command, params)
        except ApiError as error:
            if error.code == 432:  # getSerializedApiError: UNSUPPORTED_ACTION_ERROR
                response_name = "errorresponse"
            return error.code, _error_body(response_name, error, json_wanted), _type(json_wanted)
        if self.mode == "garbage":
            return 200, "<html><body>502 Bad Gateway</body></html>", "text/html"
        return 200, _dump(response_name, body, json_wanted), _type(json_wanted)

    def _known(self, command):
        """In s_apiNameCmdClassMap: internal load balancer VMs came with 4.2."""
        return command in COMMANDS and not (command == "listInternalLoadBalancerVMs"
                                            and _release(self.version) < (4, 2))

    def _verify(self, params):
        """ApiServer.verifyRequest, in its order."""
        command = params.get("command")
        if not self._known(command):
            return False
        given = api_key = version = expires = None
        for name, value in params.items():
            lowered = name.lower()
            if lowered == "signature":
                given = value
            elif lowered == "apikey":
                api_key = value
            elif lowered == "signatureversion":
                version = value
            elif lowered == "expires":
                expires = value
        if given is None or api_key is None:
            return False
        if version == "3":
            if expires is None:
                return False
            moment = signature.parse_expires(expires)
            if moment is None:
                return False
            now = datetime.datetime.now(datetime.timezone.utc)
            if moment < now:
                return False
            if self.enforce_timestamps and moment > now + datetime.timedelta(minutes=15):
                return False
        elif self.enforce_timestamps:
            return False
        if api_key != self.api_key:
            return False
        if self.allowed is not None and command not in self.allowed:
            # DynamicRoleBasedAPIAccessChecker.checkAccess: UnavailableCommandException,
            # which commandAvailable turns into UNSUPPORTED_ACTION_ERROR (432).
            raise ApiError(432, f"The API [{command}] does not exist or is not available "
                           f"for the account {self.account}.", CS_SERVER_API)
        return signature.compute(self.secret_key, params) == given

    def _execute(self, command, params):
        if self.mode == "slow":
            time.sleep(self.delay)
        _, object_name, kind, scoped = COMMANDS[command]
        if kind is None:
            return {object_name: {"cloudstackversion": self.version,
                                  "securitygroupsenabled": False,
                                  "kvmsnapshotenabled": True, "apilimitmax": 25}}
        with self._lock:
            found = [r for r in self.records if r["kind"] == kind]
        if scoped:
            found = _in_scope(found, params)
        start, size = self._page(params)
        page = found[start:] if size is None else found[start:start + size]
        if not page:  # the serializer writes the count alone, or nothing at all
            return {"count": len(found)} if found else {}
        return {"count": len(found), object_name: [_shape(kind, r) for r in page]}

    def _page(self, params):
        """(start index, page size or None for all): BaseListCmd."""
        page, size = params.get("page"), params.get("pagesize")
        if size is not None and page is None and size != "-1":
            raise ApiError(431, '"page" parameter is required when "pagesize" is specified',
                           CS_SERVER_API)
        if size is None and page is not None:
            raise ApiError(431, '"pagesize" parameter is required when "page" is specified',
                           CS_SERVER_API)
        try:
            page = None if page is None else int(page)
            size = None if size is None else int(size)
        except ValueError:
            raise ApiError(431, "Unable to execute API command due to invalid value",
                           CS_SERVER_API) from None
        if size is not None and size > self.max_page_size:
            raise ApiError(431, "Page size can't exceed max allowed page size value: "
                           f"{self.max_page_size}", CS_INVALID_PARAMETER)
        if size == -1:
            if page is not None:
                raise ApiError(431, "Can't specify page parameter when pagesize is -1 "
                               "(Unlimited)", CS_INVALID_PARAMETER)
            return 0, None
        size = self.max_page_size if size is None else size
        return (size * (page - 1) if page and page > 0 else 0), size


def _release(version):
    return tuple(int(part) for part in version.split(".")[:2])


def _in_scope(records, params):
    project = params.get("projectid")
    if params.get("listall", "").lower() != "true":
        records = [r for r in records if r["account"] == "admin"]
    if project == "-1":
        return [r for r in records if r["project"] is not None]
    if project is not None:
        return [r for r in records if r["project"] == project]
    return [r for r in records if r["project"] is None]


def _shape(kind, record):
    """The fields of UserVmResponse / SystemVmResponse / DomainRouterResponse that
    matter here, named as CloudStack serializes them."""
    if kind == "user":
        shaped = {"id": record["id"], "name": record["display"],
                  "displayname": record["display"], "instancename": record["name"],
                  "account": record["account"], "state": "Running",
                  "hypervisor": "XenServer"}
    else:
        shaped = {"id": record["id"], "name": record["name"], "state": "Running",
                  "hypervisor": "XenServer"}
        if kind == "system":
            shaped["systemvmtype"] = ("consoleproxy" if record["name"].startswith("v-")
                                      else "secondarystoragevm")
        else:
            shaped["role"] = "VIRTUAL_ROUTER" if kind == "router" else "INTERNAL_LB_VM"
            shaped["account"] = record["account"]
    if record["project"] is not None:
        shaped["projectid"] = record["project"]
    return shaped


def _error_body(response_name, error, json_wanted):
    fields = {"uuidList": [], "errorcode": error.code}
    if error.cs_code is not None:
        fields["cserrorcode"] = error.cs_code
    fields["errortext"] = error.text
    return _dump(response_name, fields, json_wanted)


def _dump(response_name, body, json_wanted):
    if json_wanted:
        return json.dumps({response_name: body}, separators=(",", ":"))
    inner = "".join(f"<{key}>{value}</{key}>" for key, value in body.items()
                    if not isinstance(value, (list, dict)))
    return (f'<?xml version="1.0" encoding="UTF-8"?><{response_name} '
            f'cloud-stack-version="4.20.1.0">{inner}</{response_name}>')


def _type(json_wanted):
    return "application/json; charset=UTF-8" if json_wanted else "text/xml"


class _Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path)
        if parts.path != "/client/api":
            self._reply(404, "not found", "text/plain")
            return
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        params = {}
        for name, value in pairs:
            params.setdefault(name, value)  # CloudStack reads the first value
        self._reply(*self.server.sim.answer(params))

    def _reply(self, status, text, content_type):
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass
