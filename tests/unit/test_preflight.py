"""preflight.analyse: each finding from plain records, the verdict and exit code,
and the two output formats."""
import json

import pytest
from csguard import config as configuration
from csguard import preflight, records
from csguard.preflight import (
    ANSWERED,
    NO_ANSWER,
    NOT_INSTALLED,
    NOT_READY,
    READY,
    READY_WITH_WARNINGS,
    Probe,
)
from csguard.xapi import XapiError, XapiUnavailable

NOW = 1795000000.0
MASTER, MEMBER = "OpaqueRef:host-0", "OpaqueRef:host-1"
NULL = "OpaqueRef:NULL"
OURS = records.blocked_reason("x")
PROTECTING = ("clean_shutdown", "hard_shutdown", "shutdown", "destroy")
XO_SHUTDOWN = ("clean_reboot", "clean_shutdown", "hard_reboot", "hard_shutdown", "pause",
               "suspend", "shutdown")


def vm(name, n, power="Running", host=MASTER, affinity=NULL, blocked=None, other_config=None,
       tags=(), **flags):
    record = {
        "uuid": f"00000000-0000-4000-8000-{n:012d}",
        "name_label": name,
        "power_state": power,
        "resident_on": host if power == "Running" else NULL,
        "affinity": affinity,
        "is_control_domain": False, "is_a_template": False, "is_a_snapshot": False,
        "other_config": dict(other_config or {}),
        "tags": list(tags),
        "blocked_operations": dict(blocked or {}),
    }
    record.update(flags)
    return f"OpaqueRef:vm-{n}", record


def protected(*ops):
    return {op: OURS for op in (ops or PROTECTING)}


def host(n, version="8.2.1", brand="XenServer"):
    return {"uuid": f"11111111-0000-4000-8000-{n:012d}", "name_label": f"host{n}",
            "software_version": {"product_version": version, "product_brand": brand}}


HOSTS = {MASTER: host(0), MEMBER: host(1)}
POOL = {"uuid": "22222222-0000-4000-8000-000000000000", "name_label": "pool", "master": MASTER,
        "ha_enabled": False}


def daemon(role="leader", mode="enforce", running=True):
    return Probe(ANSWERED, {"running": running, "role": role, "mode": mode,
                            "connection": "connected"}, None)


HEALTHY = {MASTER: daemon("leader"), MEMBER: daemon("standby")}


def analyse(*vms, config=None, hosts=HOSTS, pool=POOL, daemons=HEALTHY):
    return preflight.analyse(dict(vms), hosts, pool, config or configuration.Config(),
                             daemons, NOW)


def codes(report, severity=None):
    return [f.code for f in report.findings if severity is None or f.severity == severity]


def only(report, code):
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, codes(report)
    return found[0]


def uuids(finding):
    return [item.uuid for item in finding.vms]


def row(report, name):
    return next(r for r in report.vms if r.name == name)


# --- protection ----------------------------------------------------------------

@pytest.mark.parametrize("blocked, expected", [
    ({}, preflight.NOBODY),
    ({"destroy": OURS}, preflight.PARTIALLY),
    ({"destroy": "true", "start": "true"}, preflight.PARTIALLY),
    (protected(), preflight.BY_CSGUARD),
    (dict(protected(), destroy="true"), preflight.BY_CSGUARD),
    ({op: "true" for op in XO_SHUTDOWN + ("destroy",)}, preflight.BY_OTHER),
])
def test_who_protects_a_vm(blocked, expected):
    _, record = vm("web", 1, blocked=blocked)
    assert preflight.protected_by(record, configuration.Config()) == expected


def test_a_protected_pool_with_healthy_daemons_is_ready():
    report = analyse(vm("web", 1, blocked=protected()),
                     vm("dom0", 2, is_control_domain=True),
                     vm("Debian template", 3, is_a_template=True, power="Halted"))
    assert codes(report, "error") == [] and codes(report, "warning") == []
    assert (report.verdict, report.exit_code) == (READY, 0)
    assert row(report, "web").protected_by == preflight.BY_CSGUARD
    assert row(report, "dom0").protected_by is None


# --- unprotected aliens ----------------------------------------------------------

