"""What the player itself receives over HTTP, counted in one place (:data:`RECEIVED`).

:class:`player.net.transfer.Transfer` adds each body chunk it reads;
:class:`player.net.timing.TimedConnection` notes the address of each new upstream
connection. The session compares the total with the counter of the interface toward that
address (:mod:`player.net.host_counters`) to tell this computer's other traffic from the
video's own (``core.host_traffic``).
"""

from __future__ import annotations

import ipaddress
import threading


class RxMeter:
    """A thread-safe running total of bytes and the last non-loopback upstream peer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bytes = 0
        self._peer: str | None = None

    def add(self, n: int) -> None:
        with self._lock:
            self._bytes += n

    def total(self) -> int:
        with self._lock:
            return self._bytes

    def note_peer(self, address: str) -> None:
        """A connection to ``address`` was made (loopback peers are not a network path)."""
        try:
            if ipaddress.ip_address(address.split("%")[0]).is_loopback:
                return
        except ValueError:
            return
        with self._lock:
            self._peer = address

    def peer(self) -> str | None:
        with self._lock:
            return self._peer


RECEIVED = RxMeter()  # process-wide: one player per process
