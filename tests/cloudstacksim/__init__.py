"""A CloudStack management server's API, enough of it for csguard's inventory:
HTTP on loopback, signatures verified as CloudStack's ApiServer does, errors and
pages shaped as CloudStack sends them. The facts, each with its source file, are
tested in tests/conformance/test_cloudstack_api.py."""
from cloudstacksim.server import CloudStackSim

__all__ = ["CloudStackSim"]
