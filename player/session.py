"""One viewing session: wires playback, preflight checks and (later) the gateway,
buffer model and attribution; emits plain events.

Threading: a Session is owned by one thread (the GUI thread, or the headless
``diagnose`` loop) that calls :meth:`Session.tick` about 20 times a second. Blocking
work (preflight HTTP requests, file sniffing) runs in named worker threads that
hand their results back through a queue read in ``tick``. libVLC events arrive
through the player's own queue. Nothing here imports Qt.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from player.core.model import PlaybackState
from player.net.preflight import PreflightResult, preflight
from player.playback.vlc import EventKind, PlayerEvent, VlcPlayer

log = logging.getLogger(__name__)

# How close to the known end "EndReached" must come to count as a normal end.
END_TOLERANCE_S = 2.0
END_TOLERANCE_RATIO = 0.03
# Bytes read from a local file to tell text and other non-media from media.
SNIFF_BYTES = 4096
# If libVLC reports Playing but shows no picture and plays no time for this long
# while the input is a local file, it cannot decode it.
NO_PICTURE_TIMEOUT_S = 4.0
PREFLIGHT_TIMEOUT_S = 1.5


# -- events the session emits (plain data; the UI bridge turns them into signals) ----
@dataclass(slots=True)
class SessionEvent:
    at: float = field(default_factory=time.monotonic, kw_only=True)


@dataclass(slots=True)
class Opening(SessionEvent):
    source: str
    title: str


@dataclass(slots=True)
class StateChanged(SessionEvent):
    state: PlaybackState


@dataclass(slots=True)
class MediaInfo(SessionEvent):
    length_s: float | None
    seekable: bool
    live: bool


@dataclass(slots=True)
class PlaybackFailed(SessionEvent):
    """Bad input or a broken stream: ``message`` is shown to the viewer as is."""

    message: str
    source: str


@dataclass(slots=True)
class EndedEarly(SessionEvent):
    message: str
    at_s: float
    length_s: float | None


@dataclass(slots=True)
class Ended(SessionEvent):
    pass


@dataclass(slots=True)
class Snapshot:
    """What the UI shows at one instant; read-only for the UI."""

    state: PlaybackState
    source: str | None
    title: str
    position_s: float | None
    length_s: float | None
    seekable: bool
    volume: int
    muted: bool
    frames_distinct: int


def title_for(source: str) -> str:
    parsed = urlparse(source)
    if parsed.scheme in ("http", "https", "file"):
        name = Path(unquote(parsed.path)).name
        return name or parsed.netloc or source
    return Path(source).name or source


def is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https", "rtsp", "rtmp", "mms", "udp", "file")


def inspect_file(path: str) -> PreflightResult:
    """Blocking check of a local file before libVLC sees it (worker thread)."""
    p = Path(path)
    name = p.name or path
    if not p.exists():
        return PreflightResult(False, "unknown", f"The file {name} does not exist.")
    if p.is_dir():
        return PreflightResult(False, "unknown", f"{name} is a folder, not a video file.")
    if not os.access(p, os.R_OK):
        return PreflightResult(False, "unknown", f"Stallwatch may not read {name} (permission denied).")
    try:
        with p.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        return PreflightResult(False, "unknown", f"Could not read {name}: {exc.strerror or exc}.")
    if not head:
        return PreflightResult(False, "unknown", f"{name} is empty, not a video.")
    if looks_like_text(head):
        stripped = head.lstrip()
        if stripped.startswith(b"#EXTM3U"):
            return PreflightResult(True, "hls", "")
        if stripped.startswith(b"<?xml") and b"<MPD" in head:
            return PreflightResult(True, "dash", "")
        if stripped[:15].lower().startswith((b"<!doctype html", b"<html")):
            return PreflightResult(False, "unknown", f"{name} is a web page, not a video.")
        return PreflightResult(False, "unknown", f"{name} is a text file, not a video.")
    return PreflightResult(True, "progressive", "")


def looks_like_text(head: bytes) -> bool:
    """True when the bytes decode as UTF-8 with no control characters besides whitespace."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the sample's end is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(ch.isprintable() or ch in "\r\n\t\f" for ch in text)


