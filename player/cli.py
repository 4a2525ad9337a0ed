"""Command-line output: ``--version`` and ``diagnose`` (human summary or JSON)."""

from __future__ import annotations

import sys

from player import __version__


def print_version() -> None:
    try:
        from player.playback.vlc import libvlc_version

        vlc_version = libvlc_version()
    except Exception as exc:  # libVLC missing: still print ours, say why
        vlc_version = f"not available ({exc})"
    print(f"stallwatch {__version__}")
    print(f"libVLC {vlc_version}")
    print(f"Python {sys.version.split()[0]}")
