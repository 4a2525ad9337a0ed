"""Hand-built loaded-only hop evidence on a path like the realistic testbed's (a home
router, two ISP hops, a transit hop, then a 30 ms long haul to the video's network)."""

from __future__ import annotations

import random

from player.core.attribution import (
    AttributionInput,
    FetchEvidence,
    HopEvidence,
    ProbeStatus,
    TtfbSample,
)

ORGS = ["home", "Tellus", "Tellus", "CarrierOne", "StreamCDN", "StreamCDN", "StreamCDN"]
BASES = [0.1, 9.0, 9.0, 9.0, 70.0, 70.0, 70.0]  # a long haul between hops 4 and 5
N = 16


def long_haul_path(
    *queues: tuple[int, tuple[float, float]], seed: int = 7, n: int = N, contradict: int = 0
) -> list[HopEvidence]:
    """Loaded-only RTTs (no idle gaps): each ``(from_hop, (lo, hi))`` adds a queue that
    swings over ``lo..hi`` to that hop and every later one (one draw per round);
    ``contradict``: that hop shows none of it (it answers flat)."""
    rng = random.Random(seed)
    draws = [(start, [rng.uniform(*swing) for _ in range(n)]) for start, swing in queues]
    hops = []
    for i, (base, org) in enumerate(zip(BASES, ORGS, strict=True), start=1):
        loaded = [base + rng.uniform(0.0, 0.4) for _ in range(n)]
        for start, q in draws:
            if i >= start and i != contradict:
                loaded = [x + d for x, d in zip(loaded, q, strict=True)]
        hops.append(
            HopEvidence(i, org, private=i == 1, loaded_rtt_ms=loaded, is_destination=i == 7)
        )
    return hops


def realistic_input(hops: list[HopEvidence]) -> AttributionInput:
    return AttributionInput(
        hops=hops,
        probe_status=ProbeStatus.OK,
        fetch=FetchEvidence(
            ttfb=[TtfbSample(80.0, None)] * 3,
            throughput_bps=[0.9e6] * 4,
            needed_bitrate_bps=1.2e6,
            server_org="StreamCDN",
        ),
    )


def weak_sign() -> AttributionInput:
    """A swing just over its bar past the long haul, from few samples, with the last hop not
    showing it: the realistic tree's policer case (a "server" verdict at 0.23-0.26)."""
    return realistic_input(long_haul_path((5, (0.0, 24.0)), n=7, contradict=7))
