"""Tasks: which calls leave one, how long a finished one stays, and the task GC."""
import time

from xapisim.pool import MAX_TASKS
from xapisim.testing import failure_of


def _wait_done(x, task):
    deadline = time.time() + 10
    while x.task.get_status(task) == "pending" and time.time() < deadline:
        time.sleep(0.01)
    return x.task.get_status(task)


def test_a_refused_synchronous_call_leaves_no_task_in_event_from(x, vm):
    """context.ml of_http_req / server_helpers.ml: a synchronous call's task is created,
    failed and destroyed inside the call, and event.from skips an object created and
    deleted after the token (xapi_event.ml from_inner)."""
    x.VM.add_to_blocked_operations(vm, "hard_shutdown", "csguard: no")
    token = x.event_from(["task"], "", 0.0)["token"]
    assert failure_of(x.VM.hard_shutdown, vm)[0] == "OPERATION_BLOCKED"
    assert x.event_from(["task"], token, 0.3)["events"] == []
    assert x.task.get_all() == []


def test_a_failed_async_task_stays_until_the_task_gc_removes_it(sim, x, vm):
    """db_gc_util.ml timeout_tasks: completed tasks go 65 minutes after they finished
    (xapi_globs.ml completed_task_timeout)."""
    x.VM.add_to_blocked_operations(vm, "hard_shutdown", "csguard: no")
    token = x.event_from(["task"], "", 0.0)["token"]
    task = x.Async.VM.hard_shutdown(vm)
    assert _wait_done(x, task) == "failure"
    events = x.event_from(["task"], token, 1.0)
    assert task in {e["ref"] for e in events["events"]}
    assert x.task.get_error_info(task)[0] == "OPERATION_BLOCKED"
    assert sim.gc_tasks(advance=64 * 60) == [] and task in x.task.get_all()
    assert sim.gc_tasks(advance=66 * 60) == [task]
    (gone,) = x.event_from(["task"], events["token"], 1.0)["events"]
    assert (gone["operation"], gone["ref"]) == ("del", task)


def test_the_task_gc_removes_pending_tasks_after_24_hours(sim, x):
    """xapi_globs.ml pending_task_timeout: 24 h."""
    task = x.task.create("stuck", "")
    assert sim.gc_tasks(advance=23 * 3600) == []
    assert sim.gc_tasks(advance=25 * 3600) == [task]


def test_the_task_gc_keeps_at_most_max_tasks_dropping_the_oldest_completed(sim, x, vm):
    """timeout_tasks: beyond Xapi_globs.max_tasks (200) young tasks, the completed ones
    finished first go; pending ones stay."""
    pending = x.task.create("pending", "")
    finished = []
    for _ in range(MAX_TASKS + 2):
        finished.append(x.Async.VM.assert_operation_valid(vm, "snapshot"))
    for task in finished:
        _wait_done(x, task)
    removed = sim.gc_tasks()
    assert len(removed) == 3 and pending not in removed
    assert len(x.task.get_all()) == MAX_TASKS
