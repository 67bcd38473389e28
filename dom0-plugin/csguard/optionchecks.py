"""The checks of options that go together, and the warnings for risky but legal
choices; both take the validated values of every option (options.py)."""
from csguard import records
from csguard.optionvalues import PLAIN_HTTP_REFUSED, Invalid, is_loopback

# Blocking these is allowed but takes something away from the pool's own machinery
# (preflight says the same of blocks other tools put there).
DISRUPTIVE_OPERATIONS = {
    "start": "HA can no longer restart the VM after a host failure, and no one can start it",
    "start_on": "HA can no longer restart the VM on a chosen host, and no one can start it "
                "there",
    "pool_migrate": "maintenance mode (host.evacuate) cannot move the VM off its host",
    "migrate_send": "the VM can no longer be live-migrated with its storage, and "
                    "evacuating its host may fail",
}


def check_together(values):
    """Rules that involve two options; Invalid.field names the one to point at."""
    both = values["protect_uuids"] & values["allow_uuids"]
    if both:
        raise Invalid(f"{min(both)} is also listed in overrides.protect.uuids; "
                       "a VM can be protected or allowed, not both", field="allow_uuids")
    api = values["cloudstack_api_url"] is not None
    if api and values["cloudstack_api_credentials_file"] is None:
        raise Invalid("needs cloudstack.api.credentials_file: a file only root can read, "
                       "with api_key: and secret_key: lines", field="cloudstack_api_url")
    if not api and values["cloudstack_api_credentials_file"] is not None:
        raise Invalid("is only used with cloudstack.api.url; set that too or remove this",
                       field="cloudstack_api_credentials_file")
    remote = not values["xapi_url"].startswith("unix://")
    if not remote and values["credentials_file"] is not None:
        raise Invalid("is only used with an http(s) xapi.url: the local socket needs no "
                       "password; remove it", field="credentials_file")
    _check_tls(values)


def _check_tls(values):
    url = values["xapi_url"]
    pinned = bool(values["xapi_tls_fingerprints"])
    if pinned and values["xapi_ca_file"] is not None:
        raise Invalid("and xapi.ca_file are one or the other: pin the hosts' certificates "
                       "or trust the CA that signed them", field="xapi_tls_fingerprints")
    if not url.startswith("http://"):
        return
    if pinned or values["xapi_ca_file"] is not None:
        raise Invalid("is plain http, so xapi.ca_file and xapi.tls_fingerprints would "
                       "check nothing: use https://", field="xapi_url")
    if not is_loopback(url) and not values["xapi_allow_plain_http"]:
        raise Invalid(PLAIN_HTTP_REFUSED, field="xapi_url")


def warnings_for(values):
    warnings = []
    for op in values["block_operations"]:
        if op in DISRUPTIVE_OPERATIONS:
            warnings.append(f"protection.block_operations: blocking {op}: "
                            f"{DISRUPTIVE_OPERATIONS[op]}")
    if "destroy" not in values["block_operations"]:
        warnings.append("protection.block_operations: destroy is not blocked, so "
                        "CloudStack can delete the records of protected VMs (its StopCommand "
                        "ends with VM.destroy, and it destroys halted aliens on connect)")
    for op in ("clean_shutdown", "hard_shutdown"):
        if op not in values["block_operations"]:
            warnings.append(f"protection.block_operations: {op} is not blocked, so "
                            "CloudStack can shut protected VMs down")
    for pattern in values["name_patterns"]:
        if pattern.fullmatch(""):
            warnings.append(f"cloudstack.name_patterns: {records.show(pattern.pattern)} "
                            "matches the empty name and maybe every name, so it may leave "
                            "VMs unprotected")
    if not values["xapi_url"].startswith("unix://") and values["credentials_file"] is None:
        warnings.append("xapi.url is http(s) and xapi.credentials_file is not set: csguard "
                        "logs in as root with an empty password, which XAPI refuses unless "
                        "root has none; set xapi.credentials_file (a chmod 600 file with the "
                        "user name and password)")
    api_url = values["cloudstack_api_url"]
    if api_url is not None and api_url.startswith("http://"):
        warnings.append("cloudstack.api.url is plain http: the inventory can be read and "
                        "forged on the way (the secret key itself is never sent); use https")
    if api_url is not None and not values["cloudstack_api_verify_tls"]:
        warnings.append("cloudstack.api.verify_tls is false: anyone between this host and "
                        "CloudStack can answer with a forged inventory and so release VMs; "
                        "set cloudstack.api.ca_file instead")
    url = values["xapi_url"]
    if url.startswith("http://") and not is_loopback(url):
        warnings.append("xapi.allow_plain_http is true: the XAPI password and every answer "
                        "cross the network in clear, and anyone on the way can change them; "
                        "use https:// with xapi.ca_file or xapi.tls_fingerprints")
    if values["allow_tag"] is not None:
        warnings.append(f"overrides.allow.tag {records.show(values['allow_tag'])} is ignored: "
                        "XAPI lets the vm-operator role set tags, but only vm-admin and above "
                        "may change blocked_operations, so a tag must not lift csguard's "
                        "blocks; use overrides.allow.uuids or other_config:"
                        f"{values['override_key'] or 'csguard:override'}=allow instead")
    if values["mode"] == "audit":
        warnings.append("protection.mode is audit: VMs are classified and reported, "
                        "nothing is blocked")
    return tuple(warnings)
