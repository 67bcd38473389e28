"""The configuration fitted to the pool it is loaded against.

The file's own checks know every vm_operations name of current XAPI; an older pool
master refuses the younger ones as blocked_operations keys, so each such write
would fail on every alien for ever. Such an operation is refused instead: named
once per session with the master's XAPI version, and left out, so that every
other block is still written (and READY=1 still means protected).
"""
import logging

from csguard import options

log = logging.getLogger("csguard")


def fit(xapi, master_ref, config):
    """`config` without the operations the pool master's XAPI does not know."""
    version = (xapi.call("host.get_software_version", master_ref) or {}).get("xapi")
    unknown = options.unknown_to_xapi(config.block_operations, version)
    kept = tuple(op for op in config.block_operations if op not in unknown)
    if not unknown or not kept:
        return config
    needs = ", ".join("{} needs xapi {}.{}".format(op, *options.OPERATIONS_SINCE[op])
                      for op in unknown)
    log.error("%s, protection.block_operations: this pool's master runs xapi %s, which "
              "does not know %s (%s): not blocked on this pool; remove it from the "
              "configuration", config.source or "configuration", version,
              ", ".join(unknown), needs)
    return config.with_overrides(block_operations=list(kept))
