"""The bookkeeping of a seek by reopening (player/session/reopen_seek.py), pure: times are
the session's clock, given here."""

from __future__ import annotations

from player.session.reopen_seek import (
    COALESCE_MAX_S,
    COALESCE_S,
    LANDED_ANYWAY_PICTURES,
    LANDED_PICTURES,
    ReopenSeek,
)

NEAR_S = 2.5  # a 2 s segment plus libVLC's coarse time


def test_nothing_in_progress_shows_libvlcs_playhead() -> None:
    r = ReopenSeek()
    assert r.target_s is None and r.due(100.0) is None
    assert r.view(12.5) == (12.5, False)


def test_a_single_seek_reopens_once_after_the_quiet_time_at_its_target() -> None:
    r = ReopenSeek()
    r.request(30.0, now=10.0)
    assert r.view(5.0) == (30.0, True)  # shown at once, and "seeking"
    assert r.due(10.0 + COALESCE_S / 2) is None
    assert r.due(10.0 + COALESCE_S) == 30.0
    assert r.due(10.0 + 2 * COALESCE_S) is None  # once


def test_repeated_seeks_coalesce_into_the_last_target() -> None:
    r = ReopenSeek()
    step = COALESCE_S / 3
    for i in range(3):
        r.request(10.0 + 5 * i, now=i * step)
        assert r.due(i * step) is None
    assert r.target_s == 20.0
    assert r.due(2 * step + COALESCE_S + 1e-6) == 20.0


def test_a_key_held_down_still_reopens_after_the_longest_wait() -> None:
    r = ReopenSeek()
    step = COALESCE_S / 2
    now, due = 0.0, []
    while now <= COALESCE_MAX_S + step:
        r.request(now * 10, now=now)
        got = r.due(now)
        if got is not None:
            due.append((now, got))
        now += step
    assert len(due) == 1
    at, target = due[0]
    assert COALESCE_MAX_S <= at < COALESCE_MAX_S + step and target == at * 10


def test_the_target_is_shown_until_the_reopened_input_plays_near_it() -> None:
    r = ReopenSeek()
    r.request(30.0, now=0.0)
    target = r.due(1.0)
    assert target == 30.0
    r.reopened(target, frames=100)
    r.observe(0.0, 100 + LANDED_PICTURES, NEAR_S)  # a picture of segment 0: not there yet
    assert r.view(0.0) == (30.0, True)
    r.observe(29.9, 100 + LANDED_PICTURES - 1, NEAR_S)  # near, one picture: not yet
    assert r.view(29.9) == (30.0, True)
    r.observe(29.9, 100 + LANDED_PICTURES, NEAR_S)
    assert r.view(29.9) == (29.9, False)


def test_an_input_that_plays_elsewhere_is_shown_where_it_plays() -> None:
    r = ReopenSeek()
    r.request(30.0, now=0.0)
    r.reopened(r.due(1.0) or 0.0, frames=0)
    r.observe(4.0, LANDED_ANYWAY_PICTURES - 1, NEAR_S)
    assert r.target_s == 30.0
    r.observe(4.0, LANDED_ANYWAY_PICTURES, NEAR_S)
    assert r.view(4.0) == (4.0, False)


def test_a_new_request_while_landing_waits_for_its_own_reopen() -> None:
    r = ReopenSeek()
    r.request(30.0, now=0.0)
    r.reopened(r.due(1.0) or 0.0, frames=0)
    r.request(10.0, now=1.1)
    r.observe(30.0, LANDED_ANYWAY_PICTURES, NEAR_S)  # the first reopen plays: still seeking
    assert r.view(30.0) == (10.0, True)
    assert r.due(1.1 + COALESCE_S) == 10.0


def test_clear_forgets_everything() -> None:
    r = ReopenSeek()
    r.request(30.0, now=0.0)
    r.clear()
    assert r.target_s is None and r.due(10.0) is None
