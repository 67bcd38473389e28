"""Hostile VM data, end to end through the daemon: names built to confuse (unicode,
control characters, huge, almost CloudStack's), other_config values imitating
csguard's own records in wrong formats, and guest-writable data claiming CloudStack
ownership or an exemption. None may keep a VM from being protected, break the
daemon, or forge a log line.

The same inputs against classify() alone are tests/unit/test_classify.py's (including
guest_metrics, which the simulator does not model); names with C0 control characters
other than tab, newline and carriage return cannot travel in XML-RPC at all (the
simulator sends them raw and no client can parse the answer), so they are not here.
"""
import json
import time

from csguard import records
from integration.daemon_runner import missing_blocks
from xapisim.testing import unix_session

from faults.invariant import LOG_LINE, Watched, assert_recovered

NAMES = [
    "web\n01", "tab\there", "del\x7fete", "c1\x85\x9b[2J cleared", "\u202eMV-5-2-i",
    "i-2-5-VM\u200b", "\ufeffi-2-5-VM", "\u0456-2-5-VM", "i-\uff12-5-VM", "i-2-5-VM ",
    " i-2-5-VM", "I-2-5-VM", "i-2-5-vm", "i-2-5-VMX", "i-2-5-VM-clone", "i-2-5-VM.bak",
    "i-2--VM", "i-a-5-VM", "i-2-5-", "-2-5-VM", "x-2-5-VM", "r-5-VM2", "ns-1-vpx",
    "NS-1-Vpx ", "i-2-5-VM\n", "i-2-5-VM\ni-2-6-VM", "\U0001f980 i-2-5-VM", "",
    "x" * 65536, "i-2-5-VM" + "\u0300" * 1000, "'; DROP TABLE vms; --", "$(reboot)",
    "</value></member><member><name>name_label</name><value>i-2-5-VM",
    "2026-11-25T04:10:05Z ERROR forged log line",
]
CLOUDSTACK_NAMES = ["i-2-5-VM", "r-7-VM", "s-1-VM", "v-2-VM", "NS-1-Vpx"]


def _valid_exemption(uuid="00000000-0000-4000-8000-000000000000"):
    """Valid in form; granted for a VM that is not the one the tests put it on, where
    it is void (exemptions bind to the VM they were granted for)."""
    now = time.time()
    return records.format_exemption(records.Exemption("root", now - 60, None, "looks valid",
                                                      uuid))


def _imitations():
    """other_config maps imitating csguard's records; none is a valid exemption."""
    valid = json.loads(_valid_exemption())
    past = dict(valid, until="2001-01-01T00:00:00Z")
    return [
        {records.KEY_EXEMPTION: "{}"},
        {records.KEY_EXEMPTION: "not json"},
        {records.KEY_EXEMPTION: json.dumps(past)},
        {records.KEY_EXEMPTION: json.dumps(dict(valid, until="never"))},
        {records.KEY_EXEMPTION: json.dumps({k: v for k, v in valid.items() if k != "by"})},
        {records.KEY_EXEMPTION: json.dumps(dict(valid, extra="field"))},
        {records.KEY_EXEMPTION: json.dumps([valid])},
        {records.KEY_EXEMPTION: json.dumps(valid)[:-1] + ', "by": "mallory"}'},
        {records.KEY_EXEMPTION: json.dumps(dict(valid, reason="x" * 5000))},
        {records.KEY_EXEMPTION: json.dumps(dict(valid, at="2026-11-25 04:10:05"))},
        {records.KEY_EXEMPTION: json.dumps(dict(valid, until=1e300))},
        {records.KEY_EXEMPTION: json.dumps(valid).replace('"by": ', '"by": NaN, "_": ')},
        {records.KEY_EXEMPTION.upper(): _valid_exemption()},
        {records.KEY_EXEMPTION + " ": _valid_exemption()},
        {"csguard:override": "Allow"}, {"csguard:override": "allow "},
        {"csguard:override": "allow\n"}, {"csguard:override": "ALLOW"},
        {records.KEY_VERDICT: "exempt since 2026-11-25T04:10:05Z: forged"},
        {records.KEY_VERDICT: "cloudstack since 2026-11-25T04:10:05Z: forged"},
    ]


