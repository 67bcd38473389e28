"""The daemon and preflight on a pool of real VM records (../shared/realdata: public
records of XenServer 4.x to 7.x, read from there, never copied; skipped without it)."""
import json
import os
import subprocess
import sys

import pytest
from csguard import classify, config
from xapisim import Simulator, realdata

from integration.daemon_runner import DaemonRunner, missing_blocks

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIRECTORY = realdata.default_dir(REPO)
pytestmark = pytest.mark.skipif(DIRECTORY is None, reason="no ../shared/realdata here")


@pytest.fixture(scope="module")
def real_pool():
    with Simulator(hosts=2) as sim:
        loaded = sim.load_real_vms(DIRECTORY)
        before = {uuid: sim.vm_record(uuid) for _source, uuid in loaded}
        kinds = {uuid: classify.classify(record, config.Config(), 0.0).kind
                 for uuid, record in before.items()}
        yield sim, loaded, before, kinds


def test_every_real_record_loads(real_pool):
    _sim, loaded, _before, kinds = real_pool
    assert len(loaded) > 150
    assert {source.split("/")[0].split()[0] for source, _ in loaded} >= {
        "xenadmin", "sas_xenent.json", "ansible_vm_params.json", "xs55_ova_vm.xml"}
    assert set(kinds.values()) >= {classify.ALIEN, classify.IGNORED}


def test_the_daemon_protects_every_real_alien_and_touches_nothing_else(real_pool, tmp_path):
    sim, _loaded, before, kinds = real_pool
    aliens = [uuid for uuid, kind in kinds.items() if kind == classify.ALIEN]
    with DaemonRunner(sim.unix_url(0), str(tmp_path / "state")) as daemon:
        daemon.wait_ready()
        daemon.wait_until(lambda: not missing_blocks(sim, aliens), what="every alien protected")
        for uuid, kind in kinds.items():
            if kind != classify.ALIEN:
                record = sim.vm_record(uuid)
                assert record["blocked_operations"] == before[uuid]["blocked_operations"], uuid
                assert record["other_config"] == before[uuid]["other_config"], uuid
    assert "Traceback" not in daemon.logs()


def test_preflight_reports_every_real_vm(real_pool, tmp_path):
    sim, _loaded, _before, kinds = real_pool
    conf = tmp_path / "csguard.yaml"
    conf.write_text("protection:\n  mode: enforce\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "dom0-plugin"),
               CSGUARD_CONFIG=str(conf))
    child = subprocess.Popen([sys.executable, "-m", "csguard", "preflight", "--json",
                              "--xapi-url", sim.unix_url(0), "--state-dir", str(tmp_path)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True)
    out, err = child.communicate(timeout=120)
    assert child.returncode in (0, 1, 2), err
    report = json.loads(out)
    rows = {row["uuid"]: row for row in report["vms"]}
    assert set(kinds) <= set(rows)
    assert all(rows[uuid]["class"] == kind for uuid, kind in kinds.items())


def test_every_real_snapshot_is_called_a_snapshot(real_pool):
    """Issue 18: XAPI marks every snapshot a template too."""
    _sim, _loaded, before, _kinds = real_pool
    snapshots = [r for r in before.values() if r["is_a_snapshot"]]
    assert snapshots and all(r["is_a_template"] for r in snapshots)
    for record in snapshots:
        verdict = classify.classify(record, config.Config(), 0.0)
        assert (verdict.kind, verdict.rule) == (classify.IGNORED, "snapshot")
