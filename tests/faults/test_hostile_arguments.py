"""Hostile arguments to the host plugin that tests/integration/test_plugin.py leaves
out: XML in values, newlines and lookalike digits in uuids, hostile keys, non-text
values, and requests XAPI itself would never build (a DTD with an entity bomb, wrong
parameter shapes). Repeated keys cannot reach the plugin: XAPI passes args as a map.
The CLI's are in test_hostile_cli.py."""
import json
import xmlrpc.client

import pytest
from csguard import hostplugin, records
from integration.test_plugin import api, call, failure, protect  # noqa: F401 - fixtures
from integration.test_plugin import sim as plugin_sim  # noqa: F401 - fixture

XML_REASON = ("</value></member></struct>]]><!DOCTYPE x [<!ENTITY e 'boom'>]>&e;"
              "<![CDATA[ & ' \" ]]>")


def _failure_of(response):
    (reply,), _ = xmlrpc.client.loads(response)
    assert reply["Status"] == "Failure", reply
    return reply["ErrorDescription"]


@pytest.fixture
def sim(plugin_sim):  # noqa: F811
    """test_plugin's `api` asks for `sim`: the simulator with the plugin installed."""
    return plugin_sim


def test_xml_in_a_reason_is_stored_and_reported_verbatim(api, sim):  # noqa: F811
    uuid = sim.vms["web"]
    protect(sim, uuid)
    result = json.loads(call(api, sim, "vm-unblock", uuid=uuid, reason=XML_REASON,
                             duration="1h"))
    assert result["exempt-reason"] == XML_REASON
    record = sim.vm_record(uuid)
    assert records.parse_exemption(record["other_config"][records.KEY_EXEMPTION]).reason == (
        XML_REASON)
    audit = [m["body"] for m in api.message.get_all_records().values()
             if m["name"] == "CSGUARD_VM_UNBLOCKED"]
    assert len(audit) == 1 and XML_REASON in audit[0]


@pytest.mark.parametrize("args, code, text", [
    ({"uuid": "0f0e0d0c-0b0a-4909-8807-060504030201\n"}, "CSGUARD_BAD_ARGUMENT", "not a uuid"),
    ({"uuid": "0f0e0d0c-0b0a-4909-8807-06050403020１"}, "CSGUARD_BAD_ARGUMENT", "not a uuid"),
    ({"$(reboot)": "x"}, "CSGUARD_BAD_ARGUMENT", "unknown argument '$(reboot)'"),
    ({"uuid\n": "x"}, "CSGUARD_BAD_ARGUMENT", "unknown argument 'uuid\\n'"),
    ({"vm": "<a href='x'>&amp;\"; id"}, "CSGUARD_UNKNOWN_VM",
     "no VM is named '<a href=\\'x\\'>&amp;\"; id'"),
    ({"vm": "web-01", "reason": "two\nlines"}, "CSGUARD_BAD_ARGUMENT", "reason="),
    ({"vm": "web-01", "reason": "r" * 100000}, "CSGUARD_BAD_ARGUMENT", "reason="),
])
def test_hostile_plugin_arguments_are_refused_and_change_nothing(api, sim, args, code, text):  # noqa: F811
    before = {uuid: sim.vm_record(uuid) for uuid in sim.vms.values()}
    details = failure(api, sim, "vm-unblock", **args)
    assert details[0] == code and text in details[1], details
    assert "\n" not in details[1]
    assert {uuid: sim.vm_record(uuid) for uuid in sim.vms.values()} == before


@pytest.mark.parametrize("request_text, text", [
    (xmlrpc.client.dumps(("OpaqueRef:s", {"uuid": 5}), "vm-unblock"), "must be text"),
    (xmlrpc.client.dumps(("OpaqueRef:s", {"uuid": ["a"]}), "vm-classify"), "must be text"),
    (xmlrpc.client.dumps(("OpaqueRef:s",), "vm-list"), "got 1 parameter"),
    (xmlrpc.client.dumps((5, {}), "vm-list"), "got 2 parameter"),
    (xmlrpc.client.dumps(("OpaqueRef:s", {}, {}), "vm-list"), "got 3 parameter"),
    ('<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a0 "xxxxxxxxxx">'
     + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
     + "]><methodCall><methodName>vm-list</methodName><params><param><value>&a9;</value>"
       "</param></params></methodCall>", "is not an XML-RPC methodCall"),
])
def test_requests_xapi_would_never_send_get_a_failure(request_text, text):
    """Answered without touching XAPI. The entity bomb is stopped by expat >= 2.4's
    amplification limit (XAPI itself builds argv[1] from a map, never with a DTD)."""
    details = _failure_of(hostplugin.respond(request_text))
    assert text in " ".join(details), details
