"""Which upstream URLs and addresses a session may fetch: schemes, redirects, address classes.

A remote playlist, key URI or redirect must not make the player fetch something on the
viewer's own machine or network that the viewer did not open (the gateway would turn a
web page's playlist into a probe of the home router or a local admin port). The rule:

* only ``http`` and ``https``; a redirect never goes from ``https`` to ``http``;
* every address connected to has an **address class** (:func:`address_class`); the
  classes allowed for a session are ``public`` plus the classes of the entry URL's host,
  the one the viewer opened (:class:`AddressPolicy`). Opening ``http://127.0.0.1:8000/``
  allows loopback for that session; opening a public host refuses loopback, link-local,
  private (RFC 1918, ULA), CGNAT and other special-purpose addresses;
* host names are resolved before connecting and *every* resolved address is checked
  (:meth:`AddressPolicy.permitted`, called by the connection itself, see
  :mod:`player.net.timing`), so a name that resolves to ``127.0.0.1`` (DNS rebinding) is
  refused like the literal; an entry host *name* gets its classes from its first
  resolution, so a later rebinding of the same name cannot widen them.

Pure except :class:`AddressPolicy`'s lock; no network calls here.
"""

from __future__ import annotations

import ipaddress
import threading
import urllib.parse
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

__all__ = [
    "ALLOWED_SCHEMES",
    "AddressClass",
    "AddressPolicy",
    "AddressRefused",
    "BadUrl",
    "absolute_http_url",
    "address_class",
    "check_redirect",
]

ALLOWED_SCHEMES = ("http", "https")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressClass(StrEnum):
    """Where an address points, as far as "did the viewer open this?" is concerned."""

    PUBLIC = "public"
    LOOPBACK = "loopback"  # 127/8, ::1, and the unspecified 0.0.0.0 / :: (this machine)
    LINK_LOCAL = "link-local"  # 169.254/16 (cloud metadata), fe80::/10
    PRIVATE = "private"  # RFC 1918, ULA fc00::/7
    CGNAT = "cgnat"  # 100.64/10
    SPECIAL = "special"  # multicast, reserved, documentation, benchmarking, broadcast


