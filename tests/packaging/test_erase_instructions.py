"""The xe commands an erase prints to remove csguard's blocks, run as an operator
would paste them, against the simulator: they remove csguard's entries and every
record csguard keeps in other_config, and nothing written by anyone else."""
import os
import shutil
import subprocess
import sys

from csguard import records
from xapisim import Simulator

from .conftest import REPO, query

XE = '''#!{python}
"""The xe commands the erase instructions use, over the simulator's XAPI, printing
what xe prints (maps as "key: value; key: value")."""
import sys

import XenAPI

command = sys.argv[1]
params = dict(arg.split("=", 1) for arg in sys.argv[2:] if "=" in arg)
session = XenAPI.Session({url!r})
session.login_with_password("root", "xenroot", "2.0", "xe")
api = session.xenapi
try:
    if command == "vm-list" and sys.argv[2:] == ["--minimal"]:
        records = api.VM.get_all_records().values()
        print(",".join(r["uuid"] for r in records if not r["is_a_template"]))
    elif command == "vm-param-get" and params["param-name"] == "affinity":
        host = api.VM.get_affinity(api.VM.get_by_uuid(params["uuid"]))
        try:
            print(api.host.get_uuid(host))
        except XenAPI.Failure:
            print("<not in database>")          # xe's text for a NULL or dangling ref
    elif command == "vm-param-set" and set(params) == {{"uuid", "affinity"}}:
        vm = api.VM.get_by_uuid(params["uuid"])
        try:
            api.VM.set_affinity(vm, api.host.get_by_uuid(params["affinity"]))
        except XenAPI.Failure as failure:
            sys.exit("The uuid you supplied was invalid. %s" % failure.details)
    elif command in ("vm-param-get", "vm-param-remove"):
        vm = api.VM.get_by_uuid(params["uuid"])
        field = params["param-name"].replace("-", "_")
        value = getattr(api.VM, "get_" + field)(vm)
        key = params.get("param-key")
        if command == "vm-param-remove":
            getattr(api.VM, "remove_from_" + field)(vm, key)
        elif key is None:
            print("; ".join("%s: %s" % item for item in value.items()))
        elif key in value:
            print(value[key])
        else:
            sys.exit("Error: Key %s not found in map" % key)
    else:
        sys.exit("xe stand-in: unsupported command " + " ".join(sys.argv[1:]))
finally:
    api.session.logout()
'''


# What others write in other_config: kept. The override key is the operator's (csguard
# only reads it), and a value may imitate a csguard key.
OTHERS_KEYS = {
    "keep": "me",
    "csguard:override": "protect",
    "XenCenter.CustomFields.note": "moved; csguard:verdict: alien since",
}


def csguards_records():
    """A value for every other_config key csguard writes (each records.KEY_*), and for
    a csguard: key a newer version might write."""
    keys = [getattr(records, name) for name in dir(records) if name.startswith("KEY_")]
    assert records.KEY_VERDICT in keys and records.KEY_EXEMPTION in keys
    found = {key: "a record" for key in keys + ["csguard:newer-record"]}
    found[records.KEY_VERDICT] = records.format_verdict(
        "alien", 1764000000.0, "no CloudStack name; csguard:override: x")
    found[records.KEY_EXEMPTION] = (
        '{"at": "2026-01-05T10:00:00Z", "by": "root", "reason": "moving; it", '
        '"until": "2026-01-05T12:00:00Z"}')
    return found


def erase_loop(rpm_path):
    """The shell loop the erase prints: from `for vm in` to its closing `done`."""
    lines = query(rpm_path, "--qf", "%{POSTUN}").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("for vm in"))
    end = next(i for i, line in enumerate(lines) if i > start and line == "done")
    return "\n".join(lines[start:end + 1])


def run_erase_loop(rpm_path, sim, tmp_path):
    """Run the loop the RPM prints, with an `xe` that talks to sim."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "xe").write_text(XE.format(python=sys.executable, url=sim.tcp_url))
    (bin_dir / "xe").chmod(0o755)
    env = dict(os.environ, PATH=str(bin_dir) + os.pathsep + os.environ["PATH"])
    shell = shutil.which("bash") or "/bin/sh"
    process = subprocess.Popen([shell, "-c", erase_loop(rpm_path)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True)
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, out + err
    return out


def test_printed_xe_loop_removes_only_csguards_entries(rpm_path, tmp_path):
    with Simulator(hosts=1) as sim:
        _, web = sim.create_vm("web-01", other_config={"keep": "me"})
        blocked = {op: records.blocked_reason(web)
                   for op in ("clean_shutdown", "hard_shutdown", "shutdown", "destroy")}
        blocked["pause"] = "true"
        sim.modify_vm(web, "blocked_operations", blocked)
        sim.modify_vm(web, "other_config", dict(OTHERS_KEYS, **csguards_records()))
        _, xo = sim.create_vm("xo-protected", blocked_operations={"destroy": "true"})
        _, admin = sim.create_vm("admin-protected", blocked_operations={
            "clean_shutdown": "ask Bob first; csguard: has nothing to do with it"})
        before = {uuid: sim.vm_record(uuid)["blocked_operations"] for uuid in (xo, admin)}

        run_erase_loop(rpm_path, sim, tmp_path)

        assert sim.vm_record(web)["blocked_operations"] == {"pause": "true"}
        assert sim.vm_record(web)["other_config"] == OTHERS_KEYS
        for uuid, blocks in before.items():
            assert sim.vm_record(uuid)["blocked_operations"] == blocks


def test_printed_xe_loop_gives_back_the_affinities_csguard_cleared(rpm_path, tmp_path):
    with Simulator(hosts=2) as sim:
        host_uuid, null = sim.host_uuids[1], "OpaqueRef:NULL"
        gone = "6c5b4a39-2817-4f06-9e5d-4c3b2a1f0e9d"
        cases = {   # name: (affinity, record) before -> affinity after
            "cleared": ((None, host_uuid), sim.host_refs[1]),
            "host gone": ((None, gone), null),
            "set since": ((0, host_uuid), sim.host_refs[0]),
            "never cleared": ((None, None), null),
        }
        uuids = {}
        for name, ((affinity, record), _) in cases.items():
            other = {} if record is None else {records.KEY_AFFINITY: record}
            uuids[name] = sim.create_vm(name, power_state="Halted", affinity=affinity,
                                        other_config=other)[1]
        out = run_erase_loop(rpm_path, sim, tmp_path)
        for name, (_, after) in cases.items():
            record = sim.vm_record(uuids[name])
            assert (name, record["affinity"]) == (name, after)
            assert records.KEY_AFFINITY not in record["other_config"]
        assert f"VM {uuids['host gone']}: home server {gone} not restored" in out




def test_readme_gives_the_loop_the_erase_prints(rpm_path):
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert erase_loop(rpm_path) in readme
