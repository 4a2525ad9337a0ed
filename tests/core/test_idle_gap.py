"""The idle-gap policy (pure): when the session may pause fetching to sample the path idle."""

from __future__ import annotations

import dataclasses

import pytest

from player.core import thresholds as T
from player.core.idle_gap import GapInputs, IdleGapPolicy, IdleGaps, rounds_needed

POLICY = IdleGapPolicy()
SEGMENT_S = 2.0
# comfortably above what a gap costs: max(8 s, 3 x 2 s) + 1.2 s = 9.2 s
HIGH_BUFFER_S = 20.0


def inputs(**changes: object) -> GapInputs:
    """A moment where a gap is wanted: playing for a minute, a deep buffer, no idle round."""
    base = GapInputs(
        playing=True,
        buffer_ahead_s=HIGH_BUFFER_S,
        segment_s=SEGMENT_S,
        idle_rounds_needed=T.IDLE_GAP_WANTED_ROUNDS,
        monitor_ready=True,
        playing_s=60.0,
    )
    return dataclasses.replace(base, **changes)


def test_a_gap_is_asked_for_when_everything_allows_it() -> None:
    d = POLICY.decide(inputs(), IdleGaps())
    assert d.wanted and d.hold_s == T.IDLE_GAP_S
    assert T.IDLE_GAP_S <= 1.5, "gaps stay short: about two probe rounds"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"playing": False}, "not playing"),  # stalled, seeking, paused, starting up
        ({"monitor_ready": False}, "path monitor not probing"),
        ({"idle_rounds_needed": 0}, "enough idle samples"),
        ({"segment_s": None}, "not a segmented stream"),
        ({"buffer_ahead_s": None}, "buffer too low"),
        ({"playing_s": T.IDLE_GAP_FIRST_AFTER_S - 0.1}, "start-up"),
    ],
)
def test_no_gap_when_a_condition_fails(changes: dict, reason: str) -> None:
    d = POLICY.decide(inputs(**changes), IdleGaps())
    assert not d.wanted and d.hold_s == 0 and d.reason == reason


def test_the_buffer_must_cover_a_few_segments_plus_the_gap() -> None:
    # 2 s segments: the floor (8 s) wins; 6 s segments: three of them (18 s)
    assert POLICY.buffer_needed_s(2.0) == pytest.approx(T.IDLE_GAP_MIN_BUFFER_S + T.IDLE_GAP_S)
    assert POLICY.buffer_needed_s(6.0) == pytest.approx(3 * 6.0 + T.IDLE_GAP_S)
    need = POLICY.buffer_needed_s(SEGMENT_S)
    assert not POLICY.decide(inputs(buffer_ahead_s=need - 0.01), IdleGaps()).wanted
    assert POLICY.decide(inputs(buffer_ahead_s=need), IdleGaps()).wanted
    # long segments need more: 12 s is plenty for 2 s segments, too little for 6 s ones
    assert POLICY.decide(inputs(buffer_ahead_s=12.0), IdleGaps()).wanted
    assert not POLICY.decide(inputs(buffer_ahead_s=12.0, segment_s=6.0), IdleGaps()).wanted


def test_gaps_are_rare_a_minimum_interval_apart() -> None:
    gaps = IdleGaps()
    gaps.asked(100.0, T.IDLE_GAP_S)
    soon = inputs(playing_s=100.0 + T.IDLE_GAP_MIN_INTERVAL_S - 0.1)
    assert POLICY.decide(soon, gaps).reason == "too soon after the last gap"
    later = inputs(playing_s=100.0 + T.IDLE_GAP_MIN_INTERVAL_S)
    assert POLICY.decide(later, gaps).wanted


def test_gaps_take_a_bounded_share_of_the_playing_time() -> None:
    gaps = IdleGaps()
    playing_s = 0.0
    # ask at every chance over ten minutes of playing (one decision a second)
    while playing_s < 600.0:
        d = POLICY.decide(inputs(playing_s=playing_s), gaps)
        if d.wanted:
            gaps.asked(playing_s, d.hold_s)
        playing_s += 1.0
    assert gaps.count == T.IDLE_GAP_MAX_COUNT  # the cap on their number
    assert gaps.total_s <= T.IDLE_GAP_MAX_SHARE * 600.0
    # the first gap came once the share allowed one: 1.2 s / 6 % = 20 s of playing
    first = IdleGaps()
    t = 0.0
    while not POLICY.decide(inputs(playing_s=t), first).wanted:
        t += 1.0
    assert t == pytest.approx(T.IDLE_GAP_S / T.IDLE_GAP_MAX_SHARE)


def test_gaps_stop_at_the_count_limit() -> None:
    gaps = IdleGaps(count=T.IDLE_GAP_MAX_COUNT, total_s=0.0, last_at_playing_s=0.0)
    assert POLICY.decide(inputs(playing_s=1e6), gaps).reason == "gap limit reached"


def test_idle_rounds_needed() -> None:
    assert rounds_needed(None) == 0  # not probing: no need (the monitor is not ready)
    assert rounds_needed(0) == T.MIN_IDLE_SAMPLES_CROWD
    assert rounds_needed(T.MIN_IDLE_SAMPLES_CROWD - 2) == 2
    assert rounds_needed(T.MIN_IDLE_SAMPLES_CROWD + 7) == 0
    assert rounds_needed(3, wanted=10) == 7


def test_a_policy_can_be_relaxed_field_by_field() -> None:
    quick = IdleGapPolicy(first_after_s=1.0, min_interval_s=2.0, max_share=0.5, min_buffer_s=1.0)
    d = quick.decide(inputs(playing_s=3.0, buffer_ahead_s=8.0), IdleGaps())
    assert d.wanted
    assert not POLICY.decide(inputs(playing_s=3.0, buffer_ahead_s=8.0), IdleGaps()).wanted
