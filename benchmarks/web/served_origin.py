"""The demo's throttled origin, plus a log of every body it delivered (complete or not)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from player.demo.origin import OriginHandler, ThrottledOrigin


@dataclass(frozen=True)
class Delivery:
    path: str
    started_s: float  # origin clock (time.monotonic() - the origin's start)
    finished_s: float
    nbytes: int
    completed: bool


class _LoggingHandler(OriginHandler):
    def send_body(self, body: bytes) -> None:
        owner: LoggingOrigin = self.server.owner  # type: ignore[assignment]
        t0 = owner.clock()
        completed = False
        try:
            super().send_body(body)
            completed = True
        finally:
            owner.log_delivery(Delivery(self.path, t0, owner.clock(), len(body), completed))


class LoggingOrigin(ThrottledOrigin):
    """A :class:`ThrottledOrigin` whose ``deliveries`` list every body it sent."""

    handler_class = _LoggingHandler

    def __init__(self, root: Path | str) -> None:
        super().__init__(root)
        self.deliveries: list[Delivery] = []
        self._log_lock = threading.Lock()

    def clock(self) -> float:
        return time.monotonic() - (self.started_at or 0.0)

    def log_delivery(self, d: Delivery) -> None:
        with self._log_lock:
            self.deliveries.append(d)
