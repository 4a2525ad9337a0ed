"""Two onsets on one path, and a far hop's wobble behind a policer (realistic testbed).

On the realistic tree (tests/testbed/realistic.py: a 30 ms long haul, 1/3/6 Mbit/s, a
client at 50-100 % CPU) the spread fallback named the wrong segment twice:

* server network's queue (180 ms of swing from hop 5 on) behind an ISP hop that swung
  17 ms: the first, small rise took the blame ("delays grow inside the ISP");
* an access policer (the video's own data: a lossy plateau, no queueing delay) with a
  16 ms wobble at the 70 ms hops past the long haul: "the server's network is congested".

Hand-built evidence, pure (no I/O).
"""

from __future__ import annotations

import random

from player.core.attribution import (
    AttributionInput,
    FetchEvidence,
    HopEvidence,
    ProbeStatus,
    TtfbSample,
    attribute,
)
from player.core.model import Segment
from tests.core.flow_cases import POLICED, QUEUED, with_flow

ORGS = ["home", "Tellus", "Tellus", "CarrierOne", "StreamCDN", "StreamCDN", "StreamCDN"]
BASES = [0.1, 9.0, 9.0, 9.0, 70.0, 70.0, 70.0]  # a long haul between hops 4 and 5
N = 16


def _path(*queues: tuple[int, tuple[float, float]], seed: int = 7) -> list[HopEvidence]:
    """Loaded-only RTTs (no idle gaps): each ``(from_hop, (lo, hi))`` adds a queue that
    swings over ``lo..hi`` to that hop and every later one (one draw per round)."""
    rng = random.Random(seed)
    draws = [(start, [rng.uniform(*swing) for _ in range(N)]) for start, swing in queues]
    hops = []
    for i, (base, org) in enumerate(zip(BASES, ORGS, strict=True), start=1):
        loaded = [base + rng.uniform(0.0, 0.4) for _ in range(N)]
        for start, q in draws:
            if i >= start:
                loaded = [x + d for x, d in zip(loaded, q, strict=True)]
        hops.append(
            HopEvidence(i, org, private=i == 1, loaded_rtt_ms=loaded, is_destination=i == 7)
        )
    return hops


def _inp(hops: list[HopEvidence]) -> AttributionInput:
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


def test_a_large_queue_behind_a_small_rise_is_the_bottleneck() -> None:
    v = attribute(_inp(_path((3, (0.0, 24.0)), (5, (0.0, 180.0)))))
    assert v.segment is Segment.SERVER, (v.rule, [e.text for e in v.evidence])
    alone = attribute(_inp(_path((5, (0.0, 180.0)))))
    assert alone.segment is Segment.SERVER
    assert v.confidence <= alone.confidence  # the lesser rise in front adds no certainty


def test_a_queue_carried_on_with_some_wobble_stays_where_it_starts() -> None:
    # the access link's queue, carried by every later hop with up to 2x its swing on top
    v = attribute(_inp(_path((2, (0.0, 120.0)), (5, (0.0, 60.0)))))
    assert v.segment is Segment.ISP, (v.rule, [e.text for e in v.evidence])


def test_the_first_rise_stays_when_no_later_one_dominates() -> None:
    v = attribute(_inp(_path((3, (0.0, 40.0)), (5, (0.0, 80.0)))))
    assert v.segment is Segment.ISP, (v.rule, [e.text for e in v.evidence])


def test_a_far_hops_wobble_behind_a_policer_accuses_no_one() -> None:
    wobble = _path((5, (0.0, 20.0)))  # p10-p90 about 70-86 ms, as measured
    v = attribute(with_flow(_inp(wobble), POLICED))
    assert v.segment is Segment.UNKNOWN, (v.rule, [e.text for e in v.evidence])
    assert any("rate limit that drops packets" in e.text for e in v.evidence)
    # the bar rises only on the flow's word: without it a 16 ms swing still counts
    assert attribute(_inp(wobble)).segment is Segment.SERVER


def test_a_real_queue_behind_a_policer_is_still_seen() -> None:
    # the access policer's tiny queue with a BBR sender: 9-22 ms at a 9 ms hop, as measured
    v = attribute(with_flow(_inp(_path((2, (0.0, 20.0)))), POLICED))
    assert v.segment is Segment.ISP, (v.rule, [e.text for e in v.evidence])


def test_before_the_policer_shows_one_unqueued_download_is_enough() -> None:
    # the first stall comes after one or two downloads: too few to call a policer, yet the
    # video's own RTT already says its data did not queue on the way
    wobble = _path((5, (0.0, 20.0)))
    v = attribute(with_flow(_inp(wobble), POLICED[:1]))
    assert v.segment is Segment.UNKNOWN, (v.rule, [e.text for e in v.evidence])
    # ... and a download whose data queued keeps the swing's verdict
    assert attribute(with_flow(_inp(wobble), QUEUED[:1])).segment is Segment.SERVER
