"""Decides, from a VM record alone, whether CloudStack owns a VM.

CloudStack 4.0 - 4.2 treats every VM whose name it did not generate as an "alien"
and stops and destroys it. Our idea of "CloudStack's VM" therefore mirrors the names
CloudStack generates (VirtualMachineName.java): exact case, full match, nothing
trimmed, because CloudStack compares names exactly too. Everything else is
protected unless an operator said otherwise.

Precedence, strongest first:
1. control domains, templates, snapshots, XenServer's helper VMs (the Transfer VM):
   ignored, never touched;
2. overrides (configured uuids, the protect tag, the other_config override key):
   protect makes the VM alien, allow makes it exempt, and protect wins over allow
   whatever the sources ("when in doubt, protect"). No tag allows: XAPI lets the
   vm-operator role set tags, but only vm-admin and above may change
   blocked_operations (and the override key);
3. a valid, unexpired operator exemption granted for this very VM: exempt (an
   expired or malformed one is ignored and the reason says so; one granted for the
   VM this one was cloned, copied or imported from counts as absent);
4. a CloudStack name: cloudstack; 5. anything else: alien.

With cloudstack.api set, CloudStack's inventory (passed in as data: anything with
`names`, {instance name: what}; reasons leave out when it was read, so a refresh
rewrites no verdict record) replaces step 4: a VM is cloudstack
only if the inventory holds its name, and a CloudStack-named VM it lacks is
protected, since CloudStack stops and destroys by name (a leftover, a restored
backup's VM, a copy). No inventory yet protects every CloudStack-named VM. Elastic
load balancer VMs (l-) and NetScaler VPX VMs cannot be listed through the API and
keep the name rule.

Only fields an administrator controls are read (name, flags, other_config, tags);
nothing the guest can write (xenstore_data, guest_metrics) may influence a verdict.
"""
import collections
import functools
import re

from csguard import records

CLOUDSTACK, ALIEN, EXEMPT, IGNORED = "cloudstack", "alien", "exempt", "ignored"

Verdict = collections.namedtuple("Verdict", "kind rule reason")
Verdict.__doc__ = """kind: one of the four kinds; rule: a short id of the deciding rule;
reason: one human sentence naming that rule."""

# The VM record fields classify() and plan() read (plan_affinity power_state and
# affinity, plan current_operations); the daemon keeps only these.
FIELDS = ("uuid", "name_label", "is_control_domain", "is_a_template", "is_a_snapshot",
          "other_config", "tags", "blocked_operations", "power_state", "affinity",
          "current_operations")

_SYSTEM_VMS = {
    "r": "virtual router",
    "s": "secondary storage VM",
    "v": "console proxy",
    "l": "elastic load balancer VM",
    "b": "internal load balancer VM",
}
# XenServer's own helper VMs, by the other_config mark their creator writes: the
# transfer plugin's Transfer VM (xenserver/transfervm, clone_utility_vm), which the
# plugin destroys itself when done (a destroy block would leak it). Driver domains
# are control domains already.
_HELPER_MARKS = (("transfervm_clone", "transfer-vm", "XenServer Transfer VM"),)
# The other_config keys classify() reads besides csguard's own and the override key.
OTHER_CONFIG_KEYS = frozenset(key for key, _rule, _what in _HELPER_MARKS)
_NETSCALER = re.compile(r"NS-[0-9]+-Vpx")
_NETSCALER_ANY_CASE = re.compile(_NETSCALER.pattern, re.IGNORECASE)
_LOOKALIKE = re.compile(r"[irsvlb]-[0-9]+-.+|NS-[0-9]+-.+", re.IGNORECASE)


