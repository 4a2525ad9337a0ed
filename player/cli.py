"""Command-line output: ``--version`` and ``diagnose`` (human summary or JSON)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from player import __version__

if TYPE_CHECKING:
    from player.core.tls_origin import TlsOrigin

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


def run_diagnose(
    url: str, duration: float, as_json: bool, insecure_origins: Sequence[TlsOrigin] = ()
) -> int:
    """Play ``url`` headlessly for ``duration`` seconds of playback; print the report.

    ``insecure_origins``: origins whose certificates are not verified (the report's
    ``tls_unverified`` lists those the run reached)."""
    if duration <= 0:
        return _fail("--duration must be a positive number of seconds", as_json)
    from player.core.wording.tls import cli_hint
    from player.net.tls_policy import TlsExemptions
    from player.report import to_json, to_text
    from player.session import PlaybackFailed
    from player.session.headless import play

    result = play(url, duration, tls=TlsExemptions(insecure_origins))
    if result.report is None:
        message = result.error or "playback failed"
        tls_origin = next(
            (e.tls_origin for e in result.events if isinstance(e, PlaybackFailed) and e.tls_origin),
            None,
        )
        if tls_origin:
            message = f"{message} {cli_hint(tls_origin)}"
        return _fail(message, as_json)
    if as_json:
        print(json.dumps(to_json(result.report), indent=2))
    else:
        print(to_text(result.report))
    return EXIT_OK