def test_unprotected_and_partly_protected_aliens_make_the_pool_not_ready():
    report = analyse(vm("web", 1), vm("db", 2, blocked={"destroy": OURS}),
                     vm("xo", 3, blocked={op: "true" for op in XO_SHUTDOWN + ("destroy",)}),
                     vm("i-2-10-VM", 4))
    finding = only(report, "alien-unprotected")
    assert finding.severity == "error"
    assert [i.name for i in finding.vms] == ["db", "web"]
    notes = {i.name: i.note for i in finding.vms}
    assert "not blocked: clean_shutdown, hard_shutdown, shutdown\n" not in notes["db"]
    assert notes["db"].endswith("not blocked: clean_shutdown, hard_shutdown, shutdown")
    assert "Running on host0" in notes["web"]
    assert "csguard scan" in finding.fix
    assert row(report, "xo").protected_by == preflight.BY_OTHER
    assert (report.verdict, report.exit_code) == (NOT_READY, 2)


# --- each host's connect: halted VMs whose home server is the host -----------------

HOMED = (
    vm("old-db", 1, power="Halted", affinity=MASTER, blocked=protected()),
    vm("i-2-10-vm", 2, power="Halted", affinity=MEMBER, blocked=protected()),
    vm("no-home", 3, power="Halted", affinity=NULL, blocked=protected()),
    vm("running", 4, power="Running", affinity=MASTER, blocked=protected()),
    vm("i-2-11-VM", 5, power="Halted", affinity=MASTER),     # CloudStack's: it destroys it
    vm("stale-ref", 6, power="Halted", affinity="OpaqueRef:gone", blocked=protected()),
    vm("xo-kept", 7, power="Halted", affinity=MEMBER, blocked={"destroy": "true"},
       other_config={"csguard:override": "allow"}),            # exempt, destroy blocked by XO
    vm("tpl", 8, power="Halted", affinity=MASTER, blocked={"destroy": "true"},
       is_a_template=True))


def host_row(report, name):
    return next(h for h in report.hosts if h.name == name)


def test_csguard_clears_the_affinity_of_the_halted_vms_it_protects_and_says_which():
    report = analyse(*HOMED)
    assert (host_row(report, "host0").connect, host_row(report, "host0").clears) == (
        preflight.SUCCEEDS, ("old-db",))
    assert (host_row(report, "host1").connect, host_row(report, "host1").clears) == (
        preflight.FAILS_OLD, ("i-2-10-vm",))
    cleared = [f for f in report.findings if f.code == "affinity-cleared"]
    assert [(f.hosts[0].name, [i.name for i in f.vms]) for f in cleared] == [
        ("host0", ["old-db"]), ("host1", ["i-2-10-vm"])]
    assert all(f.severity == "info" and "'old-db'" in cleared[0].summary for f in cleared)
    failing = only(report, "halted-alien-affinity")
    assert failing.hosts[0].name == "host1" and [i.name for i in failing.vms] == ["xo-kept"]
    assert "csguard does not protect it (exempt)" in failing.vms[0].note
    assert "fails on 4.0 - 4.2" in failing.summary and "Disconnected" in failing.summary
    assert report.verdict == READY_WITH_WARNINGS


def test_with_clearing_turned_off_protected_halted_vms_fail_their_hosts_connect():
    report = analyse(*HOMED, config=configuration.Config(clear_halted_affinity=False))
    assert host_row(report, "host0").connect == preflight.FAILS_OLD
    assert host_row(report, "host1").connect == preflight.FAILS_ALL   # i-2-10-vm: 4.3+ too
    assert all(h.clears == () for h in report.hosts)
    found = {f.hosts[0].name: f for f in report.findings if f.code == "halted-alien-affinity"}
    old_db = found["host0"].vms[0]
    assert "protection.clear_halted_affinity is false" in old_db.note
    assert f"xe vm-param-set uuid={old_db.uuid} affinity=" in old_db.note
    assert [i.name for i in found["host1"].vms] == ["i-2-10-vm", "xo-kept"]
    assert "4.3+" in found["host1"].vms[0].note and "4.3+" not in old_db.note
    assert "affinity-cleared" not in codes(report)


