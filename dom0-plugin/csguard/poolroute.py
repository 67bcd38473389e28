"""Which host of the pool a remote (http/https) client logs in to.

XAPI refuses a password login on a pool member with HOST_IS_SLAVE and the master's
address (xapi_session.ml), and a master that is down answers nothing. Like
XenCenter and Xen Orchestra, a client follows that address (same scheme and port)
and, when the master is unreachable, tries the pool's other hosts, whose addresses
the last good session read from the host records. A Route outlives sessions: the
daemon keeps one for as long as its configured URL stays the same.
"""
import urllib.parse


def with_host(url, address):
    """`url` with its host replaced by `address`; scheme, port and path are kept."""
    parts = urllib.parse.urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query,
                                    parts.fragment))


class Route:
    """The configured URL, the master that last answered and the pool's hosts."""

    def __init__(self, url):
        self.url = url
        self.master = url
        self.addresses = ()

    @property
    def remote(self):
        return not self.url.startswith("unix://")

    def candidates(self):
        """URLs to try in turn: the last master, the configured URL, every other host."""
        urls = []
        for url in [self.master, self.url] + [with_host(self.url, a) for a in self.addresses]:
            if url not in urls:
                urls.append(url)
        return urls

    def connected(self, url, addresses):
        """A login at `url` worked; `addresses` are the pool's hosts' (empty ones left out)."""
        self.master = url
        self.addresses = tuple(a for a in addresses if a)
