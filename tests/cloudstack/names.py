"""The names CloudStack gives VMs on XenServer, and how it recognises them.

CloudStack 4.0 - 4.2 decide whether a reported VM is theirs by name only: each VM
"guru" first looks the name up in the database, then tries to turn it into an id
with the rules of ``VirtualMachineName.java`` for the global ``instance.name``. A
name that no guru can convert is an alien. These are those rules, with Java's
``String.split`` and ``Long.parseLong`` semantics (they decide the edge cases).
"""
import re

SEPARATOR = "-"
_LONG = re.compile(r"[+-]?[0-9]+\Z")
_HEX_LONG = re.compile(r"[+-]?[0-9a-fA-F]+\Z")
_LONG_RANGE = range(-(2 ** 63), 2 ** 63)
# isAlienVm of cleanupHaltedVms since February 2014 (Java String.matches: the whole
# name, "\d" ASCII digits, "." no line terminator).
_NOT_ALIEN_SINCE_4_3 = re.compile(r"[ivs]-[0-9]+-.+\Z")


def java_split(text, separator=SEPARATOR):
    """``String.split``: like str.split, minus the trailing empty strings."""
    tokens = text.split(separator)
    while tokens and tokens[-1] == "":
        tokens.pop()
    return tokens or [""]


def _parses_as_long(token, pattern=_LONG, base=10):
    return bool(pattern.match(token)) and int(token, base) in _LONG_RANGE


def is_valid_vm_name(name, instance=None):
    """A user VM: ``i-<account>-<id>-<instance>[-<vnet in hex>]``."""
    tokens = java_split(name)
    if len(tokens) not in (4, 5) or tokens[0] != "i":
        return False
    if not (_parses_as_long(tokens[1]) and _parses_as_long(tokens[2])):
        return False
    vnet = tokens[4] if len(tokens) == 5 else "untagged"
    if vnet.lower() != "untagged" and not _parses_as_long(vnet, _HEX_LONG, 16):
        return False
    return instance is None or tokens[3] == instance


def is_valid_router_name(name, instance=None):
    """A virtual router: ``r-<id>-<instance>[-...]``."""
    tokens = java_split(name)
    if len(tokens) not in (3, 4) or tokens[0] != "r":
        return False
    return _parses_as_long(tokens[1]) and (instance is None or tokens[2] == instance)


def is_valid_system_vm_name(name, instance, prefix):
    """A system VM: ``<prefix>-<id>-<instance>`` (exactly three parts)."""
    tokens = java_split(name)
    if len(tokens) != 3 or tokens[0] != prefix:
        return False
    return _parses_as_long(tokens[1]) and (instance is None or tokens[2] == instance)


def _id_between_separators(name, skip):
    """The number after the ``skip``-th separator (getVmId skips 2, the others 1)."""
    begin = -1
    for _ in range(skip):
        begin = name.index(SEPARATOR, begin + 1)
    end = name.index(SEPARATOR, begin + 1)
    return int(name[begin + 1:end])


def system_vm_prefixes(version):
    """Prefixes of the system VM gurus: console proxy, secondary storage, elastic LB,
    and from 4.2 the internal LB VM."""
    prefixes = ("v", "s", "l")
    return prefixes + ("b",) if version >= (4, 2) else prefixes


def convert_to_id(name, instance, version):
    """What the gurus' ``convertToId`` return: the id, or None for an alien name."""
    if is_valid_vm_name(name, instance):
        return _id_between_separators(name, 2)
    if is_valid_router_name(name, instance):
        return _id_between_separators(name, 1)
    for prefix in system_vm_prefixes(version):
        if is_valid_system_vm_name(name, instance, prefix):
            return _id_between_separators(name, 1)
    return None


def is_alien_since_4_3(name):
    """``isAlienVm`` of 4.3+ cleanupHaltedVms, which destroys only non-aliens:
    ``[ivs]-<digits>-...`` are CloudStack's, everything else is spared, including
    CloudStack's own ``r-``, ``l-``, ``b-`` and ``NS-`` VMs."""
    return not _NOT_ALIEN_SINCE_4_3.match(name)
