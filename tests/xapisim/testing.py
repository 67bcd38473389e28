"""Client-side helpers for tests: real XenAPI sessions on any socket path."""
import xmlrpc.client

import XenAPI

from .unixhttp import UnixTransport


def unix_session(path, originator="tests", login=True):
    """A XenAPI.Session on the unix socket ``path``, logged in unless login=False."""
    session = XenAPI.Session("http://localhost/", transport=UnixTransport(path))
    if login:
        session.xenapi.login_with_password("root", "", "1.0", originator)
    return session


def tcp_session(url, user="root", password="xenroot", originator="tests"):
    session = XenAPI.Session(url)
    session.xenapi.login_with_password(user, password, "1.0", originator)
    return session


def control(path):
    """An xmlrpc ServerProxy on a host socket's ``/simctl`` endpoint (methods sim.*)."""
    return xmlrpc.client.ServerProxy("http://localhost/simctl", transport=UnixTransport(path),
                                     allow_none=True)


def failure_of(function, *args):
    """The ErrorDescription of the XenAPI.Failure that ``function(*args)`` raises."""
    try:
        function(*args)
    except XenAPI.Failure as failure:
        return failure.details
    raise AssertionError(f"{function!r}{args!r} succeeded; a XenAPI.Failure was expected")
