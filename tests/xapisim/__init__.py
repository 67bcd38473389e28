"""A faithful XAPI simulator for tests: XML-RPC over unix sockets and loopback TCP.

See ``Simulator`` for the in-process API and ``python -m xapisim --help`` for the
standalone server.
"""
from .simulator import Simulator

__all__ = ["Simulator"]
