"""The built-in demo stream: generated once, served on loopback with a scripted slowdown.

The stream is made once with ffmpeg (60 s, 240p/360p/720p, 2 s segments) and
cached in the user's cache directory. A loopback server in a background thread
serves it with a scripted slowdown, so a new user sees the player cope with a
bandwidth dip (and, with a deeper dip, a stall whose culprit is honestly the
demo server). Nothing here imports Qt or VLC.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

from player.demo.media import DEFAULT_RENDITIONS, ffmpeg_available, make_hls
from player.demo.origin import ThrottledOrigin
from player.store.prefs import cache_dir

log = logging.getLogger(__name__)

DEMO_SECONDS = 60
DEMO_SEGMENT_S = 2
DEMO_VERSION = "v1"  # bump when the generated stream changes
# The scripted slowdown: (seconds after playback starts, bits/s or None for no limit,
# seconds the server waits before answering each request). 10 s at 1.2 Mbit/s (the
# middle rendition fits), 6 s at 700 kbit/s (the player steps down), then the demo
# server is overloaded: it answers every request 3 s late and sends at 150 kbit/s,
# below even the lowest rendition, so the buffer drains and playback stalls; the
# culprit is honestly the server (slow first byte, flat round-trip times). At 45 s it
# recovers.
DEFAULT_SCRIPT: tuple[tuple, ...] = (
    (0.0, 1_200_000, 0.0),
    (10.0, 700_000, 0.0),
    (16.0, 150_000, 3.0),
    (45.0, 20_000_000, 0.0),
)
SCRIPT_ENV = "STALLWATCH_DEMO_SCRIPT"  # e.g. "0:none,10:500000:2" (a hook for tests/demos)


def parse_script(text: str) -> tuple[tuple, ...]:
    """Parse ``"0:none,20:900000:2.5"`` (time:rate[:delay]) into a schedule.

    Raises ValueError on bad input."""
    steps: list[tuple] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        fields = part.split(":")
        if len(fields) not in (2, 3):
            raise ValueError(f"expected time:rate[:delay], got {part!r}")
        rate = fields[1].strip().lower()
        bps = None if rate in ("", "none", "off") else float(rate)
        if bps is not None and bps <= 0:
            raise ValueError(f"rate must be positive: {part!r}")
        delay = float(fields[2]) if len(fields) == 3 else 0.0
        if delay < 0:
            raise ValueError(f"delay must not be negative: {part!r}")
        steps.append((float(fields[0]), bps, delay))
    if not steps:
        raise ValueError("empty demo script")
    return tuple(sorted(steps, key=lambda p: p[0]))


class Demo:
    """Generates (once) and serves the demo stream; ``prepare`` returns its URL."""

    def __init__(
        self,
        root: Path | None = None,
        script: tuple[tuple, ...] | None = None,
        seconds: int = DEMO_SECONDS,
    ) -> None:
        """Cheap: the composition root builds one at start-up; nothing runs until
        :meth:`prepare` (the cache directory and the script are read then)."""
        self._root = root
        self._script = script
        self.seconds = seconds
        self.server: ThrottledOrigin | None = None
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        """Where the stream is cached (the user's cache directory unless given)."""
        if self._root is None:
            self._root = cache_dir() / f"demo-{DEMO_VERSION}-{self.seconds}s"
        return self._root

    @property
    def script(self) -> tuple[tuple, ...]:
        """The given script, else ``$STALLWATCH_DEMO_SCRIPT``, else the default one."""
        if self._script is None:
            env = os.environ.get(SCRIPT_ENV)
            self._script = parse_script(env) if env else DEFAULT_SCRIPT
        return self._script

    @property
    def master(self) -> Path:
        return self.root / "master.m3u8"

    def ensure_media(self) -> Path:
        """Generate the stream unless a complete copy is cached (blocking)."""
        if (self.root / "complete").exists() and self.master.exists():
            return self.master
        if not ffmpeg_available():
            raise RuntimeError(
                "The demo needs ffmpeg to make its video. Install it: apt-get install ffmpeg"
            )
        log.info("generating the demo stream in %s (first run only)", self.root)
        tmp = self.root.with_name(self.root.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        make_hls(tmp, seconds=self.seconds, renditions=DEFAULT_RENDITIONS, segment_s=DEMO_SEGMENT_S)
        (tmp / "complete").write_text("ok\n", encoding="utf-8")
        shutil.rmtree(self.root, ignore_errors=True)
        tmp.rename(self.root)
        return self.master

    def prepare(self) -> str:
        """Blocking (worker thread): media ready, server up, trace started; the URL."""
        self.ensure_media()
        with self._lock:
            if self.server is None:
                self.server = ThrottledOrigin(self.root).start()
            self.server.set_rate_trace(list(self.script))
            return self.server.url("master.m3u8")

    def set_rate(self, bps: float | None) -> None:
        """The slowdown hook: replace the script with a fixed rate now."""
        with self._lock:
            if self.server is not None:
                self.server.set_rate_trace([(0.0, bps, 0.0)])

    def stop(self) -> None:
        with self._lock:
            if self.server is not None:
                self.server.stop()
                self.server = None

