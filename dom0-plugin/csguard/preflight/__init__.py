"""`csguard preflight`: is this pool safe to hand to CloudStack?

A read-only report to run before a host is added to CloudStack: what CloudStack
will do to every VM, which VMs are protected now and by whose blocks, and what to
fix first. The riskiest moment is a host's first connect, so the pool is judged as
CloudStack 4.0 - 4.2 will treat it: aliens are stopped and destroyed by the
minute-by-minute sync, and halted ones whose home server is the connecting host
are destroyed by its ReadyCommand.

`collect` (collecting.py) reads XAPI; `analyse` (report.py) is pure, records in,
Report out, with each host's CloudStack connect (connect.py) and one function per
finding (findings.py); output.py writes it for people and scripts. This module is the package's interface.

The `preflight` command (csguard.cli.scanning) of the CLI and of the host plugin
(fn preflight) answers the JSON of `to_dict`. Exit codes: 0 ready, 1 ready with
warnings, 2 not ready; the CLI's own errors use sysexits codes (64 bad arguments,
69 XAPI unreachable, 78 bad configuration), so a script never mistakes one for a
verdict.
"""
from csguard.preflight.collecting import OTHER_CONFIG_KEYS, VM_FIELDS, collect, probe_daemon
from csguard.preflight.connect import FAILS_ALL, FAILS_OLD, SUCCEEDS
from csguard.preflight.facts import (
    ANSWERED,
    BY_CSGUARD,
    BY_OTHER,
    CONNECTING,
    LEADING,
    NO_ANSWER,
    NOBODY,
    NOT_INSTALLED,
    NOT_RUNNING,
    PARTIALLY,
    STANDING_BY,
    UNKNOWN,
    Facts,
    Probe,
    daemon_mode,
    daemon_state,
    protected_by,
)
from csguard.preflight.findings import ERROR, INFO, SEVERITIES, WARNING, Finding, Item
from csguard.preflight.output import format_text, to_dict
from csguard.preflight.report import (
    EXIT_CODES,
    NOT_READY,
    READY,
    READY_WITH_WARNINGS,
    HostRow,
    Report,
    VmRow,
    analyse,
)

__all__ = [
    "ANSWERED", "BY_CSGUARD", "BY_OTHER", "CONNECTING", "ERROR", "EXIT_CODES", "FAILS_ALL",
    "FAILS_OLD", "INFO", "LEADING", "NOBODY", "NOT_INSTALLED", "NOT_READY", "NOT_RUNNING",
    "NO_ANSWER", "OTHER_CONFIG_KEYS", "PARTIALLY", "READY", "READY_WITH_WARNINGS",
    "SEVERITIES", "STANDING_BY", "SUCCEEDS", "UNKNOWN", "VM_FIELDS", "WARNING", "Facts",
    "Finding", "HostRow", "Item", "Probe", "Report", "VmRow", "analyse", "collect",
    "daemon_mode", "daemon_state", "format_text", "probe_daemon", "protected_by", "to_dict",
]
