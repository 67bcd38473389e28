"""The configuration checked against the pool it is loaded against.

The file's own checks know every vm_operations name of current XAPI; an older pool
master refuses the younger ones as blocked_operations keys, so each such write
would fail on every alien for ever. Refuse the configuration instead, naming the
operation and the master's XAPI version.
"""
from csguard import options
from csguard.config import ConfigError


def check(xapi, master_ref, config):
    """Raise ConfigError if the pool master's XAPI lacks a configured operation."""
    version = (xapi.call("host.get_software_version", master_ref) or {}).get("xapi")
    unknown = options.unknown_to_xapi(config.block_operations, version)
    if unknown:
        needs = ", ".join("{} needs xapi {}.{}".format(op, *options.OPERATIONS_SINCE[op])
                          for op in unknown)
        raise ConfigError(f"this pool's master runs xapi {version}, which does not know "
                          f"{', '.join(unknown)} ({needs}): remove it from "
                          "block_operations", config.source, key="protection.block_operations")
