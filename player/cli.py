"""Command-line output: ``--version`` and ``diagnose`` (human summary or JSON)."""

from __future__ import annotations

import json
import sys

from player import __version__

EXIT_OK = 0
EXIT_BAD_INPUT = 2


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
    from player.report import to_json, to_text
    from player.session.headless import play

    result = play(url, duration)
    if result.report is None:
        return _fail(result.error or "playback failed", as_json)
    if as_json:
        print(json.dumps(to_json(result.report), indent=2))
    else:
        print(to_text(result.report))
    return EXIT_OK
