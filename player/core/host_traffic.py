"""This computer's other traffic: an interface counter minus the player's own bytes (pure).

The session reads, once per device tick, the bytes the interface toward the video's server
received, its multicast packets, and the bytes the player itself received (HTTP bodies).
:class:`HostTrafficWindow` keeps the last readings and :meth:`HostTrafficWindow.judge`
says, for the seconds before a stall, whether the computer received much else (busy),
little else (quiet) or neither (``thresholds``: host traffic). It sees only *this
computer*: other devices at home share the connection unseen, and a LAN transfer counts
as received too, so the words are "received", never "downloaded from the internet".

A stall's judgement is pinned the first time it is made: a long stall must not age the
readings before it out of the window and change what its notice says.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from enum import StrEnum

from player.core import thresholds as T

# readings kept: the window at the 1 s device tick, with room for a slower tick
_KEEP = 4 * int(T.HOST_TRAFFIC_WINDOW_S) + 4
_PINNED = 8  # stalls whose judgement is kept (more than a notice ever refers back to)


class HostLoad(StrEnum):
    """What the counters say about this computer's other traffic."""

    BUSY = "busy"  # much received besides the video
    QUIET = "quiet"  # little received besides the video
    UNCLEAR = "unclear"  # in between, or not attributable to this computer: nothing is said


@dataclass(frozen=True, slots=True)
class HostTraffic:
    """Rates over one window (bits/s). ``other_bps`` is what is said: for ``BUSY`` what
    remains after the largest share multicast could explain, otherwise all of it."""

    other_bps: float
    player_bps: float
    span_s: float
    load: HostLoad


@dataclass(frozen=True, slots=True)
class _Reading:
    at: float
    host_rx: int
    player_rx: int
    multicast: int
    forwarding: bool


class HostTrafficWindow:
    """The recent readings of one open (owner thread only)."""

    def __init__(self) -> None:
        self._readings: deque[_Reading] = deque(maxlen=_KEEP)
        self._pinned: OrderedDict[float, HostTraffic] = OrderedDict()

    def clear(self) -> None:
        """A new open, or the player stopped fetching the video itself: start again."""
        self._readings.clear()
        self._pinned.clear()

    def add(
        self,
        at: float,
        host_rx_bytes: int,
        player_rx_bytes: int,
        multicast_packets: int = 0,
        forwarding: bool = False,
    ) -> None:
        """One reading (``at``: the session clock). A counter that went back (an interface
        gone, a wrapped counter, another interface) restarts the readings."""
        last = self._readings[-1] if self._readings else None
        if last is not None and (
            at <= last.at
            or host_rx_bytes < last.host_rx
            or player_rx_bytes < last.player_rx
            or multicast_packets < last.multicast
        ):
            self._readings.clear()
        self._readings.append(
            _Reading(at, host_rx_bytes, player_rx_bytes, multicast_packets, forwarding)
        )

    def judge(self, end: float) -> HostTraffic | None:
        """The :data:`~player.core.thresholds.HOST_TRAFFIC_WINDOW_S` up to ``end`` (a stall's
        start), pinned once made; None with too few seconds, or readings that do not add up."""
        if end in self._pinned:
            return self._pinned[end]
        got = self._judge(end)
        if got is not None:
            self._pinned[end] = got
            while len(self._pinned) > _PINNED:
                self._pinned.popitem(last=False)
        return got

    def _judge(self, end: float) -> HostTraffic | None:
        inside = [r for r in self._readings if end - T.HOST_TRAFFIC_WINDOW_S - 1e-9 <= r.at <= end]
        if len(inside) < 2:
            return None
        first, last = inside[0], inside[-1]
        span = last.at - first.at
        if span < T.HOST_TRAFFIC_MIN_SPAN_S:
            return None
        host_bytes = last.host_rx - first.host_rx
        player_bytes = last.player_rx - first.player_rx
        if host_bytes < T.HOST_RX_CONSISTENT_FRACTION * player_bytes:
            return None  # this interface does not carry the video: it says nothing of it
        player_bps = player_bytes * 8 / span
        other = max(0.0, host_bytes * 8 / span - player_bps * T.HOST_RX_OVERHEAD)
        multicast_bps = (last.multicast - first.multicast) * T.MULTICAST_MAX_FRAME_BYTES * 8 / span
        unicast_other = max(0.0, other - multicast_bps)
        forwarding = any(r.forwarding for r in inside)
        load = classify(other, player_bps)
        if load is HostLoad.BUSY and (
            forwarding or classify(unicast_other, player_bps) is not HostLoad.BUSY
        ):
            load = HostLoad.UNCLEAR  # others' traffic passing through, or a multicast flood
        said = unicast_other if load is HostLoad.BUSY else other
        return HostTraffic(said, player_bps, span, load)


def classify(other_bps: float, player_bps: float) -> HostLoad:
    """Busy, quiet or unclear (``thresholds``: host traffic, with the reasons)."""
    if other_bps >= max(T.HOST_OTHER_BUSY_BPS, T.HOST_OTHER_BUSY_FRACTION * player_bps):
        return HostLoad.BUSY
    if other_bps <= max(T.HOST_OTHER_QUIET_BPS, T.HOST_OTHER_QUIET_FRACTION * player_bps):
        return HostLoad.QUIET
    return HostLoad.UNCLEAR
