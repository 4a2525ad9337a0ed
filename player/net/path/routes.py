"""The local routing table: ``/proc/net/route``, the gateway toward a destination, and a
cheap route fingerprint that changes with the interface, gateway or source address.

Nothing here sends a packet: route changes beyond the first hop cannot be seen locally
(:class:`player.net.path.prober.HopProber` notices those).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from player.net.path.hosts import DEFAULT_PORT, family_of

PROC_NET_ROUTE = "/proc/net/route"
RTF_UP = 0x1  # route flags (linux/route.h)
RTF_GATEWAY = 0x2
DISCARD_PORT = 9  # any port will do to let the kernel pick a source address


@dataclass(frozen=True, slots=True)
class RouteEntry:
    iface: str
    destination: ipaddress.IPv4Network
    gateway: str | None


def parse_proc_net_route(text: str) -> list[RouteEntry]:
    """Parse ``/proc/net/route`` (little-endian hex IPv4 fields)."""
    routes: list[RouteEntry] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        try:
            dest = socket.inet_ntoa(struct.pack("<I", int(f[1], 16)))
            gw_raw = int(f[2], 16)
            flags = int(f[3], 16)
            mask = socket.inet_ntoa(struct.pack("<I", int(f[7], 16)))
        except ValueError:
            continue
        if not flags & RTF_UP:
            continue
        gw = socket.inet_ntoa(struct.pack("<I", gw_raw)) if flags & RTF_GATEWAY and gw_raw else None
        net = ipaddress.IPv4Network(f"{dest}/{mask}", strict=False)
        routes.append(RouteEntry(f[0], net, gw))
    return routes


def read_routes() -> list[RouteEntry]:
    """The main IPv4 routing table of this namespace (empty when unreadable)."""
    try:
        with open(PROC_NET_ROUTE, encoding="ascii") as f:
            return parse_proc_net_route(f.read())
    except OSError:
        return []


def route_for(dst: str, routes: Sequence[RouteEntry] | None = None) -> RouteEntry | None:
    """Longest-prefix match of an IPv4 destination in the main routing table."""
    try:
        addr = ipaddress.ip_address(dst)
    except ValueError:
        return None
    if addr.version != 4:
        return None
    table = read_routes() if routes is None else routes
    best: RouteEntry | None = None
    for r in table:
        if addr in r.destination and (
            best is None or r.destination.prefixlen > best.destination.prefixlen
        ):
            best = r
    return best


def default_gateway(
    dst: str | None = None, routes: Sequence[RouteEntry] | None = None
) -> str | None:
    """The gateway used toward ``dst`` (or of the default route); None when on-link/unknown."""
    if dst is not None:
        r = route_for(dst, routes)
        return r.gateway if r else None
    table = read_routes() if routes is None else routes
    for r in table:
        if r.destination.prefixlen == 0 and r.gateway:
            return r.gateway
    return None


def source_address(dst: str, port: int = DEFAULT_PORT) -> str | None:
    """The local address the kernel would use toward ``dst`` (no packet is sent)."""
    try:
        with socket.socket(family_of(dst), socket.SOCK_DGRAM) as s:
            s.connect((dst, port or DISCARD_PORT))
            return str(s.getsockname()[0])
    except (OSError, ValueError):
        return None


def route_fingerprint(dst: str) -> str:
    """A cheap local fingerprint of the route toward ``dst``; changes with the interface,
    the gateway or the source address. Sends nothing."""
    r = route_for(dst)
    parts = [source_address(dst) or "-"]
    if r is not None:
        parts += [r.iface, str(r.destination), r.gateway or "on-link"]
    return "|".join(parts)