def classify(vm, config, now, inventory=None):
    """The Verdict for one VM record (XAPI field names) under config at time now,
    with CloudStack's inventory when cloudstack.api is configured."""
    name = _text(vm.get("name_label"))
    for flag, rule, what in (
            ("is_control_domain", "control-domain", "control domain"),
            ("is_a_snapshot", "snapshot", "snapshot"),  # every snapshot is a template too
            ("is_a_template", "template", "template")):  # also a new CloudStack VM, briefly
        if vm.get(flag) is True:
            return Verdict(IGNORED, rule, f"{what} {records.show(name)}: never touched")

    other_config = vm.get("other_config")
    other_config = other_config if isinstance(other_config, dict) else {}
    for key, rule, what in _HELPER_MARKS:
        if other_config.get(key) == "true":
            return Verdict(IGNORED, rule, f"{what} {records.show(name)}: never touched")
    notes = []
    verdict = _override(vm, other_config, config, notes)
    if verdict is not None:
        return verdict

    exemption_rule = None
    if records.KEY_EXEMPTION in other_config:
        verdict, exemption_rule = _exemption(other_config[records.KEY_EXEMPTION],
                                             _text(vm.get("uuid")).lower(), now, notes)
        if verdict is not None:
            return verdict

    verdict = _by_name(name, config)
    if config.cloudstack_api_url is not None:
        verdict = _by_inventory(name, verdict, inventory)
    if notes:
        verdict = verdict._replace(reason="; ".join(notes + [verdict.reason]))
    if verdict.kind == ALIEN and exemption_rule is not None:
        verdict = verdict._replace(rule=exemption_rule)
    return verdict


def _override(vm, other_config, config, notes):
    """An explicit protect/allow decision; protect wins over allow from any source."""
    uuid = _text(vm.get("uuid")).lower()
    tags = vm.get("tags")
    tags = tags if isinstance(tags, (list, tuple)) else ()
    protect, allow = [], []
    if uuid in config.protect_uuids:
        protect.append(("override-config",
                        "protected by configuration (overrides.protect.uuids lists its uuid)"))
    if uuid in config.allow_uuids:
        allow.append(("override-config",
                      "allowed by configuration (overrides.allow.uuids lists its uuid)"))
    if config.protect_tag is not None and config.protect_tag in tags:
        protect.append(("override-tag", f"protected by tag {records.show(config.protect_tag)}"))
    key = config.override_key
    if key is not None and key in other_config:
        value = other_config[key]
        where = f"other_config {records.show(key)}={records.show(value)}"
        if value == "protect":
            protect.append(("override-other-config", "protected by " + where))
        elif value == "allow":
            allow.append(("override-other-config", "allowed by " + where))
        else:
            notes.append(f"{where} ignored (expected 'protect' or 'allow')")
    if protect:
        rule, reason = protect[0]
        if allow:
            reason += " (protect wins over: " + "; ".join(text for _, text in allow) + ")"
        return Verdict(ALIEN, rule, reason)
    if allow:
        return Verdict(EXEMPT, allow[0][0], allow[0][1])
    return None


def _exemption(text, uuid, now, notes):
    """(exempt Verdict, None) for a valid unexpired exemption of the VM with this
    uuid, else (None, rule) with a note saying why the exemption does not count."""
    try:
        exemption = records.parse_exemption(text)
    except ValueError as why:
        notes.append(f"exemption record {records.KEY_EXEMPTION} ignored: {why}")
        return None, "exemption-malformed"
    if exemption.vm != uuid or exemption.via != records.VIA_UNBLOCK:
        # A copy's record (plan removes it: a note would change the verdict twice),
        # or csguard's own record of blocks a rule lifted: neither exempts.
        return None, None
    if exemption.until is not None and exemption.until <= now:
        notes.append(f"exemption by {records.show(exemption.by)} expired at "
                     f"{records.format_time(exemption.until)}")
        return None, "exemption-expired"
    until = ("indefinitely" if exemption.until is None
             else "until " + records.format_time(exemption.until))
    return Verdict(EXEMPT, "exemption",
                   f"exempted by {records.show(exemption.by)} at "
                   f"{records.format_time(exemption.at)} {until}: "
                   f"{records.show(exemption.reason)}"), None


