"""What the buffer-health monitor reports: state changes, startup, stalls and glitches.

All times are seconds since the session start, the same clock as
:attr:`player.core.model.Stall.start_s`.
"""

from __future__ import annotations

from dataclasses import dataclass

from player.core.model import PlaybackState


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The playback state changed at ``at_s`` (seconds since session start)."""

    old: PlaybackState
    new: PlaybackState
    at_s: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StartupComplete:
    """The first picture appeared ``startup_s`` seconds after the session start."""

    startup_s: float


@dataclass(frozen=True, slots=True)
class StallStarted:
    """A rebuffering stall began at ``start_s`` (back-dated to the last new picture)."""

    start_s: float
    detected_s: float  # when the monitor decided (start_s + detection delay)
    playhead_s: float | None = None
    buffer_ahead_s: float | None = None


@dataclass(frozen=True, slots=True)
class StallEnded:
    """A stall ended; ``reason`` is resumed | paused | seeking | ended | clock_running."""

    start_s: float
    duration_s: float
    reason: str = "resumed"


@dataclass(frozen=True, slots=True)
class GlitchStarted:
    """The picture froze while the buffer was healthy (a player glitch, not a stall)."""

    start_s: float
    buffer_ahead_s: float | None = None


@dataclass(frozen=True, slots=True)
class GlitchEnded:
    """A glitch is over. ``promoted`` means it turned into a stall (then not counted)."""

    start_s: float
    duration_s: float
    promoted: bool = False


Event = StateChanged | StartupComplete | StallStarted | StallEnded | GlitchStarted | GlitchEnded


@dataclass(slots=True)
class Glitch:
    """A picture freeze with a healthy buffer: counted apart from stalls."""

    start_s: float
    duration_s: float | None = None
    buffer_ahead_s: float | None = None
