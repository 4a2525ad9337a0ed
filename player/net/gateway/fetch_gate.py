"""The fetch gate: deliberate idle gaps in the gateway's upstream segment fetches.

Every upstream request goes through :meth:`Relay.open <player.net.gateway.relay.Relay.open>`,
which asks the gate first (:meth:`FetchGate.admit`) and tells it what is in flight
(:meth:`FetchGate.opening`). The session asks for a gap (:meth:`FetchGate.request`, the
policy is :mod:`player.core.idle_gap`); the gap *begins* as soon as none of our media
downloads (segments, init segments, a progressive body) is in flight -- at once, or when
the last one in flight has arrived (a fetch already in flight always finishes) -- and from
then on, for ``gap_s``, no new segment fetch starts: the read-ahead worker's and the ones
libVLC's requests make wait, at most until the gap ends. Playlists, init segments and keys
pass. A gap that cannot begin within ``arm_s`` is given up; :meth:`FetchGate.cancel` ends a
gap at once (a seek), :meth:`FetchGate.close` too, for good (the gateway stops; a fetch
waiting at the gate is then refused as stopping).

:meth:`FetchGate.downloading` is whether one of our media downloads is in flight now (sent
and not yet closed), the read-ahead's included and a request held at the gate excluded:
the path monitor labels its samples with it (:mod:`player.net.path.gaps`).

State changes are evaluated when asked (no thread of its own): the gap begins at the first
call that finds nothing in flight -- a fetch arriving at the gate, the probe thread's
pacing tick (0.1 s) or the session's heartbeat (50 ms) -- and ends at its deadline.
Thread-safe.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from player.core.model import Fetch, FetchKind

__all__ = ["COUNTED_KINDS", "GATED_KINDS", "FetchGate", "GapView", "GateStats"]

log = logging.getLogger(__name__)

#: Fetches a gap holds back: media segments (video and audio), the bulk of the bytes.
GATED_KINDS = frozenset({FetchKind.SEGMENT})
#: Fetches that count as "our download in flight": everything that carries media bytes.
COUNTED_KINDS = frozenset({FetchKind.SEGMENT, FetchKind.INIT, FetchKind.PROGRESSIVE})


class _Tracked(Protocol):
    """An open upstream transfer (:class:`~player.net.transfer.Transfer`): closed once its
    fetch record has an end."""

    fetch: Fetch


@dataclass(frozen=True, slots=True)
class GapView:
    """The gap open now: its number (1, 2, ...) and how long it still lasts."""

    number: int
    left_s: float


@dataclass(frozen=True, slots=True)
class GateStats:
    """The gaps so far: how many began, their seconds, and the fetches they held back."""

    gaps: int = 0
    gap_s: float = 0.0
    held: int = 0


class FetchGate:
    """Idle gaps in the upstream segment fetches (see module doc)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._transfers: weakref.WeakSet[_Tracked] = weakref.WeakSet()
        self._sending = 0  # counted requests sent, their response head not yet back
        self._armed_until: float | None = None  # a gap asked for, waiting to begin
        self._gap_s = 0.0
        self._open_at: float | None = None  # the gap open now began then ...
        self._ends_at = 0.0  # ... and ends then
        self._gaps = 0
        self._total_s = 0.0
        self._held = 0
        self._closed = False

    # --- the session ----------------------------------------------------------------------
    def request(self, gap_s: float, arm_s: float) -> bool:
        """Ask for a gap of ``gap_s``: it begins once nothing is in flight, if that happens
        within ``arm_s``. False (nothing changes) while one is asked for or open, or closed."""
        if gap_s <= 0:
            return False
        with self._cond:
            now = self._clock()
            self._update_locked(now)
            if self._closed or self._armed_until is not None or self._open_at is not None:
                return False
            self._armed_until = now + max(0.0, arm_s)
            self._gap_s = gap_s
            self._update_locked(now)
            return True

    def cancel(self) -> None:
        """End the gap now (open or only asked for): fetches held go at once."""
        with self._cond:
            self._end_locked(self._clock())
            self._armed_until = None

    def close(self) -> None:
        """:meth:`cancel`, and no gap again; a fetch waiting at the gate is refused."""
        with self._cond:
            self._closed = True
            self._end_locked(self._clock())
            self._armed_until = None

    @property
    def active(self) -> bool:
        """A gap is asked for or open."""
        with self._cond:
            self._update_locked(self._clock())
            return self._armed_until is not None or self._open_at is not None

    def stats(self) -> GateStats:
        """The gaps so far (an open gap counts with the seconds it has lasted)."""
        with self._cond:
            now = self._clock()
            self._update_locked(now)
            running = now - self._open_at if self._open_at is not None else 0.0
            return GateStats(self._gaps, self._total_s + running, self._held)

    # --- the gateway's threads -------------------------------------------------------------
    def admit(self, kind: FetchKind, on_hold: Callable[[], None] | None = None) -> bool:
        """Before an upstream request of ``kind``: wait while a gap is open (a segment only;
        at most until the gap ends). ``on_hold()`` is called once if it waits. False: the
        gate is closed (the gateway stops) and the request must not be sent."""
        if kind not in GATED_KINDS:
            return True
        with self._cond:
            held = False
            while True:
                now = self._clock()
                self._update_locked(now)
                if self._closed:
                    return False
                if self._open_at is None:
                    return True
                if not held:
                    held = True
                    self._held += 1
                    if on_hold is not None:
                        on_hold()
                self._cond.wait(max(0.0, self._ends_at - now))

    @contextmanager
    def opening(self, kind: FetchKind) -> Iterator[Callable[[_Tracked], None]]:
        """Around sending a request of ``kind``: it counts as in flight meanwhile; call the
        yielded ``track(transfer)`` with its open transfer, which counts until it closes."""
        if kind not in COUNTED_KINDS:
            yield lambda _tr: None
            return
        with self._cond:
            self._sending += 1
        try:
            yield self._track
        finally:
            with self._cond:
                self._sending -= 1
                self._update_locked(self._clock())

    def _track(self, tr: _Tracked) -> None:
        with self._cond:
            self._transfers.add(tr)

    # --- any thread ------------------------------------------------------------------------
    def downloading(self) -> bool:
        """One of our media downloads is in flight (sent, not closed; held ones excluded)."""
        with self._cond:
            self._update_locked(self._clock())
            return self._busy_locked()

    def gap(self) -> GapView | None:
        """The gap open now, or None."""
        with self._cond:
            now = self._clock()
            self._update_locked(now)
            if self._open_at is None:
                return None
            return GapView(self._gaps, max(0.0, self._ends_at - now))

    # --- internals (lock held) -------------------------------------------------------------
    def _busy_locked(self) -> bool:
        busy = bool(self._sending)
        for t in list(self._transfers):
            if t.fetch.finished_at is None:
                busy = True
            else:
                self._transfers.discard(t)  # closed: forget it now, not at garbage collection
        return busy

    def _update_locked(self, now: float) -> None:
        if self._open_at is not None and now >= self._ends_at:
            self._end_locked(self._ends_at)
        if self._armed_until is None or self._closed:
            return
        if now > self._armed_until:
            log.debug("idle gap given up: downloads stayed in flight")
            self._armed_until = None
        elif not self._busy_locked():
            self._armed_until = None
            self._open_at, self._ends_at = now, now + self._gap_s
            self._gaps += 1
            log.info("idle gap %d: no new segment fetch for %.1f s", self._gaps, self._gap_s)

    def _end_locked(self, at: float) -> None:
        if self._open_at is None:
            return
        self._total_s += max(0.0, at - self._open_at)
        self._open_at = None
        self._cond.notify_all()
