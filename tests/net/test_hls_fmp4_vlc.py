"""fMP4 HLS (EXT-X-MAP, audio muxed into the video segments) with real libVLC.

It stays in rewrite mode (VLC's own ABR, every URI through the gateway, per-segment
records): serving its segments self-initialising, as DASH is, was measured to make
libVLC 3.0.24 reset its clock at every discontinuity (12 s played in ~7.5 s with half
the pictures dropped), see player/net/gateway/dash_plan.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from player.core.model import FetchKind
from player.net.gateway import FetchRecorded, Gateway, Mode, PlaylistLoaded
from tests.support.media import make_hls_fmp4
from tests.support.origin import OriginServer

pytestmark = pytest.mark.vlc

SECONDS = 12
RATE = 4.0


@pytest.fixture(scope="module")
def hls_fmp4(media_dir: Path) -> Path:
    d = media_dir / "hls_fmp4"
    if not (d / "master.m3u8").exists():
        make_hls_fmp4(d, seconds=SECONDS)
    return d


def test_fmp4_hls_plays_in_rewrite_mode_with_per_segment_records(
    origin: OriginServer,
    gateway: Gateway,
    events: list[object],
    vlc_play: Callable,
    hls_fmp4: Path,
) -> None:
    res = vlc_play(gateway.open(origin.url("hls_fmp4/master.m3u8")), rate=RATE)
    assert res.ended and not res.error, res
    assert abs(res.length_ms - SECONDS * 1000) < 600, res.length_ms
    assert res.decoded_video >= 0.8 * SECONDS * 25, res
    assert gateway.mode is Mode.HLS_REWRITE and gateway.per_segment_data
    (loaded,) = [e for e in events if isinstance(e, PlaylistLoaded)]
    assert "initialisation sections" in loaded.note
    kinds = [e.fetch.kind for e in events if isinstance(e, FetchRecorded)]
    assert kinds.count(FetchKind.SEGMENT) >= 6 and FetchKind.INIT in kinds
