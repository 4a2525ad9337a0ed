"""This computer's received bytes on the interface toward the video's server (Linux).

:class:`TrafficReader` reads, for the session's device tick, the interface counter of the
network interface the kernel routes the last upstream peer's address through (a UDP
``connect`` sends nothing: it only looks the route up) together with the player's own
bytes (:data:`player.net.rx_meter.RECEIVED`). The interface is looked up again every
:data:`RESOLVE_EVERY_S` and whenever the peer changes (Wi-Fi to Ethernet, a VPN coming up).

Only a plain Ethernet-type interface is read (``/sys/class/net/<if>/type`` 1, no
``tun_flags``): on loopback there is no network, and a tunnel (tun, tap, WireGuard, PPP)
shows only what goes through the tunnel, so traffic beside it would be missed and "this
computer received little else" could be wrong. Elsewhere than Linux nothing is read
(None): the feature says nothing rather than guess.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from player.net.rx_meter import RECEIVED, RxMeter

log = logging.getLogger(__name__)

SYS_NET = Path("/sys/class/net")
ARPHRD_ETHER = "1"  # Ethernet, Wi-Fi, veth, bridges; tunnels are 65534 (none), PPP 512
# names of tunnel/VPN drivers that may still look like Ethernet (tap devices do)
_TUNNEL_PREFIXES = ("tun", "tap", "wg", "ppp", "utun", "tailscale", "zt", "ipsec", "vpn")
RESOLVE_EVERY_S = 30.0  # routes change (roaming, a VPN): look the interface up again
_FORWARDING = (
    Path("/proc/sys/net/ipv4/ip_forward"),
    Path("/proc/sys/net/ipv6/conf/all/forwarding"),
)


@dataclass(frozen=True, slots=True)
class TrafficReading:
    """One reading: the interface's received bytes and multicast packets, the player's own
    received bytes, and whether this computer forwards traffic for others (then what the
    interface receives need not be its own)."""

    host_rx_bytes: int
    player_rx_bytes: int
    multicast_packets: int
    forwarding: bool


def _local_address(destination: str) -> str | None:
    """The local address the kernel would send from toward ``destination`` (no packet)."""
    try:
        ip = ipaddress.ip_address(destination.split("%")[0])
    except ValueError:
        return None
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((str(ip), 9))  # discard port: connect() on UDP sends nothing
            return str(s.getsockname()[0]).split("%")[0]
    except OSError:
        return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def plain_interface(name: str, root: Path = SYS_NET) -> bool:
    """Whether ``name`` is a plain (Ethernet-type, non-tunnel) interface."""
    if name == "lo" or name.startswith(_TUNNEL_PREFIXES):
        return False
    d = root / name
    return _read(d / "type") == ARPHRD_ETHER and not (d / "tun_flags").exists()


def interface_for(destination: str) -> str | None:
    """The plain interface whose address routes to ``destination``, or None (a local or
    tunnelled route, an unknown address, not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    local = _local_address(destination)
    if local is None or local == destination.split("%")[0]:
        return None  # the destination is this computer
    try:
        addrs = psutil.net_if_addrs()
    except (OSError, psutil.Error):
        return None
    for name, entries in addrs.items():
        if any(str(e.address).split("%")[0] == local for e in entries):
            return name if plain_interface(name) else None
    return None


def _forwarding() -> bool:
    return any(_read(p) == "1" for p in _FORWARDING)


class TrafficReader:
    """Reads the counters for the session (cheap: a few small /sys files per reading)."""

    def __init__(self, meter: RxMeter = RECEIVED, clock=time.monotonic) -> None:  # noqa: ANN001
        self._meter = meter
        self._clock = clock
        self._peer: str | None = None
        self._interface: str | None = None
        self._forwarding = False
        self._resolved_at = -RESOLVE_EVERY_S

    def read(self) -> TrafficReading | None:
        """A reading now, or None when no plain interface carries the video."""
        peer = self._meter.peer()
        if peer is None:
            return None
        now = self._clock()
        if peer != self._peer or now - self._resolved_at >= RESOLVE_EVERY_S:
            self._peer, self._resolved_at = peer, now
            self._interface = interface_for(peer)
            self._forwarding = _forwarding()
            log.debug("interface toward the video's server: %s", self._interface or "none fit")
        if self._interface is None:
            return None
        stats = SYS_NET / self._interface / "statistics"
        rx, mcast = _read(stats / "rx_bytes"), _read(stats / "multicast")
        if rx is None or not rx.isdigit():
            return None
        return TrafficReading(
            host_rx_bytes=int(rx),
            player_rx_bytes=self._meter.total(),
            multicast_packets=int(mcast) if mcast and mcast.isdigit() else 0,
            forwarding=self._forwarding,
        )
