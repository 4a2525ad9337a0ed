"""Faults the shared test origin (tests/support/origin.py) has no kind for, as subclasses:
a connection *reset* (RST, not FIN), a slow-loris origin that trickles bytes, and a live
HLS window that an "encoder" thread slides, thins and renumbers under the player."""

from __future__ import annotations

import fnmatch
import logging
import os
import shutil
import socket
import struct
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from player.demo.origin import Aborted
from tests.support.origin import OriginServer, _FaultHandler

log = logging.getLogger(__name__)

# A slow-loris origin: a few bytes at a time, never silent for long. 64 bytes every 0.25 s
# is 256 B/s: far below what a segment needs (~60 KB a second), yet a new byte arrives well
# inside any read timeout (the fetcher's is 10 s), so only a whole-transfer view can tell.
TRICKLE_BYTES = 64
TRICKLE_EVERY_S = 0.25


class _CampaignHandler(_FaultHandler):
    server: object

    def _cut_connection(self) -> None:
        owner: CampaignOrigin = self.server.owner  # type: ignore[attr-defined]
        if not owner.reset_cuts:
            super()._cut_connection()
        self.close_connection = True
        try:
            self.wfile.flush()
            # SO_LINGER with a zero timeout: close() sends a TCP RST ("connection reset by peer")
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        raise Aborted

    def send_body(self, body: bytes) -> None:
        owner: CampaignOrigin = self.server.owner  # type: ignore[attr-defined]
        path = urllib.parse.urlsplit(self.path).path
        trickle = owner.trickle
        if trickle is None or trickle.done.is_set() or not fnmatch.fnmatch(path, trickle.pattern):
            super().send_body(body)
            return
        sent = 0
        trickle.trickling.add(path)
        try:
            while sent < len(body) and not trickle.done.is_set():
                self.wfile.write(body[sent : sent + TRICKLE_BYTES])
                self.wfile.flush()
                sent += TRICKLE_BYTES
                owner.wait(TRICKLE_EVERY_S)  # raises Aborted when the server stops
        finally:
            trickle.trickling.discard(path)
        if sent < len(body):
            super().send_body(body[sent:])


@dataclass
class Trickle:
    """Bodies of paths matching ``pattern`` trickle until :meth:`stop`."""

    pattern: str
    done: threading.Event
    trickling: set[str]

    def stop(self) -> None:
        self.done.set()


class CampaignOrigin(OriginServer):
    """:class:`OriginServer` plus ``reset_cuts`` (a ``cut`` sends RST) and :meth:`start_trickle`."""

    handler_class = _CampaignHandler

    def __init__(self, root: Path | str, *, reset_cuts: bool = False) -> None:
        super().__init__(root)
        self.reset_cuts = reset_cuts
        self.trickle: Trickle | None = None

    def start_trickle(self, pattern: str) -> Trickle:
        self.trickle = Trickle(pattern, threading.Event(), set())
        return self.trickle

    def stop(self) -> None:
        if self.trickle is not None:
            self.trickle.stop()
        super().stop()


# --- a live window ------------------------------------------------------------------------
LIVE_WINDOW = 4  # segments listed at a time (a typical live window is 3-6 target durations)


@dataclass(frozen=True)
class LiveStep:
    """One version of the live playlists: ``files`` are VOD segment numbers, listed from
    ``media_sequence``; ``discontinuity_at`` the index of the first segment after a break."""

    media_sequence: int
    files: tuple[int, ...]
    discontinuity_at: int | None = None
    ended: bool = False


def live_script(segments: int) -> list[LiveStep]:
    """The playlist's history: a sliding window; then the window jumps (sequence 4 now names
    file 6: file 5 is gone before it was fetched, and a number the player knew changed its
    content); then the encoder restarts (renumbered from 100, the VOD from its start, after
    a discontinuity); then the event ends (ENDLIST). Needs ``segments`` >= 8."""
    steps = [LiveStep(k, tuple(range(k, k + LIVE_WINDOW))) for k in range(2)]  # seq 0..4 listed
    steps.append(LiveStep(4, (6, 7)))
    restart = tuple(range(LIVE_WINDOW))
    steps.append(LiveStep(100, restart, discontinuity_at=0))
    steps.append(LiveStep(100, (*restart, LIVE_WINDOW), discontinuity_at=0, ended=True))
    if any(f >= segments for s in steps for f in s.files):
        raise ValueError(f"the live script needs 8 segments, the VOD has {segments}")
    return steps


class LiveStream:
    """Writes ``live/master.m3u8`` and ``live/v{i}/index.m3u8`` under an origin's root from the
    VOD in ``vod_dir``; :meth:`advance` publishes the next :class:`LiveStep` (the "encoder"
    is the test: it advances when the player has fetched the current window)."""

    def __init__(self, root: Path, vod_dir: Path, renditions: int, segment_s: float) -> None:
        self.dir = root / "live"
        self.renditions = renditions
        self.segment_s = segment_s
        self.steps = live_script(len(list((vod_dir / "v0").glob("seg_*.ts"))))
        self.index = -1
        for i in range(renditions):
            d = self.dir / f"v{i}"
            d.mkdir(parents=True, exist_ok=True)
            for seg in (vod_dir / f"v{i}").glob("seg_*.ts"):
                shutil.copyfile(seg, d / seg.name)
        self._write(self.dir / "master.m3u8", (vod_dir / "master.m3u8").read_text(encoding="utf-8"))
        self.advance()

    @property
    def step(self) -> LiveStep:
        return self.steps[self.index]

    @property
    def finished(self) -> bool:
        return self.index == len(self.steps) - 1

    def advance(self) -> LiveStep:
        self.index = min(self.index + 1, len(self.steps) - 1)
        for i in range(self.renditions):
            self._write(self.dir / f"v{i}" / "index.m3u8", self.playlist(self.step))
        log.info("live playlist now %s", self.step)
        return self.step

    def playlist(self, step: LiveStep) -> str:
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{int(self.segment_s + 0.999)}",
            f"#EXT-X-MEDIA-SEQUENCE:{step.media_sequence}",
        ]
        for i, f in enumerate(step.files):
            if step.discontinuity_at == i:
                lines.append("#EXT-X-DISCONTINUITY")
            lines += [f"#EXTINF:{self.segment_s:.3f},", f"seg_{f:03d}.ts"]
        if step.ended:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"

    @staticmethod
    def _write(path: Path, text: str) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)  # the origin reads either the old file or the new, never half


def fetched(origin: OriginServer, pattern: str) -> Callable[[], bool]:
    """A condition: the origin has served a request matching ``pattern``."""
    return lambda: bool(origin.requests_for(pattern))
