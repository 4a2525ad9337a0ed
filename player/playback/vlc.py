"""The only module that imports ``vlc``.

libVLC renders every picture through video callbacks into a buffer we own, so the
UI can paint notices over the video and screenshots capture both (DESIGN.md).
libVLC is not re-entrant: every libVLC callback here only copies memory, bumps
counters or enqueues an event; nothing calls back into libVLC from a callback.
"""

from __future__ import annotations

import ctypes
import logging
import queue
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import vlc

from player.playback.frame_step import FrameStepper
from player.playback.tracks import TrackControl

log = logging.getLogger(__name__)

# Largest picture we accept from a video track; larger ones are scaled down by VLC.
MAX_FRAME_W = 3840
MAX_FRAME_H = 2160
# Timestamps of distinct pictures kept (~2 min at 30 fps).
DISTINCT_TIMES_KEPT = 4096
# Most padding a decoder adds around the visible picture (macroblock alignment).
MAX_PADDING = 64
# Bytes of each picture sampled for the "did the picture change" checksum.
CHECKSUM_SAMPLE_BYTES = 64 * 1024
# libVLC's audio output plays rates from 1/4x to 4x (time-stretched); beyond it mutes.
MIN_RATE = 0.25
MAX_RATE = 4.0
DEFAULT_ARGS = (
    "--quiet",
    "--no-xlib",
    "--no-video-title-show",
    "--no-snapshot-preview",
    "--network-caching=1500",
)


class EventKind(StrEnum):
    OPENING = "opening"
    BUFFERING = "buffering"
    PLAYING = "playing"
    PAUSED = "paused"
    STOPPED = "stopped"
    END_REACHED = "end_reached"
    ERROR = "error"
    LENGTH_CHANGED = "length_changed"
    SEEKABLE_CHANGED = "seekable_changed"
    VOUT = "vout"
    ES_ADDED = "es_added"


@dataclass(slots=True)
class PlayerEvent:
    kind: EventKind
    at: float = field(default_factory=time.monotonic)
    value: float | None = None
    generation: int = 0  # which media this event belongs to (stale events are dropped)


@dataclass(slots=True)
class Frame:
    """One picture copied out of libVLC's buffer (RV32: B, G, R, X per pixel)."""

    width: int  # visible picture size (the buffer may carry padding lines)
    height: int
    pitch: int
    data: bytes
    seq: int


_EVENT_MAP = {
    vlc.EventType.MediaPlayerOpening: EventKind.OPENING,
    vlc.EventType.MediaPlayerBuffering: EventKind.BUFFERING,
    vlc.EventType.MediaPlayerPlaying: EventKind.PLAYING,
    vlc.EventType.MediaPlayerPaused: EventKind.PAUSED,
    vlc.EventType.MediaPlayerStopped: EventKind.STOPPED,
    vlc.EventType.MediaPlayerEndReached: EventKind.END_REACHED,
    vlc.EventType.MediaPlayerEncounteredError: EventKind.ERROR,
    vlc.EventType.MediaPlayerLengthChanged: EventKind.LENGTH_CHANGED,
    vlc.EventType.MediaPlayerSeekableChanged: EventKind.SEEKABLE_CHANGED,
    vlc.EventType.MediaPlayerVout: EventKind.VOUT,
    vlc.EventType.MediaPlayerESAdded: EventKind.ES_ADDED,
}


_VideoFormatCbRaw = ctypes.CFUNCTYPE(
    ctypes.c_uint,
    ctypes.POINTER(ctypes.c_void_p),
    ctypes.c_void_p,  # char *chroma (4 bytes, writable)
    ctypes.POINTER(ctypes.c_uint),
    ctypes.POINTER(ctypes.c_uint),
    ctypes.POINTER(ctypes.c_uint),
    ctypes.POINTER(ctypes.c_uint),
)


