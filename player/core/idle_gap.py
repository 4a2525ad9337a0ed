"""When to make a deliberate idle gap in our own downloads (pure: no clock, no I/O).

On a link that is barely fast enough the video downloads back to back, so no probe sample
is ever taken while the path is idle, and the verdict lacks the idle reference it needs
(a queue that is there without our flow, "crowded", against one our own flow builds). The
gateway owns the transfers, so it can make the idle moment itself: hold new segment
fetches for a second while the buffer can afford it (player/net/gateway/fetch_gate.py).

:meth:`IdleGapPolicy.decide` says "hold new upstream fetches for ``hold_s`` now" or why
not; :class:`IdleGaps` is the open's bookkeeping of the gaps asked for (times are the
session's clock, seconds). Conservative by design (constants in
:mod:`player.core.thresholds`, each with its reason): only while playing (never stalled,
seeking, paused or starting up), only with the buffer comfortably above what the gap costs,
short (two probe rounds), rare (a minimum interval and a cap on their share of the playing
time, a cap on their number), and only while the path evidence still needs idle rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from player.core import thresholds as T

__all__ = ["GapDecision", "GapInputs", "IdleGapPolicy", "IdleGaps", "rounds_needed"]


def rounds_needed(idle_rounds: int | None, wanted: int = T.IDLE_GAP_WANTED_ROUNDS) -> int:
    """Idle probe rounds the evidence still needs (0 when unknown: no probing, no need)."""
    if idle_rounds is None:
        return 0
    return max(0, wanted - idle_rounds)


@dataclass(frozen=True, slots=True)
class GapInputs:
    """What the session knows now."""

    playing: bool  # PLAYING: not stalled, seeking, paused (buffering) or starting up
    buffer_ahead_s: float | None  # the buffer model's, plus the gateway's read-ahead
    segment_s: float | None  # the stream's segment duration (None: not segmented)
    idle_rounds_needed: int  # idle probe rounds the path evidence still needs
    monitor_ready: bool  # the path monitor probes and its budget can pay the gap's rounds
    playing_s: float  # playing time of this open so far


@dataclass(frozen=True, slots=True)
class GapDecision:
    """``hold_s`` > 0: hold new upstream fetches for that long now; else ``reason``."""

    hold_s: float
    reason: str

    @property
    def wanted(self) -> bool:
        return self.hold_s > 0


@dataclass(frozen=True, slots=True)
class IdleGapPolicy:
    """The rule (see the module doc); every field defaults to its threshold."""

    gap_s: float = T.IDLE_GAP_S
    buffer_segments: int = T.IDLE_GAP_BUFFER_SEGMENTS
    min_buffer_s: float = T.IDLE_GAP_MIN_BUFFER_S
    first_after_s: float = T.IDLE_GAP_FIRST_AFTER_S
    min_interval_s: float = T.IDLE_GAP_MIN_INTERVAL_S
    max_share: float = T.IDLE_GAP_MAX_SHARE
    max_count: int = T.IDLE_GAP_MAX_COUNT
    wanted_rounds: int = T.IDLE_GAP_WANTED_ROUNDS  # idle rounds after which gaps stop

    def buffer_needed_s(self, segment_s: float) -> float:
        """The buffer a gap needs: a few segments (at least ``min_buffer_s``) plus the gap."""
        return max(self.min_buffer_s, self.buffer_segments * segment_s) + self.gap_s

    def decide(self, inp: GapInputs, gaps: IdleGaps) -> GapDecision:
        """Whether to make a gap now, given the gaps already asked for (``gaps``)."""
        if not inp.playing:
            return GapDecision(0.0, "not playing")
        if not inp.monitor_ready:
            return GapDecision(0.0, "path monitor not probing")
        if inp.idle_rounds_needed <= 0:
            return GapDecision(0.0, "enough idle samples")
        if gaps.count >= self.max_count:
            return GapDecision(0.0, "gap limit reached")
        if inp.segment_s is None or inp.segment_s <= 0:
            return GapDecision(0.0, "not a segmented stream")
        if inp.buffer_ahead_s is None or inp.buffer_ahead_s < self.buffer_needed_s(inp.segment_s):
            return GapDecision(0.0, "buffer too low")
        if inp.playing_s < self.first_after_s:
            return GapDecision(0.0, "start-up")
        if gaps.last_at_playing_s is not None and (
            inp.playing_s - gaps.last_at_playing_s < self.min_interval_s
        ):
            return GapDecision(0.0, "too soon after the last gap")
        if gaps.total_s + self.gap_s > self.max_share * inp.playing_s:
            return GapDecision(0.0, "gaps' share of the playing time")
        return GapDecision(self.gap_s, "idle samples needed")


@dataclass(slots=True)
class IdleGaps:
    """The gaps asked for in one open (what the policy's rarity rules count)."""

    count: int = 0
    total_s: float = 0.0  # seconds asked for (a gap that never began counts too)
    last_at_playing_s: float | None = None

    def asked(self, playing_s: float, hold_s: float) -> None:
        """A gap of ``hold_s`` was asked for at playing time ``playing_s``."""
        self.count += 1
        self.total_s += hold_s
        self.last_at_playing_s = playing_s
