"""Every HTTP body byte the player receives, counted in one place (:data:`RECEIVED`).

:class:`player.net.transfer.Transfer` adds each chunk it reads. The session compares the
total with the interface counters (:mod:`player.net.host_counters`) to tell this
computer's other downloads from the video's own (``core.host_traffic``).
"""

from __future__ import annotations

import threading


class RxMeter:
    """A thread-safe running total of bytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bytes = 0

    def add(self, n: int) -> None:
        with self._lock:
            self._bytes += n

    def total(self) -> int:
        with self._lock:
            return self._bytes


RECEIVED = RxMeter()  # process-wide: one player per process
