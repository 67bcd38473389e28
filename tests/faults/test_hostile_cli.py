"""Hostile command lines that tests/integration/test_cli_errors.py leaves out: a
newline after a uuid or inside a key, a carriage return in a reason, a lookalike
letter in the command name. Each is one usage error (exit 64) and changes nothing."""
import pytest
from integration.test_cli import (
    pool_sim,  # noqa: F401 - the sim fixture
    run_cli,
)

UUID = "0f0e0d0c-0b0a-4909-8807-060504030201"


@pytest.mark.parametrize("args, text", [
    (["vm-unblock", "uuid=" + UUID + "\n"], "is not a uuid"),
    (["vm-unblock", "uuid\n=" + UUID], "unknown argument"),
    (["vm-unblock", "vm=web-01", "reason=</value>\r"], "reason="),
    (["vm-ｕnblock", "vm=web-01"], "unknown command"),
])
def test_hostile_cli_arguments_are_refused(sim, args, text):
    before = {uuid: sim.vm_record(uuid) for uuid in sim.vms.values()}
    result = run_cli(sim, *args)
    assert result.returncode == 64 and result.stdout == ""
    assert text in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert {uuid: sim.vm_record(uuid) for uuid in sim.vms.values()} == before

