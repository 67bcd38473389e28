"""Apache CloudStack's behaviour towards XenServer VMs, replayed against XAPI.

``CloudStack`` issues the XAPI calls CloudStack issues (StopCommand, the 4.0 - 4.2
cluster sync that kills aliens, the ReadyCommand cleanup, VM creation), records
them and writes CloudStack's log lines. ``plugins/`` holds fake ``vmopspremium``
host plugins for the simulator.
"""
from .replay import Call, CloudStack, parse_version

__all__ = ["Call", "CloudStack", "parse_version"]
