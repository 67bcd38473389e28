"""CloudStack's inventory in the report (with cloudstack.api): per VM whether
CloudStack owns it, an inventory that could not be read, and the VMs CloudStack
knows that the pool does not have."""
from csguard import classify
from csguard.preflight.facts import as_text
from csguard.preflight.findings import INFO, WARNING, Finding, Item

OWNS_YES, OWNS_NO, OWNS_UNKNOWN = "yes", "no", "no inventory"


def owns(vm, verdict, config, inventory):
    """"yes", "no", "no inventory", or None without cloudstack.api (and for VMs
    csguard ignores)."""
    if config.cloudstack_api_url is None or verdict.kind == classify.IGNORED:
        return None
    if inventory is None:
        return OWNS_UNKNOWN
    return OWNS_YES if as_text(vm.get("name_label")) in inventory.names else OWNS_NO


def findings(config, cloudstack, inventory, vms):
    if config.cloudstack_api_url is None or cloudstack is None:
        return []
    if inventory is None:
        return [Finding(
            WARNING, "no-inventory",
            f"CloudStack's inventory could not be read ({cloudstack['error']}): csguard "
            "protects every VM with a CloudStack name until it can, so CloudStack cannot "
            "stop or destroy its own VMs here",
            "fix cloudstack.api (url, credentials_file, ca_file) or the CloudStack "
            "account's role (see the README: CloudStack's API as the ownership source)",
            (), ())]
    result = []
    if cloudstack.get("error"):
        result.append(Finding(
            WARNING, "inventory-not-read-now",
            f"CloudStack's API could not be read now ({cloudstack['error']}); this report "
            f"uses {cloudstack['inventory']}", "", (), ()))
    in_pool = {as_text(vm.get("name_label")) for vm in vms.values()}
    missing = sorted(name for name in inventory.names if name not in in_pool)
    if missing:
        result.append(Finding(
            INFO, "cloudstack-vms-not-in-pool",
            f"CloudStack knows {len(missing)} VM(s) this pool does not have (in other "
            "clusters, or gone from XAPI)", "",
            tuple(Item("", name, inventory.names[name]) for name in missing), ()))
    return result
