"""Probe rounds in the gateway's deliberate idle gaps (:class:`GapPacer`).

While an idle gap is open (:mod:`player.net.gateway.fetch_gate`) no download of ours is in
flight and none starts, so a round sent then is an idle sample of the path even on a link
where the video otherwise downloads back to back. :class:`GapPacer` is the prober's
:class:`~player.net.path.budget.Pacer` with one rule more: in a gap, a round labelled idle
is due at once (and again ``fast_s`` later) whatever the pacer's tier says, as long as the
gap still lasts the round's reply timeout (a reply that could arrive after the gap's end
might already see the next download). Such a round is recorded like any other idle round
(:attr:`Pacer.idle_rounds`: what the budget's tiers and the gap policy count) and counted
in :attr:`GapPacer.gap_rounds`. The budget still pays every round: a gap it cannot pay for
gets none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from player.net.path.budget import Pacer

__all__ = ["GapPacer", "GapSource", "GapState"]


class GapState(Protocol):
    """The gap open now (:class:`player.net.gateway.fetch_gate.GapView`)."""

    @property
    def number(self) -> int: ...

    @property
    def left_s(self) -> float: ...


class GapSource(Protocol):
    """What the path monitor needs of the gateway's fetch gate (thread-safe, cheap)."""

    def gap(self) -> GapState | None: ...

    def downloading(self) -> bool: ...


@dataclass(slots=True)
class GapPacer(Pacer):
    """A :class:`Pacer` that also takes idle rounds in the gaps of ``gaps`` (module doc).
    ``round_s``: a round's reply timeout (the prober's)."""

    gaps: GapSource | None = None
    round_s: float = 0.45
    gap_rounds: int = 0  # idle rounds sent in gaps
    _gap_number: int | None = field(default=None, repr=False)  # the gap of the last gap round
    _gap_round_at: float | None = field(default=None, repr=False)
    _pending: int | None = field(default=None, repr=False)  # due() said yes for this gap

    def due(self, now: float, loaded: bool) -> bool:
        self._pending = None
        g = self.gaps.gap() if self.gaps is not None and not loaded else None
        if g is not None and g.left_s >= self.round_s:
            fresh = g.number != self._gap_number
            if fresh or self._gap_round_at is None or now - self._gap_round_at >= self.fast_s:
                self._pending = g.number
                return True
        return Pacer.due(self, now, loaded)

    def record(self, at: float, loaded: bool) -> None:
        Pacer.record(self, at, loaded)
        if self._pending is not None and not loaded:
            self.gap_rounds += 1
            self._gap_number, self._gap_round_at = self._pending, at
        self._pending = None
