"""The CloudStack API simulator (tests/cloudstacksim) against the facts of
apache/cloudstack it mirrors; each test names the file (and method) it follows.
Requests are signed here from ApiServer.verifyRequest's description, not with the
product's client, so a mistake shared by both would still show."""
import base64
import datetime
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from cloudstacksim import CloudStackSim
from cloudstacksim.signature import java_urlencode, parse_expires, unsigned_request

KEY, SECRET = "csguard-test-key", "csguard-test-secret"


@pytest.fixture
def cloud():
    with CloudStackSim(api_key=KEY, secret_key=SECRET) as sim:
        yield sim


def sign(params, secret=SECRET):
    """ApiServer.verifyRequest: names sorted as given, signature left out, values
    URLEncoder-encoded with "+" -> "%20", the whole string lowercased, HmacSHA1,
    base64."""
    names = sorted(n for n in params if n.lower() != "signature")
    text = "&".join(n + "=" + urllib.parse.quote(params[n], safe="*-._").replace("~", "%7E")
                    for n in names).lower()
    mac = hmac.new(secret.encode(), text.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def expires_in(minutes):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ+0000")


def get(cloud, params, signature=None):
    """(HTTP status, parsed JSON or text) of one GET."""
    params = dict(params)
    params["signature"] = sign(params) if signature is None else signature
    url = cloud.url + "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            status, body = reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def call(cloud, command, **params):
    return get(cloud, dict(command=command, response="json", apikey=KEY, **params))


# ---- signatures: server/src/main/java/com/cloud/api/ApiServer.java, verifyRequest ----

def test_a_correctly_signed_request_is_answered(cloud):
    status, body = call(cloud, "listCapabilities")
    assert status == 200 and body["listcapabilitiesresponse"]["capability"]["cloudstackversion"]


def test_a_wrong_signature_gets_401_with_the_servlet_text(cloud):
    # ApiServlet.processRequestInContext: getSerializedApiError(SC_UNAUTHORIZED, ...),
    # no cserrorcode (ExceptionResponse.csErrorCode stays null).
    params = {"command": "listVirtualMachines", "response": "json", "apikey": KEY}
    status, body = get(cloud, params, signature=sign(params, "other-secret"))
    assert status == 401
    assert body == {"listvirtualmachinesresponse": {
        "uuidList": [], "errorcode": 401,
        "errortext": "unable to verify user credentials and/or request signature"}}


def test_an_unknown_command_fails_verification_as_errorresponse(cloud):
    # verifyRequest: a command not in s_apiNameCmdClassMap -> false; getCmdClass is
    # null, so the response name is "errorresponse".
    status, body = call(cloud, "listNothing")
    assert status == 401 and body["errorresponse"]["errorcode"] == 401


def test_before_4_2_internal_load_balancer_vms_are_an_unknown_command(cloud):
    # Internal load balancer VMs came with 4.2; an unknown command fails verifyRequest
    # and getSerializedApiError, finding no command class, names it "errorresponse".
    cloud.version = "4.1.1"
    status, body = call(cloud, "listInternalLoadBalancerVMs", listall="true")
    assert status == 401 and body["errorresponse"]["errorcode"] == 401


def test_an_unknown_api_key_or_a_missing_one_is_refused(cloud):
    params = {"command": "listCapabilities", "response": "json", "apikey": "someone-else"}
    assert get(cloud, params)[0] == 401
    assert get(cloud, {"command": "listCapabilities", "response": "json"})[0] == 401


def test_values_are_encoded_like_java_urlencoder_before_signing(cloud):
    # URLEncoder keeps * - . _ and encodes ~; "+" (a space) becomes %20.
    assert java_urlencode("a b*c~d/é") == "a%20b*c%7Ed%2F%C3%A9"
    value = "a b*c~"
    status, _ = call(cloud, "listVirtualMachines", keyword=value)
    assert status == 200
    params = {"command": "listVirtualMachines", "response": "json", "apikey": KEY, "keyword": value}
    names = sorted(n for n in params)
    plus_style = "&".join(n + "=" + urllib.parse.quote_plus(params[n]) for n in names).lower()
    mac = hmac.new(SECRET.encode(), plus_style.encode(), hashlib.sha1)
    assert get(cloud, params, base64.b64encode(mac.digest()).decode())[0] == 401


def test_names_are_sorted_as_sent_then_the_whole_string_is_lowercased():
    # Collections.sort(parameterNames) on the names as received, before toLowerCase.
    assert unsigned_request({"b": "1", "Z": "2", "a": "3"}) == "Z=2&a=3&b=1"


def test_signature_version_3_needs_a_future_expires(cloud):
    assert call(cloud, "listCapabilities", signatureversion="3",
                expires=expires_in(5))[0] == 200
    assert call(cloud, "listCapabilities", signatureversion="3",
                expires=expires_in(-1))[0] == 401
    assert call(cloud, "listCapabilities", signatureversion="3")[0] == 401
    assert call(cloud, "listCapabilities", signatureversion="3", expires="tomorrow")[0] == 401


def test_expires_formats_follow_dateutil_parse_tz_date_string():
    # utils/src/main/java/com/cloud/utils/DateUtil.java: the legacy "Z+hhmm" form
    # (the only one 4.x before the java.time rewrite parses) and ISO offsets.
    utc = datetime.timezone.utc
    expected = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=utc)
    for text in ("2026-12-03T10:00:00Z+0000", "2026-12-03T10:00:00+00:00",
                 "2026-12-03T11:00:00+0100", "2026-12-03T10:00:00Z"):
        assert parse_expires(text) == expected, text
    assert parse_expires("2026-12-03 10:00:00") is None


