"""What a command returns or refuses with, shared by the CLI, the host plugin and
the commands' modules (preflight among them) without any of them importing the CLI.

A refusal carries a stable code: the CLI maps it to an exit status, the host plugin
sends it as the Failure code XAPI gives the caller.
"""
import collections

BAD_ARGUMENT = "CSGUARD_BAD_ARGUMENT"
UNKNOWN_VM = "CSGUARD_UNKNOWN_VM"
AMBIGUOUS_VM = "CSGUARD_AMBIGUOUS_VM"
FORCED_PROTECTION = "CSGUARD_FORCED_PROTECTION"
NOT_ALIEN = "CSGUARD_NOT_ALIEN"
ALREADY_EXEMPT = "CSGUARD_ALREADY_EXEMPT"
CONFIG_ERROR = "CSGUARD_CONFIG_ERROR"
XAPI_UNAVAILABLE = "CSGUARD_XAPI_UNAVAILABLE"
XAPI_ERROR = "CSGUARD_XAPI_ERROR"
WRITE_FAILED = "CSGUARD_WRITE_FAILED"
STATUS_UNREADABLE = "CSGUARD_STATUS_UNREADABLE"
# Exit statuses of errors (sysexits.h), apart from the low numbers a command's own
# outcome uses (1: refused or not OK; preflight: 1 warnings, 2 not ready).
EXIT_REFUSED = 1
EXIT_STATUSES = {BAD_ARGUMENT: 64, CONFIG_ERROR: 78, XAPI_UNAVAILABLE: 69, XAPI_ERROR: 69}


class CommandError(Exception):
    """A refusal: a stable code (the plugin's Failure code), one clear message, and
    parameters for scripts (the plugin's ErrorDescription after the message)."""

    def __init__(self, code, message, *params):
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = [str(p) for p in params]


Result = collections.namedtuple("Result", "data text status")
Result.__new__.__defaults__ = (0,)
Result.__doc__ = """data: JSON-able (--json and the plugin); text: what a person reads;
status: the exit status."""
