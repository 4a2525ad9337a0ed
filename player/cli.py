"""Command-line output: ``--version`` and ``diagnose`` (human summary or JSON)."""

from __future__ import annotations

import json
import sys
import time

from player import __version__

EXIT_OK = 0
EXIT_BAD_INPUT = 2
TICK_S = 0.05  # the session's heartbeat, as in the GUI
STARTUP_ALLOWANCE_S = 15.0


def print_version() -> None:
    try:
        from player.playback.vlc import libvlc_version

        vlc_version = libvlc_version()
    except Exception as exc:  # libVLC missing: still print ours, say why
        vlc_version = f"not available ({exc})"
    print(f"stallwatch {__version__}")
    print(f"libVLC {vlc_version}")
    print(f"Python {sys.version.split()[0]}")


def _fail(message: str, as_json: bool) -> int:
    print(message, file=sys.stderr)
    if as_json:
        print(json.dumps({"error": message}))
    return EXIT_BAD_INPUT


def run_diagnose(url: str, duration: float, as_json: bool) -> int:
    """Play ``url`` headlessly for ``duration`` seconds of playback; print the report."""
    if duration <= 0:
        return _fail("--duration must be a positive number of seconds", as_json)
    from player.core.model import PlaybackState
    from player.playback.vlc import VlcPlayer
    from player.report import to_json, to_text
    from player.session import PlaybackFailed, Session

    player = VlcPlayer(audio=False)
    session = Session(player)
    error: str | None = None
    t0 = time.monotonic()
    # Wall-clock allowance on top of the playback time: startup and stalls.
    deadline = t0 + duration * 3 + STARTUP_ALLOWANCE_S
    try:
        session.open(url)
        while True:
            session.tick()
            while not session.events.empty():
                ev = session.events.get_nowait()
                if isinstance(ev, PlaybackFailed):
                    error = ev.message
            played = session.monitor.time_in(PlaybackState.PLAYING)
            if error or session.state in (PlaybackState.ENDED, PlaybackState.ERROR):
                break
            if played >= duration or time.monotonic() >= deadline:
                break
            time.sleep(TICK_S)
        if error and session.monitor.startup_s is None:
            return _fail(error, as_json)
        report = session.report()
    finally:
        session.close()
        player.release()
    if as_json:
        print(json.dumps(to_json(report), indent=2))
    else:
        print(to_text(report))
    return EXIT_OK
