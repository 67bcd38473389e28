"""Finding a running daemon by its command line (csguard.cli.daemons), on a fake /proc."""
import json
import os

from csguard.cli import daemons

URL = "unix:///run/xapi.sock"


def fake_process(proc, pid, argv, cwd, report_pid=None, state_dir=None):
    directory = proc / str(pid)
    directory.mkdir()
    (directory / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    os.symlink(str(cwd), str(directory / "cwd"))
    if state_dir is not None:
        os.makedirs(str(state_dir), exist_ok=True)
        (state_dir / "status.json").write_text(json.dumps({"pid": report_pid or pid}))


def test_a_daemon_is_found_by_its_flags_and_confirmed_by_its_report(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    state = tmp_path / "state"
    fake_process(proc, 4242, ["/usr/bin/python3", "/usr/bin/csguard", "daemon",
                              "--xapi-url", URL, "--state-dir=" + str(state)], tmp_path,
                 state_dir=state)
    assert daemons.running_daemons(URL, proc=str(proc)) == [(4242, str(state))]
    assert daemons.running_daemons("unix:///other.sock", proc=str(proc)) == []


def test_relative_paths_are_the_daemons_and_global_options_count(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    fake_process(proc, 7, ["python3", "-m", "csguard", "--state-dir", "st", "daemon",
                           "--xapi-url", URL], tmp_path, state_dir=tmp_path / "st")
    assert daemons.running_daemons(URL, proc=str(proc)) == [(7, str(tmp_path / "st"))]


def test_a_stale_report_or_another_program_is_not_a_daemon(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    fake_process(proc, 8, ["csguard", "daemon", "--xapi-url", URL, "--state-dir",
                           str(tmp_path / "a")], tmp_path, report_pid=9,
                 state_dir=tmp_path / "a")
    fake_process(proc, 10, ["vim", "daemon", "--xapi-url", URL, "--state-dir",
                            str(tmp_path / "b")], tmp_path, state_dir=tmp_path / "b")
    (proc / "self").mkdir()
    assert daemons.running_daemons(URL, proc=str(proc)) == []
