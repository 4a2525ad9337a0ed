"""The session's deliberate idle gaps: ask the policy every heartbeat, open the gateway's gate.

:class:`IdleGapDriver` reads what :mod:`player.core.idle_gap`'s policy needs (the state,
the buffer with the gateway's read-ahead, the segment duration, the path monitor's idle
rounds and budget) and, when it says so, asks the gateway's fetch gate for a gap
(:mod:`player.net.gateway.fetch_gate`); it hands the gate to the path monitor once
(:meth:`player.net.path.monitor.PathMonitor.watch_gaps`), so the gap's rounds are taken and
labelled idle, and ends a gap at once when playback stops playing (a stall, a seek, a
pause). Owner thread only; never blocks (the gate's and the monitor's calls take a lock
for a moment). A gateway or monitor without these parts (a fake) gets no gaps.
"""

from __future__ import annotations

import logging
from typing import Any

from player.core import thresholds as T
from player.core.idle_gap import GapInputs, IdleGapPolicy, IdleGaps, rounds_needed
from player.core.model import PlaybackState
from player.session.media import OpenMedia

__all__ = ["IdleGapDriver"]

log = logging.getLogger(__name__)


class IdleGapDriver:
    """Idle gaps for the current open (see module doc)."""

    def __init__(self, policy: IdleGapPolicy | None = None) -> None:
        self.policy = policy or IdleGapPolicy()
        self.asked = IdleGaps()
        self._gate: Any = None  # the current open's FetchGate (kept for the report)
        self._watched: object | None = None  # the path monitor given the gate

    def reset(self) -> None:
        """A new open: no gap asked for yet."""
        self.cancel()
        self.asked = IdleGaps()
        self._gate = None
        self._watched = None

    def cancel(self) -> None:
        """End a gap now (a seek: libVLC's next request must not wait)."""
        if self._gate is not None:
            self._gate.cancel()

    def tick(
        self,
        state: PlaybackState,
        *,
        seeking: bool,
        media: OpenMedia,
        gateway: object | None,
        path: object | None,
    ) -> None:
        gate = getattr(gateway, "fetch_gate", None)
        if gate is None:
            return
        self._gate = gate
        if path is not None and path is not self._watched:
            watch = getattr(path, "watch_gaps", None)
            if watch is not None:
                watch(gate)
            self._watched = path
        playing = state is PlaybackState.PLAYING and not seeking
        if not playing:
            if gate.active:
                gate.cancel()
            return
        playing_s = media.monitor.time_in(PlaybackState.PLAYING)
        decision = self.policy.decide(self._inputs(media, gateway, path, playing_s), self.asked)
        if decision.wanted and gate.request(decision.hold_s, T.IDLE_GAP_ARM_S):
            self.asked.asked(playing_s, decision.hold_s)
            log.info(
                "asking for idle gap %d (%.1f s) after %.0f s of playing",
                self.asked.count,
                decision.hold_s,
                playing_s,
            )

    def _inputs(
        self, media: OpenMedia, gateway: object, path: object | None, playing_s: float
    ) -> GapInputs:
        idle_rounds = getattr(path, "idle_rounds", None)
        gap_ready = getattr(path, "gap_ready", None)
        buffer = media.monitor.buffer_ahead_s
        readahead = getattr(gateway, "readahead_s", None)
        if buffer is not None and readahead is not None:
            buffer += readahead()
        segment_s = getattr(gateway, "segment_duration_s", None)
        return GapInputs(
            playing=True,
            buffer_ahead_s=buffer,
            segment_s=segment_s() if segment_s is not None else None,
            idle_rounds_needed=rounds_needed(
                idle_rounds() if idle_rounds is not None else None, self.policy.wanted_rounds
            ),
            monitor_ready=bool(gap_ready()) if gap_ready is not None else False,
            playing_s=playing_s,
        )

    def report(self) -> dict:
        """The report's keys (added to ``probe``): gaps that began and their seconds."""
        stats = self._gate.stats() if self._gate is not None else None
        return {
            "idle_gaps": stats.gaps if stats is not None else 0,
            "idle_gap_s": round(stats.gap_s, 2) if stats is not None else 0.0,
        }
