"""Abandoning a segment download that will arrive too late (pure: no I/O, no clock).

The idea of dash.js's ``AbandonRequestsRule`` (and ExoPlayer's "cancel and re-fetch"):
the rendition of a segment is chosen on a throughput prediction; when the link collapses
*while* the segment downloads, waiting for the rest of it stalls playback, and the same
segment at a lower rendition arrives sooner. Here:

* :class:`ProgressMeter` turns ``(time, bytes received)`` readings of one transfer into
  an :class:`InFlight` view: the rate is the *lower* of the whole transfer's (since the
  request went out, first-byte wait included) and the last
  ``ABR_ABANDON_RATE_WINDOW_S``'s, so a collapse shows within a second even late in a
  large segment (the lifetime average alone lags behind it).
* :func:`abandon_choice`: abandon when the rest of the segment, at that rate, would take
  longer than the buffer ahead of it covers above the panic level, *and* the same segment
  from a lower rendition (sizes scale with the bitrate) would arrive sooner. The new
  rendition is the highest lower one whose whole segment fits in that buffer at that
  rate, else the lowest.

Only the risk side is judged: a download that merely runs slower than predicted but still
arrives in time is never abandoned (its bytes would be wasted for nothing).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from player.core import thresholds as T

__all__ = ["AbandonDecision", "InFlight", "ProgressMeter", "abandon_choice"]


@dataclass(frozen=True, slots=True)
class InFlight:
    """One segment download in progress."""

    elapsed_s: float  # since the request was sent
    received_bytes: int
    total_bytes: int
    rate_bps: float  # the judged rate (see ProgressMeter)

    @property
    def remaining_s(self) -> float:
        """Seconds the rest of the body takes at ``rate_bps``."""
        left = max(0, self.total_bytes - self.received_bytes) * 8
        return left / self.rate_bps if self.rate_bps > 0 else float("inf")


@dataclass(frozen=True, slots=True)
class AbandonDecision:
    """Abandon the download and fetch the same segment from rendition ``index``."""

    index: int
    reason: str


class ProgressMeter:
    """``(time, bytes received so far)`` readings of one transfer -> :class:`InFlight`."""

    def __init__(self, started_s: float, total_bytes: int) -> None:
        self.started_s = started_s
        self.total_bytes = total_bytes
        self._readings: deque[tuple[float, int]] = deque()

    def update(self, now_s: float, received_bytes: int) -> None:
        self._readings.append((now_s, received_bytes))
        # keep one reading older than the window: the recent rate spans a full window
        while len(self._readings) > 2 and self._readings[1][0] <= now_s - (
            T.ABR_ABANDON_RATE_WINDOW_S
        ):
            self._readings.popleft()

    def snapshot(self) -> InFlight | None:
        """The transfer so far; None until ``ABR_ABANDON_MIN_ELAPSED_S`` has passed (too
        short to judge a rate by)."""
        if not self._readings:
            return None
        now, got = self._readings[-1]
        elapsed = now - self.started_s
        if elapsed < T.ABR_ABANDON_MIN_ELAPSED_S:
            return None
        rate = got * 8 / elapsed
        t0, b0 = self._readings[0]
        if now - t0 >= T.ABR_ABANDON_RATE_WINDOW_S:
            rate = min(rate, (got - b0) * 8 / (now - t0))
        return InFlight(elapsed, got, self.total_bytes, rate)


def abandon_choice(
    bitrates_bps: Sequence[int], index: int, flight: InFlight, buffer_s: float
) -> AbandonDecision | None:
    """Whether to abandon a download from rendition ``index`` (into the ascending
    ``bitrates_bps``) with ``buffer_s`` of media ahead of this segment (see module doc)."""
    if index <= 0 or flight.total_bytes <= 0:
        return None
    room = buffer_s - T.ABR_PANIC_BUFFER_S
    rest = flight.remaining_s
    if rest <= room:
        return None
    if flight.rate_bps <= 0:
        return AbandonDecision(0, "nothing arrives: lowest rendition")

    def whole_s(j: int) -> float:
        return flight.total_bytes * bitrates_bps[j] / bitrates_bps[index] * 8 / flight.rate_bps

    fits = [j for j in range(index) if whole_s(j) <= room]
    new = max(fits) if fits else 0
    if whole_s(new) >= rest:
        return None  # starting over would not arrive sooner
    return AbandonDecision(
        new,
        f"{rest:.1f} s left at {flight.rate_bps / 1e6:.2f} Mbit/s, "
        f"{max(room, 0.0):.1f} s of buffer to cover it",
    )
