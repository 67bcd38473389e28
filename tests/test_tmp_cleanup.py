"""A test run leaves no temporary directory behind (issue: each `make test` left
hundreds of /tmp/xs-* and /tmp/cg-* folders)."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_run_removes_every_directory_it_made(tmp_path):
    report = tmp_path / "made.txt"
    tests = ["tests/integration/test_cli_daemon.py::test_status_reads_the_running_daemons_report",
             "tests/integration/test_plugin.py::test_vm_list_returns_json_filtered_like_the_cli"]
    env = dict(os.environ, CSGUARD_TEST_TMP_REPORT=str(report))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             *tests], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert result.returncode == 0, result.stdout
    made = report.read_text().split()
    assert any(os.path.basename(p).startswith("xs-") for p in made), made
    assert any(os.path.basename(p).startswith("cg-") for p in made), made
    assert [p for p in made if os.path.exists(p)] == []
