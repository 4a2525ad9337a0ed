"""Real libVLC playing DASH through the gateway (headless: dummy video and audio outputs).

The media are ffmpeg's DASH (two video representations and one audio); the gateway turns
the MPD into its virtual HLS, so the test's chooser (standing in for the session's ABR)
picks the representation of every segment.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest

from player.core.model import FetchKind
from player.net.gateway import FetchRecorded, Gateway, Mode, PlaylistLoaded, RenditionSwitched
from tests.support.media import make_dash
from tests.support.origin import OriginServer

pytestmark = pytest.mark.vlc

SECONDS = 12
SEGMENTS = 6  # 2 s segments
RATE = 4.0  # playback speed: 12 s of media in ~3 s
# forced representation per segment: 180p -> 360p -> 180p -> 360p (index = MPD order)
PLAN = {0: 0, 1: 0, 2: 1, 3: 1, 4: 0, 5: 1}


@pytest.fixture(scope="module")
def dash_template(media_dir: Path) -> Path:
    d = media_dir / "dash_t"
    if not (d / "manifest.mpd").exists():
        make_dash(d, seconds=SECONDS, layout="template")
    return d / "manifest.mpd"


@pytest.fixture(scope="module")
def dash_base(media_dir: Path) -> Path:
    d = media_dir / "dash_b"
    if not (d / "manifest.mpd").exists():
        make_dash(d, seconds=SECONDS, layout="base")
    return d / "manifest.mpd"


def fetches(events: list[object]) -> list:
    return [e.fetch for e in events if isinstance(e, FetchRecorded)]


def played_through(res: object, media_s: float) -> None:
    """EndReached after playing (and decoding) the whole timeline, not an early EOF."""
    assert res.ended and not res.error, res
    assert abs(res.length_ms - media_s * 1000) < 600, res.length_ms
    assert res.max_time_ms > (media_s - 1.3 * RATE) * 1000, res.max_time_ms
    assert res.wall_s > 0.8 * media_s / RATE, res.wall_s
    assert res.decoded_video >= 0.8 * media_s * 25, res.decoded_video


def nothing_bypassed(origin: OriginServer, events: list[object]) -> None:
    """Every request the origin saw is one the gateway made and recorded."""
    seen = sorted(urllib.parse.urlsplit(r[1]).path for r in origin.requests if r[0] == "GET")
    recorded = sorted(urllib.parse.urlsplit(f.url).path for f in fetches(events))
    assert seen == recorded


def video_segments(events: list[object]) -> list:
    segs = [
        f
        for f in fetches(events)
        if f.kind is FetchKind.SEGMENT and f.rendition_bitrate_bps is not None
    ]
    return sorted(segs, key=lambda f: f.media_sequence)


def test_dash_template_plays_through_the_gateway_with_our_choice_per_segment(
    origin: OriginServer,
    gateway: Gateway,
    events: list[object],
    vlc_play: Callable,
    dash_template: Path,
) -> None:
    gateway.rendition_chooser = lambda seq: PLAN.get(seq, 0)
    res = vlc_play(gateway.open(origin.url("dash_t/manifest.mpd")), rate=RATE)
    played_through(res, SECONDS)
    assert gateway.mode is Mode.HLS_VIRTUAL and gateway.per_segment_data
    (loaded,) = [e for e in events if isinstance(e, PlaylistLoaded)]
    assert [r.resolution for r in loaded.renditions] == [(320, 180), (640, 360)]
    assert loaded.duration_s == pytest.approx(SECONDS) and not loaded.is_live
    segs = video_segments(events)
    assert [f.media_sequence for f in segs] == list(range(SEGMENTS))
    bws = [r.bandwidth for r in gateway.renditions()]
    assert [f.rendition_bitrate_bps for f in segs] == [bws[PLAN[i]] for i in range(SEGMENTS)]
    assert all(f.status == 200 and f.error is None and f.media_duration_s == 2.0 for f in segs)
    for seq, r in PLAN.items():  # the chosen representation's segment, numbered from 1
        assert origin.requests_for(f"/dash_t/chunk-stream{r}-{seq + 1:05d}.m4s"), (seq, r)
    assert origin.requests_for("/dash_t/chunk-stream2-00006.m4s")  # audio followed
    switches = [(e.seq, e.to_index) for e in events if isinstance(e, RenditionSwitched)]
    assert switches == [(2, 1), (4, 0), (5, 1)]
    assert gateway.delivered_media_s() == pytest.approx(SECONDS)
    nothing_bypassed(origin, events)


def test_dash_segment_base_plays_with_byte_ranges(
    origin: OriginServer,
    gateway: Gateway,
    events: list[object],
    vlc_play: Callable,
    dash_base: Path,
) -> None:
    gateway.rendition_chooser = lambda seq: PLAN.get(seq, 0)
    res = vlc_play(gateway.open(origin.url("dash_b/manifest.mpd")), rate=RATE)
    played_through(res, SECONDS)
    segs = video_segments(events)
    assert [f.media_sequence for f in segs] == list(range(SEGMENTS))
    bws = [r.bandwidth for r in gateway.renditions()]
    assert [f.rendition_bitrate_bps for f in segs] == [bws[PLAN[i]] for i in range(SEGMENTS)]
    for r in (0, 1, 2):  # both video files and the audio file, by byte range only
        reqs = [q for q in origin.requests_for(f"/dash_b/manifest-stream{r}.mp4") if q[0] == "GET"]
        assert reqs and all(q[2] and q[3] == 206 for q in reqs), reqs
    assert len(origin.requests_for("/dash_b/manifest-stream1.mp4")) >= 3  # index, init, media
    nothing_bypassed(origin, events)


def two_period_mpd() -> str:
    """The template stream as two periods of 6 s (file timestamps follow on)."""

    def period(pid: str, start: int, number: int, pto: int) -> str:
        return (
            f'<Period id="{pid}" start="PT{start}S" duration="PT6S"><BaseURL>dash_t/</BaseURL>'
            f'<SegmentTemplate timescale="1000" duration="2000" startNumber="{number}" '
            f'presentationTimeOffset="{pto}" initialization="init-stream$RepresentationID$.m4s" '
            'media="chunk-stream$RepresentationID$-$Number%05d$.m4s"/>'
            '<AdaptationSet contentType="video">'
            '<Representation id="0" bandwidth="250000" width="320" height="180"/>'
            '<Representation id="1" bandwidth="800000" width="640" height="360"/>'
            '</AdaptationSet><AdaptationSet contentType="audio">'
            '<Representation id="2" bandwidth="64000"/></AdaptationSet></Period>'
        )

    return (
        '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        f'mediaPresentationDuration="PT{SECONDS}S">'
        + period("a", 0, 1, 0)
        + period("b", 6, 4, 6000)
        + "</MPD>"
    )


def test_multi_period_dash_plays_across_the_boundary(
    origin: OriginServer,
    gateway: Gateway,
    events: list[object],
    vlc_play: Callable,
    dash_template: Path,
) -> None:
    (origin.root / "two_periods.mpd").write_text(two_period_mpd())
    gateway.rendition_chooser = lambda seq: PLAN.get(seq, 0)
    res = vlc_play(gateway.open(origin.url("two_periods.mpd")), rate=RATE)
    played_through(res, SECONDS)
    segs = video_segments(events)
    assert [f.media_sequence for f in segs] == list(range(SEGMENTS))
    for seq, r in PLAN.items():  # period b starts at segment number 4
        assert origin.requests_for(f"/dash_t/chunk-stream{r}-{seq + 1:05d}.m4s"), (seq, r)
    nothing_bypassed(origin, events)
