"""The command table: every command is a function `run(args, ctx) -> Result`
listed in COMMANDS. The host plugin offers the same entries, so a command behaves
the same on the command line and through `xe host-call-plugin`; adding a command
is one line here."""
import collections

from csguard.cli.completion import bash_script
from csguard.cli.exemptions import vm_block, vm_unblock
from csguard.cli.listing import FIELDS, vm_classify, vm_list
from csguard.cli.scanning import run_preflight, scan
from csguard.cli.status import attempts, status
from csguard.outcome import Result

Command = collections.namedtuple("Command", "name run keys flags summary plugin")
Command.__doc__ = """run(args, ctx) -> Result; keys and flags: ((name, help), ...);
plugin: whether the host plugin offers it as fn=<name>."""


def completion(args, ctx):
    """A bash completion script for csguard: commands, their keys and options, and
    values of class=, protected=, dry-run=, uuid= and vm=. Install it with:
    csguard completion > /etc/bash_completion.d/csguard"""
    script = bash_script(COMMANDS)
    return Result(script, script)


_VM = (("uuid", "the VM's uuid"), ("vm", "the VM's name-label or uuid"))
_JSON = ("--json", "JSON for scripts")

COMMANDS = (
    Command("vm-list", vm_list, (
        ("class", "alien, cloudstack, exempt or ignored (ignored also lists templates)"),
        ("protected", "true or false: every configured operation is blocked"),
        ("uuid", "only this VM"), ("name-label", "VMs with exactly this name"),
        ("power-state", "running, halted, paused or suspended"),
        ("params", "fields to show, comma-separated, or all: " + ", ".join(FIELDS))),
        (("--minimal", "only the first field, comma-separated, as xe --minimal"), _JSON),
        "list VMs with csguard's verdict", True),
    Command("vm-unblock", vm_unblock, _VM + (
        ("reason", "why (required; recorded on the VM and in the audit message)"),
        ("duration", "how long, e.g. 30m, 2h, 1d (default: exemptions.default_duration)"),
        ("replace", "true: replace a running exemption (its end changes)")),
        (_JSON,), "exempt a VM and remove csguard's blocks", True),
    Command("vm-block", vm_block, _VM, (_JSON,),
            "end a VM's exemption and protect it now", True),
    Command("vm-classify", vm_classify, _VM, (_JSON,),
            "show a VM's verdict and the rule that decided it", True),
    Command("status", status, (), (_JSON,),
            "the daemon's role, connection, counts and recent attempts", True),
    Command("attempts", attempts, (("uuid", "only this VM"),), (_JSON,),
            "blocked attempts: which operation hit which VM, when", True),
    Command("scan", scan, (("dry-run", "true: only print what would change"),), (_JSON,),
            "one reconcile pass without the daemon", False),
    Command("completion", completion, (), (), "print a bash completion script", False),
    Command("preflight", run_preflight, (), (_JSON,),
            "is this pool safe to hand to CloudStack? (read-only report)", True),
)


def command(name):
    """The Command called name, or None."""
    for entry in COMMANDS:
        if entry.name == name:
            return entry
    return None
