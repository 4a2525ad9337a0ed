"""One viewing session: wires playback, the gateway, the buffer model, ABR, path
probing and attribution; emits plain events.

Threading: a Session is owned by one thread (the GUI thread, or the headless
``diagnose`` loop) that calls :meth:`Session.tick` about 20 times a second. Blocking
work (preflight HTTP requests, file sniffing, the gateway's fetches, path probing)
runs in named worker threads that hand their results back through queues read in
``tick``. libVLC events arrive through the player's own queue. The only code run on
another thread is the gateway's ``rendition_chooser`` (ABR, under a lock) and the
prober's ``is_loaded``. Nothing here imports Qt. The GUI and ``diagnose`` drive
this same class, so the window's notice and the CLI's verdict never disagree.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import psutil

from player.core import buffer_health as bh
from player.core.abr import AbrController
from player.core.attribution import (
    AttributionInput,
    DeviceEvidence,
    FetchEvidence,
    ProbeStatus,
    TtfbSample,
    attribute,
    hop_evidence_from,
    overall_from_stalls,
)
from player.core.model import (
    BufferSample,
    Fetch,
    FetchKind,
    PlaybackState,
    QoE,
    Segment,
    SessionReport,
    Stall,
    Verdict,
)
from player.core.wording import Notice, notice
from player.net import gateway as gw
from player.net.path_monitor import PathMonitor, PathSnapshot, build_namer, host_port
from player.net.preflight import PreflightResult, preflight
from player.playback.vlc import EventKind, PlayerEvent, VlcPlayer

log = logging.getLogger(__name__)

# How close to the known end "EndReached" must come to count as a normal end.
END_TOLERANCE_S = 2.0
END_TOLERANCE_RATIO = 0.03
# If libVLC reports Playing but shows no picture and plays no time for this long
# while the input is a local file, it cannot decode it.
NO_PICTURE_TIMEOUT_S = 4.0
PREFLIGHT_TIMEOUT_S = 1.5
VERDICT_REFRESH_S = 1.0  # re-run attribution this often while stalled
NOTICE_LINGER_S = 4.0  # keep the notice this long after a stall ends
HISTORY_EVERY_S = 0.5  # stats graph sampling
HISTORY_SPAN_S = 120.0
DEVICE_EVERY_S = 1.0  # CPU sampling
LOADED_WINDOW_S = 30.0  # probe samples this recent count for a stall's verdict
DEFAULT_SEGMENT_S = 2.0  # ABR's segment length when the playlist does not say
RECENT_FETCHES = 8
RECENT_MIN = 3
EVIDENCE_WINDOW_S = 10.0  # fetches finished this long before a stall describe its causes
INFLIGHT_MIN_S = 1.0  # an unfinished download this old counts as evidence  # segment fetches this recent count for throughput / TTFB
# The marker the testbed harness waits for (attribution is wired into diagnose).
ATTRIBUTION_WIRED = True


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
class StreamNote(SessionEvent):
    """Something the viewer should know that is not fatal (a missing segment, a retry)."""

    message: str


@dataclass(slots=True)
class NoticeChanged(SessionEvent):
    """The stall notice to overlay (None: hide it)."""

    notice: Notice | None
    verdict: Verdict | None = None


@dataclass(slots=True)
class StallBegan(SessionEvent):
    start_s: float


@dataclass(slots=True)
class StallFinished(SessionEvent):
    start_s: float
    duration_s: float


@dataclass(slots=True)
class RenditionsKnown(SessionEvent):
    labels: list[str]  # index = gateway rendition index


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


@dataclass(slots=True)
class StatsView:
    """Everything the statistics panel shows (read-only)."""

    state: str = "idle"
    rendition: str | None = None
    resolution: str | None = None
    bitrate_bps: float | None = None
    throughput_bps: float | None = None
    buffer_ahead_s: float | None = None
    host: str | None = None
    connection_reused: bool | None = None
    ttfb_ms: float | None = None
    frames_displayed: int = 0
    frames_dropped: int = 0
    stall_count: int = 0
    stall_s: float = 0.0
    fetch_count: int = 0
    note: str = ""
    history: list[tuple[float, float | None, float | None, float | None]] = field(default_factory=list)


def title_for(source: str) -> str:
    parsed = urlparse(source)
    if parsed.scheme in ("http", "https", "file"):
        name = Path(unquote(parsed.path)).name
        return name or parsed.netloc or source
    return Path(source).name or source


def is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https", "rtsp", "rtmp", "mms", "udp", "file")


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(max(0, seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


@dataclass(slots=True)
class _StallTrack:
    """Attribution bookkeeping for the stall in progress."""

    stall: Stall
    started_at: float  # monotonic
    first_verdict_at: float | None = None
    last_verdict_at: float | None = None


class Session:
    """Plays one source at a time and reports what happens as plain events."""

    def __init__(
        self,
        player: VlcPlayer,
        clock: Callable[[], float] = time.monotonic,
        *,
        use_gateway: bool = True,
        probe_path: bool = True,
        show_notices: bool = True,
        org_overrides: dict[str, str] | None = None,
        rdap_url: str | None = None,
    ) -> None:
        self.player = player
        self.clock = clock
        self.use_gateway = use_gateway
        self.probe_path = probe_path
        self.show_notices = show_notices
        self.configure_naming(org_overrides, rdap_url)
        self.events: queue.Queue[SessionEvent] = queue.Queue()
        self._results: queue.Queue[tuple[int, str, PreflightResult]] = queue.Queue()
        self._net_events: queue.Queue[tuple[int, object]] = queue.Queue()
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
        self.opened_at: float | None = None
        # network and models (per open)
        self.gateway: gw.Gateway | None = None
        self.path: PathMonitor | None = None
        self.monitor = bh.BufferHealthMonitor()
        self._abr: AbrController | None = None
        self._abr_lock = threading.Lock()
        self._abr_order: list[int] = []  # ABR index (ascending bitrate) -> gateway index
        self._pinned: int | None = None  # gateway rendition index, None = Auto
        self.renditions: list[gw.Rendition] = []
        self._buffer_ahead_s: float | None = None  # read by the ABR thread
        self._current_rendition: int | None = None
        self.per_segment_data = True
        self.mode_note = ""
        self.notes: list[str] = []
        self._fetches: list[Fetch] = []
        self._stall_track: _StallTrack | None = None
        self._notice_until: float | None = None
        self.current_notice: Notice | None = None
        self.current_verdict: Verdict | None = None
        self._history: deque = deque(maxlen=int(HISTORY_SPAN_S / HISTORY_EVERY_S) + 1)
        self._last_history_at = 0.0
        self._proc = psutil.Process()
        self._proc_cpu: float | None = None
        self._sys_cpu: float | None = None
        self._last_device_at = 0.0
        self._frames_dropped = 0
        self._stats_cache: dict = {}

    # -- commands (owner thread) ------------------------------------------------------
    def open(self, source: str, prepare: Callable[[], str] | None = None, title: str = "") -> None:
        """Check ``source`` in a worker thread, then hand it to libVLC from ``tick``.

        ``prepare`` (optional, blocking) runs first in the worker and returns the
        real source: the demo uses it to generate and serve its stream.
        """
        self._teardown_media()
        self._gen += 1
        gen = self._gen
        self.source = source
        self.title = title or title_for(source)
        self.length_s = None
        self.seekable = False
        self.last_position_s = None
        self._playing_since = None
        self._failed = False
        self.opened_at = self.clock()
        self.monitor = bh.BufferHealthMonitor(session_start=self.opened_at)
        self._stall_track = None
        self._set_notice(None, None)
        self.notes = []
        self._fetches = []
        self._history.clear()
        with self._abr_lock:
            self._abr = None
            self._abr_order = []
        self.renditions = []
        self._current_rendition = None
        self._buffer_ahead_s = None
        self.per_segment_data = True
        self.mode_note = ""
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
        seconds = max(0.0, seconds)
        self.player.seek_s(seconds)
        self.last_position_s = seconds
        self._feed_monitor(self.monitor.on_seek(self.clock()))
        with self._abr_lock:
            if self._abr is not None:
                self._abr.on_seek()

    def seek_relative(self, delta_s: float) -> None:
        pos = self.player.time_s() or self.last_position_s or 0.0
        self.seek_s(pos + delta_s)

    def set_volume(self, percent: int) -> None:
        self.player.set_volume(percent)

    def set_muted(self, muted: bool) -> None:
        self.player.set_muted(muted)

    def configure_naming(self, org_overrides: dict[str, str] | None, rdap_url: str | None) -> None:
        """The viewer's names for networks and the opt-in RDAP service (next open)."""
        self._namer_key = (tuple(sorted((org_overrides or {}).items())), rdap_url or "")
        self._namer = build_namer(org_overrides, rdap_url) if (org_overrides or rdap_url) else None

    @property
    def pinned_rendition(self) -> int | None:
        return self._pinned

    def pin_rendition(self, index: int | None) -> None:
        """Play only rendition ``index`` (gateway/master order), or None for Auto."""
        self._pinned = index
        if self.gateway is not None:
            self.gateway.lock_rendition(index)
        with self._abr_lock:
            if self._abr is not None:
                self._abr.pin(None if index is None else self._abr_index_for(index))

    def close(self) -> None:
        """Stop playback; returns quickly even while a stream is stalled."""
        self._closed = True
        self._gen += 1
        self._teardown_media(wait=True)
        for w in self._workers:
            w.join(timeout=0.2)  # preflight has its own short timeouts; never wait long

    # -- the owner's heartbeat ------------------------------------------------------
    def tick(self) -> None:
        self._drain_preflight()
        self._drain_player_events()
        self._drain_net_events()
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

    def qoe(self) -> QoE:
        q = self.monitor.qoe()
        q.frames_displayed = self.player.frames.distinct_frames
        q.frames_dropped = max(q.frames_dropped, self._frames_dropped)
        if q.avg_bitrate_kbps is None:
            bitrates = [f.rendition_bitrate_bps for f in self._fetches if f.rendition_bitrate_bps]
            if bitrates:
                q.avg_bitrate_kbps = round(sum(bitrates) / len(bitrates) / 1000.0, 1)
        return q

    def stats(self) -> StatsView:
        segs = [f for f in self._fetches if f.kind in (FetchKind.SEGMENT, FetchKind.PROGRESSIVE)]
        last = segs[-1] if segs else (self._fetches[-1] if self._fetches else None)
        rend = self._rendition(self._current_rendition)
        q = self.qoe()
        view = StatsView(
            state=self.state.value,
            buffer_ahead_s=self.monitor.buffer_ahead_s,
            frames_displayed=q.frames_displayed,
            frames_dropped=q.frames_dropped,
            stall_count=q.stall_count,
            stall_s=q.stall_s,
            fetch_count=len(self._fetches),
            history=list(self._history),
        )
        if rend is not None:
            view.rendition = f"{rend.index + 1} of {len(self.renditions)}" + (
                " (pinned)" if self._pinned is not None else " (auto)"
            )
            view.bitrate_bps = float(rend.bandwidth)
            if rend.resolution:
                view.resolution = f"{rend.resolution[0]}x{rend.resolution[1]}"
        if view.resolution is None:
            w, h = self.player.video_size() if self._vlc_gen == self._gen else (0, 0)
            view.resolution = f"{w}x{h}" if w and h else None
        if last is not None:
            view.host = last.host or None
            view.connection_reused = last.reused_connection
            view.ttfb_ms = last.ttfb_ms
        view.throughput_bps = self._recent_throughput()
        notes = []
        if not self.per_segment_data:
            notes.append("Per-segment data is unavailable for this stream (VLC fetches it directly).")
        if self.mode_note:
            notes.append(self.mode_note)
        if self.notes:
            notes.append(self.notes[-1])
        view.note = " ".join(notes)
        return view

    def path_snapshot(self) -> PathSnapshot | None:
        return self.path.snapshot() if self.path is not None else None

    def report(self) -> SessionReport:
        """The session so far, in the shape of DESIGN.md's ``diagnose --json``."""
        now = self.clock()
        self._refresh_verdict(now, final=True)
        q = self.qoe()
        stalls = [s for s in self.monitor.stalls]
        overall = overall_from_stalls(stalls) if stalls else Verdict(Segment.NONE, confidence=1.0)
        played = 0.0
        if self.opened_at is not None:
            played = (self.last_position_s or 0.0) if self.state is PlaybackState.ENDED else 0.0
            played = max(played, self.monitor.time_in(PlaybackState.PLAYING))
        snap = self.path_snapshot()
        probe = {"status": "not_run", "method": "none", "reason": "", "probe_bytes": 0}
        if snap is not None:
            probe = {
                "status": snap.status.value,
                "method": snap.method,
                "reason": snap.reason,
                "probe_bytes": snap.probe_bytes,
            }
        return SessionReport(
            probe=probe,
            url=self.source or "",
            played_s=round(played, 2),
            qoe=q,
            stalls=stalls,
            verdict=overall,
            path=snap.hops if snap else [],
            fetches=self.fetch_summary(),
        )

    def fetch_summary(self) -> dict:
        fetches = self._fetches
        by_kind: dict[str, int] = {}
        for f in fetches:
            by_kind[f.kind.value] = by_kind.get(f.kind.value, 0) + 1
        ttfbs = [f.ttfb_ms for f in fetches if f.ttfb_ms is not None]
        tputs = [t for t in (f.throughput_bps for f in fetches if f.kind is FetchKind.SEGMENT) if t]
        snap = self.path_snapshot()
        video_bytes = sum(f.bytes for f in fetches)
        probe_bytes = snap.probe_bytes if snap else 0
        return {
            "count": len(fetches),
            "by_kind": by_kind,
            "bytes": video_bytes,
            "errors": sum(1 for f in fetches if f.error),
            "retries": sum(f.retries for f in fetches),
            "resumed": sum(f.resumed for f in fetches),
            "reused_connections": sum(1 for f in fetches if f.reused_connection),
            "ttfb_ms_median": _median(ttfbs),
            "throughput_kbps_median": None if not tputs else round(_median(tputs) / 1000.0, 1),
            "per_segment_data": self.per_segment_data,
            "probe_bytes": probe_bytes,
            "probe_ratio": round(probe_bytes / video_bytes, 5) if video_bytes else None,
            "notes": list(self.notes),
        }

    # -- internals: plumbing ---------------------------------------------------------
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

    def _teardown_media(self, wait: bool = False) -> None:
        """Stop the gateway and probes, then libVLC.

        Order matters: libVLC's HLS module blocks ``stop()`` while it reads a stalled
        segment, so the gateway is told to stop first (it closes VLC's connections at
        once and VLC's read fails); the slower parts of its shutdown (joining its
        threads) run in the background unless ``wait``."""
        gateway, path = self.gateway, self.path
        self.gateway = None
        self.path = None
        stops = [s.stop for s in (path, gateway) if s is not None]
        threads = [threading.Thread(target=s, name="stallwatch-teardown", daemon=True) for s in stops]
        for t in threads:
            t.start()
        self._stop_player()
        if wait:
            for t in threads:
                t.join(1.0)

    def _preflight_worker(self, gen: int, source: str, prepare: Callable[[], str] | None) -> None:
        try:
            if prepare is not None:
                source = prepare()
            scheme = urlparse(source).scheme
            if scheme in ("rtsp", "rtmp", "mms", "udp"):
                result = PreflightResult(True, "unknown", "")  # libVLC handles these itself
            else:  # http(s), file:// URLs and local paths
                result = preflight(source, timeout=PREFLIGHT_TIMEOUT_S)
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
            elif urlparse(source).scheme in ("http", "https"):
                mrl = self._start_network(gen, source, result.kind)
            self.player.open(mrl)
            self._vlc_gen = self._gen
            self._playing_since = None

    def _start_network(self, gen: int, url: str, kind: str) -> str:
        """Route ``url`` through a fresh gateway and start watching the path."""
        mrl = url
        if self.use_gateway:
            gateway = gw.Gateway(
                on_event=lambda ev, g=gen: self._on_gateway_event(g, ev),
                rendition_chooser=self._choose_rendition,
            )
            try:
                gateway.start()
                mrl = gateway.open(url, kind=None if kind == "unknown" else kind)
                if self._pinned is not None:
                    gateway.lock_rendition(self._pinned)
                self.gateway = gateway
            except (OSError, RuntimeError) as exc:
                log.warning("gateway unavailable, VLC fetches directly: %s", exc)
                gateway.stop()
                self.per_segment_data = False
                mrl = url
        else:
            self.per_segment_data = False
        hp = host_port(url)
        if self.probe_path and hp is not None:
            self.path = PathMonitor(
                hp[0], hp[1], is_loaded=self._downloading, namer=self._namer, namer_key=self._namer_key
            ).start()
        return mrl

    def _downloading(self) -> bool:
        """Called from the prober's thread: is our own download in flight right now?"""
        g = self.gateway
        return g is not None and g.open_requests() > 0

    # -- gateway events (gateway threads -> queue; ABR fed directly) -------------------
    def _on_gateway_event(self, gen: int, ev: object) -> None:
        if isinstance(ev, gw.FetchRecorded) and ev.fetch.kind is FetchKind.SEGMENT:
            with self._abr_lock:
                if self._abr is not None:
                    self._abr.add_fetch(ev.fetch)
        self._net_events.put((gen, ev))

    def _abr_index_for(self, gateway_index: int) -> int:
        return self._abr_order.index(gateway_index) if gateway_index in self._abr_order else 0

    def _ensure_abr_locked(self) -> AbrController | None:
        if self._abr is not None:
            return self._abr
        g = self.gateway
        rends = g.renditions() if g is not None else []
        if len(rends) < 1:
            return None
        order = sorted(range(len(rends)), key=lambda i: rends[i].bandwidth)
        seg_s = (g.segment_duration_s() if g is not None else None) or DEFAULT_SEGMENT_S
        self._abr = AbrController([rends[i].bandwidth for i in order], seg_s)
        self._abr_order = order
        if self._pinned is not None:
            self._abr.pin(self._abr_index_for(self._pinned))
        return self._abr

    def _choose_rendition(self, seq: int) -> int:
        """The gateway asks which rendition to serve segment ``seq`` from (its thread)."""
        with self._abr_lock:
            abr = self._ensure_abr_locked()
            if abr is None:
                return self._current_rendition or 0
            buffer_s = self._buffer_ahead_s or 0.0
            decision = abr.choose(buffer_s)
            if decision.switched:
                log.info("ABR: segment %d -> %.0f kbit/s (%s)", seq, decision.bitrate_bps / 1e3, decision.reason)
            return self._abr_order[decision.index]

    def _drain_net_events(self) -> None:
        while True:
            try:
                gen, ev = self._net_events.get_nowait()
            except queue.Empty:
                return
            if gen != self._gen:
                continue
            self._on_net_event(ev)

    def _on_net_event(self, ev: object) -> None:
        if isinstance(ev, gw.FetchRecorded):
            self._fetches.append(ev.fetch)
        elif isinstance(ev, gw.PlaylistLoaded):
            self.renditions = list(ev.renditions)
            self.per_segment_data = ev.mode is not gw.Mode.DIRECT
            self.mode_note = ev.note
            if ev.renditions:
                self._emit(RenditionsKnown(labels=[_rendition_label(r) for r in ev.renditions]))
        elif isinstance(ev, gw.RenditionSwitched):
            log.debug("rendition %s -> %s at segment %d", ev.from_index, ev.to_index, ev.seq)
        elif isinstance(ev, gw.SegmentMissing):
            self._note(f"A part of the video is missing ({ev.reason}); skipping it.")
        elif isinstance(ev, gw.Resumed):
            self._note("The connection to the server dropped; resumed where it stopped.")
        elif isinstance(ev, gw.Retrying):
            self._note(f"The server did not answer properly ({ev.reason}); retrying.")
        elif isinstance(ev, gw.UpstreamError):
            self._note(f"The server failed: {ev.reason}")

    def _note(self, message: str) -> None:
        log.info("stream note: %s", message)
        self.notes.append(message)
        del self.notes[:-20]
        self._emit(StreamNote(message=message))

    def _rendition(self, index: int | None) -> gw.Rendition | None:
        if index is None or not (0 <= index < len(self.renditions)):
            return None
        return self.renditions[index]

    # -- libVLC events ------------------------------------------------------------------
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
            if self.state is PlaybackState.PAUSED:
                self._feed_monitor(self.monitor.on_resume(self.clock()))
            if self.state is not PlaybackState.PLAYING:
                log.info("playing %s", self.title)
            self._set_state(PlaybackState.PLAYING)
        elif ev.kind is EventKind.PAUSED:
            self._feed_monitor(self.monitor.on_pause(self.clock()))
            self._set_state(PlaybackState.PAUSED)
        elif ev.kind is EventKind.LENGTH_CHANGED:
            self.length_s = ev.value if ev.value and ev.value > 0 else None
            if self.gateway is not None and self.length_s:
                self.gateway.set_media_duration(self.length_s)
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
        self.last_position_s = pos
        length = self.length_s
        frames = self.player.frames.distinct_frames
        self._feed_monitor(self.monitor.on_end(self.clock()))
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

    # -- sampling, stalls and verdicts -------------------------------------------------------
    def _sample(self) -> None:
        now = self.clock()
        if self._notice_until is not None and now >= self._notice_until:
            self._notice_until = None
            self._set_notice(None, None)
        if self._vlc_gen != self._gen or self.state not in (
            PlaybackState.PLAYING,
            PlaybackState.STALLED,
            PlaybackState.STARTUP,
        ):
            return
        t = self.player.time_s()
        if t is not None and self.state is not PlaybackState.STARTUP:
            self.last_position_s = t
        if now - self._last_device_at >= DEVICE_EVERY_S:
            self._sample_device(now)
        g = self.gateway
        # For a progressive file the gateway can only estimate media time from bytes
        # (constant bitrate): too rough to call a freeze a glitch, so it is not used.
        delivered = g.delivered_until_s() if g is not None and g.mode is not gw.Mode.PROGRESSIVE else None
        sample = BufferSample(
            starving=g.starving() if g is not None else None,
            at=now,
            playhead_s=t if self.state is not PlaybackState.STARTUP or (t or 0) > 0 else None,
            delivered_media_s=delivered,
            frames_displayed=self.player.frames.distinct_frames,
            frames_dropped=self._frames_dropped,
            bytes_delivered=g.bytes_delivered() if g is not None else 0,
        )
        if g is not None:
            cur = g.current_rendition()
            if cur is not None and cur != self._current_rendition:
                self._current_rendition = cur
                rend = self._rendition(cur)
                if rend is not None:
                    self.monitor.on_rendition(rend.bandwidth, now)
        self._feed_monitor(self.monitor.feed(sample))
        self._buffer_ahead_s = self.monitor.buffer_ahead_s
        if self._stall_track is not None:
            self._refresh_verdict(now)
        if now - self._last_history_at >= HISTORY_EVERY_S:
            self._last_history_at = now
            rend = self._rendition(self._current_rendition)
            self._history.append(
                (now, self.monitor.buffer_ahead_s, self._recent_throughput(), float(rend.bandwidth) if rend else None)
            )
        self._check_undecodable(now, t)

    def _check_undecodable(self, now: float, t: float | None) -> None:
        started = self._playing_since
        if (
            started is not None
            and self.state is PlaybackState.PLAYING
            and self.player.frames.distinct_frames == 0
            and not (t and t > 0)
            and self.source
            and not is_url(self.source)
            and now - started > NO_PICTURE_TIMEOUT_S
        ):
            self._fail(self._vlc_error_message())

    def _sample_device(self, now: float) -> None:
        self._last_device_at = now
        if self.path is not None:
            self.path.fit_budget(sum(f.bytes for f in self._fetches))
        try:
            self._proc_cpu = self._proc.cpu_percent(interval=None)
            self._sys_cpu = psutil.cpu_percent(interval=None)
        except psutil.Error:
            pass
        stats = self.player.stats()
        self._frames_dropped = int(stats.get("lost_pictures", 0) or 0)

    def _feed_monitor(self, events: list) -> None:
        for ev in events:
            if isinstance(ev, bh.StallStarted):
                stall = self.monitor.stalls[-1] if self.monitor.stalls else Stall(start_s=ev.start_s)
                self._stall_track = _StallTrack(stall=stall, started_at=(self.opened_at or 0.0) + ev.start_s)
                log.info("stall started at %.2f s (buffer %s)", ev.start_s, ev.buffer_ahead_s)
                self._set_state(PlaybackState.STALLED)
                self._emit(StallBegan(start_s=ev.start_s))
                self._refresh_verdict(self.clock())
            elif isinstance(ev, bh.StallEnded):
                log.info("stall ended after %.2f s (%s)", ev.duration_s, ev.reason)
                # The verdict stands as made during the stall: evidence gathered after
                # the recovery describes a healthy network, not the stall.
                self._stall_track = None
                if self.state is PlaybackState.STALLED:
                    self._set_state(PlaybackState.PLAYING)
                self._notice_until = self.clock() + NOTICE_LINGER_S
                self._emit(StallFinished(start_s=ev.start_s, duration_s=ev.duration_s))

    def _refresh_verdict(self, now: float, final: bool = False) -> None:
        track = self._stall_track
        if track is None:
            return
        if not final and track.last_verdict_at is not None and now - track.last_verdict_at < VERDICT_REFRESH_S:
            return
        verdict = attribute(self.attribution_input(track.started_at), adjusting=self._pinned is None)
        track.last_verdict_at = now
        if track.first_verdict_at is None:
            track.first_verdict_at = now
            track.stall.verdict_after_s = round(now - track.started_at, 3)
        if track.stall.named_after_s is None and verdict.segment not in (Segment.UNKNOWN, Segment.NONE):
            track.stall.named_after_s = round(now - track.started_at, 3)
        track.stall.verdict = verdict
        self.current_verdict = verdict
        if verdict.segment is not Segment.NONE:
            self._set_notice(notice(verdict, adjusting=self._pinned is None), verdict)

    def _set_notice(self, n: Notice | None, verdict: Verdict | None) -> None:
        if n == self.current_notice:
            return
        self.current_notice = n
        if n is not None:
            self._notice_until = None
        if self.show_notices or n is None:
            self._emit(NoticeChanged(notice=n, verdict=verdict))

    def attribution_input(self, stall_started_at: float | None = None) -> AttributionInput:
        """All evidence for a verdict now (``stall_started_at``: monotonic, or None)."""
        now = self.clock()
        snap = self.path_snapshot()
        inp = AttributionInput(stalling=stall_started_at is not None)
        if snap is None:
            inp.probe_status = ProbeStatus.NOT_RUN
            inp.probe_reason = "no network path to probe (local media)" if self.gateway is None else "path probing is off"
        else:
            inp.probe_status = snap.status
            inp.probe_reason = snap.reason
            if snap.status is ProbeStatus.OK and not snap.ready:
                inp.probe_status = ProbeStatus.NOT_RUN
                inp.probe_reason = "path discovery still running"
            samples = [s for s in snap.samples if not s.loaded or s.at >= now - LOADED_WINDOW_S]
            inp.hops = hop_evidence_from(snap.hops, samples, snap.destination)
            started = self._first_segment_at()
            if started is not None:
                base: dict[int, float] = {}
                for s in snap.samples:
                    if s.rtt_ms is not None and not s.loaded and s.at < started:
                        base[s.hop] = min(base.get(s.hop, s.rtt_ms), s.rtt_ms)
                for h in inp.hops:
                    h.baseline_rtt_ms = base.get(h.hop)
        inp.fetch = self._fetch_evidence(snap)
        inp.device = DeviceEvidence(
            frames_dropped_healthy=self.monitor.frames_dropped_while_healthy,
            frames_displayed=self.player.frames.distinct_frames,
            process_cpu_pct=self._proc_cpu,
            system_cpu_pct=self._sys_cpu,
            cpu_count=psutil.cpu_count() or 1,
        )
        return inp

    def _first_segment_at(self) -> float | None:
        for f in self._fetches:
            if f.kind in (FetchKind.SEGMENT, FetchKind.PROGRESSIVE):
                return f.started_at
        return None

    def _fetch_evidence(self, snap: PathSnapshot | None) -> FetchEvidence:
        segs = [f for f in self._fetches if f.kind in (FetchKind.SEGMENT, FetchKind.PROGRESSIVE) and not f.error]
        # What happened around the stall matters, not the fast start an hour ago: the
        # fetches that finished in the last EVIDENCE_WINDOW_S (at least the last few).
        since = (self._stall_track.started_at if self._stall_track else self.clock()) - EVIDENCE_WINDOW_S
        recent = [f for f in segs if (f.finished_at or f.started_at) >= since] or segs[-RECENT_MIN:]
        recent = recent[-RECENT_FETCHES:]
        g = self.gateway
        fe = FetchEvidence()
        for f in recent:
            if f.ttfb_ms is not None:
                fe.ttfb.append(TtfbSample(f.ttfb_ms, None if f.reused_connection else f.connect_ms))
            if f.throughput_bps:
                fe.throughput_bps.append(f.throughput_bps)
        self._add_inflight_evidence(fe, recent)
        rend = self._rendition(self._current_rendition)
        if rend is not None:
            fe.needed_bitrate_bps = float(rend.bandwidth)
        elif self.length_s and g is not None:
            total = _content_length(self._fetches)
            if total:
                fe.needed_bitrate_bps = total * 8 / self.length_s
        if recent:
            fe.server_host = recent[-1].host or None
        if snap is not None and snap.hops:
            last = snap.hops[-1]
            if last.segment is Segment.SERVER or (snap.destination and last.address == snap.destination):
                fe.server_org = last.org
        return fe

    def _add_inflight_evidence(self, fe: FetchEvidence, recent: list[Fetch]) -> None:
        """A stalled download has not finished, so no Fetch record exists for it yet:
        what it shows so far (a first byte still awaited, a slow body) is evidence too."""
        g = self.gateway
        if g is None:
            return
        now = self.clock()
        connect = next((f.connect_ms for f in reversed(recent) if f.connect_ms is not None), None)
        for fl in g.inflight():
            age = now - fl.started_at
            if fl.first_byte_at is None and age >= INFLIGHT_MIN_S:
                # A lower bound on this request's time to first byte.
                fe.ttfb.append(TtfbSample(age * 1000.0, connect))
            elif fl.first_byte_at is not None:
                fe.ttfb.append(TtfbSample((fl.first_byte_at - fl.started_at) * 1000.0, connect))
                if now - fl.first_byte_at >= INFLIGHT_MIN_S:
                    fe.throughput_bps.append(fl.received * 8 / (now - fl.first_byte_at))

    def _recent_throughput(self) -> float | None:
        tputs = [
            f.throughput_bps
            for f in self._fetches[-RECENT_FETCHES:]
            if f.kind in (FetchKind.SEGMENT, FetchKind.PROGRESSIVE) and f.throughput_bps
        ]
        if not tputs:
            return None
        return len(tputs) / sum(1.0 / t for t in tputs)  # harmonic mean


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return round(s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2, 1)


def _content_length(fetches: list[Fetch]) -> int | None:
    prog = [f for f in fetches if f.kind is FetchKind.PROGRESSIVE]
    return max((f.bytes for f in prog), default=None) or None


def _rendition_label(r: gw.Rendition) -> str:
    res = f"{r.resolution[1]}p" if r.resolution else f"rendition {r.index + 1}"
    return f"{res} · {r.bandwidth / 1e6:.2f} Mbit/s"
