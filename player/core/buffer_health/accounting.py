"""Time per playback state and the time-weighted bitrate while playing (for QoE)."""

from __future__ import annotations

from player.core.model import PlaybackState


class Accounting:
    """Seconds spent in each state, rendition switches and the average played bitrate."""

    def __init__(self) -> None:
        self.time_in: dict[PlaybackState, float] = {s: 0.0 for s in PlaybackState}
        self.bitrate: float | None = None
        self.bitrate_integral = 0.0  # bit-seconds/second * seconds while playing
        self.bitrate_time = 0.0
        self.switches = 0

    def add(self, state: PlaybackState, dt: float) -> None:
        """``dt`` seconds went by in ``state``."""
        self.time_in[state] += dt
        if state is PlaybackState.PLAYING and self.bitrate is not None:
            self.bitrate_integral += self.bitrate * dt
            self.bitrate_time += dt

    def rendition(self, bitrate_bps: float) -> None:
        """The rendition being played is now ``bitrate_bps``."""
        if self.bitrate is not None and bitrate_bps != self.bitrate:
            self.switches += 1
        self.bitrate = float(bitrate_bps)

    @property
    def watch_s(self) -> float:
        """Playing plus stalled time: what the rebuffering ratio is relative to."""
        return self.time_in[PlaybackState.PLAYING] + self.time_in[PlaybackState.STALLED]

    def avg_kbps(self) -> float | None:
        """Time-weighted bitrate while playing; the current one before any playing time."""
        if self.bitrate_time > 0:
            return self.bitrate_integral / self.bitrate_time / 1000.0
        if self.bitrate is not None:
            return self.bitrate / 1000.0
        return None
