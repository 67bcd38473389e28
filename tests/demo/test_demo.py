"""The demo runs from the command line, shows the expected outcome, leaves nothing behind."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def csguard_demo_processes():
    """Processes still running with the demo's state directory in their command line."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"csguard-demo-" in f.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def test_demo_loses_vms_without_csguard_and_none_with_it():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(REPO, "dom0-plugin"), os.path.join(REPO, "tests")]))
    result = subprocess.run([sys.executable, "-m", "demo"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=240, check=False)
    out = result.stdout
    assert result.returncode == 0, out
    assert "without csguard: 3 of 4 VMs CloudStack did not create were destroyed" in out
    assert "with csguard:    0 destroyed, 0 shut down" in out
    # Every host connects with csguard: the halted VM's home server was recorded, cleared.
    assert out.count("connected") >= 4 and "FAILED" not in out
    assert "its home server host 0 is in other_config:csguard:affinity" in out
    # CloudStack's log carries csguard's reason, and the listing shows the verdicts.
    assert "OPERATION_BLOCKED" in out and "csguard vm-unblock uuid=" in out
    assert out.count("class ( RO): alien") == 4
    assert "demo: as expected" in out
    assert csguard_demo_processes() == []
