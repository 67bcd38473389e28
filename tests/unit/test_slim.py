"""The slim records the daemon keeps: only what classify and plan read, and still
enough for plan to tell an import under way from one that ended."""
from csguard import config
from csguard.classify import ALIEN, Verdict
from csguard.plan import plan
from csguard.xapi import Xapi

UUID = "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b3f"
ALIEN_VERDICT = Verdict(ALIEN, "no-cloudstack-name", "name 'web01' is not a CloudStack name")


def record(**fields):
    base = {"uuid": UUID, "name_label": "web01", "is_control_domain": False,
            "is_a_template": False, "is_a_snapshot": False, "other_config": {"xo:x": "1"},
            "tags": [], "blocked_operations": {}, "power_state": "Running",
            "affinity": "OpaqueRef:NULL", "current_operations": {}, "memory_static_max": "1"}
    base.update(fields)
    return base


def slim(full):
    return Xapi("unix:///nonexistent").slim_vm(full)


def test_an_empty_current_operations_is_left_out_and_other_fields_too():
    kept = slim(record())
    assert "current_operations" not in kept and "memory_static_max" not in kept
    assert kept["other_config"] == {}
    assert plan(kept, ALIEN_VERDICT, config.Config(), 0.0, {}) != ()


def test_an_import_under_way_is_kept_so_nothing_is_written():
    kept = slim(record(current_operations={"OpaqueRef:t": "import"}))
    assert kept["current_operations"] == {"OpaqueRef:t": "import"}
    assert plan(kept, ALIEN_VERDICT, config.Config(), 0.0, {}) == ()
