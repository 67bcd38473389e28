"""The audit log follower: new complete lines only, through logrotate, a missing
file, and the task and the audit line of one asynchronous call counted once."""
import logging
import os

from csguard import auditlog
from csguard.daemon.attempts import Attempts
from csguard.daemon.auditfollow import AuditFollower
from xapisim import audit

REF = "OpaqueRef:5a3c1f52-8d1e-4b8e-9d2f-1c3b2a4d5e6f"
UUID = "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b3f"
REASON = "csguard: VM protected from CloudStack (not created by it)."


def refused(action="VM.destroy", user="root"):
    return audit.line(action, "LOCAL_SUPERUSER", user,
                      f"ERROR:OPERATION_BLOCKED: [ {REF}; {REASON} ]",
                      [("self", "web01", UUID, REF)]) + "\n"


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


def test_only_lines_written_after_the_start_are_read(tmp_path):
    path = str(tmp_path / "audit.log")
    append(path, refused())
    follower = AuditFollower(path)
    assert follower.poll() == []
    append(path, refused(user="cloud"))
    assert [r.by for r in follower.poll()] == ["cloud"]
    assert follower.poll() == []


def test_a_partial_line_waits_for_its_end(tmp_path):
    path = str(tmp_path / "audit.log")
    append(path, "")
    follower = AuditFollower(path)
    follower.poll()
    line = refused()
    append(path, line[:40])
    assert follower.poll() == []
    append(path, line[40:])
    assert len(follower.poll()) == 1


def test_a_rotated_log_is_finished_then_the_new_one_read_from_its_start(tmp_path):
    path = str(tmp_path / "audit.log")
    append(path, "")
    follower = AuditFollower(path)
    follower.poll()
    append(path, refused(user="before"))
    os.rename(path, path + ".1")
    append(path, refused(user="after"))
    assert [r.by for r in follower.poll()] == ["before", "after"]


def test_a_truncated_log_is_read_from_its_new_start(tmp_path):
    path = str(tmp_path / "audit.log")
    append(path, refused() * 3)
    follower = AuditFollower(path)
    follower.poll()
    with open(path, "w") as f:
        f.write(refused(user="new"))
    assert [r.by for r in follower.poll()] == ["new"]


def test_a_missing_log_is_quiet_and_read_once_it_appears(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="csguard")
    path = str(tmp_path / "audit.log")
    follower = AuditFollower(path)
    assert follower.poll() == [] and follower.poll() == []
    assert sum("cannot be read" in r.getMessage() for r in caplog.records) == 1
    append(path, "")
    follower.poll()
    append(path, refused(user="later"))
    assert [r.by for r in follower.poll()] == ["later"]


def test_a_log_that_appears_after_the_start_is_read_from_its_first_line(tmp_path):
    """rsyslog creates the file with the first line xapi audits, which may be a
    refusal: a file that was not there at the start holds nothing old."""
    path = str(tmp_path / "audit.log")
    follower = AuditFollower(path)
    assert follower.poll() == []
    append(path, refused(user="first"))
    assert [r.by for r in follower.poll()] == ["first"]


def test_no_path_reads_nothing():
    assert AuditFollower(None).poll() == []


class Status:
    def __init__(self):
        self.attempts, self.changes = [], 0

    def add_attempt(self, attempt):
        self.attempts.append(attempt)

    def attempts_changed(self):
        self.changes += 1


class Messenger:
    def __init__(self):
        self.sent = []

    def first_attempt(self, vm_uuid, operation):
        return True

    def blocked_attempt(self, xapi, vm_uuid, vm_name, operation, by=None):
        self.sent.append((vm_uuid, operation, by))


def failed_task(ref="OpaqueRef:task"):
    return {"ref": ref, "snapshot": {"status": "failure", "name_label": "Async.VM.destroy",
                                     "error_info": ["OPERATION_BLOCKED", REF, REASON]}}


def audit_refusal(user="root"):
    return auditlog.refusal(auditlog.parse(refused(user=user)))


def test_a_synchronous_refusal_is_an_attempt_with_who_made_it(tmp_path):
    status, messenger = Status(), Messenger()
    Attempts(messenger, str(tmp_path)).audit_refusal(None, audit_refusal(), {}, status, True)
    assert [(a["vm_uuid"], a["operation"], a["by"]) for a in status.attempts] == [
        (UUID, "destroy", "root")]
    assert messenger.sent == [(UUID, "destroy", "root")]


def test_an_async_call_seen_as_a_task_and_in_the_audit_log_is_one_attempt(tmp_path):
    vms = {REF: {"uuid": UUID, "name_label": "web01"}}
    for order in (("task", "audit"), ("audit", "task")):
        status, attempts = Status(), Attempts(Messenger(), str(tmp_path))
        for source in order:
            if source == "task":
                attempts.task_event(None, failed_task(), vms, status, False)
            else:
                attempts.audit_refusal(None, audit_refusal(), vms, status, False)
        assert len(status.attempts) == 1, order
        assert status.attempts[0]["by"] == "root"


def test_repeated_synchronous_refusals_are_each_an_attempt(tmp_path):
    status, attempts = Status(), Attempts(Messenger(), str(tmp_path))
    for _ in range(3):
        attempts.audit_refusal(None, audit_refusal(), {}, status, False)
    assert len(status.attempts) == 3
