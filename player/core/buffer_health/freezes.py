"""Freeze bookkeeping: the ongoing glitch or stall, and every stall and glitch so far.

A frozen picture is either a *glitch* (the buffer is healthy: the player's own hiccup,
counted apart) or a *stall* (rebuffering). A glitch whose buffer runs low is promoted to
a stall; it is then not counted as a glitch. The playback state itself is the monitor's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from player.core.buffer_health.events import (
    Event,
    Glitch,
    GlitchEnded,
    GlitchStarted,
    StallEnded,
    StallStarted,
)
from player.core.buffer_health.signals import PlaybackSignals
from player.core.model import Stall


@dataclass(slots=True)
class Freeze:
    """The picture freeze in progress."""

    kind: str  # "glitch" | "stall"
    start_at: float  # monotonic
    playhead_at_start: float | None


class FreezeTracker:
    """Opens and closes glitches and stalls; ``rel`` maps monotonic to session time."""

    def __init__(self, signals: PlaybackSignals, rel: Callable[[float], float]) -> None:
        self.signals = signals
        self.rel = rel
        self.freeze: Freeze | None = None
        self.stall: Stall | None = None
        self.exit_frames = 0  # new pictures since the first one that may end the stall
        self.exit_first_at: float | None = None
        self.stalls: list[Stall] = []
        self.glitches: list[Glitch] = []

    @property
    def glitch_count(self) -> int:
        """Finished glitches (picture freezes with a healthy buffer)."""
        return sum(1 for g in self.glitches if g.duration_s is not None)

    def stall_seconds(self, now_s: float | None) -> float:
        """Total stall time; an ongoing stall counts up to ``now_s`` (session time)."""
        total = 0.0
        for s in self.stalls:
            if s.duration_s is not None:
                total += s.duration_s
            elif now_s is not None:
                total += max(0.0, now_s - s.start_s)
        return total

    def clock_running(self, ref: float | None = None) -> bool:
        """:meth:`PlaybackSignals.clock_running` since ``ref`` (default: this freeze's start)."""
        if ref is None and self.freeze is not None:
            ref = self.freeze.playhead_at_start
        return self.signals.clock_running(ref)

    def begin_glitch(self, start_at: float, playhead_ref: float | None = None) -> list[Event]:
        if playhead_ref is None:
            playhead_ref = self.signals.playhead_at_last_frame
        ahead = self.signals.buffer_ahead
        self.freeze = Freeze("glitch", start_at, playhead_ref)
        self.glitches.append(Glitch(self.rel(start_at), None, ahead))
        return [GlitchStarted(self.rel(start_at), ahead)]

    def end_glitch(self, at: float, promoted: bool = False) -> list[Event]:
        assert self.freeze is not None and self.freeze.kind == "glitch"
        glitch = self.glitches[-1]
        duration = max(0.0, self.rel(at) - glitch.start_s)
        if promoted:
            self.glitches.pop()
        else:
            glitch.duration_s = duration
        self.freeze = None
        self.signals.interval_valid = False
        return [GlitchEnded(glitch.start_s, duration, promoted)]

    def promote_glitch(self, at: float) -> tuple[list[Event], float | None]:
        """End an ongoing glitch because it becomes a stall; returns the events and the
        playhead the stall is measured from (the glitch's, else the last picture's)."""
        if self.freeze is not None and self.freeze.kind == "glitch":
            ref = self.freeze.playhead_at_start
            return self.end_glitch(at, promoted=True), ref
        return [], self.signals.playhead_at_last_frame

    def open_stall(self, start_at: float, at: float, playhead_ref: float | None) -> StallStarted:
        playhead = self.signals.playhead
        self.freeze = Freeze("stall", start_at, playhead_ref)
        self.stall = Stall(start_s=self.rel(start_at), playhead_s=playhead)
        self.stalls.append(self.stall)
        self.exit_frames = 0
        self.exit_first_at = None
        return StallStarted(self.stall.start_s, self.rel(at), playhead, self.signals.buffer_ahead)

    def exit_pictures(
        self, at: float, new_frames: int, *, window_s: float, needed: int
    ) -> float | None:
        """Count the new pictures that may end the stall; once ``needed`` came with no gap
        over ``window_s``, returns when the stall ended (the first of them), else None."""
        if self.exit_first_at is not None and at - self.exit_first_at > window_s:
            # a lone picture long ago does not end the stall (hysteresis)
            self.exit_frames = 0
            self.exit_first_at = None
        if new_frames <= 0:
            return None
        if self.exit_first_at is None:
            self.exit_first_at = at
        self.exit_frames += new_frames
        if self.exit_frames < needed:
            return None
        return self.exit_first_at

    def end_stall(self, end_at: float, reason: str) -> list[Event]:
        assert self.stall is not None
        stall = self.stall
        stall.duration_s = max(0.0, self.rel(end_at) - stall.start_s)
        self.stall = None
        self.freeze = None
        self.signals.interval_valid = False
        return [StallEnded(stall.start_s, stall.duration_s, reason)]

    def close(self, at: float, reason: str) -> list[Event]:
        """End any ongoing stall or glitch because playback left the playing states."""
        if self.stall is not None:
            return self.end_stall(at, reason)
        if self.freeze is not None:
            return self.end_glitch(at)
        return []