class AddressRefused(Exception):
    """The policy refused a URL or an address; ``reason`` is a sentence for the viewer.

    Deliberately not an ``OSError``: urllib3 must not wrap it (nor requests retry it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _ip(value: str | IPAddress) -> IPAddress | None:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    try:
        return ipaddress.ip_address(value.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _nets(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# Explicit tables, not ``ipaddress``'s ``is_global`` / ``is_private``: their answers changed
# between Python versions (3.11.4, 3.12.4, 3.13), and the policy must not.
#: (networks, class), first match wins; an IPv4 address in none of them is public.
V4_TABLE: tuple[tuple[tuple[Any, ...], AddressClass], ...] = (
    (_nets("127.0.0.0/8", "0.0.0.0/8"), AddressClass.LOOPBACK),  # 0/8: "this host"
    (_nets("169.254.0.0/16"), AddressClass.LINK_LOCAL),  # cloud metadata lives here
    (_nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), AddressClass.PRIVATE),  # 1918
    (_nets("100.64.0.0/10"), AddressClass.CGNAT),  # RFC 6598
    (
        _nets(
            "192.0.0.0/24",  # IETF protocol assignments
            "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # documentation
            "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
            "198.18.0.0/15",  # benchmarking
            "224.0.0.0/4",  # multicast
            "240.0.0.0/4",  # reserved, and the broadcast 255.255.255.255
        ),
        AddressClass.SPECIAL,
    ),
)  # fmt: skip
#: IPv6 forms that carry an IPv4 address in their last 32 bits: they are that address's
#: class (a NAT64 gateway or 6to4 relay would connect to the IPv4 address).
V6_EMBEDDING_V4 = _nets(
    "::ffff:0:0/96",  # IPv4-mapped
    "::ffff:0:0:0/96",  # IPv4-translated (SIIT, RFC 6145)
    "64:ff9b::/96",  # NAT64 well-known prefix (RFC 6052)
    "::/96",  # IPv4-compatible (deprecated); :: and ::1 are matched before
)
V6_TABLE: tuple[tuple[tuple[Any, ...], AddressClass], ...] = (
    (_nets("::1/128", "::/128"), AddressClass.LOOPBACK),
    (_nets("fe80::/10"), AddressClass.LINK_LOCAL),
    # ULA, deprecated site-local, and NAT64 local-use (RFC 8215: a translator of this
    # network, to anything, private addresses included)
    (_nets("fc00::/7", "fec0::/10", "64:ff9b:1::/48"), AddressClass.PRIVATE),
    (
        _nets(
            "ff00::/8",  # multicast
            "2001::/23",  # IETF protocol assignments (Teredo, benchmarking, ORCHID, ...)
            "2001:db8::/32", "3fff::/20",  # documentation
            "100::/64",  # discard-only
            "5f00::/16",  # SRv6 SIDs
        ),
        AddressClass.SPECIAL,
    ),
)  # fmt: skip
V6_PUBLIC = ipaddress.ip_network("2000::/3")  # global unicast; the rest is unassigned
SIXTOFOUR = ipaddress.ip_network("2002::/16")  # 6to4: the IPv4 address in bits 16-47


def _lookup(
    ip: IPAddress, table: tuple[tuple[tuple[Any, ...], AddressClass], ...]
) -> AddressClass | None:
    for nets, cls in table:
        if any(ip in n for n in nets):
            return cls
    return None


def address_class(address: str | IPAddress) -> AddressClass:
    """The class of an IP address, from the explicit tables above. IPv6 forms embedding an
    IPv4 address (mapped, translated, compatible, NAT64, 6to4) are that address's class.

    Raises ValueError for something that is not an IP address."""
    ip = _ip(address)
    if ip is None:
        raise ValueError(f"not an IP address: {address!r}")
    if isinstance(ip, ipaddress.IPv4Address):
        return _lookup(ip, V4_TABLE) or AddressClass.PUBLIC
    cls = _lookup(ip, V6_TABLE[:1])  # :: and ::1 before the ::/96 embedding
    if cls is not None:
        return cls
    if any(ip in n for n in V6_EMBEDDING_V4):
        return address_class(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip in SIXTOFOUR:
        return address_class(ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF))
    cls = _lookup(ip, V6_TABLE)
    if cls is not None:
        return cls
    return AddressClass.PUBLIC if ip in V6_PUBLIC else AddressClass.SPECIAL


def host_of(url: str) -> str:
    """The URL's host, lower-case, without brackets ('' when it has none or is malformed)."""
    try:
        return (urllib.parse.urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class BadUrl(ValueError):
    """A reference that does not make an absolute http(s) URL. ``malformed`` tells an
    unparsable one from one with another scheme (``scheme``, '' when none)."""

    def __init__(self, message: str, *, malformed: bool, scheme: str = "") -> None:
        super().__init__(message)
        self.malformed = malformed
        self.scheme = scheme


def absolute_http_url(base: str, ref: str) -> str:
    """THE rule for turning a reference in a playlist, an MPD or a ``Location`` header into
    the URL to fetch: ``ref`` (stripped) resolved against ``base`` (RFC 3986 ``urljoin``);
    :class:`BadUrl` unless the result is an ``http``/``https`` URL with a host and a valid
    port, or when ``ref`` holds control characters or spaces."""
    ref = ref.strip()
    if any(c in ref for c in "\r\n\t\x00 "):
        raise BadUrl(f"invalid URL {ref[:80]!r}", malformed=True)
    try:
        url = urllib.parse.urljoin(base, ref)
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # a bad port raises ValueError
        host = parts.hostname
    except ValueError as exc:
        raise BadUrl(f"invalid URL {ref[:80]!r}: {exc}", malformed=True) from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES or not host:
        raise BadUrl(f"URL {ref[:80]!r} is not an http(s) URL", malformed=False, scheme=scheme)
    return url


def check_redirect(current: str, location: str) -> str:
    """The absolute URL a redirect from ``current`` to ``location`` leads to, or
    :class:`AddressRefused` when it is malformed, not http(s), or drops https to http."""
    try:
        target = absolute_http_url(current, location)
    except BadUrl as e:
        if e.malformed:
            raise AddressRefused("the server redirected to a malformed address") from None
        raise AddressRefused(
            f"the server redirected to a {e.scheme or 'non-web'} address"
        ) from None
    scheme = urllib.parse.urlsplit(target).scheme.lower()
    if urllib.parse.urlsplit(current).scheme.lower() == "https" and scheme == "http":
        raise AddressRefused("the server redirected from https to unencrypted http")
    return target


def _describe(cls: AddressClass) -> str:
    return {
        AddressClass.LOOPBACK: "this computer",
        AddressClass.LINK_LOCAL: "a link-local address",
        AddressClass.PRIVATE: "a private network address",
        AddressClass.CGNAT: "a carrier-grade NAT address",
        AddressClass.SPECIAL: "a special-purpose address",
        AddressClass.PUBLIC: "a public address",
    }[cls]


class AddressPolicy:
    """The address classes one session may connect to (see module doc). Thread-safe."""

    def __init__(self, entry_url: str) -> None:
        self.entry_host = host_of(entry_url)
        self._lock = threading.Lock()
        self._allowed: frozenset[AddressClass] | None = None  # None: entry name unresolved
        literal = _ip(self.entry_host) if self.entry_host else None
        if literal is not None:
            self._allowed = frozenset({AddressClass.PUBLIC, address_class(literal)})

    @property
    def allowed(self) -> frozenset[AddressClass] | None:
        """The allowed classes (None until the entry host name was first resolved)."""
        with self._lock:
            return self._allowed

    def permitted(self, host: str, addresses: Iterable[str]) -> list[str]:
        """Those of ``host``'s resolved ``addresses`` this session may connect to, in order;
        :class:`AddressRefused` when there is none."""
        addrs = list(addresses)
        classes = [address_class(a) for a in addrs]
        with self._lock:
            if self._allowed is None and host.lower().strip("[]") == self.entry_host:
                # the viewer opened this name: what it resolves to now is what they meant
                self._allowed = frozenset({AddressClass.PUBLIC, *classes})
            allowed = self._allowed or frozenset({AddressClass.PUBLIC})
        ok = [a for a, c in zip(addrs, classes, strict=True) if c in allowed]
        if not ok:
            what = _describe(classes[0]) if classes else "no address"
            raise AddressRefused(
                f"refused to fetch from {host}: it is {what}, and the stream was not opened there"
            )
        return ok