def test_enforced_timestamps_refuse_expiry_beyond_15_minutes_and_unversioned(cloud):
    # enforce.post.requests.and.timestamps: thresholdTime = now + 15 min.
    cloud.enforce_timestamps = True
    assert call(cloud, "listCapabilities", signatureversion="3",
                expires=expires_in(10))[0] == 200
    assert call(cloud, "listCapabilities", signatureversion="3",
                expires=expires_in(20))[0] == 401
    assert call(cloud, "listCapabilities")[0] == 401


def test_a_command_the_role_lacks_is_432_unsupported_action(cloud):
    # DynamicRoleBasedAPIAccessChecker.checkAccess throws UnavailableCommandException;
    # ApiServer.commandAvailable makes it ServerApiException(UNSUPPORTED_ACTION_ERROR),
    # which getSerializedApiError names "errorresponse"; cserrorcode 9999
    # (CSExceptionErrorCode: ServerApiException).
    cloud.allowed = {"listCapabilities"}
    status, body = call(cloud, "listSystemVms")
    assert status == 432
    assert body == {"errorresponse": {
        "uuidList": [], "errorcode": 432, "cserrorcode": 9999,
        "errortext": "The API [listSystemVms] does not exist or is not available for the "
                     "account csguard."}}


def test_without_response_json_the_answer_is_xml(cloud):
    # ApiServlet: responseType defaults to HttpUtils.RESPONSE_TYPE_XML.
    status, body = get(cloud, {"command": "listCapabilities", "apikey": KEY})
    assert status == 200 and body.startswith("<?xml")


# ---- lists: ApiResponseSerializer.toJSONSerializedString, BaseListCmd ----

def test_a_list_carries_the_total_count_and_the_object_name(cloud):
    cloud.add("user", "i-2-10-VM")
    cloud.add("user", "i-2-11-VM")
    _status, body = call(cloud, "listVirtualMachines", listall="true")
    inner = body["listvirtualmachinesresponse"]
    assert inner["count"] == 2
    # UserVmJoinDaoImpl.newUserVmResponse: instancename is the hypervisor's name.
    assert sorted(vm["instancename"] for vm in inner["virtualmachine"]) == [
        "i-2-10-VM", "i-2-11-VM"]


def test_an_empty_list_is_an_empty_object(cloud):
    assert call(cloud, "listRouters", listall="true")[1] == {"listroutersresponse": {}}


