"""The command line: --version, --help, --demo (offscreen), python -m player."""

from __future__ import annotations

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
