"""The clock exemptions end on: the pool master's.

The commands record an exemption's end on the master's clock (host.get_servertime),
so the daemon must compare it with that clock too. On the master's own socket the
local clock is the master's; a daemon leading through a remote http(s) URL runs
on another machine, whose clock may be minutes off, so it reads the master's offset
at each connect (whole seconds: XAPI's servertime has no finer resolution).
"""
import logging
import time

from csguard.xapi import XapiError

log = logging.getLogger("csguard")


def pool_clock(xapi, xapi_url):
    """A function returning the pool master's time (epoch) for this session."""
    if xapi_url.startswith("unix://"):
        return time.time
    try:
        offset = xapi.master_time() - time.time()
    except XapiError as error:
        log.warning("cannot read the pool master's clock (%s): exemptions are timed on "
                    "this host's clock until the next connect", error)
        return time.time
    if abs(offset) > 60:
        log.warning("this host's clock is %+.0f s off the pool master's: exemptions are "
                    "timed on the master's", -offset)
    return lambda: time.time() + offset
