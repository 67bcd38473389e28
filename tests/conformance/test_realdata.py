"""Real records (../shared/realdata, read from there; skipped without it) served by
the simulator as XAPI serves its own."""
import os

import pytest
from xapisim import realdata

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIRECTORY = realdata.default_dir(REPO)


def test_the_database_s_expressions_read_as_xapi_writes_them():
    """ocaml/libs/sexpr/sExpr.ml: strings quoted, a backslash escapes a quote or a
    backslash; maps are lists of two-element lists (database/db_xml.ml writes them)."""
    assert realdata.sexpr("(('a' 'b') ('it\\'s' 'c\\\\d'))") == {"a": "b", "it's": "c\\d"}
    assert realdata.sexpr("('x' 'y')") == ["x", "y"]
    assert realdata.sexpr("()") == []


@pytest.mark.skipif(DIRECTORY is None, reason="no ../shared/realdata here")
def test_real_records_are_served_with_their_own_fields(sim, x):
    loaded = sim.load_real_vms(DIRECTORY)
    by_uuid = {record["uuid"]: record for _source, record in realdata.vm_records(DIRECTORY)}
    served = x.VM.get_all_records()
    for _source, uuid in loaded:
        ref = x.VM.get_by_uuid(uuid)
        record, original = served[ref], by_uuid[uuid]
        for field in ("name_label", "is_a_template", "is_a_snapshot", "is_control_domain"):
            if field in original:
                assert record[field] == original[field], (uuid, field)
        assert record["tags"] == list(original.get("tags") or [])
