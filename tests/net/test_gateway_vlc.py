"""Real libVLC playing through the gateway (headless: dummy video and audio outputs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from player.core.model import FetchKind
from player.net.gateway import (
    FetchRecorded,
    Gateway,
    Mode,
    RenditionSwitched,
    Resumed,
    SegmentMissing,
)
from tests.support.origin import OriginServer

pytestmark = pytest.mark.vlc

SEGMENTS = 6  # conftest: 12 s of HLS in 2 s segments
# forced rendition per segment: 240p -> 720p -> 360p -> 720p
PLAN = {0: 0, 1: 0, 2: 2, 3: 2, 4: 1, 5: 2}


RATE = 4.0  # playback speed: 12 s of media in ~3 s


def fetches(events: list[object]) -> list:
    return [e.fetch for e in events if isinstance(e, FetchRecorded)]


def played_through(res: object, media_s: float) -> None:
    """EndReached after playing the whole timeline (not an early EOF).

    get_time() advances about once per wall second (RATE s of media at a time), so the
    wall time it took to reach the end is the sharper test: an early end (VLC gives up at
    a hole or a cut) comes much sooner.
    """
    assert res.ended and not res.error, res
    assert abs(res.length_ms - media_s * 1000) < 600, res.length_ms
    assert res.max_time_ms > (media_s - 1.3 * RATE) * 1000, res.max_time_ms
    assert res.wall_s > 0.8 * media_s / RATE, res.wall_s
    assert res.decoded_video >= 0.8 * media_s * 25, res.decoded_video


def test_hls_plays_to_the_end_through_rendition_switches(
    origin: OriginServer,
    gateway: Gateway,
    events: list[object],
    vlc_play: Callable,
    hls_master: Path,
) -> None:
    gateway.rendition_chooser = lambda seq: PLAN.get(seq, 0)
    url = gateway.open(origin.url("hls/master.m3u8"))
    res = vlc_play(url, rate=RATE)
    played_through(res, 12.0)  # pictures were decoded across all switches
    assert res.video_size == (1280, 720)  # the last segments are 720p
    assert gateway.mode is Mode.HLS_VIRTUAL
    segs = sorted(
        (f for f in fetches(events) if f.kind is FetchKind.SEGMENT), key=lambda f: f.media_sequence
    )
    assert [f.media_sequence for f in segs] == list(range(SEGMENTS))
    bws = [r.bandwidth for r in gateway.renditions()]
    assert [f.rendition_bitrate_bps for f in segs] == [bws[PLAN[i]] for i in range(SEGMENTS)]
    assert all(f.status == 200 and f.error is None for f in segs)
    switches = [(e.seq, e.to_index) for e in events if isinstance(e, RenditionSwitched)]
    assert switches == [(2, 2), (4, 1), (5, 2)]
    assert gateway.delivered_media_s() == pytest.approx(12.0)
    for seq, r in PLAN.items():
        assert origin.requests_for(f"/hls/v{r}/seg_{seq:03d}.ts"), (seq, r)


def test_progressive_cut_resumes_and_plays_to_the_end(
    origin: OriginServer, gateway: Gateway, events: list[object], vlc_play: Callable, mp4_file: Path
) -> None:
    size = mp4_file.stat().st_size
    origin.add_fault("/clip.mp4", "cut", after_bytes=size // 2)
    res = vlc_play(gateway.open(origin.url("clip.mp4")), rate=RATE)
    played_through(res, 8.0)
    resumed = [e for e in events if isinstance(e, Resumed)]
    assert len(resumed) == 1 and resumed[0].at_byte > 0
    (cut,) = [f for f in fetches(events) if f.resumed]
    assert cut.status in (200, 206)
    if cut.error is None:
        # every byte of the file reached VLC exactly once on the request that was cut
        first = [q for q in origin.requests_for("/clip.mp4") if q[0] == "GET"][0]
        start = int((first[2] or "bytes=0-").split("=")[1].split("-")[0])
        assert cut.bytes == size - start
    else:
        # Under load libVLC sometimes hangs up on the resumed response and asks again
        # with its own Range request; playing through (checked above) is what counts.
        assert cut.error == "player closed the connection"
        assert len([q for q in origin.requests_for("/clip.mp4") if q[0] == "GET"]) >= 3


def test_missing_hls_segment_is_skipped_and_playback_continues(
    origin: OriginServer,
    gateway: Gateway,
    events: list[object],
    vlc_play: Callable,
    hls_master: Path,
) -> None:
    origin.add_fault("/hls/v*/seg_002.ts", "status", code=404)
    res = vlc_play(gateway.open(origin.url("hls/master.m3u8")), rate=RATE)
    assert res.ended and not res.error, res
    # well past the hole at 4-6 s: 10 s of the 12 s play (VLC itself stops at a 404)
    assert res.wall_s > 0.8 * 10.0 / RATE and res.max_time_ms > 6_000, res
    missing = [e for e in events if isinstance(e, SegmentMissing)]
    assert [m.seq for m in missing] == [2]
    assert origin.requests_for("/hls/v0/seg_005.ts")
