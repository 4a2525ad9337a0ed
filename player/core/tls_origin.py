"""The exact origin a certificate exception is scoped to: https, host and port.

Pure. The viewer can choose to open a stream whose certificate failed verification
("Open anyway (not secure)", or ``--insecure-tls-origin URL``); that choice covers one
:class:`TlsOrigin` only: the same host name (or address literal) *and* the same port,
over https. Another port of the same host, another host of the same domain, or a
redirect elsewhere is a different origin and is verified as usual. Plain http has no
certificate to skip, so only https URLs have a TLS origin.

A host name is kept the way urllib3 (which opens the connections) writes it: lower-case,
each non-ASCII label in its IDNA 2008 form (``xn--…``, with the same ``idna`` options as
urllib3), so an exception for ``https://bücher.example`` covers the requests made to
``xn--bcher-kva.example`` and the viewer's warning names the host in that unambiguous
spelling (a look-alike Unicode name cannot pass for another).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import idna

__all__ = ["DEFAULT_HTTPS_PORT", "TlsOrigin"]

DEFAULT_HTTPS_PORT = 443
MAX_PORT = 65535
MAX_PORT_DIGITS = 5  # "65535": a longer run of digits is no port (and no 5000-digit int())
# scheme "://" authority (up to the path, query or fragment); parsed here, not with
# urllib (core does no I/O and imports no network modules); the network layer checks the
# result against urllib3's own parse before it skips anything (player/net/tls_policy.py)
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)")


@dataclass(frozen=True, slots=True, order=True)
class TlsOrigin:
    """``https://host:port`` (host lower-case and IDNA-encoded, without IPv6 brackets; the
    port explicit). Built from a Unicode host name, it keeps the encoded one; a host that
    is no valid IDNA name raises ValueError (:meth:`of` gives None instead)."""

    host: str
    port: int = DEFAULT_HTTPS_PORT

    def __post_init__(self) -> None:
        host = normal_host(self.host)
        if host is None:
            raise ValueError("not a valid host name")
        object.__setattr__(self, "host", host)

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
            if not rest.startswith(":") or (digits and not _is_port_text(digits)):
                return None
            if digits:
                port = int(digits)
        host = normal_host(host) if host else None
        if host is None or not 0 < port <= MAX_PORT:
            return None
        return cls(host, port)

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


def _is_port_text(digits: str) -> bool:
    """ASCII digits only ("²" and "٣" are digits to ``str.isdigit``), at most five."""
    return digits.isascii() and digits.isdigit() and len(digits) <= MAX_PORT_DIGITS


def normal_host(host: str) -> str | None:
    """``host`` as urllib3 connects to it: lower-case, each non-ASCII label IDNA-encoded
    (``idna.encode(label, strict=True, std3_rules=True)``, as urllib3's ``parse_url``);
    an IPv6 literal (it has a colon) only lower-cased. None: not a valid IDNA name."""
    if ":" in host or host.isascii():
        return host.lower()
    try:
        return ".".join(
            label.lower()
            if label.isascii()
            else idna.encode(label.lower(), strict=True, std3_rules=True).decode("ascii")
            for label in host.split(".")
        )
    except UnicodeError:  # idna.IDNAError is one
        return None
