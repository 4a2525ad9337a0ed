"""Host names and addresses: validation before any use, and resolution to one address.

Host names are validated before they reach a resolver or a socket and never pass through a
shell: a name is either an IP literal or a syntactically valid DNS name.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket

DEFAULT_PORT = 443  # the media server's usual port (HTTPS) when none is given

_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}\.?$)(?!-)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"
    r"(?:\.(?!-)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$"
)


def is_ip_literal(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_host_name(value: str) -> bool:
    """Whether ``value`` is a syntactically valid DNS name (not checked against DNS)."""
    return bool(_HOSTNAME_RE.match(value))


def validate_host(host: str) -> str:
    """Return ``host`` normalised if it is an IP literal or a syntactically valid DNS name.

    Raises ``ValueError`` otherwise (empty, too long, shell metacharacters, spaces, a
    leading ``-`` that a tool would read as an option, ...).
    """
    if not isinstance(host, str):
        raise ValueError("host must be a string")
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if is_ip_literal(h):
        return str(ipaddress.ip_address(h))
    if not is_host_name(h):
        raise ValueError(f"not a valid host name: {host!r}")
    return h.rstrip(".").lower()


def family_of(address: str) -> int:
    """``AF_INET`` or ``AF_INET6`` for an IP literal."""
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


def resolve(host: str, port: int = 0, family: int = socket.AF_UNSPEC) -> tuple[int, str]:
    """Resolve ``host`` to (address family, IP literal); IPv4 preferred when both exist."""
    h = validate_host(host)
    if is_ip_literal(h):
        return family_of(h), h
    infos = socket.getaddrinfo(h, port or None, family, socket.SOCK_STREAM)
    if not infos:
        raise OSError(errno.EHOSTUNREACH, f"no address for {h}")
    infos.sort(key=lambda i: 0 if i[0] == socket.AF_INET else 1)
    fam, _, _, _, sockaddr = infos[0]
    return fam, str(sockaddr[0])
