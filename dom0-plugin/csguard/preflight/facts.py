"""What one record or one daemon's answer says, for the report and its findings:
who protects a VM, what state a host's csguard is in, and the readers that take
XAPI's fields as they come (a field of the wrong type reads as empty)."""
import collections

from csguard import records
from csguard.xapi import NULL_REF

# Who blocks a VM's configured operations now.
BY_CSGUARD, BY_OTHER, PARTIALLY, NOBODY = "csguard", "another tool", "partially", "nobody"

# How a host's csguard plugin answered (Probe.state) ...
ANSWERED, NOT_INSTALLED, NO_ANSWER = "answered", "not installed", "no answer"
# ... and what that says about its daemon (HostRow.csguard; also NOT_INSTALLED).
LEADING, STANDING_BY, CONNECTING = "leading", "standing by", "connecting"
NOT_RUNNING, UNKNOWN = "not running", "unknown"

Facts = collections.namedtuple("Facts", "vms hosts pool daemons")
Facts.__doc__ = """What collect() read: vms and hosts as {ref: XAPI record}, the pool
record, daemons as {host ref: Probe}."""

Probe = collections.namedtuple("Probe", "state status error")
Probe.__doc__ = """A host's answer to the csguard plugin's status fn: state ANSWERED
(status: the JSON object), NOT_INSTALLED or NO_ANSWER (error: why)."""


def protected_by(vm, config):
    """Who blocks the configured operations on vm: BY_CSGUARD (all of them, some by
    us), BY_OTHER (all, by someone else only), PARTIALLY or NOBODY."""
    blocked = as_mapping(vm.get("blocked_operations"))
    present = [op for op in config.block_operations if op in blocked]
    if not present:
        return NOBODY
    if len(present) < len(config.block_operations):
        return PARTIALLY
    if any(records.is_ours(blocked[op]) for op in present):
        return BY_CSGUARD
    return BY_OTHER


def daemon_state(probe):
    """(state, detail) of a host's daemon from its plugin's status answer: the
    `status` command's data, the daemon's status file plus "running" and "error"."""
    if probe is None:
        return UNKNOWN, "not asked"
    if probe.state == NOT_INSTALLED:
        return NOT_INSTALLED, "no csguard host plugin"
    if probe.state == NO_ANSWER:
        return UNKNOWN, f"the csguard host plugin did not answer: {probe.error}"
    status = probe.status
    role = status.get("role")
    if status.get("running") is not True or role == "stopped":
        return NOT_RUNNING, as_text(status.get("error")) or "see: systemctl status csguard"
    detail = ", ".join(f"{key} {status[key]}" for key in ("mode", "connection")
                       if isinstance(status.get(key), str))
    states = {"leader": LEADING, "standby": STANDING_BY, "connecting": CONNECTING}
    if role in states:
        return states[role], detail
    return UNKNOWN, f"the daemon reports role {records.show(role)}"


def daemon_mode(probe):
    """The mode ("enforce", "audit") a running daemon reports, else None."""
    if probe is None or probe.state != ANSWERED or probe.status.get("running") is not True:
        return None
    mode = probe.status.get("mode")
    return mode if isinstance(mode, str) else None


def product(host):
    software = as_mapping(host.get("software_version"))
    version = as_text(software.get("product_version"))
    return f"{as_text(software.get('product_brand'))} {version}".strip() if version else ""


def host_label(host):
    return as_text(host.get("name_label")) or as_text(host.get("uuid"))


def host_name(hosts, ref):
    if ref in (None, NULL_REF) or ref not in hosts:
        return None
    return host_label(hosts[ref])


def as_mapping(value):
    return value if isinstance(value, dict) else {}


def as_text(value):
    return value if isinstance(value, str) else ""
