"""The DASH session state and set-up bounds (pure: no I/O): index fetches, the init cache,
the live reload swap, the update floor."""

from __future__ import annotations

import pytest

from player.core.wording import dash as wording
from player.net.dash import SegmentRef, parse_mpd
from player.net.gateway import dash_plan, dash_state
from player.net.gateway.dash_plan import DashUnsupported, build_tracks, resolve_indexes
from player.net.gateway.dash_state import DashState
from tests.net.test_dash_mpd import AUDIO, TEMPLATE, URL, mpd, period, sidx_box, video, vrep

LIVE_ATTRS = (
    'type="dynamic" availabilityStartTime="2023-11-14T22:13:20Z" '
    'timeShiftBufferDepth="PT10S" minimumUpdatePeriod="PT0.001S"'
)
AST = 1_700_000_000.0


def segment_base_mpd(reps: int, extra_sets: int = 0) -> str:
    def rep(i: int) -> str:
        return (
            f'<Representation id="v{i}" bandwidth="{i + 1}"><BaseURL>v{i}.mp4</BaseURL>'
            '<SegmentBase indexRange="600-699"/></Representation>'
        )

    sets = "".join(video("".join(rep(i) for i in range(reps))) for _ in range(1 + extra_sets))
    audio = (
        '<AdaptationSet contentType="audio"><Representation id="a" bandwidth="1">'
        '<BaseURL>a.mp4</BaseURL><SegmentBase indexRange="500-599"/></Representation>'
        "</AdaptationSet>"
    )
    return mpd(period(sets, audio))


def test_index_fetches_are_capped_before_any_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dash_plan, "MAX_INDEX_FETCHES", 3)
    fetched: list[SegmentRef] = []

    def fetch(ref: SegmentRef) -> bytes:
        fetched.append(ref)
        return sidx_box([(1000, 2000)] * 4)

    m = parse_mpd(segment_base_mpd(3), URL)  # 3 video + 1 audio index: over the cap
    with pytest.raises(DashUnsupported) as err:
        resolve_indexes(m, fetch)
    assert str(err.value) == wording.TOO_MANY_INDEXES and "4 segment indexes" in err.value.detail
    assert fetched == []  # refused before VLC's first request waited for any fetch
    # unserved sets (the second and third video set) are not fetched nor counted
    m = parse_mpd(segment_base_mpd(2, extra_sets=2), URL)
    build_tracks(resolve_indexes(m, fetch))
    assert len(fetched) == 3


def _ref(n: int) -> SegmentRef:
    return SegmentRef(-1, f"http://cdn.example/init{n}.mp4", 0.0, 0.0)


def live_state(now: float, clock: list[float]) -> DashState:
    text = mpd(period(video(vrep("v"), TEMPLATE), AUDIO, attrs=' start="PT0S"'), LIVE_ATTRS)
    m = parse_mpd(text, URL, now=now)
    return DashState(m, text, build_tracks(m), lambda: clock[0])


def test_the_init_cache_is_bounded_by_bytes_dropping_the_oldest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dash_state, "MAX_INIT_CACHE_BYTES", 100)
    state = live_state(AST + 61.0, [0.0])
    for n in range(3):
        state.keep_init(_ref(n), bytes([n]) * 40)
    assert state.cached_init(_ref(0)) is None  # the oldest went first
    assert state.cached_init(_ref(1)) == b"\x01" * 40
    state.keep_init(_ref(3), b"\x03" * 40)  # 1 was used just now: 2 goes
    assert state.cached_init(_ref(2)) is None and state.cached_init(_ref(1)) is not None
    assert state.init_bytes == sum(len(b) for b in state.inits.values()) <= 100
    state.keep_init(_ref(9), b"x" * 101)  # bigger than the whole cache: not kept
    assert state.cached_init(_ref(9)) is None and state.init_bytes <= 100


def test_a_segment_of_the_previous_live_list_is_still_found() -> None:
    clock = [0.0]
    state = live_state(AST + 61.0, clock)
    old_first = state.tracks.video[0].playlist.segments[0].seq
    later = parse_mpd(state.text, URL, now=AST + 71.0)  # the window moved on by 5 segments
    tracks = build_tracks(later, by_number=True)
    assert old_first not in tracks.video[0].segments
    state.replace(later, tracks, None)
    # a request that read the old playlist before the plan was updated still finds it
    assert state.video(0, old_first) is not None
    assert state.audio(old_first) is not None
    assert state.video(0, 10**6) is None


def test_minimum_update_period_has_a_floor() -> None:
    clock = [0.0]
    state = live_state(AST + 61.0, clock)
    assert state.mpd.min_update_s == pytest.approx(0.001)
    clock[0] = dash_state.MIN_UPDATE_S / 2
    assert not state.update_due()  # PT0.001S is not a fetch per request
    clock[0] = dash_state.MIN_UPDATE_S
    assert state.update_due()


def test_representations_with_other_segments_are_left_to_vlc_in_plain_words() -> None:
    other = TEMPLATE.replace('duration="2000"', 'duration="1000"')
    reps = vrep("v0") + vrep("v1", extra="").replace("/>", f">{other}</Representation>")
    m = parse_mpd(mpd(period(video(reps, TEMPLATE), AUDIO)), URL)
    with pytest.raises(DashUnsupported) as err:
        build_tracks(m)
    assert str(err.value) == wording.NOT_ALIGNED
    assert "representations are not aligned" in err.value.detail  # the detail: logs only
