"""auditlog: xapi's RBAC audit lines, built here the way xen-api writes them, and
the refusals by csguard's blocks found in them."""
import pytest
from csguard import auditlog
from xapisim import audit

REF = "OpaqueRef:5a3c1f52-8d1e-4b8e-9d2f-1c3b2a4d5e6f"
UUID = "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b3f"
REASON = ("csguard: VM protected from CloudStack (not created by it). To allow "
          "shutdown/destroy run on a pool host: csguard vm-unblock uuid=" + UUID +
          " reason=<why>")


def audit_line(action="VM.destroy", result=None, arg="self", name="web01", uuid=UUID,
               ref=REF, subject=("LOCAL_SUPERUSER", "root"), verdict="ALLOWED"):
    """One line of /var/log/audit.log as xapi writes it (xapisim.audit)."""
    if result is None:
        result = f"ERROR:OPERATION_BLOCKED: [ {ref}; {REASON} ]"
    text = audit.line(action, subject[0], subject[1], result, [(arg, name, uuid, ref)],
                      at=1796289342.123)
    return text.replace("'ALLOWED'", f"'{verdict}'", 1)


def test_a_destroy_refused_by_csguards_block_is_a_refusal_with_who_and_when():
    found = auditlog.refusal(auditlog.parse(audit_line()))
    assert found == auditlog.Refusal("2026-12-03T09:15:42Z", "destroy", REF, UUID, "web01",
                                     "root", REASON)


def test_a_hard_shutdown_names_its_vm_argument_vm():
    line = audit_line(action="VM.hard_shutdown", arg="vm",
                      result=f"ERROR:OPERATION_BLOCKED: [ {REF}; {REASON} ]")
    found = auditlog.refusal(auditlog.parse(line))
    assert (found.operation, found.vm_uuid, found.vm_name) == ("hard_shutdown", UUID, "web01")


def test_a_directory_user_is_named_by_the_user_name():
    line = audit_line(subject=("S-1-5-21-1004336348-1177238915-682003330-512",
                               "EXAMPLE\\cloudstack"))
    assert auditlog.refusal(auditlog.parse(line)).by == "EXAMPLE\\cloudstack"


def test_an_emergency_local_session_has_no_name_and_is_named_by_its_subject():
    line = audit_line(subject=("LOCAL_SESSION", ""))
    assert auditlog.refusal(auditlog.parse(line)).by == "LOCAL_SESSION"


def test_names_outside_ascii_and_quotes_survive_both_escapes():
    line = audit_line(name="modèle l'ancien \\ 仮想")
    assert "\\xc3\\xa8" in line
    assert auditlog.refusal(auditlog.parse(line)).vm_name == "modèle l'ancien \\ 仮想"


@pytest.mark.parametrize("result", [
    "OK",
    f"ERROR:OPERATION_BLOCKED: [ {REF}; true ]",        # Xen Orchestra's block
    f"ERROR:OPERATION_BLOCKED: [ {REF}; protected by the admin ]",
    f"ERROR:VM_BAD_POWER_STATE: [ {REF}; halted; running ]",
    "ERROR:SESSION_INVALID: [ OpaqueRef:x ]",
])
def test_other_outcomes_and_other_blocks_are_not_csguards_refusals(result):
    assert auditlog.parse(audit_line(result=result)) is not None
    assert auditlog.refusal(auditlog.parse(audit_line(result=result))) is None


def test_a_denied_call_is_not_a_refusal_by_a_block():
    assert auditlog.refusal(auditlog.parse(audit_line(verdict="DENIED", result=""))) is None


@pytest.mark.parametrize("line", [
    "",
    "Dec  3 09:15:42 xs-0 xapi: [20261203T09:15:42.123Z|debug|xs-0|12 ||xapi] hello",
    "Dec  3 09:15:42 xs-0 xapi: [20261203T09:15:42.123Z|audit||1 x|y|audit] ('unbalanced'",
    "Dec  3 09:15:42 xs-0 xapi: [20261203T09:15:42.123Z|audit||1 x|y|audit] ('a' 'b')",
    "no brackets at all",
    "Dec  3 09:15:42 xs-0 xapi: [20261203T09:15:42.123Z|audit||1 x|y|audit] 'unterminated",
])
def test_lines_that_are_not_audit_records_are_none(line):
    assert auditlog.parse(line) is None


def test_a_refusal_whose_vm_is_not_among_the_arguments_keeps_the_ref():
    line = audit_line(ref="OpaqueRef:other")
    line = line.replace("[ OpaqueRef:other; csguard", f"[ {REF}; csguard")
    found = auditlog.refusal(auditlog.parse(line))
    assert (found.vm_ref, found.vm_uuid, found.vm_name) == (REF, None, None)