def test_the_vms_csguard_has_cleared_are_listed_with_the_host_they_record():
    report = analyse(
        vm("old-db", 1, power="Halted", blocked=protected(),
           other_config={records.KEY_AFFINITY: HOSTS[MEMBER]["uuid"].upper()}),
        vm("set-since", 2, power="Halted", affinity=MASTER, blocked=protected(),
           other_config={records.KEY_AFFINITY: HOSTS[MEMBER]["uuid"]}),
        vm("gone", 3, power="Halted", blocked=protected(),
           other_config={records.KEY_AFFINITY: "6c5b4a39-2817-4f06-9e5d-4c3b2a1f0e9d"}))
    member, master = host_row(report, "host1"), host_row(report, "host0")
    assert (member.clears, member.cleared) == ((), ("old-db",))
    assert (master.clears, master.cleared) == (("set-since",), ())
    found = {f.hosts[0].name: f for f in report.findings if f.code == "affinity-cleared"}
    assert "has cleared that of 1: 'old-db'" in found["host1"].summary
    assert found["host1"].vms[0].note == f"cleared, recorded in {records.KEY_AFFINITY}"
    assert "(1 cleared)" in preflight.format_text(report)


def test_an_unprotected_halted_alien_is_cleared_once_csguard_protects_it():
    report = analyse(vm("old-db", 1, power="Halted", affinity=MEMBER))
    assert host_row(report, "host1").clears == ("old-db",)
    assert "alien-unprotected" in codes(report) and report.verdict == NOT_READY


def test_audit_mode_clears_nothing_and_blocks_nothing():
    report = analyse(vm("old-db", 1, power="Halted", affinity=MEMBER),
                     config=configuration.Config(mode="audit"))
    assert host_row(report, "host1").clears == ()
    assert host_row(report, "host1").connect == preflight.SUCCEEDS  # the VM is destroyed
    assert "audit-mode" in codes(report, "error")


# --- names where a wrong verdict hurts --------------------------------------------

@pytest.mark.parametrize("name, why", [
    ("i-2-10-vm", "case differs"),
    ("i-2-10-VM ", "whitespace"),
    ("r-4-OTHER", "does not match"),
    ("ns-3-vpx", "case differs"),
])
def test_aliens_with_cloudstack_looking_names_are_warned_about(name, why):
    report = analyse(vm(name, 1, blocked=protected()), vm("web", 2, blocked=protected()))
    finding = only(report, "cloudstack-lookalike-alien")
    assert finding.severity == "warning"
    assert [i.name for i in finding.vms] == [name]
    assert why in finding.summary
    uuid = finding.vms[0].uuid
    assert f"xe vm-param-set uuid={uuid} other-config:csguard:override=allow" in finding.fix
    assert "param-key=csguard-allow" not in finding.fix, "a tag never allows"
    assert "name-label=<new name>" in finding.fix


def test_an_explicitly_protected_lookalike_is_not_questioned():
    report = analyse(vm("i-2-10-vm", 1, blocked=protected(), tags=["csguard-protect"]))
    assert "cloudstack-lookalike-alien" not in codes(report)


def test_cloudstack_names_without_any_mark_are_noted():
    report = analyse(vm("i-2-10-VM", 1), vm("r-4-VM", 2, power="Halted"))
    finding = only(report, "cloudstack-by-name")
    assert finding.severity == "info"
    assert [i.name for i in finding.vms] == ["i-2-10-VM", "r-4-VM"]
    assert "param-key=csguard-protect" in finding.fix
    assert report.verdict == READY


def test_a_cloudstack_name_used_twice_is_a_warning():
    report = analyse(vm("i-2-10-VM", 1), vm("i-2-10-VM", 2, power="Halted"), vm("i-2-11-VM", 3))
    finding = only(report, "cloudstack-name-duplicate")
    assert finding.severity == "warning"
    assert uuids(finding) == [vm("", 1)[1]["uuid"], vm("", 2)[1]["uuid"]]
    assert [i.name for i in only(report, "cloudstack-by-name").vms] == ["i-2-11-VM"]


def test_an_unmarked_cloudstack_name_among_marked_ones_is_a_warning():
    marked = {"vm_uuid": "5e6f0000-0000-4000-8000-000000000000"}
    report = analyse(vm("i-2-10-VM", 1, other_config=marked),
                     vm("i-2-11-VM", 2, other_config=marked),
                     vm("i-2-12-VM", 3))
    finding = only(report, "cloudstack-name-unmarked")
    assert [i.name for i in finding.vms] == ["i-2-12-VM"]
    assert vm("", 3)[1]["uuid"] in finding.fix
    assert "cloudstack-by-name" not in codes(report)


