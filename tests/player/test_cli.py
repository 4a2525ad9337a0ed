"""The command line: --version, --help, --demo (offscreen), python -m player."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import vlc

from player import __version__

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "player", *args], cwd=ROOT, env=full_env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def test_version_prints_app_and_libvlc() -> None:
    r = run_cli("--version")
    assert r.returncode == 0, r.stderr
    assert f"stallwatch {__version__}" in r.stdout
    libvlc = vlc.libvlc_get_version().decode().split()[0]
    assert f"libVLC {libvlc}" in r.stdout


def test_help_lists_the_contract() -> None:
    r = run_cli("--help")
    assert r.returncode == 0
    for flag in ("--demo", "--auto-screenshot", "--quit-after", "--version", "diagnose"):
        assert flag in r.stdout
    r2 = run_cli("diagnose", "--help")
    assert r2.returncode == 0
    assert "--duration" in r2.stdout and "--json" in r2.stdout


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).with_name("stallwatch")
    assert exe.exists(), "the console script `stallwatch` is not installed in the venv"
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "stallwatch" in r.stdout


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache with the demo stream already made: the run's fixed duration (--quit-after)
    then goes to playback only, however long ffmpeg takes on this machine (making the
    stream on first use is tested in tests/demo)."""
    from player.demo.media import ffmpeg_available
    from player.demo.stream import DEMO_SECONDS, DEMO_VERSION, Demo

    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed")
    cache = tmp_path_factory.mktemp("demo-cache")
    Demo(root=cache / f"demo-{DEMO_VERSION}-{DEMO_SECONDS}s").ensure_media()
    return cache


@pytest.mark.vlc
@pytest.mark.gui
def test_demo_shows_a_stall_notice_and_saves_a_screenshot(demo_cache: Path, tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    # The demo's slowdown hook, compressed: 4 s of plenty (the ABR steps up), 4 s below
    # the middle rendition (it steps down), then an overloaded server (a stall).
    script = "0:2500000,4:700000,8:150000:3,60:none"
    r = run_cli(
        "--demo", "--auto-screenshot", str(shots), "--quit-after", "34", "-v",
        env={"STALLWATCH_CACHE_DIR": str(demo_cache), "STALLWATCH_CONFIG_DIR": str(tmp_path),
             "STALLWATCH_DEMO_SCRIPT": script},
        timeout=180,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert "playing Stallwatch demo" in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    assert "stall started" in r.stderr, r.stderr[-3000:]
    # The slowdown first makes our ABR step down to the lowest rendition (~400 kbit/s).
    assert re.search(r"ABR: segment \d+ -> 400 kbit/s", r.stderr), r.stderr[-3000:]
    assert (demo_cache / "demo-v1-60s" / "master.m3u8").exists()
    assert len(list((demo_cache / "demo-v1-60s").glob("v*/seg_*.ts"))) == 90  # 3 x 30 segments
    pngs = sorted(shots.glob("*.png"))
    assert pngs, "no screenshot was saved when the notice appeared"
    # The notice names the culprit honestly: the demo's own (overloaded) server.
    assert any("server" in p.name for p in pngs), [p.name for p in pngs]
    assert pngs[0].stat().st_size > 5000


# -- several sources: the queue (stallwatch a.mp4 b.mp4, the desktop entry's %U) ---------------
QUEUE_QUIT_AFTER_S = "25"  # two 2 s clips and the start-up, with room for a loaded machine


@pytest.fixture(scope="module")
def two_clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from tests.support.media import ffmpeg_available, make_mp4

    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed")
    d = tmp_path_factory.mktemp("cli-queue")
    return [
        make_mp4(d / name, seconds=2, size=(160, 120), fps=10, pattern="color", color=color)
        for name, color in (("first clip.mp4", "red"), ("second.mp4", "green"))
    ]


def user_dirs(tmp_path: Path) -> dict[str, str]:
    return {
        "STALLWATCH_CONFIG_DIR": str(tmp_path / "config"),
        "STALLWATCH_DATA_DIR": str(tmp_path / "data"),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),  # the desktop's recently-used list
    }


def played_sessions(tmp_path: Path) -> list[dict]:
    """The history rows the run wrote, oldest first (the real store's file)."""
    import sqlite3

    conn = sqlite3.connect(tmp_path / "data" / "history.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM sessions ORDER BY started_at")]
    finally:
        conn.close()


def assert_both_played(r: subprocess.CompletedProcess, tmp_path: Path, clips: list[Path]) -> None:
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    first, second = (f"playing {c.name}" for c in clips)
    assert first in r.stderr and second in r.stderr, r.stderr[-3000:]
    assert r.stderr.index(first) < r.stderr.index(second)
    rows = played_sessions(tmp_path)
    assert [row["title"] for row in rows] == [c.name for c in clips]
    for row in rows:  # each item was its own session, and each played (most of its 2 s)
        assert row["ended"] == 1, row
        assert json.loads(row["report_json"])["played_s"] > 1.0, row
    import xml.etree.ElementTree as ET

    xbel = ET.parse(tmp_path / "xdg" / "recently-used.xbel").getroot()
    assert {b.get("href") for b in xbel.findall("bookmark")} == {c.as_uri() for c in clips}


@pytest.mark.vlc
@pytest.mark.gui
def test_several_files_on_the_command_line_play_in_order(
    two_clips: list[Path], tmp_path: Path
) -> None:
    r = run_cli(
        *[str(c) for c in two_clips], "--quit-after", QUEUE_QUIT_AFTER_S, "-v",
        env=user_dirs(tmp_path), timeout=120,
    )  # fmt: skip
    assert_both_played(r, tmp_path, two_clips)


@pytest.mark.vlc
@pytest.mark.gui
def test_the_desktop_entry_exec_line_with_two_file_uris(
    two_clips: list[Path], tmp_path: Path
) -> None:
    """What a file manager runs for two selected files: Exec's %U becomes one file:// URI per
    file (the Desktop Entry spec), run by the installed console script."""
    import configparser
    import shlex

    parser = configparser.ConfigParser(interpolation=None, delimiters=("="))
    parser.optionxform = str
    parser.read(ROOT / "packaging" / "io.github.stallwatch.Stallwatch.desktop", encoding="utf-8")
    exec_line = shlex.split(parser["Desktop Entry"]["Exec"])
    assert exec_line == ["stallwatch", "%U"]
    uris = [c.as_uri() for c in two_clips]
    assert "%20" in uris[0]  # the space in the name arrives percent-encoded
    argv = [str(Path(sys.executable).with_name("stallwatch"))]
    argv += [a for arg in exec_line[1:] for a in (uris if arg == "%U" else [arg])]
    argv += ["--quit-after", QUEUE_QUIT_AFTER_S, "-v"]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **user_dirs(tmp_path))
    r = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert_both_played(r, tmp_path, two_clips)


def test_diagnose_is_still_a_subcommand_before_the_source_list() -> None:
    from player.app import build_parser

    assert build_parser().parse_args(["a.mp4", "b.mp4"]).sources == ["a.mp4", "b.mp4"]
    assert build_parser().parse_args([]).sources == []
    assert build_parser().parse_args(["--demo"]).demo
    r = run_cli("diagnose", str(ROOT / "no-such-file.mp4"), "--duration", "1", "--json")
    assert r.returncode == 2, r.stderr  # diagnose ran (bad input), not the GUI with two sources
    assert '"error"' in r.stdout
