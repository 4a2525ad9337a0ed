"""Shared session-scoped fixtures: real media made once per test session with ffmpeg."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.media import ffmpeg_available, make_hls, make_mp4, make_not_video
from tests.support.origin import OriginServer

HLS_SECONDS = 12  # 6 segments of 2 s per rendition
MP4_SECONDS = 8

# Property tests draw the same examples on every run and keep no example database: a CI
# failure is reproducible and a pass is not luck. HYPOTHESIS_PROFILE=default (Hypothesis'
# own, random and with a database) explores more when run by hand. Loaded here, before the
# test modules import, so their @settings(...) inherit it.
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test (nor a player it starts) reads or writes the real user's settings or history."""
    monkeypatch.setenv("STALLWATCH_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("STALLWATCH_DATA_DIR", str(tmp_path / "data"))
    # The desktop's recently-used list and the log dir live under XDG dirs; a test's player
    # (in-process or a CLI subprocess) must not reach the real user's session bus either.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("STALLWATCH_LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setenv("STALLWATCH_RUNTIME_DIR", str(tmp_path / "run"))


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
