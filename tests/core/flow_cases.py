"""Hand-built flow samples (the video flow's own TCP signals) for the attribution tests."""

from __future__ import annotations

from dataclasses import replace

from player.core.attribution import AttributionInput
from player.core.attribution.inputs import FlowSample

FLOOR_MS = 17.0  # the standard test path's server RTT (tests/core/test_attribution.BASES)


def sample(
    rtt: float = FLOOR_MS + 0.5,
    *,
    floor: float = FLOOR_MS,
    ooo: int | None = 0,
    pause: float | None = 0.05,
    wait: float | None = 0.95,
    bps: float | None = 0.6e6,
    transfer_ms: float | None = 4000.0,
    rttvar: float | None = 2.0,
) -> FlowSample:
    """One fetch's signals: receiver RTT ``rtt`` at the end, the path's lowest ``floor``."""
    return FlowSample(
        rcv_rtt_ms=rtt,
        low_ms=floor,
        floor_ms=floor,
        rttvar_ms=rttvar,
        ooo_packets=ooo,
        retransmits=0,
        pause_share=pause,
        wait_share=wait,
        throughput_bps=bps,
        transfer_ms=transfer_ms,
    )


SLOW_SENDER = [sample() for _ in range(4)]  # below need, RTT at its floor, no loss
QUEUED = [sample(FLOOR_MS + 300.0) for _ in range(4)]  # our own data queued on the way
POLICED = [sample(FLOOR_MS + 1.0, ooo=30, bps=b) for b in (0.6e6, 0.7e6, 0.55e6, 0.65e6)]


def with_flow(inp: AttributionInput, flow: list[FlowSample]) -> AttributionInput:
    """``inp`` whose fetches carry ``flow``."""
    return replace(inp, fetch=replace(inp.fetch, flow=list(flow)))