def test_an_allowed_vm_is_not_questioned_by_name():
    report = analyse(vm("i-2-10-VM", 1, other_config={"csguard:override": "allow"}))
    assert not any(code.startswith("cloudstack-") for code in codes(report))


# --- exemptions --------------------------------------------------------------------

def _exemption(until, n=1):
    return {records.KEY_EXEMPTION: records.format_exemption(
        records.Exemption("alice", NOW - 60, until, "maintenance", vm("", n)[1]["uuid"]))}


def test_exempted_aliens_are_warned_about():
    report = analyse(vm("web", 1, other_config=_exemption(NOW + 3600)))
    finding = only(report, "exempt-unprotected")
    assert finding.severity == "warning"
    assert "csguard vm-block uuid=<vm uuid>" in finding.fix
    assert "exempted by 'alice'" in finding.vms[0].note
    assert "alien-unprotected" not in codes(report)


def test_an_expired_exemption_is_an_unprotected_alien():
    report = analyse(vm("web", 1, other_config=_exemption(NOW - 1)))
    assert "exempt-unprotected" not in codes(report)
    assert uuids(only(report, "alien-unprotected")) == [vm("", 1)[1]["uuid"]]


# --- operations whose block breaks HA or maintenance ----------------------------------

def test_configured_start_and_pool_migrate_blocks_are_warned_about():
    config = configuration.Config().with_overrides(
        block_operations=list(PROTECTING) + ["start", "pool_migrate"])
    report = analyse(vm("web", 1, blocked=protected(*config.block_operations)), config=config)
    finding = only(report, "disruptive-block-configured")
    assert "start, pool_migrate" in finding.summary and "HA" in finding.summary
    assert "maintenance mode" in finding.summary
    assert "disruptive-block-existing" not in codes(report)


def test_other_tools_blocks_that_break_ha_are_listed_per_operation():
    blocked = dict(protected(), start="true", pool_migrate="admin: keep here")
    report = analyse(vm("web", 1, blocked=blocked),
                     vm("db", 2, blocked=dict(protected(), pool_migrate="true")),
                     vm("tpl", 3, is_a_template=True, blocked={"start": "true"}))
    start, pool_migrate = [f for f in report.findings if f.code == "disruptive-block-existing"]
    assert start.summary.startswith("1 VM(s) already have start blocked by another tool: HA")
    assert [(i.name, i.note) for i in start.vms] == [("web", "blocked by another tool ('true')")]
    assert "param-key=start" in start.fix
    assert pool_migrate.summary.startswith("2 VM(s) already have pool_migrate blocked")
    assert [i.name for i in pool_migrate.vms] == ["db", "web"]
    assert "'admin: keep here'" in pool_migrate.vms[1].note
    assert "disruptive-block-configured" not in codes(report)


# --- daemons -------------------------------------------------------------------------

def test_no_leading_daemon_makes_the_pool_not_ready():
    report = analyse(vm("web", 1, blocked=protected()),
                     daemons={MASTER: daemon("standby"), MEMBER: daemon("standby")})
    finding = only(report, "no-leader")
    assert finding.severity == "error"
    assert report.verdict == NOT_READY


def test_two_leaders_are_a_warning():
    report = analyse(daemons={MASTER: daemon("leader"), MEMBER: daemon("leader")})
    assert [h.name for h in only(report, "several-leaders").hosts] == ["host0", "host1"]
    assert report.verdict == READY_WITH_WARNINGS


def test_a_leader_that_is_not_on_the_master_is_a_warning():
    report = analyse(daemons={MASTER: daemon("standby"), MEMBER: daemon("leader")})
    assert [h.name for h in only(report, "leader-not-master").hosts] == ["host1", "host0"]