def libvlc_version() -> str:
    raw = vlc.libvlc_get_version()
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class FrameSink:
    """Owns the picture buffer libVLC decodes into and counts distinct pictures.

    The buffer is (re)allocated in the format callback; lock/unlock/display are
    called on libVLC's video output thread and only touch this object's memory.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._buf: ctypes.Array | None = None
        self.width = 0
        self.height = 0
        self.pitch = 0
        self.frames_displayed = 0  # display callbacks (includes repaints of the same picture)
        self.distinct_frames = 0  # pictures whose content differs from the previous one
        self.last_distinct_at: float | None = None
        # When each distinct picture appeared (monotonic): the ground truth of freezes.
        self.distinct_times: deque[float] = deque(maxlen=DISTINCT_TIMES_KEPT)
        self._last_sum: int | None = None
        self._seq = 0
        self._ready_seq = 0
        self._snapshot: tuple[bytes, int, int, int] | None = None
        # Keep ctypes callback objects referenced: libVLC keeps raw pointers to them.
        # python-vlc declares the chroma argument as c_char_p, which hands Python a
        # copy; we need the real pointer to write "RV32" into, hence our own prototype.
        self._cb_format_raw = _VideoFormatCbRaw(self._on_format)
        self._cb_format = ctypes.cast(self._cb_format_raw, vlc.CallbackDecorators.VideoFormatCb)
        self._cb_cleanup = vlc.CallbackDecorators.VideoCleanupCb(self._on_cleanup)
        self._cb_lock = vlc.CallbackDecorators.VideoLockCb(self._on_lock)
        self._cb_unlock = vlc.CallbackDecorators.VideoUnlockCb(self._on_unlock)
        self._cb_display = vlc.CallbackDecorators.VideoDisplayCb(self._on_display)

    def attach(self, mp: vlc.MediaPlayer) -> None:
        vlc.libvlc_video_set_callbacks(mp, self._cb_lock, self._cb_unlock, self._cb_display, None)
        vlc.libvlc_video_set_format_callbacks(mp, self._cb_format, self._cb_cleanup)

    def reset(self) -> None:
        with self._mutex:
            self.frames_displayed = 0
            self.distinct_frames = 0
            self.last_distinct_at = None
            self.distinct_times.clear()
            self._last_sum = None
            self._snapshot = None
            self._ready_seq = 0

    def drop_picture(self) -> None:
        """Forget the last picture, keep the counts (the session's QoE reads them after a
        stop): a view cleared for the next source must not get the old picture back."""
        with self._mutex:
            self._snapshot = None

    # -- libVLC callbacks (video output thread) ---------------------------------
    def _on_format(self, opaque, chroma, width, height, pitches, lines):  # noqa: ANN001
        w, h = int(width[0]), int(height[0])
        if w <= 0 or h <= 0:
            return 0
        if w > MAX_FRAME_W or h > MAX_FRAME_H:
            scale = min(MAX_FRAME_W / w, MAX_FRAME_H / h)
            w, h = max(2, int(w * scale)) & ~1, max(2, int(h * scale)) & ~1
        ctypes.memmove(chroma, b"RV32", 4)
        width[0], height[0] = w, h
        pitch = w * 4
        pitches[0] = pitch
        lines[0] = h
        with self._mutex:
            self.width, self.height, self.pitch = w, h, pitch
            self._buf = ctypes.create_string_buffer(pitch * h + 32)
            self._snapshot = None  # a picture of the old size must never be read as the new
        log.debug("video format %dx%d", w, h)
        return 1  # one picture buffer

    def _on_cleanup(self, opaque) -> None:  # noqa: ANN001
        return None

    def _on_lock(self, opaque, planes):  # noqa: ANN001
        self._mutex.acquire()
        buf = self._buf
        planes[0] = ctypes.cast(buf, ctypes.c_void_p).value if buf is not None else None
        return None

    def _on_unlock(self, opaque, picture, planes) -> None:  # noqa: ANN001
        self._mutex.release()

    def _on_display(self, opaque, picture) -> None:  # noqa: ANN001
        with self._mutex:
            buf = self._buf
            if buf is None:
                return
            self.frames_displayed += 1
            n = self.pitch * self.height
            # A cheap content checksum over a strided sample tells repaints of the
            # same picture (VLC keeps repainting during a stall) from new pictures.
            step = max(1, n // CHECKSUM_SAMPLE_BYTES)
            raw = ctypes.string_at(buf, n)
            checksum = zlib.adler32(raw[::step]) if step > 1 else zlib.adler32(raw)
            if checksum != self._last_sum:
                self._last_sum = checksum
                self.distinct_frames += 1
                self.last_distinct_at = time.monotonic()
                self.distinct_times.append(self.last_distinct_at)
            self._seq += 1
            # The snapshot carries its own geometry: the next format change may
            # resize the buffer before the consumer reads this picture.
            self._snapshot = (raw, self.width, self.height, self.pitch)
            self._ready_seq = self._seq

    # -- consumer side (GUI thread) ----------------------------------------------
    def latest(self, after_seq: int = 0) -> Frame | None:
        """The newest displayed picture, or None if none newer than ``after_seq``."""
        with self._mutex:
            if self._snapshot is None or self._ready_seq <= after_seq:
                return None
            raw, width, height, pitch = self._snapshot
            return Frame(width, height, pitch, raw, self._ready_seq)


class SilentAudioSink:
    """Audio callbacks that count and discard samples: a real audio output for
    machines without a sound device (volume and mute are applied in software)."""

    def __init__(self) -> None:
        self.samples = 0
        self._cb_play = vlc.CallbackDecorators.AudioPlayCb(self._on_play)
        self._cb_pause = vlc.CallbackDecorators.AudioPauseCb(self._on_noop_ts)
        self._cb_resume = vlc.CallbackDecorators.AudioResumeCb(self._on_noop_ts)
        self._cb_flush = vlc.CallbackDecorators.AudioFlushCb(self._on_noop_ts)
        self._cb_drain = vlc.CallbackDecorators.AudioDrainCb(self._on_noop)
        self._cb_volume = vlc.CallbackDecorators.AudioSetVolumeCb(self._on_volume)
        self.volume = 1.0  # last gain libVLC applied (1.0 = 100 %)
        self.mute = False

    def attach(self, mp: vlc.MediaPlayer) -> None:
        vlc.libvlc_audio_set_callbacks(
            mp, self._cb_play, self._cb_pause, self._cb_resume, self._cb_flush, self._cb_drain, None
        )
        vlc.libvlc_audio_set_volume_callback(mp, self._cb_volume)
        vlc.libvlc_audio_set_format(mp, b"S16N", 48000, 2)

    def _on_volume(self, opaque, volume, mute) -> None:  # noqa: ANN001
        self.volume = float(volume)
        self.mute = bool(mute)

    def _on_play(self, opaque, samples, count, pts) -> None:  # noqa: ANN001
        self.samples += int(count)

    def _on_noop_ts(self, opaque, pts) -> None:  # noqa: ANN001
        return None

    def _on_noop(self, opaque) -> None:  # noqa: ANN001
        return None


def _summed(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: int(a.get(k, 0) or 0) + int(b.get(k, 0) or 0) for k in {*a, *b}}


class VlcPlayer:
    """libVLC media player with video callbacks and an event queue.

    Public methods are called from one thread (the GUI thread or a headless
    session's thread). Events from libVLC arrive in ``events`` (a queue) tagged
    with the media generation so events of a replaced media can be ignored.
    """

    def __init__(self, extra_args: tuple[str, ...] = (), audio: bool = True) -> None:
        """``audio=False`` decodes audio into a silent sink (headless runs and tests):
        the audio clock still paces playback and volume/mute still apply."""
        args = list(DEFAULT_ARGS) + list(extra_args)
        self.instance = vlc.Instance(args)
        if self.instance is None:
            raise RuntimeError("libVLC could not start (is vlc-plugin-base installed?)")
        self.mp: vlc.MediaPlayer = self.instance.media_player_new()
        self.frames = FrameSink()
        self.frames.attach(self.mp)
        self._silent_audio: SilentAudioSink | None = None
        if not audio:
            self._silent_audio = SilentAudioSink()
            self._silent_audio.attach(self.mp)
        self.events: queue.Queue[PlayerEvent] = queue.Queue()
        self.generation = 0
        self._media: vlc.Media | None = None
        self._event_cbs: list = []
        em = self.mp.event_manager()
        for etype in _EVENT_MAP:
            em.event_attach(etype, self._on_event)
        self.stepper = FrameStepper(self.mp, self.frames)  # frame stepping (playback/frame_step.py)
        em.event_attach(vlc.EventType.MediaPlayerTimeChanged, self._on_time_changed)
        self._volume = 80
        self._muted = False
        self._released = False
        self.tracks = TrackControl(self.mp)  # audio and subtitle tracks (playback/tracks.py)
        # The viewer's network caching (ms) as a per-media option, applied on the next open;
        # None keeps DEFAULT_ARGS' value.
        self.network_caching_ms: int | None = None
        self._stats_base: dict[str, int] = {}  # earlier media's stats of the same source

    # libVLC event thread: enqueue only.
    def _on_event(self, event) -> None:  # noqa: ANN001
        kind = _EVENT_MAP.get(event.type)
        if kind is None:
            return
        value = None
        try:
            if kind is EventKind.BUFFERING:
                value = float(event.u.new_cache)
            elif kind is EventKind.LENGTH_CHANGED:
                value = float(event.u.new_length) / 1000.0
            elif kind is EventKind.SEEKABLE_CHANGED:
                value = float(event.u.new_seekable)
        except Exception:  # pragma: no cover - defensive: union access on odd events
            value = None
        self.events.put(PlayerEvent(kind, value=value, generation=self.generation))

    # libVLC event thread: one tuple assignment, nothing else. libVLC 3 updates its time only a
    # few times a second; frame stepping advances it from here to the picture on screen.
    def _on_time_changed(self, event) -> None:  # noqa: ANN001
        self.stepper.clock = (int(event.u.new_time), time.monotonic())

    # -- control ------------------------------------------------------------------
    def open(self, mrl: str, options: tuple[str, ...] = (), *, same_source: bool = False) -> None:
        """Load ``mrl`` (a path or URL) and start playing.

        ``same_source``: the same source again at another position (``:start-time``, the
        session's seek where libVLC refuses one): the picture counts and libVLC's stats go
        on from the previous media's, and the last picture stays until the next one."""
        self.generation += 1
        base = self.stats() if same_source else {}  # includes the earlier media's
        if not same_source:
            self.frames.reset()
        self.stepper.reset()
        self.stepper.clock = None
        if self.network_caching_ms is not None:
            options = (*options, f":network-caching={int(self.network_caching_ms)}")
        media = self.instance.media_new(mrl, *options)
        previous, self._media = self._media, media
        self._stats_base = base
        self.mp.set_media(media)  # the player holds its own reference from here
        if previous is not None:  # python-vlc never frees a Media by itself: one per open
            previous.release()
        self.mp.play()
        self._apply_audio()

    def play(self) -> None:
        self.stepper.reset()
        self.mp.play()

    def pause(self) -> None:
        self.mp.set_pause(1)

    def resume(self) -> None:
        self.stepper.reset()
        self.mp.set_pause(0)

    def toggle_pause(self) -> None:
        self.stepper.reset()
        self.mp.pause()

    def is_playing(self) -> bool:
        return bool(self.mp.is_playing())

    def state(self) -> str:
        return str(self.mp.get_state()).split(".")[-1].lower()

    def time_s(self) -> float | None:
        t = self.mp.get_time()
        return None if t is None or t < 0 else t / 1000.0

    def length_s(self) -> float | None:
        n = self.mp.get_length()
        return None if n is None or n <= 0 else n / 1000.0

    def is_seekable(self) -> bool:
        return bool(self.mp.is_seekable())

    def seek_s(self, seconds: float) -> None:
        ms = max(0, int(seconds * 1000))
        self.stepper.on_seek(ms, paused=self.mp.get_state() == vlc.State.Paused)
        self.mp.set_time(ms)

    # -- speed and frame stepping ---------------------------------------------------------
    def rate(self) -> float:
        """The rate libVLC plays at now (1.0 normal; after set_rate, the clamped value)."""
        return float(self.mp.get_rate() or 1.0)

    def set_rate(self, rate: float) -> bool:
        """Play at ``rate`` x (clamped to what the audio output plays); False if refused."""
        return self.mp.set_rate(max(MIN_RATE, min(MAX_RATE, float(rate)))) == 0

    def fps(self) -> float:
        return self.stepper.fps()

    def step_frame(self, direction: int) -> float | None:
        """Pause and show the next (1) or previous (-1) picture; a float is the time the
        caller must seek to (libVLC 3 cannot step back): see ``FrameStepper.step``."""
        return self.stepper.step(direction)

    def add_subtitle_file(self, path: str | Path) -> bool:
        """Add a subtitle file (.srt, .vtt, .ass, ...) to the playing media and show it."""
        # absolute(), not resolve(): no filesystem call on the GUI thread (a hung network
        # mount would block it); libVLC opens the file itself
        uri = Path(path).absolute().as_uri()
        ok = self.mp.add_slave(vlc.MediaSlaveType.subtitle, uri, True) == 0
        log.info("subtitle file %s", "added" if ok else "refused")
        return ok

    def set_volume(self, percent: int) -> None:
        self._volume = max(0, min(150, int(percent)))
        self._apply_audio()

    def volume(self) -> int:
        return self._volume

    def set_muted(self, muted: bool) -> None:
        self._muted = bool(muted)
        self._apply_audio()

    def muted(self) -> bool:
        return self._muted

    def _apply_audio(self) -> None:
        # The audio output may not exist yet (before Playing); libVLC keeps the
        # values for the next output, and we re-apply them on Playing.
        self.mp.audio_set_volume(self._volume)
        self.mp.audio_set_mute(self._muted)

    def reapply_audio(self) -> None:
        self._apply_audio()

    def audio_state(self) -> tuple[int, bool]:
        """(volume, muted) as libVLC applies them to the audio output.

        With the silent sink, libVLC's getter does not report (amem), so we read
        the gain libVLC handed to our volume callback instead."""
        if self._silent_audio is not None:
            return round(self._silent_audio.volume * 100), self._silent_audio.mute
        return int(self.mp.audio_get_volume()), bool(self.mp.audio_get_mute())

    def latest_frame(self, after_seq: int = 0) -> Frame | None:
        """The newest picture, cropped to the visible size libVLC reports."""
        if self._released:
            return None
        frame = self.frames.latest(after_seq)
        if frame is None:
            return None
        vw, vh = self.video_size()
        # The buffer may carry a few padding lines/columns below/right of the picture
        # (decoder alignment). Crop to the reported size only when the two agree up to
        # such padding: right after a resolution change the reported size can be stale.
        if 0 < vw <= frame.width and 0 < vh <= frame.height:
            if frame.width - vw <= MAX_PADDING and frame.height - vh <= MAX_PADDING:
                frame.width, frame.height = vw, vh
        return frame

    def video_size(self) -> tuple[int, int]:
        w, h = self.mp.video_get_size(0)
        return int(w or 0), int(h or 0)

    def track_codecs(self) -> list[tuple[str, str]]:
        """(kind, fourcc) of the current media's elementary streams, e.g. ("video", "h264")."""
        media = self._media
        if media is None:
            return []
        out = []
        try:
            for t in media.tracks_get() or ():
                kind = str(t.type).rsplit(".", 1)[-1]  # TrackType.video -> "video"
                fourcc = int(t.codec).to_bytes(4, "little").decode("latin-1").strip("\x00 ")
                out.append((kind, fourcc))
        except Exception:  # tracks are informative only
            log.debug("could not read tracks", exc_info=True)
        return out

    def stats(self) -> dict:
        media = self._media
        if media is None:
            return {}
        st = vlc.MediaStats()
        if not media.get_stats(st):
            return dict(self._stats_base)
        return _summed(
            self._stats_base,
            {
                "read_bytes": st.read_bytes,
                "demux_read_bytes": st.demux_read_bytes,
                "decoded_video": st.decoded_video,
                "displayed_pictures": st.displayed_pictures,
                "lost_pictures": st.lost_pictures,
            },
        )

    def stop(self) -> None:
        """Stop playback. Never call from a libVLC callback (it deadlocks)."""
        self.generation += 1
        self.stepper.reset()
        self.mp.stop()
        # the last picture of this media is the view's now; without this, a source that
        # fails before libVLC opens it showed the previous video's last frame
        self.frames.drop_picture()

    def release(self) -> None:
        """Free libVLC. Afterwards every getter returns nothing; calls are ignored."""
        if self._released:
            return
        self.stop()
        self._released = True
        em = self.mp.event_manager()
        for etype in (*_EVENT_MAP, vlc.EventType.MediaPlayerTimeChanged):
            em.event_detach(etype)
        self.mp.release()
        if self._media is not None:
            self._media.release()
            self._media = None
        self.instance.release()