def _by_name(name, config):
    shown = records.show(name)
    for instance in config.instance_names:
        user, system = _cloudstack_names(instance)
        if user.fullmatch(name):
            return Verdict(CLOUDSTACK, "cloudstack-user-vm",
                           f"name {shown} is a CloudStack user VM name "
                           f"(i-<account>-<id>-{instance})")
        if system.fullmatch(name):
            return Verdict(CLOUDSTACK, "cloudstack-system-vm",
                           f"name {shown} is a CloudStack {_SYSTEM_VMS[name[0]]} name "
                           f"({name[0]}-<id>-{instance})")
    if _NETSCALER.fullmatch(name):
        return Verdict(CLOUDSTACK, "cloudstack-netscaler",
                       f"name {shown} is a CloudStack NetScaler VPX name (NS-<id>-Vpx)")
    for pattern in config.name_patterns:
        if pattern.fullmatch(name):
            return Verdict(CLOUDSTACK, "name-pattern",
                           f"name {shown} matches configured name pattern "
                           f"{records.show(pattern.pattern)}")
    miss = near_miss(name, config)
    if miss:
        return Verdict(ALIEN, "no-cloudstack-name", miss)
    return Verdict(ALIEN, "no-cloudstack-name",
                   f"name {shown} is not a CloudStack name ({_instance_names(config)})")


_UNLISTABLE = {
    "l": "elastic load balancer VMs cannot be listed through CloudStack's API",
    "N": "NetScaler VPX VMs cannot be listed through CloudStack's API",
}


def _by_inventory(name, by_name, inventory):
    """The inventory's word on a VM the name rules judged."""
    shown = records.show(name)
    if inventory is not None and name in inventory.names:
        return Verdict(CLOUDSTACK, "cloudstack-inventory",
                       f"CloudStack's inventory holds {shown} as a {inventory.names[name]}")
    if by_name.kind != CLOUDSTACK:
        return by_name
    if by_name.rule in ("cloudstack-system-vm", "cloudstack-netscaler") \
            and name[:1] in _UNLISTABLE:
        return by_name._replace(reason=f"{by_name.reason}; decided by name: "
                                       f"{_UNLISTABLE[name[:1]]}")
    if inventory is None:
        return Verdict(ALIEN, "cloudstack-no-inventory",
                       f"{by_name.reason}, but CloudStack's inventory could not be read yet: "
                       "protected until CloudStack confirms it owns the VM")
    return Verdict(ALIEN, "not-in-inventory",
                   f"{by_name.reason}, but CloudStack's inventory does not hold it: a leftover "
                   "of an earlier installation, a restored backup or a copy, which "
                   "CloudStack would stop or destroy by name")


def near_miss(name, config):
    """Why a name that looks like CloudStack's does not count, or None: helps an
    operator (and `csguard preflight`) find a mistyped instance name before
    CloudStack finds the VM."""
    stripped = name.strip()
    if not _LOOKALIKE.fullmatch(stripped):
        return None
    if stripped[:3].upper() == "NS-":
        target = "NS-<id>-Vpx"
        exact = _NETSCALER.fullmatch(stripped)
        same_but_case = _NETSCALER_ANY_CASE.fullmatch(stripped)
    else:
        target = _instance_names(config)
        exact = any(rule.fullmatch(stripped) for instance in config.instance_names
                    for rule in _cloudstack_names(instance))
        same_but_case = any(rule.fullmatch(stripped) for instance in config.instance_names
                            for rule in _cloudstack_names(instance, re.IGNORECASE))
    exact = exact or any(p.fullmatch(stripped) for p in config.name_patterns)
    problems = []
    if same_but_case and not exact:
        problems.append("case differs")
    if stripped != name:
        problems.append("leading or trailing whitespace")
    detail = " (" + ", ".join(problems) + ")" if problems else ""
    return (f"name {records.show(name)} looks like a CloudStack name but does not match "
            f"{target}{detail}")


def _instance_names(config):
    names = ", ".join(records.show(name) for name in config.instance_names)
    return ("instance name " if len(config.instance_names) == 1 else "instance names ") + names


@functools.lru_cache(maxsize=64)
def _cloudstack_names(instance, flags=0):
    """(user VM regex, system VM regex) for one CloudStack instance name."""
    suffix = re.escape(instance)
    return (re.compile(r"i-[0-9]+-[0-9]+-" + suffix, flags),
            re.compile(r"[rsvlb]-[0-9]+-" + suffix, flags))


def _text(value):
    return value if isinstance(value, str) else ""