@pytest.mark.parametrize("probe, code, state", [
    (Probe(NOT_INSTALLED, None, "XENAPI_MISSING_PLUGIN: csguard"), "csguard-not-installed",
     preflight.NOT_INSTALLED),
    (Probe(ANSWERED, {"running": False, "error": "the csguard daemon is not running on this "
                      "host: it has never written /var/lib/csguard/status.json"}, None),
     "csguard-not-running", preflight.NOT_RUNNING),
    (daemon("leader", running=False), "csguard-not-running", preflight.NOT_RUNNING),
    (daemon("stopped"), "csguard-not-running", preflight.NOT_RUNNING),
    (daemon("connecting"), "csguard-not-connected", preflight.CONNECTING),
    (Probe(NO_ANSWER, None, "timed out"), "csguard-unknown", preflight.UNKNOWN),
    (daemon("sideways"), "csguard-unknown", preflight.UNKNOWN),
])
def test_a_member_without_a_running_daemon_is_a_warning(probe, code, state):
    report = analyse(daemons={MASTER: daemon("leader"), MEMBER: probe})
    finding = only(report, code)
    assert finding.severity == "warning"
    assert [h.name for h in finding.hosts] == ["host1"]
    assert [h.csguard for h in report.hosts] == [preflight.LEADING, state]
    assert report.verdict == READY_WITH_WARNINGS


def test_the_master_without_csguard_leaves_nobody_leading():
    report = analyse(daemons={MASTER: Probe(NOT_INSTALLED, None, "missing"),
                              MEMBER: daemon("standby")})
    assert {"no-leader", "csguard-not-installed"} <= set(codes(report))
    assert report.exit_code == 2


# --- what XAPI cannot enforce ------------------------------------------------------------

def test_audit_mode_is_not_protecting():
    config = configuration.Config().with_overrides(mode="audit")
    report = analyse(vm("web", 1), config=config,
                     daemons={MASTER: daemon("leader", mode="audit"), MEMBER: daemon("standby")})
    finding = only(report, "audit-mode")
    assert finding.severity == "error" and "mode: enforce" in finding.fix
    assert [h.name for h in finding.hosts] == ["host0"]
    assert report.mode == "audit" and report.verdict == NOT_READY


def test_a_daemon_in_audit_mode_is_reported_even_with_an_enforcing_local_config():
    report = analyse(vm("web", 1, blocked=protected()),
                     daemons={MASTER: daemon("leader", mode="audit"), MEMBER: daemon("standby")})
    assert [h.name for h in only(report, "audit-mode").hosts] == ["host0"]


@pytest.mark.parametrize("version, brand, old", [
    ("5.6.100", "XenServer", True), ("6.0.2", "XenServer", True), ("6.0.0", "", True),
    ("6.1.0", "XenServer", False), ("8.2.1", "XenServer", False), ("8.2.1", "XCP-ng", False),
    ("", "XenServer", False),
])
def test_hosts_older_than_xenopsd_can_be_killed_outside_xapi(version, brand, old):
    hosts = {MASTER: host(0), MEMBER: host(1, version, brand)}
    report = analyse(vm("web", 1, host=MEMBER, blocked=protected()),
                     vm("other", 2, host=MASTER, blocked=protected()),
                     vm("i-2-3-VM", 3, host=MEMBER), hosts=hosts)
    found = [f for f in report.findings if f.code == "forced-kill-outside-xapi"]
    if not old:
        assert found == []
        return
    assert [f.severity for f in found] == ["warning"]
    assert [h.name for h in found[0].hosts] == ["host1"]
    assert [i.name for i in found[0].vms] == ["web"]


def test_unenforceable_operations_are_always_noted():
    report = analyse()
    assert [f.code for f in report.findings] == ["power-state-reset", "guest-shutdown"]
    assert all(f.severity == "info" for f in report.findings)
    assert (report.verdict, report.exit_code) == (READY, 0)


# --- output ---------------------------------------------------------------------------------

def test_text_output_groups_by_severity_and_ends_with_the_verdict():
    report = analyse(vm("web", 1), vm("old", 2, power="Halted", affinity=MASTER,
                                      blocked=protected()),
                     vm("evil\x1b[2J", 3, blocked=protected()),
                     vm("tpl", 4, is_a_template=True))
    text = preflight.format_text(report)
    lines = text.splitlines()
    assert lines[-1] == "Verdict: not ready (1 error(s), 0 warning(s))"
    errors, notes = (text.index(h) for h in ("Errors", "Notes:"))
    assert errors < text.index("[alien-unprotected]") < notes < text.index("[affinity-cleared]")
    assert "CLOUDSTACK CONNECT" in text and "succeeds (csguard clears 1 VM affinity)" in text
    assert "\x1b" not in text
    assert "(1 control domain(s), template(s) and snapshot(s) ignored" in text
    assert "'tpl'" not in text


