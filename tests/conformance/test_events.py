"""event.from: tokens, coalescing, batch order, blocking, subscriptions, errors."""
import re
import threading
import time

import pytest
from xapisim.testing import failure_of


@pytest.fixture
def x(x_both):
    """Every fact in this module is checked over the unix socket and over TCP."""
    return x_both


def _token(x, classes=("vm",)):
    return x.event_from(list(classes), "", 0.0)["token"]


def _events(x, token, classes=("vm",), timeout=1.0):
    return x.event_from(list(classes), token, timeout)["events"]


def test_event_from_empty_token_returns_every_object_as_add(x, vm):
    result = x.event_from(["vm"], "", 1.0)
    assert {e["operation"] for e in result["events"]} == {"add"}
    assert {e["ref"] for e in result["events"]} == set(x.VM.get_all())
    assert all(e["snapshot"] == x.VM.get_record(e["ref"]) for e in result["events"])


def test_event_token_is_two_zero_padded_generation_counts(x):
    assert re.match(r"^\d{20},\d{20}$", _token(x))


def test_event_has_id_timestamp_class_operation_ref_and_snapshot(x, vm):
    event = next(e for e in x.event_from(["vm"], "", 1.0)["events"] if e["ref"] == vm)
    assert set(event) == {"id", "timestamp", "class", "operation", "ref", "snapshot"}
    assert event["class"] == "vm" and int(event["id"]) > 0


def test_event_from_returns_valid_ref_counts_per_lowercase_class(x, vm):
    counts = x.event_from(["vm"], "", 1.0)["valid_ref_counts"]
    assert counts["vm"] == len(x.VM.get_all())
    assert counts["host"] == 1


def test_changes_to_one_object_are_coalesced_into_one_event_with_the_latest_snapshot(x, vm):
    token = _token(x)
    for name in ("one", "two", "three"):
        x.VM.set_name_label(vm, name)
    events = [e for e in _events(x, token) if e["ref"] == vm]
    assert len(events) == 1
    assert events[0]["operation"] == "mod"
    assert events[0]["snapshot"]["name_label"] == "three"


def test_batch_order_is_messages_adds_mods_dels(sim, x, vm):
    doomed, _ = sim.create_vm("doomed", power_state="Halted")
    token = _token(x, ["vm", "message"])
    x.VM.destroy(doomed)
    x.VM.set_name_label(vm, "modified")
    sim.create_vm("added")
    x.message.create("NOTE", "5", "VM", x.VM.get_uuid(vm), "hello")
    events = _events(x, token, ["vm", "message"])
    operations = [(e["class"], e["operation"]) for e in events]
    assert operations == [("message", "add"), ("vm", "add"), ("vm", "mod"), ("vm", "del")]


def test_objects_created_and_deleted_after_the_token_are_not_reported(sim, x):
    token = _token(x)
    ephemeral, _ = sim.create_vm("ephemeral", power_state="Halted")
    x.VM.destroy(ephemeral)
    assert x.event_from(["vm"], token, 0.3)["events"] == []


def test_del_event_has_no_snapshot(sim, x):
    doomed, _ = sim.create_vm("doomed", power_state="Halted")
    token = _token(x)
    x.VM.destroy(doomed)
    (event,) = _events(x, token)
    assert (event["operation"], event["ref"]) == ("del", doomed)
    assert event.get("snapshot") is None


def test_event_from_with_nothing_new_returns_no_events_and_a_token_after_the_timeout(x):
    token = _token(x)
    result = x.event_from(["vm"], token, 0.2)
    assert result["events"] == []
    assert re.match(r"^\d{20},\d{20}$", result["token"])


def test_event_from_blocks_until_a_change_arrives(sim, x, vm):
    token = _token(x)
    changer = threading.Timer(0.2, sim.modify_vm, (vm, "name_label", "changed"))
    changer.start()
    events = _events(x, token, timeout=30.0)
    changer.join()
    assert [(e["ref"], e["snapshot"]["name_label"]) for e in events] == [(vm, "changed")]


def test_event_from_with_an_invalid_timeout_waits_instead_of_returning(sim, xapi_session, vm):
    x = xapi_session.xenapi
    token = _token(x)
    results = []
    waiter = threading.Thread(target=lambda: results.append(_events(x, token, timeout=-1.0)))
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive() and results == []
    sim.modify_vm(vm, "name_label", "wake up")
    waiter.join(10)
    assert [e["ref"] for e in results[0]] == [vm]


def test_event_from_continues_from_the_returned_token(x, vm):
    token = _token(x)
    x.VM.set_name_label(vm, "first")
    result = x.event_from(["vm"], token, 1.0)
    x.VM.set_name_label(vm, "second")
    events = _events(x, result["token"])
    assert [e["snapshot"]["name_label"] for e in events] == ["second"]


def test_event_from_classes_are_case_insensitive(x, vm):
    refs = {e["ref"] for e in x.event_from(["VM"], "", 1.0)["events"]}
    assert refs == set(x.VM.get_all())


def test_event_from_star_subscribes_to_every_class(x, vm):
    classes = {e["class"] for e in x.event_from(["*"], "", 1.0)["events"]}
    assert {"pool", "host", "vm", "vbd", "vdi", "vif", "sr", "network"} <= classes


