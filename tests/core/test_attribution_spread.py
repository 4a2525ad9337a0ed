"""Attribution without idle samples: the spread-of-loaded-RTTs fallback.

When the link is too slow or crowded the player downloads without pause, so hop probes
are all labelled "loaded". A queue still shows as RTTs that swing (its occupancy follows
the senders' windows); propagation does not swing. These tests pin that fallback down and
check that it never overrides evidence against idle RTTs.
"""

from __future__ import annotations

import random

from player.core import thresholds as T
from player.core.attribution import (
    AttributionInput,
    FetchEvidence,
    HopEvidence,
    ProbeStatus,
    TtfbSample,
    analyse,
    attribute,
    spread_stats,
)
from player.core.model import Segment

ORGS = ["home", "Verizon", "Verizon", "Transit", "ExampleCDN", "ExampleCDN"]
BASES = [0.5, 6.0, 9.0, 20.0, 22.0, 23.0]


def _flat(base: float, n: int = 16, jitter: float = 0.4, seed: int = 1) -> list[float]:
    rng = random.Random(seed * 31 + int(base * 10))
    return [base + rng.uniform(0.0, jitter) for _ in range(n)]


def _path(queue_from: int | None, swing: tuple[float, float] = (40.0, 220.0),
          n: int = 16, idle: int = 0, standing: float = 0.0) -> list[HopEvidence]:
    """Six hops; from ``queue_from`` on, loaded RTTs carry a queue swinging over ``swing``
    (the same queue sample in a round for every later hop) plus a ``standing`` part."""
    rng = random.Random(7)
    queue = [rng.uniform(*swing) for _ in range(n)]
    hops = []
    for i, (base, org) in enumerate(zip(BASES, ORGS, strict=True), start=1):
        loaded = _flat(base, n, seed=i)
        if queue_from is not None and i >= queue_from:
            loaded = [x + q + standing for x, q in zip(loaded, queue, strict=True)]
        hops.append(HopEvidence(i, org, private=i == 1, idle_rtt_ms=_flat(base, idle, seed=i + 9),
                                loaded_rtt_ms=loaded, is_destination=i == 6))
    return hops


def _inp(hops: list[HopEvidence], **fetch: object) -> AttributionInput:
    return AttributionInput(
        hops=hops,
        probe_status=ProbeStatus.OK,
        fetch=FetchEvidence(ttfb=[TtfbSample(60.0, None)] * 3, throughput_bps=[2e5] * 4,
                            needed_bitrate_bps=3.5e5, server_org="ExampleCDN", **fetch),
    )


def test_swinging_queue_at_each_link_names_its_segment() -> None:
    expected = {1: Segment.HOME_NETWORK, 2: Segment.ISP, 3: Segment.ISP,
                4: Segment.INTERCONNECT, 5: Segment.SERVER}
    for at, seg in expected.items():
        v = attribute(_inp(_path(at)))
        assert v.segment is seg, (at, v.rule, [e.text for e in v.evidence])
        assert any("swung" in e.text for e in v.evidence)
        assert 0.3 < v.confidence < 0.9


def test_bbr_sized_swing_over_a_standing_crowd_queue_counts() -> None:
    # neighbours keep ~200 ms standing; it swings by ~35 ms: still the queue's link
    v = attribute(_inp(_path(4, swing=(0.0, 35.0), standing=200.0)))
    assert v.segment is Segment.INTERCONNECT


def test_a_queue_that_never_swings_is_not_seen_without_a_baseline() -> None:
    v = attribute(_inp(_path(2, swing=(0.0, 2.0), standing=300.0)))
    assert v.segment is Segment.UNKNOWN


def test_a_long_quiet_link_is_not_a_queue() -> None:
    hops = _path(None)
    for h in hops[3:]:
        h.loaded_rtt_ms = [x + 80.0 for x in h.loaded_rtt_ms]  # transatlantic, no swing
    assert attribute(_inp(hops)).segment is Segment.UNKNOWN


def test_too_few_loaded_samples_are_not_judged_by_spread() -> None:
    h = HopEvidence(1, "home", loaded_rtt_ms=[10.0, 200.0, 30.0])
    s = spread_stats(h, Segment.HOME_NETWORK, 0.0)
    assert len(h.loaded_rtt_ms) < T.MIN_SPREAD_SAMPLES and s.delta_ms is None


def test_idle_evidence_wins_over_the_spread_fallback() -> None:
    # idle samples exist and show a self-induced rise from hop 2 on: the normal path
    hops = _path(2, swing=(200.0, 260.0), idle=8)
    f = analyse(_inp(hops))
    assert f.onset is not None and f.hops[f.onset.pos].mode == "idle"
    assert attribute(_inp(hops)).segment is Segment.ISP


def test_the_spread_threshold_uses_the_path_before_the_link() -> None:
    # a swing of 40 ms on top of a 200 ms standing queue at this very hop: the threshold
    # scales with the previous hop's floor (1 ms), not with this hop's 200 ms
    h = HopEvidence(4, "Transit", loaded_rtt_ms=[200.0 + 40.0 * (k % 2) for k in range(12)])
    assert spread_stats(h, Segment.INTERCONNECT, 1.0).inflated
    assert not spread_stats(h, Segment.INTERCONNECT, 200.0).inflated


def test_server_ttfb_uses_the_floor_when_no_idle_rtt_exists() -> None:
    hops = _path(None)
    slow = [TtfbSample(2500.0, None)] * 3
    inp = _inp(hops)
    inp.fetch.ttfb = slow
    f = analyse(inp)
    assert f.ttfb_rtt_ms is not None and f.server_slow
    assert attribute(inp).segment is Segment.SERVER


def test_a_degraded_probe_method_is_explained() -> None:
    inp = _inp(_path(2))
    inp.probe_reason = "ICMP not permitted: ping_group_range 1 0 excludes gid 65534"
    texts = [e.text for e in attribute(inp).evidence if e.kind == "probe"]
    assert any("ping_group_range" in t for t in texts), texts
