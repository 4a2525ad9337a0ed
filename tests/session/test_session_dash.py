"""DASH through the gateway with real libVLC and the Session (headless, nothing mocked):
our ABR chooses the representation per segment, and a stall gets a verdict."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest

from player.core.model import FetchKind
from player.net.gateway import Mode
from player.session import StallBegan, StallFinished
from player.session.headless import play
from tests.support.media import make_dash

pytestmark = [pytest.mark.vlc]

# (height, video bps) in MPD order: the throttle below sits between the top and the middle
REPRESENTATIONS = ((180, 250_000), (360, 600_000), (720, 1_800_000))
SEGMENT_RE = re.compile(r"/chunk-stream(\d)-(\d{5})\.m4s$")
VERDICT_SEGMENTS = {"none", "device", "home_network", "isp", "interconnect", "server", "unknown"}


@pytest.fixture(scope="module")
def dash_abr(media_dir: Path) -> Path:
    d = media_dir / "dash_abr"
    if not (d / "manifest.mpd").exists():
        make_dash(d, seconds=20, renditions=REPRESENTATIONS, layout="template")
    return d / "manifest.mpd"


def served_video(origin, prefix: str) -> list[int]:  # noqa: ANN001
    """Representation id of every video segment the origin served, in order."""
    out = []
    for _method, path, _rng, status in origin.requests:
        m = SEGMENT_RE.search(path)
        if path.startswith(prefix) and m and status in (200, 206) and int(m.group(1)) < 3:
            out.append(int(m.group(1)))
    return out


def test_throttled_dash_steps_down_with_our_abr(origin, dash_abr) -> None:  # noqa: ANN001
    # 4 s of plenty, then 700 kbit/s: below the top representation, above the middle one
    origin.set_rate_trace([(0.0, 5_000_000), (4.0, 700_000)])
    result = play(origin.url("dash_abr/manifest.mpd"), duration=16, max_wall_s=40, probe_path=False)
    assert result.error is None
    served = served_video(origin, "/dash_abr/")
    print(f"representations served: {served}\nqoe: {result.report.qoe}")
    assert max(served) == 2, "our ABR never reached the top representation"
    assert served[-1] < 2, "our ABR did not step down"
    f = result.report.fetches
    assert f["per_segment_data"] is True
    assert f["by_kind"].get(FetchKind.SEGMENT.value, 0) >= 8
    assert result.report.qoe.switches >= 2


def test_dash_stall_is_detected_and_gets_a_verdict(origin, dash_abr) -> None:  # noqa: ANN001
    origin.rate_bps = 1_200_000  # a shallow buffer: ~1.5x the middle representation
    fault = origin.add_fault(
        "/dash_abr/chunk-stream*-00004.m4s", "pause", after_bytes=2000, seconds=7.0
    )
    events = []

    def watch(session) -> None:  # noqa: ANN001
        g = session.gateway
        if g is not None:
            events.append(g.mode)

    result = play(
        origin.url("dash_abr/manifest.mpd"),
        duration=14,
        max_wall_s=45,
        probe_path=False,
        on_tick=watch,
    )
    assert result.error is None
    assert Mode.HLS_VIRTUAL in events  # the gateway served it (not VLC's own DASH)
    assert origin.requests_for(fault.pattern)  # the paused segment was asked for
    began = [e for e in result.events if isinstance(e, StallBegan)]
    ended = [e for e in result.events if isinstance(e, StallFinished)]
    stalls = result.report.stalls
    print(f"stalls: {stalls}")
    assert began and ended and stalls
    assert stalls[0].verdict is not None and stalls[0].verdict.segment.value in VERDICT_SEGMENTS
    assert result.report.verdict.segment.value != "none"


def live_mpd(ast: float) -> str:
    """A live (dynamic) MPD over the VOD files: segment N is available 2N s after ``ast``."""
    start = dt.datetime.fromtimestamp(ast, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    tpl = (
        '<SegmentTemplate timescale="1000" duration="2000" startNumber="1" '
        'initialization="init-stream$RepresentationID$.m4s" '
        'media="chunk-stream$RepresentationID$-$Number%05d$.m4s"/>'
    )
    reps = "".join(
        f'<Representation id="{i}" bandwidth="{bps}" width="{h * 16 // 9}" height="{h}"/>'
        for i, (h, bps) in enumerate(REPRESENTATIONS)
    )
    return (
        '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" '
        f'availabilityStartTime="{start}" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT4S">'
        f'<Period start="PT0S"><BaseURL>dash_abr/</BaseURL>{tpl}'
        f'<AdaptationSet contentType="video">{reps}</AdaptationSet>'
        f'<AdaptationSet contentType="audio"><Representation id="{len(REPRESENTATIONS)}" '
        'bandwidth="64000"/></AdaptationSet></Period></MPD>'
    )


def test_live_dash_plays_past_its_first_edge(origin, dash_abr) -> None:  # noqa: ANN001
    # 7 s after the start: segments 2 (2-4 s) and 3 (4-6 s) are listed, 4 is not there yet
    (origin.root / "live.mpd").write_text(live_mpd(time.time() - 7.0))
    result = play(origin.url("live.mpd"), duration=5, max_wall_s=30, probe_path=False)
    assert result.error is None
    assert result.report.played_s >= 5
    numbers = [
        int(m.group(2))
        for _m, path, _r, status in origin.requests
        if (m := SEGMENT_RE.search(path)) and status == 200 and int(m.group(1)) < 3
    ]
    print(f"live segments served: {numbers}")
    assert min(numbers) >= 2  # the live window, not the whole history
    assert max(numbers) >= 4  # 5 s played from >= 2 s: a segment that did not exist at open
    assert len(origin.requests_for("/live.mpd")) >= 2  # re-fetched (minimumUpdatePeriod)
    assert result.report.fetches["per_segment_data"] is True