def test_event_from_object_subscription_reports_only_that_object(sim, x, vm):
    other, _ = sim.create_vm("other")
    events = x.event_from(["vm/" + vm], "", 1.0)["events"]
    assert [e["ref"] for e in events] == [vm]
    token = x.event_from(["vm/" + vm], "", 1.0)["token"]
    x.VM.set_name_label(other, "not watched")
    x.VM.set_name_label(vm, "watched")
    events = x.event_from(["vm/" + vm], token, 1.0)["events"]
    assert [e["snapshot"]["name_label"] for e in events] == ["watched"]


def test_creating_a_vbd_also_produces_a_mod_of_its_vm(sim, x):
    vm, _ = sim.create_vm("diskless", power_state="Halted", vbds=0)
    vdi = x.VBD.get_VDI(x.VM.get_VBDs(sim.create_vm("donor", power_state="Halted")[0])[0])
    token = _token(x, ["vm", "vbd"])
    vbd = x.VBD.create({"VM": vm, "VDI": vdi, "userdevice": "1", "bootable": False,
                        "mode": "RW", "type": "Disk", "empty": False, "other_config": {}})
    events = {(e["class"], e["operation"], e["ref"]) for e in _events(x, token, ["vm", "vbd"])}
    assert events == {("vbd", "add", vbd), ("vm", "mod", vm)}
    assert x.VM.get_VBDs(vm) == [vbd]


def test_malformed_token_fails_with_event_from_token_parse_failure(x):
    assert failure_of(x.event_from, ["vm"], "garbage", 1.0) == [
        "EVENT_FROM_TOKEN_PARSE_FAILURE", "garbage"]


def test_event_from_waiter_whose_session_is_destroyed_fails_with_session_invalid(sim, raw,
                                                                              raw_session):
    token = raw.event_from(raw_session, ["vm"], "", 0.0)["Value"]["token"]
    replies = []
    waiter = threading.Thread(
        target=lambda: replies.append(raw.event_from(raw_session, ["vm"], token, 60.0)))
    waiter.start()
    time.sleep(0.2)
    sim.kill_sessions()
    waiter.join(10)
    assert replies == [{"Status": "Failure", "ErrorDescription": ["SESSION_INVALID", raw_session]}]


def test_event_inject_returns_a_token_that_reports_the_object(x, vm):
    token = x.event.inject("VM", vm)
    assert re.match(r"^\d{20},\d{20}$", token)
    events = _events(x, token)
    assert [(e["operation"], e["ref"]) for e in events] == [("mod", vm)]


def test_event_inject_of_a_ref_of_another_class_fails_with_handle_invalid(sim, x):
    host = sim.host_refs[0]
    assert failure_of(x.event.inject, "VM", host) == ["HANDLE_INVALID", "VM", host]


def test_messages_appear_in_event_from_as_class_message_add(x, vm):
    token = _token(x, ["message"])
    message = x.message.create("ALIEN_VM", "3", "VM", x.VM.get_uuid(vm), "body")
    (event,) = _events(x, token, ["message"])
    assert (event["class"], event["operation"], event["ref"]) == ("message", "add", message)
    assert event["snapshot"]["name"] == "ALIEN_VM"
    assert event["snapshot"]["priority"] == "3"


def test_message_destroy_appears_as_message_del(x, vm):
    message = x.message.create("ALIEN_VM", "3", "VM", x.VM.get_uuid(vm), "body")
    token = _token(x, ["message"])
    x.message.destroy(message)
    (event,) = _events(x, token, ["message"])
    assert (event["operation"], event["ref"]) == ("del", message)


def test_async_task_is_seen_by_event_from(x, vm):
    token = _token(x, ["task"])
    task = x.Async.VM.hard_shutdown(vm)
    refs = {e["ref"] for e in _events(x, token, ["task"])}
    assert task in refs


def test_event_tokens_stay_meaningful_across_a_restart(sim, xapi_session, vm):
    x = xapi_session.xenapi
    token = _token(x)
    sim.restart()
    assert x.event_from(["vm"], token, 0.2)["events"] == []
    x.VM.set_name_label(vm, "after restart")
    events = _events(x, token)
    assert [(e["operation"], e["ref"]) for e in events] == [("mod", vm)]


def test_event_from_on_a_pool_member_sees_changes_made_through_the_master(pool3, session_for):
    master = session_for(pool3.socket_path(0)).xenapi
    member = session_for(pool3.socket_path(2)).xenapi
    vm, _ = pool3.create_vm("shared")
    token = member.event_from(["vm"], "", 0.0)["token"]
    master.VM.set_name_label(vm, "seen everywhere")
    events = member.event_from(["vm"], token, 1.0)["events"]
    assert [e["snapshot"]["name_label"] for e in events] == ["seen everywhere"]


def test_deletions_before_a_restart_are_not_reported_after_it(sim, xapi_session):
    x = xapi_session.xenapi
    doomed, _ = sim.create_vm("doomed", power_state="Halted")
    token = _token(x)
    x.VM.destroy(doomed)
    sim.restart()
    assert x.event_from(["vm"], token, 0.2)["events"] == []
