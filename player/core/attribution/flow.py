"""What the video flow's own TCP signals show (pure): a queue on its path, a server that
sends slowly into an empty network, or a rate limit that drops packets.

Each recent fetch with a receiver RTT estimate is judged against the floor (the lowest RTT
the flow showed in this open, thresholds: the video flow's own TCP signals):

- ``queued``: the receiver RTT at the end of the body rose well above the floor while the
  data kept flowing: the video's own data waited in a queue on the way (the network, not
  the server's application, which would have sent less, not later);
- ``flat``: it stayed at the floor: nothing queued;
- ``paused``: the body spent most of its time waiting for data, so the RTT (measured across
  the sender's pauses) says nothing about a queue;
- ``unclear``: in between.

Out-of-order packets (``ooo_packets``) are holes in the data: a packet lost on the way.
None of these findings names a network segment by itself (a queue or a rate limit can be
anywhere on the route); they rule causes in or out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from player.core import thresholds as T
from player.core.attribution.inputs import FetchEvidence, FlowSample
from player.core.stats import median

__all__ = ["FlowFindings", "FlowState", "flow_findings", "judge"]


class FlowState(StrEnum):
    QUEUED = "queued"
    FLAT = "flat"
    PAUSED = "paused"
    UNCLEAR = "unclear"


@dataclass(frozen=True, slots=True)
class Judged:
    """One fetch's flow against the floor."""

    state: FlowState
    rise_ms: float
    rise_bar_ms: float  # the rise that counts as a queue
    lossy: bool | None  # out-of-order packets seen (None: not measured)


def rise_bar_ms(floor_ms: float, rttvar_ms: float | None) -> tuple[float, float]:
    """(queued at or above, flat at or below) in ms of rise over ``floor_ms``."""
    var = rttvar_ms or 0.0
    flat = max(T.FLOW_FLAT_MAX_MS, T.FLOW_FLAT_REL * floor_ms, T.FLOW_FLAT_JITTER_K * var)
    rise = max(T.FLOW_RISE_MIN_MS, T.FLOW_RISE_REL * floor_ms, T.FLOW_RISE_JITTER_K * var)
    return max(rise, 2 * flat), flat


def judge(s: FlowSample, floor_ms: float) -> Judged | None:
    """``s`` against ``floor_ms`` (None without a receiver RTT estimate)."""
    if s.rcv_rtt_ms is None:
        return None
    rise = max(0.0, s.rcv_rtt_ms - floor_ms)
    queued_at, flat_at = rise_bar_ms(floor_ms, s.rttvar_ms)
    lossy = None if s.ooo_packets is None else s.ooo_packets > 0
    # A sender that held the first byte back (a slow server) makes the receiver RTT carry
    # that wait: with timestamps, the first data echoes the request's, so the smoothed
    # estimate at the end of a short body still holds a share of it. Such a body, like one
    # paused inside, says nothing about a queue.
    held_first_byte = s.ttfb_ms is not None and s.ttfb_ms - floor_ms >= queued_at
    if held_first_byte or (s.pause_share is not None and s.pause_share >= T.FLOW_PAUSED_SHARE):
        state = FlowState.PAUSED
    elif rise >= queued_at:
        state = FlowState.QUEUED
    elif rise <= flat_at:
        state = FlowState.FLAT
    else:
        state = FlowState.UNCLEAR
    return Judged(state, rise, queued_at, lossy)


@dataclass(frozen=True, slots=True)
class FlowFindings:
    """What the recent fetches' flow signals show (all False/None without them)."""

    n: int = 0  # fetches judged (with a receiver RTT estimate)
    floor_ms: float | None = None
    rtt_ms: float | None = None  # median receiver RTT of the queued fetches (else all)
    n_queued: int = 0
    n_lossy: int = 0
    queued: bool = False  # (a) our flow's RTT rose under load: a queue on its path
    sends_slowly: bool = False  # (b) below need, RTT at its floor, no loss: the sender
    sends_in_bursts: bool = False  # (b') below need, no loss, the sender pausing
    policed: bool = False  # (c) a loss-y plateau below need with no queueing delay
    throughput_bps: float | None = None  # median of the fetches (b)/(c) speak of


def _below_need(s: FlowSample, need: float | None, floor_ms: float) -> bool:
    """Clearly below the bitrate needed, over a body long enough in RTTs that the window's
    growth does not explain it (thresholds: FLOW_MIN_RTTS)."""
    if need is None or s.throughput_bps is None or s.transfer_ms is None:
        return False
    long_enough = s.transfer_ms >= T.FLOW_MIN_RTTS * floor_ms
    return long_enough and s.throughput_bps < T.FLOW_SHORTFALL * need


def _sender_paced(s: FlowSample) -> bool:
    """The player waited for the data (not the data for the player: thresholds)."""
    return s.wait_share is not None and s.wait_share >= T.FLOW_SENDER_PACED_WAIT


def _plateau(rates: Sequence[float]) -> bool:
    return bool(rates) and min(rates) > 0 and max(rates) / min(rates) <= T.FLOW_PLATEAU_RATIO


def _floor(s: FlowSample) -> float | None:
    lows = [x for x in (s.floor_ms, s.low_ms) if x is not None]
    return min(lows) if lows else None


def flow_findings(fe: FetchEvidence) -> FlowFindings:
    """Reduce the fetches' flow samples to :class:`FlowFindings` (pure)."""
    judged = [
        (s, floor, j)
        for s in fe.flow
        if (floor := _floor(s)) is not None and (j := judge(s, floor)) is not None
    ]
    if not judged:
        return FlowFindings()
    queued = [(s, fl) for s, fl, j in judged if j.state is FlowState.QUEUED]
    lossy = [s for s, _, j in judged if j.lossy]
    need = fe.needed_bitrate_bps
    enough = len(judged) >= T.FLOW_MIN_FETCHES
    loss_known = all(j.lossy is not None for *_, j in judged)
    all_below = all(_below_need(s, need, fl) and _sender_paced(s) for s, fl, _ in judged)
    clean = enough and loss_known and not lossy and not queued and all_below
    states = {j.state for *_, j in judged}
    # (c): lossy fetches without queueing delay (flat, or pausing while losses are
    # repaired with the RTT below the queue bar), at about the same rate, below need
    plateau = [
        (s, fl)
        for s, fl, j in judged
        if j.lossy and j.state in (FlowState.FLAT, FlowState.PAUSED) and j.rise_ms < j.rise_bar_ms
    ]
    policed = (
        len(plateau) >= T.FLOW_MIN_FETCHES
        and not queued
        and all(_below_need(s, need, fl) for s, fl in plateau)
        and _plateau([s.throughput_bps or 0.0 for s, _ in plateau])
    )
    spoken = plateau if policed else [(s, fl) for s, fl, _ in judged]
    shown = queued or [(s, fl) for s, fl, _ in judged]  # the fetches the RTT line speaks of
    return FlowFindings(
        n=len(judged),
        floor_ms=median(fl for _, fl in shown),
        rtt_ms=median(s.rcv_rtt_ms for s, _ in shown if s.rcv_rtt_ms is not None),
        n_queued=len(queued),
        n_lossy=len(lossy),
        queued=len(queued) >= T.FLOW_MIN_QUEUED and 2 * len(queued) > len(judged),
        sends_slowly=clean and states == {FlowState.FLAT},
        sends_in_bursts=clean
        and states <= {FlowState.FLAT, FlowState.PAUSED}
        and FlowState.PAUSED in states,
        policed=policed,
        throughput_bps=median(s.throughput_bps for s, _ in spoken if s.throughput_bps),
    )