def _guest_claims():
    """xenstore_data a guest (or its tools) could write, claiming CloudStack or csguard."""
    return {"vm-data/csguard:exemption": _valid_exemption(),
            records.KEY_EXEMPTION: _valid_exemption(),
            "vm-data/cloudstack/name": "i-2-5-VM", "csguard:override": "allow",
            "vm-data/name_label": "i-2-5-VM"}


def _seed(sim, watched, prefix):
    specs = [{"name_label": name} for name in NAMES]
    specs += [{"name_label": f"{prefix}imitation {i}", "other_config": other}
              for i, other in enumerate(_imitations())]
    created = [uuid for _, uuid in sim.seed_vms(specs)]
    claimed = sim.create_vm(f"{prefix}guest says CloudStack")[1]
    sim.modify_vm(claimed, "xenstore_data", _guest_claims())
    watched.aliens += created + [claimed]
    return created + [claimed]


def test_hostile_vm_data_never_prevents_protection(sim, fleet, tmp_path):
    watched = Watched()
    watched.cloudstack += [sim.create_vm(name)[1] for name in CLOUDSTACK_NAMES]
    lookalike = {"destroy": " csguard: leading space", "pause": "csguard-ish", "suspend": ""}
    _, near = sim.create_vm("i-2-8-VM", blocked_operations=lookalike)
    watched.cloudstack.append(near)
    watched.foreign[near] = lookalike
    # The marker is what makes an entry csguard's: one written by anyone else with it
    # is taken for csguard's own and removed from a CloudStack VM.
    _, marked = sim.create_vm("i-2-9-VM", blocked_operations={"destroy": "csguard: by hand"})
    watched.cloudstack.append(marked)
    first = _seed(sim, watched, "adopted ")
    daemon = fleet.start(sim.unix_url(0), str(tmp_path / "state"))
    daemon.wait_ready()
    assert missing_blocks(sim, first) == {}
    _seed(sim, watched, "live ")  # the same again, arriving as events
    assert_recovered(sim, watched, fleet, levels=("INFO",), said=r"^protected VM '\\u202eMV")

    # A guest rewriting its xenstore data on a protected VM changes nothing.
    claimed = watched.aliens[-1]
    sim.reset_call_counts()
    sim.modify_vm(claimed, "xenstore_data", dict(_guest_claims(), again="1"))
    _, sentinel = sim.create_vm("sentinel")
    watched.aliens.append(sentinel)
    assert_recovered(sim, watched, fleet, levels=("INFO",), said=r"^protected VM 'sentinel'")
    assert not sim.call_counts().get("VM.remove_from_blocked_operations")

    for uuid in watched.aliens:
        verdict = records.parse_verdict(sim.vm_record(uuid)["other_config"][records.KEY_VERDICT])
        assert verdict[0] == "alien"
    lines = daemon.logs().splitlines()
    forged = [line for line in lines if not LOG_LINE.match(line)]
    assert forged == [], "a VM name broke a log line"
    assert not [line for line in lines if "\x9b" in line or "\u202e" in line]
    assert len(max(lines, key=len)) < 2000, "a huge name reached the log unabridged"
    daemon.wait_until(lambda: (daemon.status_file() or {}).get("protected") == len(
        watched.aliens), what="status.json counting every alien as protected")
    session = unix_session(sim.socket_path(0))
    try:
        bodies = [m["body"] for m in session.xenapi.message.get_all_records().values()]
    finally:
        session.xenapi.session.logout()
    assert bodies and not [b for b in bodies if "\x9b" in b or "\n" in b or len(b) > 4000]
