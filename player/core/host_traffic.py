"""This computer's other traffic: interface counters minus the video's own bytes (pure).

The session samples, once per device tick, the bytes this computer's network interfaces
received (loopback excluded) and the bytes the player itself received (the gateway's
upstream bodies and the probes' replies). :class:`HostTrafficWindow` keeps the last
samples and :meth:`HostTrafficWindow.judge` says, for the seconds before a stall, whether
the computer was busy with other downloads, quiet, or neither (``thresholds``: host
traffic). It tells apart only *this computer's* traffic: other devices at home share the
connection unseen.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from player.core import thresholds as T

# samples kept: the window at the 1 s device tick, with room for a slower tick
_KEEP = 4 * int(T.HOST_TRAFFIC_WINDOW_S) + 4


class HostLoad(StrEnum):
    """What the counters say about this computer's other downloads."""

    BUSY = "busy"  # other downloads big enough to matter next to the video
    QUIET = "quiet"  # little beside the video
    UNCLEAR = "unclear"  # in between: nothing is said


@dataclass(frozen=True, slots=True)
class HostTraffic:
    """Rates over one window (bits/s): ``other_bps`` is what the interfaces received
    beyond the player's own bytes (headers allowed for), never negative."""

    other_bps: float
    player_bps: float
    span_s: float
    load: HostLoad


@dataclass(frozen=True, slots=True)
class _Sample:
    at: float
    host_rx: int  # interface bytes received, loopback excluded
    player_rx: int  # the player's own bytes received (video bodies + probe replies)


class HostTrafficWindow:
    """The recent counters of one open (owner thread only)."""

    def __init__(self) -> None:
        self._samples: deque[_Sample] = deque(maxlen=_KEEP)

    def clear(self) -> None:
        """A new open: earlier counters say nothing about it."""
        self._samples.clear()

    def add(self, at: float, host_rx_bytes: int, player_rx_bytes: int) -> None:
        """One reading (``at``: the session clock). A counter that went back (an interface
        gone, a wrapped counter) restarts the window."""
        last = self._samples[-1] if self._samples else None
        if last is not None and (
            at <= last.at or host_rx_bytes < last.host_rx or player_rx_bytes < last.player_rx
        ):
            self._samples.clear()
        self._samples.append(_Sample(at, host_rx_bytes, player_rx_bytes))

    def judge(self, end: float) -> HostTraffic | None:
        """The window of :data:`~player.core.thresholds.HOST_TRAFFIC_WINDOW_S` up to ``end``
        (the stall's start), or None with too few seconds of counters."""
        inside = [s for s in self._samples if end - T.HOST_TRAFFIC_WINDOW_S - 1e-9 <= s.at <= end]
        if len(inside) < 2:
            return None
        first, last = inside[0], inside[-1]
        span = last.at - first.at
        if span < T.HOST_TRAFFIC_MIN_SPAN_S:
            return None
        host_bps = (last.host_rx - first.host_rx) * 8 / span
        player_bps = (last.player_rx - first.player_rx) * 8 / span
        other = max(0.0, host_bps - player_bps * T.HOST_RX_OVERHEAD)
        return HostTraffic(other, player_bps, span, classify(other, player_bps))


def classify(other_bps: float, player_bps: float) -> HostLoad:
    """Busy, quiet or unclear (``thresholds``: host traffic, with the reasons)."""
    if other_bps >= max(T.HOST_OTHER_BUSY_BPS, T.HOST_OTHER_BUSY_FRACTION * player_bps):
        return HostLoad.BUSY
    if other_bps <= max(T.HOST_OTHER_QUIET_BPS, T.HOST_OTHER_QUIET_FRACTION * player_bps):
        return HostLoad.QUIET
    return HostLoad.UNCLEAR
