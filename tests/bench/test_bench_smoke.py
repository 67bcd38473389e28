"""The benchmark runs end to end at a tiny size and protects every alien.

Behaviour only: the numbers it measures are never asserted.
"""
import json
import sys

from bench.__main__ import main

EXPECTED_SIZE_KEYS = {"vms", "aliens", "write_s", "floor_s", "latency", "adoption", "steady",
                      "load_per_hour", "memory", "csguard_to_poller"}


def test_benchmark_completes_and_protects_every_alien(tmp_path, capsys):
    out = tmp_path / "results.json"
    status = main(["--sizes", "20", "--out", str(out), "--pythons", sys.executable,
                   "--repeats", "1",
                   "--new-aliens", "5", "--alien-rate", "20", "--modifications", "40",
                   "--idle-seconds", "0.5", "--poller-interval", "0.5",
                   "--slow-api-s", "0.5"])
    assert status == 0
    results = json.loads(out.read_text())
    assert {"machine", "pythons", "settings", "sizes", "memory", "goals"} <= set(results)
    size = results["sizes"]["20"]
    assert EXPECTED_SIZE_KEYS <= set(size)
    assert size["adoption"]["csguard"]["unprotected_aliens"] == 0
    assert size["latency"]["csguard"]["unprotected"] == 0
    assert size["latency"]["poller"]["unprotected"] == 0
    assert size["latency"]["csguard"]["all_blocks"]["n"] == 5
    assert size["adoption"]["csguard"]["writes"] >= size["adoption"]["bare"]["writes"] > 0
    assert size["steady"]["writes_per_1000"] == 0
    goals = {goal["goal"]: goal["met"] for goal in results["goals"]}
    assert goals["every alien protected"] is True
    assert results["slow_api"]["slow"]["all_blocks"]["n"] == 5
    assert "Goals:" in capsys.readouterr().out
