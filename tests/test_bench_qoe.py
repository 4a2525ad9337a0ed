"""The web-player benchmark's scoring (benchmarks/web/qoe.py): pure, no browser, no media."""

from __future__ import annotations

import pytest

from benchmarks.web.qoe import (
    REBUFFER_PENALTY,
    ServedSegment,
    linear_qoe,
    played_renditions,
    ratio_to_best,
    score,
)

LADDER = (1_000_000, 3_000_000, 6_000_000)


def seg(number: int, rendition: int, at: float, completed: bool = True) -> ServedSegment:
    return ServedSegment(number, rendition, at, completed)


def test_linear_qoe_is_quality_minus_rebuffer_minus_switch_sizes() -> None:
    # 1 + 3 + 3 + 1 = 8 Mbit/s of quality, |3-1| + |1-3| = 4 of switching, 2 s stalled.
    assert linear_qoe([1.0, 3.0, 3.0, 1.0], 2.0) == pytest.approx(8.0 - 2 * REBUFFER_PENALTY - 4.0)
    assert REBUFFER_PENALTY == 4.3
    assert linear_qoe([], 0.0) == 0.0


def test_the_last_complete_delivery_of_a_segment_counts() -> None:
    served = [
        seg(1, 0, 1.0),
        seg(2, 2, 2.0, completed=False),  # abandoned: does not count
        seg(2, 1, 3.0),
        seg(3, 2, 4.0),
        seg(3, 0, 5.0),  # fetched again lower, later: the one that was kept
    ]
    assert played_renditions(served, played_s=6.0, segment_s=2.0) == (0, 1, 0)


def test_only_segments_covering_played_media_count() -> None:
    served = [seg(n, 2, float(n)) for n in range(1, 11)]  # a player that buffered ahead
    assert len(played_renditions(served, played_s=6.0, segment_s=2.0)) == 3
    # 6.5 s played: the 4th segment was entered
    assert len(played_renditions(served, played_s=6.5, segment_s=2.0)) == 4


def test_score_combines_bitrate_switches_and_qoe() -> None:
    served = [seg(1, 0, 1.0), seg(2, 2, 2.0), seg(3, 2, 3.0), seg(4, 1, 4.0)]
    s = score(served, LADDER, played_s=8.0, segment_s=2.0, rebuffer_s=1.0)
    assert s.segments == (0, 2, 2, 1)
    assert s.avg_bitrate_kbps == pytest.approx((1000 + 6000 + 6000 + 3000) / 4)
    assert s.switches == 2
    assert s.qoe == pytest.approx(16.0 - REBUFFER_PENALTY - (5.0 + 3.0))


def test_ratio_to_best_peer_only_against_a_positive_best() -> None:
    assert ratio_to_best(30.0, [10.0, 20.0]) == pytest.approx(1.5)
    assert ratio_to_best(30.0, [-5.0, -2.0]) is None
    assert ratio_to_best(30.0, []) is None
