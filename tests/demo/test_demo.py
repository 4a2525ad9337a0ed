"""The built-in demo without a window: its script, its stream made on first use, its origin."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from player.demo import DEFAULT_SCRIPT, SCRIPT_ENV, Demo, parse_script
from player.demo.media import ffmpeg_available


def test_parse_script() -> None:
    assert parse_script("0:none, 10:500000:2.5") == ((0.0, None, 0.0), (10.0, 500000.0, 2.5))
    assert parse_script("20:1e6,0:off") == ((0.0, None, 0.0), (20.0, 1e6, 0.0))  # sorted
    for bad in ("", "5", "0:-1", "0:100:-2", "0:x"):
        with pytest.raises(ValueError):
            parse_script(bad)


def test_script_comes_from_the_environment_when_played(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SCRIPT_ENV, "not a script")
    demo = Demo(root=tmp_path)  # building it reads nothing: a bad script cannot stop the app
    with pytest.raises(ValueError):
        _ = demo.script
    monkeypatch.setenv(SCRIPT_ENV, "0:none,3:400000:1")
    assert Demo(root=tmp_path).script == ((0.0, None, 0.0), (3.0, 400000.0, 1.0))
    monkeypatch.delenv(SCRIPT_ENV)
    assert Demo(root=tmp_path).script == DEFAULT_SCRIPT


@pytest.mark.skipif(not ffmpeg_available(), reason="ffmpeg is not installed")
def test_stream_is_made_on_first_use_and_served(tmp_path: Path) -> None:
    demo = Demo(root=tmp_path / "demo", script=((0.0, None, 0.0),), seconds=4)
    try:
        url = demo.prepare()
        assert (tmp_path / "demo" / "complete").exists()
        master = requests.get(url, timeout=5)
        assert master.status_code == 200 and master.text.count("#EXT-X-STREAM-INF") == 3
        seg = requests.get(url.replace("master.m3u8", "v0/seg_000.ts"), timeout=5)
        assert seg.status_code == 200 and seg.headers["Content-Type"] == "video/mp2t"
        assert demo.prepare() == url  # one server; the script restarts
    finally:
        demo.stop()
    made = (tmp_path / "demo" / "master.m3u8").stat().st_mtime_ns
    assert Demo(root=tmp_path / "demo", seconds=4).ensure_media().stat().st_mtime_ns == made  # cached
