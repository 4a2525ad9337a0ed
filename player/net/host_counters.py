"""Bytes received by the network interface that carries the video (psutil counters).

The interface is the one the kernel routes the media server's address through (a UDP
``connect`` sends nothing; it only looks the route up), found once per address. Only a
plain interface is read: on loopback there is no network, and a tunnel (VPN) interface
shows only what goes through the tunnel, so traffic beside it would be missed and "this
computer is quiet" could be wrong; both give None.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

import psutil

log = logging.getLogger(__name__)

# interface flags (psutil.net_if_stats().flags) that make its counters unfit: loopback,
# and point-to-point links (VPN tunnels: wg*, tun*, ppp*)
_UNFIT_FLAGS = {"loopback", "pointopoint"}


def _local_address(destination: str) -> str | None:
    """The local address the kernel would send from toward ``destination`` (no packet)."""
    try:
        ip = ipaddress.ip_address(destination.split("%")[0])
    except ValueError:
        return None
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((str(ip), 9))  # discard port: nothing is sent by connect()
            return str(s.getsockname()[0]).split("%")[0]
    except OSError:
        return None


def interface_for(destination: str) -> str | None:
    """The name of the plain interface whose address routes to ``destination``, or None."""
    local = _local_address(destination)
    if local is None:
        return None
    try:
        addrs = psutil.net_if_addrs()
        stats = psutil.net_if_stats()
    except (OSError, psutil.Error):
        return None
    for name, entries in addrs.items():
        if any(str(e.address).split("%")[0] == local for e in entries):
            flags = set(str(getattr(stats.get(name), "flags", "")).split(","))
            if flags & _UNFIT_FLAGS or name.startswith("lo"):
                return None
            return name
    return None


class InterfaceCounters:
    """Reads the video interface's received bytes; finds the interface once per address."""

    def __init__(self) -> None:
        self._destination: str | None = None
        self._interface: str | None = None

    def rx_bytes(self, destination: str | None) -> int | None:
        """Bytes received so far by the interface toward ``destination`` (None: unknown)."""
        if not destination:
            return None
        if destination != self._destination:
            self._destination = destination
            self._interface = interface_for(destination)
            log.debug("video interface toward the server: %s", self._interface or "none fit")
        if self._interface is None:
            return None
        try:
            counters = psutil.net_io_counters(pernic=True).get(self._interface)
        except (OSError, psutil.Error):
            return None
        return int(counters.bytes_recv) if counters is not None else None