class Session:
    """Plays one source at a time and reports what happens as plain events."""

    def __init__(self, player: VlcPlayer, clock=time.monotonic) -> None:  # noqa: ANN001
        self.player = player
        self.clock = clock
        self.events: queue.Queue[SessionEvent] = queue.Queue()
        self._results: queue.Queue[tuple[int, str, PreflightResult]] = queue.Queue()
        self._workers: list[threading.Thread] = []
        self._gen = 0  # bumps on every open/close: late worker results are dropped
        self._vlc_gen = -1
        self.source: str | None = None
        self.title = ""
        self.state = PlaybackState.IDLE
        self.length_s: float | None = None
        self.seekable = False
        self.last_position_s: float | None = None
        self._playing_since: float | None = None
        self._failed = False
        self._closed = False

    # -- commands (owner thread) ------------------------------------------------------
    def open(self, source: str, prepare: Callable[[], str] | None = None, title: str = "") -> None:
        """Check ``source`` in a worker thread, then hand it to libVLC from ``tick``.

        ``prepare`` (optional, blocking) runs first in the worker and returns the
        real source: the demo uses it to generate and serve its stream.
        """
        self._stop_player()
        self._gen += 1
        gen = self._gen
        self.source = source
        self.title = title or title_for(source)
        self.length_s = None
        self.seekable = False
        self.last_position_s = None
        self._playing_since = None
        self._failed = False
        self._emit(Opening(source=source, title=self.title))
        self._set_state(PlaybackState.STARTUP)
        worker = threading.Thread(
            target=self._preflight_worker,
            args=(gen, source, prepare),
            name="stallwatch-preflight",
            daemon=True,
        )
        self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        worker.start()

    def toggle_pause(self) -> None:
        if self.state is PlaybackState.PAUSED:
            self.player.resume()
        elif self.state in (PlaybackState.PLAYING, PlaybackState.STALLED, PlaybackState.STARTUP):
            self.player.pause()
        elif self.state is PlaybackState.ENDED and self.source:
            self.open(self.source)

    def seek_s(self, seconds: float) -> None:
        if not self.seekable:
            return
        if self.length_s:
            seconds = min(seconds, max(0.0, self.length_s - 0.5))
        self.player.seek_s(max(0.0, seconds))
        self.last_position_s = max(0.0, seconds)

    def seek_relative(self, delta_s: float) -> None:
        pos = self.player.time_s() or self.last_position_s or 0.0
        self.seek_s(pos + delta_s)

    def set_volume(self, percent: int) -> None:
        self.player.set_volume(percent)

    def set_muted(self, muted: bool) -> None:
        self.player.set_muted(muted)

    def close(self) -> None:
        """Stop playback; returns quickly even while a stream is stalled."""
        self._closed = True
        self._gen += 1
        self._stop_player()
        for w in self._workers:
            w.join(timeout=0.2)  # preflight has its own short timeouts; never wait long

    # -- the owner's heartbeat ------------------------------------------------------
    def tick(self) -> None:
        self._drain_preflight()
        self._drain_player_events()
        self._sample()

    def snapshot(self) -> Snapshot:
        pos = self.player.time_s() if self._vlc_gen == self._gen else None
        if pos is not None and self.state is not PlaybackState.IDLE:
            self.last_position_s = pos
        return Snapshot(
            state=self.state,
            source=self.source,
            title=self.title,
            position_s=self.last_position_s,
            length_s=self.length_s,
            seekable=self.seekable,
            volume=self.player.volume(),
            muted=self.player.muted(),
            frames_distinct=self.player.frames.distinct_frames,
        )

    # -- internals ----------------------------------------------------------------------
    def _emit(self, event: SessionEvent) -> None:
        self.events.put(event)

    def _set_state(self, state: PlaybackState) -> None:
        if state is not self.state:
            self.state = state
            self._emit(StateChanged(state=state))

    def _fail(self, message: str) -> None:
        if self._failed:
            return
        self._failed = True
        log.info("playback failed: %s", message)
        self._stop_player()
        self._set_state(PlaybackState.ERROR)
        self._emit(PlaybackFailed(message=message, source=self.source or ""))

    def _stop_player(self) -> None:
        if self._vlc_gen >= 0:
            self.player.stop()
            self._vlc_gen = -1

    def _preflight_worker(self, gen: int, source: str, prepare: Callable[[], str] | None) -> None:
        try:
            if prepare is not None:
                source = prepare()
            parsed = urlparse(source)
            if parsed.scheme in ("http", "https"):
                result = preflight(source, timeout=PREFLIGHT_TIMEOUT_S)
            elif parsed.scheme == "file":
                result = inspect_file(unquote(parsed.path))
            elif parsed.scheme and len(parsed.scheme) > 1:
                result = PreflightResult(True, "unknown", "")  # rtsp etc.: libVLC handles them
            else:
                result = inspect_file(source)
        except Exception as exc:  # a bug in a check must not lose the session
            log.exception("preflight crashed")
            result = PreflightResult(False, "unknown", f"Could not open {title_for(source)}: {exc}")
        self._results.put((gen, source, result))

    def _drain_preflight(self) -> None:
        while True:
            try:
                gen, source, result = self._results.get_nowait()
            except queue.Empty:
                return
            if gen != self._gen or self._closed:
                continue
            self.source = source
            if not result.ok:
                self._fail(result.message)
                continue
            mrl = source
            if not is_url(source):
                mrl = Path(source).resolve().as_uri()
            self.player.open(mrl)
            self._vlc_gen = self._gen
            self._playing_since = None

    def _drain_player_events(self) -> None:
        while True:
            try:
                ev: PlayerEvent = self.player.events.get_nowait()
            except queue.Empty:
                return
            if self._vlc_gen != self._gen or ev.generation != self.player.generation:
                continue
            self._on_player_event(ev)

    def _on_player_event(self, ev: PlayerEvent) -> None:
        if ev.kind is EventKind.PLAYING:
            self.player.reapply_audio()
            if self._playing_since is None:
                self._playing_since = ev.at
            if self.state is not PlaybackState.PLAYING:
                log.info("playing %s", self.title)
            self._set_state(PlaybackState.PLAYING)
        elif ev.kind is EventKind.PAUSED:
            self._set_state(PlaybackState.PAUSED)
        elif ev.kind is EventKind.LENGTH_CHANGED:
            self.length_s = ev.value if ev.value and ev.value > 0 else None
            self._emit(MediaInfo(length_s=self.length_s, seekable=self.seekable, live=self.length_s is None))
        elif ev.kind is EventKind.SEEKABLE_CHANGED:
            self.seekable = bool(ev.value)
            self._emit(MediaInfo(length_s=self.length_s, seekable=self.seekable, live=self.length_s is None))
        elif ev.kind is EventKind.ERROR:
            self._fail(self._vlc_error_message())
        elif ev.kind is EventKind.END_REACHED:
            self._on_end()

    def _vlc_error_message(self) -> str:
        name = self.title or "this input"
        codecs = self.player.track_codecs()
        video = [c for kind, c in codecs if kind == "video"]
        if video:
            return (
                f"Could not play {name}: its video format ({', '.join(video)}) is not supported "
                "by this player."
            )
        if codecs:
            formats = ", ".join(c for _, c in codecs)
            return f"Could not play {name}: it has no video Stallwatch can decode ({formats})."
        if self.source and is_url(self.source):
            return f"Could not play {name}: the server's answer is not a video format Stallwatch can play."
        return f"Could not play {name}: it is not a video, or its format is not supported."

    def _on_end(self) -> None:
        pos = self.last_position_s
        t = self.player.time_s()
        if t is not None:
            pos = max(pos or 0.0, t)
        length = self.length_s
        frames = self.player.frames.distinct_frames
        if frames == 0 and (length is None or (pos or 0.0) == 0.0):
            self._fail(self._vlc_error_message())
            return
        if length and pos is not None and pos < length - max(END_TOLERANCE_S, END_TOLERANCE_RATIO * length):
            msg = (
                f"Playback ended early at {fmt_time(pos)} of {fmt_time(length)}: "
                "the stream was cut off or a part of it is missing."
            )
            self._stop_player()
            self._set_state(PlaybackState.ERROR)
            self._emit(EndedEarly(message=msg, at_s=pos, length_s=length))
            return
        self._stop_player()
        self._set_state(PlaybackState.ENDED)
        self._emit(Ended())

    def _sample(self) -> None:
        if self._vlc_gen != self._gen or self.state is not PlaybackState.PLAYING:
            return
        t = self.player.time_s()
        if t is not None:
            self.last_position_s = t
        frames = self.player.frames.distinct_frames
        started = self._playing_since
        if (
            started is not None
            and frames == 0
            and not (t and t > 0)
            and self.source
            and not is_url(self.source)
            and self.clock() - started > NO_PICTURE_TIMEOUT_S
        ):
            self._fail(self._vlc_error_message())


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(max(0, seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
