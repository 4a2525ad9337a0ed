"""Shared session-scoped fixtures: real media made once per test session with ffmpeg."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.media import ffmpeg_available, make_hls, make_mp4, make_not_video
from tests.support.origin import OriginServer

HLS_SECONDS = 12  # 6 segments of 2 s per rendition
MP4_SECONDS = 8


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test (nor a player it starts) reads or writes the real user's settings or history."""
    monkeypatch.setenv("STALLWATCH_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("STALLWATCH_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory holding all generated media (``hls/``, ``clip.mp4``, ``not_video.mp4``)."""
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed")
    d = tmp_path_factory.mktemp("media")
    make_hls(d / "hls", seconds=HLS_SECONDS, segment_s=2)
    make_mp4(d / "clip.mp4", seconds=MP4_SECONDS)
    make_not_video(d / "not_video.mp4")
    return d


@pytest.fixture(scope="session")
def hls_master(media_dir: Path) -> Path:
    """3-rendition (240p/360p/720p) VOD HLS, 12 s in 2 s segments: ``hls/master.m3u8``."""
    return media_dir / "hls" / "master.m3u8"


@pytest.fixture(scope="session")
def mp4_file(media_dir: Path) -> Path:
    """8 s 320x240 H.264/AAC progressive MP4 (faststart)."""
    return media_dir / "clip.mp4"


@pytest.fixture(scope="session")
def not_video_file(media_dir: Path) -> Path:
    """A text file named ``.mp4``."""
    return media_dir / "not_video.mp4"


@pytest.fixture
def origin(media_dir: Path) -> Iterator[OriginServer]:
    """A started :class:`OriginServer` over ``media_dir``; stopped after the test."""
    with OriginServer(media_dir) as srv:
        yield srv
