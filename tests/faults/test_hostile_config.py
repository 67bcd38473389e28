"""A running daemon is sent SIGHUP over a configuration file that has become bad in
every way we could think of: it refuses each one with an error naming the file and
the problem, and goes on protecting under the configuration it had.

The same files refused at start-up and by the parser are tests/unit/test_config.py's
(and tests/integration/test_daemon_signals.py's for the daemon's exit status); a
credentials file others can read, refused on SIGHUP, is test_security.py's."""
import os
import signal

from faults.invariant import Watched, assert_recovered


def _text(text):
    """Writes `text`, with {work} replaced by the test's directory."""
    def write(path, work):
        with open(path, "w") as f:
            f.write(text.replace("{work}", work))
    return write


def _bytes(data):
    def write(path, work):
        with open(path, "wb") as f:
            f.write(data)
    return write


def _removed(path, work):
    """Nothing there (each case starts from an empty place)."""


def _directory(path, work):
    os.mkdir(path)


BAD = [
    ("malformed YAML", _text("cloudstack:\n  instance_names: [PROD\n"), "is not valid YAML"),
    ("tab indentation", _text("cloudstack:\n\tinstance_names: [PROD]\n"), "is not valid YAML"),
    ("wrong type", _text("cloudstack:\n  instance_names: PROD\n"),
     "must be a list of CloudStack instance names"),
    ("boolean for text", _text("protection:\n  mode: off\n"), "not the boolean false"),
    ("unknown operation", _text("protection:\n  block_operations: [destroy, reboot]\n"),
     "'reboot' is not a XAPI VM operation"),
    ("operation XAPI never checks",
     _text("protection:\n  block_operations: [destroy, power_state_reset]\n"),
     "power_state_reset cannot be blocked"),
    ("misspelt key", _text("cloudstack:\n  instance_name: [PROD]\n"),
     "did you mean cloudstack.instance_names?"),
    ("python object tag",
     _text("log_level: !!python/object/apply:os.system ['touch {work}/canary']\n"),
     "could not determine a constructor"),
    ("huge file", _text("# padding\n" * 200000), "larger than 1 MiB"),
    ("not UTF-8", _bytes(b"cloudstack:\n  instance_names: [PR\xffOD]\n"), "is not UTF-8"),
    ("NUL byte", _bytes(b"log_level: info\x00\n"), "a character YAML does not allow"),
    ("file removed", _removed, "cannot read it"),
    ("a directory instead", _directory, "cannot read it"),
]


def test_sighup_refuses_every_bad_file_and_keeps_the_old_configuration(sim, fleet, tmp_path):
    work = str(tmp_path)
    config = os.path.join(work, "csguard.yaml")
    with open(config, "w") as f:
        f.write("cloudstack:\n  instance_names: [PROD]\n")
    watched = Watched()
    watched.seed(sim, aliens=10, foreign_aliens=3)
    # Under [PROD], i-2-…-VM names are aliens and i-2-…-PROD names CloudStack's.
    watched.aliens += [sim.create_vm("i-2-1-VM")[1]]
    watched.cloudstack += [sim.create_vm("i-2-1-PROD")[1]]
    daemon = fleet.start(sim.unix_url(0), os.path.join(work, "state"), config=config)
    daemon.wait_ready()

    for count, (what, write, problem) in enumerate(BAD, start=1):
        if os.path.isdir(config):
            os.rmdir(config)
        elif os.path.exists(config):
            os.unlink(config)
        write(config, work)
        daemon.send_signal(signal.SIGHUP)
        daemon.wait_until(lambda n=count: daemon.logs().count("keeping the old one") == n,
                          what=f"the refusal of the {what} file")
        refusal = [line for line in daemon.logs().splitlines()
                   if "keeping the old one" in line][-1]
        assert problem in refusal, (what, refusal)

    assert not os.path.exists(os.path.join(work, "canary")), "YAML ran a command"
    watched.aliens += [sim.create_vm("i-2-2-VM")[1]]
    watched.cloudstack += [sim.create_vm("i-2-2-PROD")[1]]
    line = assert_recovered(sim, watched, fleet,
                            said=r"^SIGHUP: the new configuration is not valid, keeping the old "
                                 r"one: ")
    assert config in line
    assert "configuration reloaded" not in daemon.logs()
