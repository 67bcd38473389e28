"""Reading the pool for the report: full VM and host records, the pool record,
and each host's csguard status asked through its host plugin. The only part of
preflight that talks to XAPI."""
import json

from csguard import records
from csguard.preflight.facts import ANSWERED, NO_ANSWER, NOT_INSTALLED, Facts, Probe
from csguard.xapi import XapiError, XapiUnavailable

# What analyse reads of a VM record beyond classify's fields, and the
# other_config keys it needs (CloudStack 4.3+ marks its VMs with vm_uuid): the
# CLI keeps these when it slims VM records.
VM_FIELDS = ("uuid", "name_label", "power_state", "blocked_operations", "affinity",
             "resident_on")
OTHER_CONFIG_KEYS = ("vm_uuid",)


def collect(xapi):
    """Read what analyse needs: full VM and host records (affinity, resident_on and
    software_version are not in the daemon's slim records), the pool, and each
    host's csguard status through the host plugin."""
    vms = xapi.call("VM.get_all_records")
    hosts = xapi.call("host.get_all_records")
    pools = xapi.call("pool.get_all_records")
    pool = next(iter(pools.values())) if pools else {}
    return Facts(vms, hosts, pool, {ref: probe_daemon(xapi, ref) for ref in hosts})


def probe_daemon(xapi, host_ref):
    """A host's csguard status, asked through its host plugin (fn status)."""
    try:
        answer = xapi.call("host.call_plugin", host_ref, "csguard", "status", {})
    except XapiError as e:
        if e.code == "XENAPI_MISSING_PLUGIN":
            return Probe(NOT_INSTALLED, None, str(e))
        return Probe(NO_ANSWER, None, _one_line(e))
    except XapiUnavailable as e:
        return Probe(NO_ANSWER, None, str(e))
    try:
        status = json.loads(answer)
    except (TypeError, ValueError):
        status = None
    if not isinstance(status, dict):
        return Probe(NO_ANSWER, None, f"its answer is not a JSON object: {records.show(answer)}")
    return Probe(ANSWERED, status, None)


def _one_line(error, limit=200):
    """A XAPI error on one line: the plugin's output and log (a traceback) reduced to
    their last line, which says what went wrong."""
    lasts = [param.strip().splitlines()[-1] for param in error.params if param.strip()]
    text = ": ".join([error.code] + lasts)
    return text if len(text) <= limit else text[:limit] + "..."
