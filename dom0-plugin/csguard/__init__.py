"""csguard: keeps Apache CloudStack from shutting down or destroying the VMs of a
XenServer / XCP-ng pool that it did not create."""

__version__ = "0.1.0"