def test_list_response_and_object_names_per_command(cloud):
    # ListSystemVMsCmd -> systemvm; ListRoutersCmd -> router (DomainRouterJoinDaoImpl);
    # ListInternalLBVMsCmd.s_name = listinternallbvmsresponse, objects named "router".
    cloud.add("system", "s-1-VM")
    cloud.add("router", "r-4-VM")
    cloud.add("internallb", "b-7-VM")
    assert call(cloud, "listSystemVms")[1]["listsystemvmsresponse"]["systemvm"][0][
        "name"] == "s-1-VM"
    assert call(cloud, "listRouters", listall="true")[1]["listroutersresponse"]["router"][0][
        "name"] == "r-4-VM"
    assert call(cloud, "listInternalLoadBalancerVMs", listall="true")[1][
        "listinternallbvmsresponse"]["router"][0]["name"] == "b-7-VM"


def test_pages_split_the_list_and_count_stays_the_total(cloud):
    for n in range(5):
        cloud.add("user", f"i-2-{n}-VM")
    pages = [call(cloud, "listVirtualMachines", listall="true", page=str(p), pagesize="2")[1]
             ["listvirtualmachinesresponse"] for p in (1, 2, 3)]
    assert [page["count"] for page in pages] == [5, 5, 5]
    assert [len(page["virtualmachine"]) for page in pages] == [2, 2, 1]
    past = call(cloud, "listVirtualMachines", listall="true", page="4", pagesize="2")[1]
    assert past["listvirtualmachinesresponse"] == {"count": 5}


def test_without_pagesize_only_the_default_page_size_comes_back(cloud):
    cloud.max_page_size = 3
    for n in range(5):
        cloud.add("user", f"i-2-{n}-VM")
    inner = call(cloud, "listVirtualMachines", listall="true")[1]["listvirtualmachinesresponse"]
    assert inner["count"] == 5 and len(inner["virtualmachine"]) == 3


def test_page_rules_answer_431(cloud):
    # BaseListCmd.validateSpecificParameters and getPageSize.
    status, body = call(cloud, "listVirtualMachines", pagesize="10")
    assert status == 431 and body["listvirtualmachinesresponse"]["cserrorcode"] == 9999
    assert call(cloud, "listVirtualMachines", page="1")[0] == 431
    status, body = call(cloud, "listVirtualMachines", page="1", pagesize="501")
    assert status == 431
    assert body["listvirtualmachinesresponse"] == {
        "uuidList": [], "errorcode": 431, "cserrorcode": 4350,
        "errortext": "Page size can't exceed max allowed page size value: 500"}
    assert call(cloud, "listVirtualMachines", page="1", pagesize="-1")[0] == 431
    assert call(cloud, "listVirtualMachines", pagesize="-1")[0] == 200


# ---- scope: AccountManagerImpl.buildACLSearchParameters ----

def test_listall_and_projectid_minus_one_decide_what_an_admin_sees(cloud):
    cloud.add("user", "i-2-1-VM", account="admin")
    cloud.add("user", "i-3-2-VM", account="alice")
    cloud.add("user", "i-4-3-VM", account="project-x", project="p-uuid")
    cloud.add("router", "r-9-VM", account="project-x", project="p-uuid")

    def names(command, key, **params):
        inner = call(cloud, command, **params)[1]
        return sorted(r.get("instancename", r["name"])
                      for r in next(iter(inner.values())).get(key, []))

    assert names("listVirtualMachines", "virtualmachine") == ["i-2-1-VM"]
    assert names("listVirtualMachines", "virtualmachine", listall="true") == [
        "i-2-1-VM", "i-3-2-VM"]
    assert names("listVirtualMachines", "virtualmachine", listall="true",
                 projectid="-1") == ["i-4-3-VM"]
    assert names("listRouters", "router", listall="true") == []
    assert names("listRouters", "router", listall="true", projectid="-1") == ["r-9-VM"]


def test_capabilities_carry_the_version(cloud):
    # ListCapabilitiesCmd / CapabilitiesResponse: object "capability",
    # field "cloudstackversion".
    cloud.version = "4.19.1.2"
    body = call(cloud, "listCapabilities")[1]
    assert body["listcapabilitiesresponse"]["capability"]["cloudstackversion"] == "4.19.1.2"


def test_an_internal_error_is_530_with_its_cserrorcode(cloud):
    cloud.mode = "error"
    status, body = call(cloud, "listVirtualMachines", listall="true")
    assert status == 530
    assert body["listvirtualmachinesresponse"]["errorcode"] == 530
