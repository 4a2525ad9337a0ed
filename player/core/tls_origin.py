"""The exact origin a certificate exception is scoped to: https, host and port.

Pure. The viewer can choose to open a stream whose certificate failed verification
("Open anyway (not secure)", or ``--insecure-tls-origin URL``); that choice covers one
:class:`TlsOrigin` only: the same host name (or address literal) *and* the same port,
over https. Another port of the same host, another host of the same domain, or a
redirect elsewhere is a different origin and is verified as usual. Plain http has no
certificate to skip, so only https URLs have a TLS origin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DEFAULT_HTTPS_PORT", "TlsOrigin"]

DEFAULT_HTTPS_PORT = 443
MAX_PORT = 65535
# scheme "://" authority (up to the path, query or fragment); parsed here, not with
# urllib (core does no I/O and imports no network modules); the network layer checks the
# result against urllib3's own parse before it skips anything (player/net/tls_policy.py)
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)")


@dataclass(frozen=True, slots=True, order=True)
class TlsOrigin:
    """``https://host:port`` (host lower-case, without IPv6 brackets; the port explicit)."""

    host: str
    port: int = DEFAULT_HTTPS_PORT

    @classmethod
    def of(cls, url: str) -> TlsOrigin | None:
        """The origin of an https ``url``; None for any other scheme or a malformed URL."""
        m = _URL.match(url.strip())
        if m is None or m.group("scheme").lower() != "https":
            return None
        authority = m.group("authority").rpartition("@")[2]  # never user:password
        if authority.startswith("["):  # an IPv6 literal
            host, bracket, rest = authority[1:].partition("]")
            if not bracket or ":" not in host:
                return None
        else:
            host, colon, port_text = authority.partition(":")
            rest = colon + port_text
        port = DEFAULT_HTTPS_PORT
        if rest:
            digits = rest[1:]
            if not rest.startswith(":") or (digits and not digits.isdigit()):
                return None
            if digits:
                port = int(digits)
        if not host or not 0 < port <= MAX_PORT:
            return None
        return cls(host.lower(), port)

    @property
    def label(self) -> str:
        """``host:port`` as the viewer reads it (``[::1]:8443`` for an IPv6 literal)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """``https://host:port`` (what ``--insecure-tls-origin`` takes)."""
        return f"https://{self.label}"

    def __str__(self) -> str:
        return self.label