def test_json_output_carries_verdict_counts_and_findings():
    report = analyse(vm("web", 1, blocked=protected()), vm("i-2-10-VM", 2),
                     daemons={MASTER: daemon("leader"), MEMBER: Probe(NOT_INSTALLED, None, "x")})
    data = json.loads(json.dumps(preflight.to_dict(report)))
    assert data["verdict"] == READY_WITH_WARNINGS and data["exit-code"] == 1
    assert data["counts"]["vms"] == {"alien": 1, "exempt": 0, "cloudstack": 1, "ignored": 0}
    assert data["counts"]["findings"] == {"error": 0, "warning": 1, "info": 3}
    finding = next(f for f in data["findings"] if f["code"] == "csguard-not-installed")
    assert finding["hosts"][0]["name-label"] == "host1" and finding["severity"] == "warning"
    web = next(v for v in data["vms"] if v["name-label"] == "web")
    assert web["protected-by"] == "csguard" and web["blocked-by"]["destroy"] == "csguard"
    assert [h["csguard"] for h in data["hosts"]] == ["leading", "not installed"]


def test_json_keys_are_vm_lists_names_for_the_same_things():
    """One vocabulary for scripts: a VM's uuid, name, power state and class have the
    keys `vm-list --json` gives them, and every key is spelled xe's way (hyphens)."""
    from csguard.cli.listing import FIELDS
    report = analyse(vm("web", 1, blocked=protected()),
                     daemons={MASTER: daemon("leader"), MEMBER: daemon("standby")})
    data = preflight.to_dict(report)
    row = data["vms"][0]
    for key in ("uuid", "name-label", "power-state", "class", "rule", "reason"):
        assert key in FIELDS and key in row
    assert row["power-state"] == "running"

    def keys(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                yield key
                if key not in ("blocked-by",):
                    yield from keys(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from keys(inner)
    assert [k for k in keys(data) if "_" in k] == []


# --- collect ----------------------------------------------------------------------------------

class FakeXapi:
    """Answers XAPI calls from a table; a value that is an exception is raised."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def call(self, name, *args):
        self.calls.append((name,) + args)
        answer = self.answers[name]
        answer = answer(*args) if callable(answer) else answer
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_collect_reads_full_records_and_asks_every_host():
    vms = dict([vm("web", 1)])
    plugin = {MASTER: json.dumps({"running": True, "role": "leader"}),
              MEMBER: XapiError(["XENAPI_MISSING_PLUGIN", "csguard"])}
    xapi = FakeXapi({"VM.get_all_records": vms, "host.get_all_records": HOSTS,
                     "pool.get_all_records": {"OpaqueRef:pool": POOL},
                     "host.call_plugin": lambda host, *_: plugin[host]})
    facts = preflight.collect(xapi)
    assert (facts.vms, facts.hosts, facts.pool) == (vms, HOSTS, POOL)
    assert facts.daemons[MASTER] == Probe(ANSWERED, {"running": True, "role": "leader"}, None)
    assert facts.daemons[MEMBER].state == NOT_INSTALLED
    assert sorted(c[1:] for c in xapi.calls if c[0] == "host.call_plugin") == [
        (MASTER, "csguard", "status", {}), (MEMBER, "csguard", "status", {})]


@pytest.mark.parametrize("answer, state, error", [
    (XapiError(["XENAPI_PLUGIN_FAILURE", "non-zero exit", "",
                "Traceback (most recent call last):\n  File ...\nImportError: no XenAPI\n"]),
     NO_ANSWER, "XENAPI_PLUGIN_FAILURE: non-zero exit: ImportError: no XenAPI"),
    (XapiUnavailable("XAPI call host.call_plugin failed: timed out"), NO_ANSWER, "timed out"),
    ("not json", NO_ANSWER, "not a JSON object"),
    ("[1, 2]", NO_ANSWER, "not a JSON object"),
])
def test_a_plugin_that_does_not_answer_properly_is_unknown(answer, state, error):
    probe = preflight.probe_daemon(FakeXapi({"host.call_plugin": answer}), MEMBER)
    assert probe.state == state and error in probe.error
    assert preflight.daemon_state(probe)[0] == preflight.UNKNOWN
