"""The loopback HTTP gateway that VLC reads through (see DESIGN.md, "Why a loopback gateway").

VLC is given ``http://127.0.0.1:PORT/SECRET/SID/open/NAME`` by :meth:`Gateway.open`; the
gateway fetches everything from the origin with :class:`~player.net.fetch.Fetcher`
(requests), streams bytes to VLC chunk by chunk as they arrive, and records every
fetch as a :class:`~player.core.model.Fetch`.

Modes (``Gateway.mode``), decided when VLC first asks for the URL it was given:

``hls-virtual``   a master playlist whose renditions share segment timing. VLC gets a
                  one-variant master whose media playlist (``.../v/index.m3u8``) lists
                  *virtual* segments ``.../v/<seq>.ts``. For each segment request the
                  gateway asks ``rendition_chooser(seq) -> index`` (or the locked
                  rendition; default: keep the current one) and fetches that rendition's
                  segment ``seq``. This is how the player, not VLC, chooses renditions.
                  Our generated renditions start every segment with an IDR frame and
                  share timestamps, so no ``EXT-X-DISCONTINUITY`` is needed at a switch.
``hls-rewrite``   fallback when renditions are not aligned (different segment counts or
                  durations, fMP4 init sections, byte ranges, encryption, separate audio
                  renditions), and for a media playlist opened directly: master and media
                  playlists are rewritten so that every URI goes through the gateway, and
                  VLC's own adaptive logic picks variants. ``lock_rendition`` then applies
                  to media playlists VLC fetches after the call.
``progressive``   a plain file; VLC's ``Range`` requests are passed through (seeking works).
``direct``        DASH: VLC fetches the MPD and its segments itself; ``per_segment_data``
                  is False and the UI should say per-segment data is unavailable.

Resilience: retries with bounded backoff (5xx, 408, 429, timeouts, connection errors),
Range resume after a cut (VLC never sees a byte twice), and a segment that stays missing
(after retries, and after trying the same segment of other renditions in virtual mode)
is answered with an empty ``200`` so that VLC moves on (VLC stops at a 404), reported as
:class:`SegmentMissing`.

Security: binds 127.0.0.1 only; every path starts with an unguessable per-run secret
(:func:`secrets.token_urlsafe`) and the current session id; anything else is 403.
Upstream URLs are reachable only if the user opened them or a playlist of this session
named them (the allowlist); an unnamed URL is 403, so the gateway is not an open proxy.

Delivery accounting (for the buffer model):

* :meth:`Gateway.delivered_media_s` -- seconds of media in segments fully delivered to
  VLC, contiguous from the first segment VLC asked for, or from the last seek (a request
  for a sequence number other than the last one or its successor starts a new run).
  :meth:`Gateway.delivered_until_s` is the same as a media position (run start + that).
  For a progressive file both are estimated from contiguous bytes when
  :meth:`Gateway.set_media_duration` was told the duration (constant bitrate), else None.
* :meth:`Gateway.starving` -- VLC has an open request that has had no byte for more than
  :data:`STARVING_AFTER_S` while the gateway was waiting for upstream (a player that
  stops reading because its buffer is full is *not* starving).
* :meth:`Gateway.bytes_delivered` -- total bytes written to VLC.

Events go to ``on_event(event)`` from the gateway's own threads (consumers enqueue):
:class:`FetchRecorded`, :class:`SegmentMissing`, :class:`Resumed`, :class:`Retrying`,
:class:`UpstreamError`, :class:`PlaylistLoaded`, :class:`RenditionSwitched`.
"""

from __future__ import annotations

import base64
import hmac
import logging
import re
import secrets
import select
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler
from typing import Any

from player.core.model import Fetch, FetchKind
from player.net import manifests
from player.net.fetch import (
    FetchAborted,
    Fetcher,
    FetchFailed,
    FetchRecorded,
    Resumed,
    Retrying,
    SegmentMissing,
    Transfer,
    UpstreamError,
    describe_error,
)
from player.net.loopback_http import ConnectionRegistry, LoopbackHTTPServer
from player.net.manifests import ManifestError, MediaPlaylist, MediaSegment, UriRole, Variant

__all__ = [
    "FetchRecorded",
    "Gateway",
    "Mode",
    "PlaylistLoaded",
    "Rendition",
    "RenditionSwitched",
    "Resumed",
    "Retrying",
    "SegmentMissing",
    "UpstreamError",
]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
STARVING_AFTER_S = 0.3
STOP_DEADLINE_S = 0.9  # stop() joins threads for at most this long
WATCH_INTERVAL_S = 0.2  # how often the watchdog looks for players that hung up
WATCH_AFTER_S = 0.5  # only requests blocked on upstream this long are checked
POLL_INTERVAL_S = 0.05  # serve_forever poll (bounds shutdown latency)
SECRET_BYTES = 24
SID_BYTES = 9
MAX_SUBSTITUTES = 2  # other renditions tried for a missing segment (virtual mode)
MAX_NAME_CHARS = 64
SEQ_TIMING_KEEP = 5000  # live: how many sequence numbers of timing to remember
THREAD_PREFIX = "gateway"

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m3u": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".m4v": "video/mp4",
    ".aac": "audio/aac",
    ".mpd": "application/dash+xml",
}
HLS_TYPES = ("mpegurl", "x-mpegurl")
DASH_TYPES = ("dash+xml",)
PASS_HEADERS = ("Content-Type", "Content-Range", "Last-Modified", "ETag", "Content-Encoding")
_NAME_RE = re.compile(r"[^A-Za-z0-9._-]")


class Mode(StrEnum):
    """How the current session is routed (see module doc)."""

    PENDING = "pending"
    HLS_VIRTUAL = "hls-virtual"
    HLS_REWRITE = "hls-rewrite"
    PROGRESSIVE = "progressive"
    DIRECT = "direct"


@dataclass(frozen=True, slots=True)
class Rendition:
    """One selectable rendition (index = position in the master playlist)."""

    index: int
    bandwidth: int
    resolution: tuple[int, int] | None
    url: str
    codecs: str | None = None


@dataclass(frozen=True, slots=True)
class PlaylistLoaded:
    """The session's stream is understood: mode, renditions and timing."""

    mode: Mode
    renditions: tuple[Rendition, ...]
    is_live: bool
    duration_s: float | None
    note: str = ""  # e.g. why virtual mode was not possible


@dataclass(frozen=True, slots=True)
class RenditionSwitched:
    """The gateway served segment ``seq`` from a different rendition than the previous one."""

    seq: int
    from_index: int | None
    to_index: int


@dataclass(frozen=True, slots=True)
class InFlight:
    """A media request VLC is waiting on right now (for evidence during a stall)."""

    kind: FetchKind
    started_at: float  # monotonic: VLC asked
    first_byte_at: float | None  # monotonic: the upstream body's first byte, if any yet
    received: int  # body bytes received from upstream so far


@dataclass(slots=True)
class _Allowed:
    """An upstream URL that this session may fetch, and what it is."""

    url: str
    role: UriRole
    rendition: int | None = None
    seq: int | None = None
    duration: float | None = None


@dataclass(slots=True)
class _Delivery:
    """One open request from VLC."""

    kind: FetchKind
    started_at: float
    waiting_since: float | None  # monotonic: blocked on upstream since
    bytes: int = 0
    seq: int | None = None
    client: socket.socket | None = None  # VLC's connection
    transfer: Transfer | None = None  # the upstream transfer, once open
    gone: bool = False  # VLC hung up while we waited for upstream


@dataclass(slots=True)
class _Session:
    sid: str
    url: str
    kind_hint: str | None
    name: str
    mode: Mode = Mode.PENDING
    allowed: dict[str, _Allowed] = field(default_factory=dict)
    variants: list[Variant] = field(default_factory=list)
    media: dict[int, MediaPlaylist] = field(default_factory=dict)  # latest per rendition
    master_text: str | None = None  # what VLC got for the entry URL (virtual mode)
    is_live: bool = False
    current: int | None = None  # rendition of the last segment served
    # timing of sequence numbers (media position), learned from playlists
    seq_start: dict[int, float] = field(default_factory=dict)
    seq_dur: dict[int, float] = field(default_factory=dict)
    # delivery run (HLS)
    run_start_seq: int | None = None
    last_seq: int | None = None
    delivered: set[int] = field(default_factory=set)
    # delivery run (progressive)
    prog_size: int | None = None
    prog_run_start: int = 0
    prog_run_bytes: int = 0


def _b64(url: str) -> str:
    return base64.urlsafe_b64encode(url.encode("utf-8")).rstrip(b"=").decode("ascii")


def _unb64(token: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _name_for(url: str, default: str = "media") -> str:
    """A safe last path component (keeps the extension, which VLC uses as a hint)."""
    path = urllib.parse.urlsplit(url).path
    name = _NAME_RE.sub("_", path.rsplit("/", 1)[-1])[-MAX_NAME_CHARS:]
    return name or default


def _ext(url: str) -> str:
    name = urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]
    return ("." + name.rsplit(".", 1)[1].lower()) if "." in name else ""


def _role_kind(role: UriRole) -> FetchKind:
    if role in (UriRole.SEGMENT, UriRole.PART):
        return FetchKind.SEGMENT
    if role is UriRole.INIT:
        return FetchKind.INIT
    return FetchKind.PLAYLIST  # playlists, and keys (small control files)


def _parse_range(value: str | None) -> tuple[int | None, int | None] | None:
    """``bytes=N-`` / ``bytes=N-M`` -> (N, M|None); None when absent or another form."""
    if not value:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d+)\s*-\s*(\d*)\s*", value)
    if not m:
        return None
    return int(m.group(1)), (int(m.group(2)) if m.group(2) else None)


class _ClientGone(Exception):
    """VLC closed its connection while we were writing (or waiting)."""


def _peer_closed(sock: socket.socket) -> bool:
    """True when the other end has closed ``sock`` (EOF or reset pending); never blocks."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):
        return True


class _Server(LoopbackHTTPServer):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        super().__init__(_Handler, gateway._registry, "gateway")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "Stallwatch-Gateway/0.1"
    disable_nagle_algorithm = True  # headers and body go out without a 40 ms delay

    def setup(self) -> None:
        super().setup()
        self.server.registry.opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.registry.closed(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, _ClientGone):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        log.debug("gateway: " + format, *args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.server.gateway._dispatch(self, head=False)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self.server.gateway._dispatch(self, head=True)

    # --- response helpers used by the gateway ---------------------------------------------
    def send_simple(
        self, code: int, text: str = "", head: bool = False, ctype: str = "text/plain"
    ) -> None:
        body = text.encode("utf-8")
        self.send_response(code)
        self.send_header(
            "Content-Type", f"{ctype}; charset=utf-8" if ctype.startswith("text") else ctype
        )
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head and body:
            self.write(body)

    def write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except OSError as e:
            self.close_connection = True
            raise _ClientGone from e


class Gateway:
    """Loopback HTTP gateway between VLC and the origin (see module doc)."""

    def __init__(
        self,
        *,
        on_event: Callable[[object], None] | None = None,
        rendition_chooser: Callable[[int], int] | None = None,
        fetcher: Fetcher | None = None,
        virtual: bool = True,
        starving_after_s: float = STARVING_AFTER_S,
    ) -> None:
        """``virtual=False`` disables gateway-side ABR (always ``hls-rewrite``)."""
        self.on_event = on_event
        self.rendition_chooser = rendition_chooser
        self.fetcher = fetcher or Fetcher()
        self.fetcher.on_event = self._emit
        self.virtual_enabled = virtual
        self.starving_after_s = starving_after_s
        self.secret = secrets.token_urlsafe(SECRET_BYTES)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._registry = ConnectionRegistry(THREAD_PREFIX)  # threads and VLC's connections
        self._ids = 0
        self._session: _Session | None = None
        self._locked: int | None = None
        self._deliveries: dict[int, _Delivery] = {}
        self._bytes_delivered = 0
        self._fetches: list[Fetch] = []
        self._media_duration_s: float | None = None

    # ------------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------------
    def start(self) -> Gateway:
        """Listen on 127.0.0.1 (a free port) in a thread named ``gateway-http``.

        A gateway is single-use: after :meth:`stop` make a new one.
        """
        if self._server is not None:
            return self
        if self._stopping.is_set():
            raise RuntimeError("a stopped gateway cannot be restarted")
        self._server = _Server(self)
        t = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL_S},
            name=f"{THREAD_PREFIX}-http",
            daemon=True,
        )
        self._registry.track(t)
        t.start()
        w = threading.Thread(target=self._watch, name=f"{THREAD_PREFIX}-watch", daemon=True)
        self._registry.track(w)
        w.start()
        log.info("gateway listening on %s:%d", HOST, self.port)
        return self

    def stop(self) -> None:
        """Stop within about a second, even while upstream is stalled (idempotent)."""
        srv = self._server
        if srv is None:
            return
        self._stopping.set()
        self.fetcher.abort_all()  # wakes reads blocked on the origin, cancels backoffs
        self._registry.shutdown_connections()  # wakes writes blocked on VLC
        srv.shutdown()
        srv.server_close()
        alive = self._registry.join(time.monotonic() + STOP_DEADLINE_S)
        if alive:
            log.warning("gateway threads still running after stop(): %s", alive)
        self.fetcher.close()
        self._server = None
        log.info("gateway stopped")

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("gateway is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/SECRET`` (every gateway URL starts with it)."""
        return f"http://{HOST}:{self.port}/{self.secret}"

    # ------------------------------------------------------------------------------------
    # public API
    # ------------------------------------------------------------------------------------
    def open(self, url: str, kind: str | None = None) -> str:
        """Start a new session for ``url``; return the URL to give VLC.

        ``kind`` is preflight's classification (``"hls"``, ``"dash"``, ``"progressive"``,
        ``"unknown"``) or None to sniff. DASH is returned unchanged (``direct`` mode).
        The previous session's URLs stop working (403).
        """
        if self._server is None:
            raise RuntimeError("gateway is not started")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the gateway only fetches http(s) URLs, not {url!r}")
        if kind is None and _ext(url) == ".mpd":
            kind = "dash"
        name = _name_for(url, "index.m3u8" if kind == "hls" else "media")
        if kind == "hls" and not name.lower().endswith((".m3u8", ".m3u")):
            name += ".m3u8"
        sess = _Session(sid=secrets.token_urlsafe(SID_BYTES), url=url, kind_hint=kind, name=name)
        sess.allowed[url] = _Allowed(url, UriRole.VARIANT)
        with self._lock:
            self._session = sess
            self._deliveries.clear()
            self._media_duration_s = None
        if kind == "dash":
            sess.mode = Mode.DIRECT
            self._emit(
                PlaylistLoaded(Mode.DIRECT, (), False, None, "DASH is played by VLC directly")
            )
            return url
        return f"{self.base_url}/{sess.sid}/open/{name}"

    @property
    def mode(self) -> Mode:
        s = self._session
        return s.mode if s else Mode.PENDING

    @property
    def per_segment_data(self) -> bool:
        """False when VLC fetches the stream itself (DASH): no per-segment fetch records."""
        return self.mode is not Mode.DIRECT

    def renditions(self) -> list[Rendition]:
        """Renditions of the current HLS session (empty until VLC fetched the master)."""
        s = self._session
        if s is None:
            return []
        return [Rendition(v.index, v.bandwidth, v.resolution, v.uri, v.codecs) for v in s.variants]

    def current_rendition(self) -> int | None:
        """Rendition of the last segment served."""
        s = self._session
        return s.current if s else None

    def lock_rendition(self, index: int | None) -> None:
        """Pin every following segment to rendition ``index``; None returns to auto."""
        self._locked = index

    @property
    def locked_rendition(self) -> int | None:
        return self._locked

    def set_media_duration(self, seconds: float | None) -> None:
        """Tell the gateway a progressive file's duration (for delivered_media_s)."""
        self._media_duration_s = seconds

    def inflight(self) -> list[InFlight]:
        """Segment and progressive requests being answered now (oldest first)."""
        out = []
        with self._lock:
            deliveries = list(self._deliveries.values())
        for d in deliveries:
            if d.kind not in (FetchKind.SEGMENT, FetchKind.PROGRESSIVE) or d.gone:
                continue
            tr = d.transfer
            first = getattr(tr, "first_byte_at", None) if tr is not None else None
            out.append(InFlight(d.kind, d.started_at, first, tr.received if tr is not None else 0))
        return sorted(out, key=lambda f: f.started_at)

    def segment_duration_s(self) -> float | None:
        """Median segment duration of the current HLS session (None before playlists)."""
        with self._lock:
            sess = self._session
            durs = sorted(sess.seq_dur.values()) if sess is not None else []
        return durs[len(durs) // 2] if durs else None

    def media_duration_s(self) -> float | None:
        """VOD duration from the playlists (or as set for a progressive file)."""
        s = self._session
        if s and s.media and not s.is_live:
            return next(iter(s.media.values())).duration_s
        return self._media_duration_s

    def delivered_media_s(self) -> float | None:
        """Media seconds fully delivered to VLC in the current run (see module doc)."""
        s = self._session
        if s is None:
            return None
        with self._lock:
            if s.mode is Mode.PROGRESSIVE:
                if not self._media_duration_s or not s.prog_size:
                    return None
                return self._media_duration_s * s.prog_run_bytes / s.prog_size
            if s.run_start_seq is None:
                return 0.0 if s.mode in (Mode.HLS_VIRTUAL, Mode.HLS_REWRITE) else None
            total, seq = 0.0, s.run_start_seq
            while seq in s.delivered:
                total += s.seq_dur.get(seq, 0.0)
                seq += 1
            return total

    def delivered_until_s(self) -> float | None:
        """Media position up to which VLC has been given data (run start + delivered)."""
        s = self._session
        d = self.delivered_media_s()
        if s is None or d is None:
            return None
        with self._lock:
            if s.mode is Mode.PROGRESSIVE:
                if not self._media_duration_s or not s.prog_size:
                    return None
                return self._media_duration_s * s.prog_run_start / s.prog_size + d
            if s.run_start_seq is None:
                return d
            return s.seq_start.get(s.run_start_seq, 0.0) + d

    def starving(self) -> bool:
        """VLC waits on an open request that had no byte for > ``starving_after_s``."""
        return self.starving_for_s() > self.starving_after_s

    def starving_for_s(self) -> float:
        """How long the longest-waiting open request has had no byte (0 if none waits)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                now - d.waiting_since
                for d in self._deliveries.values()
                if d.waiting_since and not d.gone
            ]
        return max(waits, default=0.0)

    def open_requests(self) -> int:
        """Requests from VLC currently being answered."""
        with self._lock:
            return len(self._deliveries)

    def bytes_delivered(self) -> int:
        """Total body bytes written to VLC since start."""
        return self._bytes_delivered

    def fetches(self) -> list[Fetch]:
        """Copies of every fetch recorded so far (also sent as FetchRecorded events)."""
        with self._lock:
            return list(self._fetches)

    # ------------------------------------------------------------------------------------
    # internals: bookkeeping
    # ------------------------------------------------------------------------------------
    def _emit(self, event: object) -> None:
        cb = self.on_event
        if cb is None:
            return
        try:
            cb(event)
        except Exception:
            log.exception("on_event callback failed for %r", event)

    def _record(self, fetch: Fetch) -> None:
        with self._lock:
            self._fetches.append(fetch)
        self._emit(FetchRecorded(fetch))

    def _allow(self, sess: _Session, url: str, role: UriRole, **meta: Any) -> str:
        """Put ``url`` on the session's allowlist; return the gateway URL for it."""
        with self._lock:
            entry = sess.allowed.get(url)
            if entry is None or role in (UriRole.VARIANT, UriRole.SEGMENT):
                sess.allowed[url] = _Allowed(url, role, **meta)
        return f"{self.base_url}/{sess.sid}/r/{_b64(url)}/{_name_for(url)}"

    def _learn_timing(self, sess: _Session, mp: MediaPlaylist) -> None:
        """Remember the media position of each sequence number (stable across refreshes)."""
        with self._lock:
            offset = None
            for seg in mp.segments:
                if seg.seq in sess.seq_start:
                    offset = sess.seq_start[seg.seq] - seg.start_s
                    break
            if offset is None:
                if sess.seq_start:
                    last = max(sess.seq_start)
                    offset = sess.seq_start[last] + sess.seq_dur.get(last, 0.0)
                else:
                    offset = 0.0
            for seg in mp.segments:
                sess.seq_start.setdefault(seg.seq, seg.start_s + offset)
                sess.seq_dur[seg.seq] = seg.duration
            if len(sess.seq_start) > SEQ_TIMING_KEEP:
                for k in sorted(sess.seq_start)[: len(sess.seq_start) - SEQ_TIMING_KEEP]:
                    sess.seq_start.pop(k, None)
                    sess.seq_dur.pop(k, None)

    def _segment_requested(self, sess: _Session, seq: int) -> None:
        with self._lock:
            last = sess.last_seq
            if sess.run_start_seq is None or last is None or seq not in (last, last + 1):
                if sess.run_start_seq is not None:
                    log.debug("delivery run restarts at seq %d (last %s)", seq, last)
                sess.run_start_seq = seq
                sess.delivered.clear()
            sess.last_seq = seq

    def _segment_delivered(self, sess: _Session, seq: int, duration: float | None) -> None:
        with self._lock:
            sess.delivered.add(seq)
            if duration is not None:
                sess.seq_dur.setdefault(seq, duration)

    # ------------------------------------------------------------------------------------
    # request dispatch
    # ------------------------------------------------------------------------------------
    def _dispatch(self, h: _Handler, head: bool) -> None:
        path = urllib.parse.urlsplit(h.path).path
        parts = path.split("/")
        # ["", secret, sid, verb, ...]
        if len(parts) < 4 or not hmac.compare_digest(parts[1].encode(), self.secret.encode()):
            log.warning("gateway: refused %s (no secret)", path[:80])
            h.send_simple(403, "forbidden\n", head)
            return
        sess = self._session
        if sess is None or not hmac.compare_digest(parts[2].encode(), sess.sid.encode()):
            h.send_simple(403, "forbidden: not the current session\n", head)
            return
        verb = parts[3]
        try:
            if verb == "open":
                self._serve_entry(h, sess, head)
            elif verb == "r" and len(parts) >= 5:
                url = _unb64(parts[4])
                allowed = sess.allowed.get(url) if url else None
                if allowed is None:
                    log.warning("gateway: refused unnamed URL %s", (url or parts[4])[:120])
                    h.send_simple(403, "forbidden: URL not named by this session\n", head)
                    return
                self._serve_allowed(h, sess, allowed, head)
            elif verb == "v" and len(parts) == 5 and sess.mode is Mode.HLS_VIRTUAL:
                leaf = parts[4]
                if leaf == "index.m3u8":
                    self._serve_virtual_index(h, sess, head)
                else:
                    seq_txt = leaf.split(".", 1)[0]
                    if not seq_txt.isdigit():
                        h.send_simple(404, "not found\n", head)
                        return
                    self._serve_virtual_segment(h, sess, int(seq_txt), head)
            else:
                h.send_simple(404, "not found\n", head)
        except _ClientGone:
            log.debug("gateway: player closed %s", path[:80])
            h.close_connection = True
        except FetchAborted:
            h.close_connection = True
        except Exception:
            log.exception("gateway: error serving %s", path[:80])
            h.close_connection = True
            try:
                h.send_simple(500, "gateway error\n", head)
            except Exception:
                pass

    # ------------------------------------------------------------------------------------
    # helpers for fetching with accounting
    # ------------------------------------------------------------------------------------
    def _watch(self) -> None:
        """Watchdog: find players that hung up while we wait on upstream; cancel those
        transfers (else a stalled origin would keep them, and ``starving()``, alive)."""
        while not self._stopping.wait(WATCH_INTERVAL_S):
            now = time.monotonic()
            with self._lock:
                blocked = [
                    d
                    for d in self._deliveries.values()
                    if d.waiting_since and not d.gone and now - d.waiting_since > WATCH_AFTER_S
                ]
            for d in blocked:
                if d.client is not None and _peer_closed(d.client):
                    log.info("gateway: player hung up while upstream was silent; cancelling")
                    d.gone = True
                    if d.transfer is not None:
                        d.transfer.cancel()

    def _begin(
        self, kind: FetchKind, seq: int | None = None, client: socket.socket | None = None
    ) -> int:
        d = _Delivery(
            kind=kind,
            started_at=time.monotonic(),
            waiting_since=time.monotonic(),
            seq=seq,
            client=client,
        )
        with self._lock:
            key = self._ids = self._ids + 1
            self._deliveries[key] = d
        return key

    def _end(self, key: int) -> None:
        with self._lock:
            self._deliveries.pop(key, None)

    def _open(
        self, url: str, kind: FetchKind, key: int | None = None, **kw: Any
    ) -> tuple[Transfer | None, str]:
        """Open an upstream request: ``(transfer, "")``, or ``(None, reason)`` after
        recording the failed fetch and emitting :class:`UpstreamError`."""
        try:
            tr = self.fetcher.open(url, kind, **kw)
            with self._lock:
                d = self._deliveries.get(key) if key is not None else None
                if d is not None:
                    d.transfer = tr
            if d is not None and d.gone:
                tr.cancel()
            return tr, ""
        except FetchFailed as e:
            if e.fetch is not None:
                self._record(e.fetch)
            self._emit(UpstreamError(url, e.status, e.reason))
            return None, e.reason

    def _fetch_text(
        self, url: str, kind: FetchKind = FetchKind.PLAYLIST, **kw: Any
    ) -> tuple[str, str] | tuple[None, str]:
        """Whole small body as text: ``(text, final_url)`` or ``(None, reason)``."""
        tr, failure = self._open(url, kind, **kw)
        if tr is None:
            return None, failure
        try:
            if not tr.ok:
                reason = f"HTTP {tr.status}"
                tr.close(error=reason)
                self._record(tr.fetch)
                self._emit(UpstreamError(url, tr.status, reason))
                return None, reason
            body = tr.read_all()
        except FetchFailed as e:
            tr.close(error=e.reason)
            self._record(tr.fetch)
            self._emit(UpstreamError(url, None, e.reason))
            return None, e.reason
        except BaseException as e:
            tr.close(error=describe_error(e))
            self._record(tr.fetch)
            raise
        tr.close()
        self._record(tr.fetch)
        return body.decode("utf-8", errors="replace"), tr.final_url

    def _relay_body(self, h: _Handler, key: int, tr: Transfer, first: bytes = b"") -> None:
        """Write ``first`` and then the rest of ``tr``'s body to VLC as it arrives."""
        with self._lock:
            d = self._deliveries.get(key)
        if first:
            self._wrote(h, d, first)
        it: Iterator[bytes] = tr.chunks()
        while True:
            if d is not None:
                d.waiting_since = time.monotonic()
            try:
                chunk = next(it)
            except StopIteration:
                break
            except FetchAborted:
                if d is not None and d.gone:
                    raise _ClientGone from None
                raise
            finally:
                if d is not None:
                    d.waiting_since = None
            self._wrote(h, d, chunk)

    def _wrote(self, h: _Handler, d: _Delivery | None, chunk: bytes) -> None:
        h.write(chunk)
        with self._lock:
            self._bytes_delivered += len(chunk)
            if d is not None:
                d.bytes += len(chunk)
            sess = self._session
            if sess is not None and d is not None and d.kind is FetchKind.PROGRESSIVE:
                sess.prog_run_bytes += len(chunk)

    def _send_headers(
        self, h: _Handler, status: int, tr: Transfer | None, ctype: str, length: int | None
    ) -> None:
        h.send_response(status)
        if tr is not None:
            for name in PASS_HEADERS:
                v = tr.headers.get(name)
                if v and name != "Content-Type":
                    h.send_header(name, v)
            if tr.headers.get("Accept-Ranges"):
                h.send_header("Accept-Ranges", tr.headers["Accept-Ranges"])
        h.send_header("Content-Type", ctype)
        h.send_header("Cache-Control", "no-store")
        if length is not None:
            h.send_header("Content-Length", str(length))
        else:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()

    def _finish(self, tr: Transfer, error: str | None = None) -> Fetch:
        f = tr.close(error=error)
        self._record(f)
        return f

    # ------------------------------------------------------------------------------------
    # the entry URL
    # ------------------------------------------------------------------------------------
    def _serve_entry(self, h: _Handler, sess: _Session, head: bool) -> None:
        if sess.mode is Mode.HLS_VIRTUAL and sess.master_text is not None:
            self._send_text(h, sess.master_text, head)
            return
        rng = _parse_range(h.headers.get("Range"))
        key = self._begin(FetchKind.PROGRESSIVE, client=h.connection)
        try:
            kw: dict[str, Any] = {"method": "HEAD" if head else "GET"}
            if rng is not None and sess.mode in (Mode.PENDING, Mode.PROGRESSIVE):
                kw["range_start"], kw["range_end"] = rng
            elif h.headers.get("Range") and sess.mode in (Mode.PENDING, Mode.PROGRESSIVE):
                kw["headers"] = {"Range": h.headers["Range"]}
            looks_hls = sess.kind_hint == "hls" or _ext(sess.url) in (".m3u8", ".m3u")
            kind = FetchKind.PLAYLIST if looks_hls else FetchKind.PROGRESSIVE
            tr, failure = self._open(sess.url, kind, key, **kw)
            if tr is None:
                h.send_simple(502, f"upstream failed: {failure}\n", head)
                return
            ctype = tr.headers.get("Content-Type", "") or ""
            if not tr.ok:
                if tr.status != 416:  # 416 = VLC probing past the end: normal
                    self._emit(UpstreamError(sess.url, tr.status, f"HTTP {tr.status}"))
                self._send_headers(h, tr.status, tr, "text/plain", 0)
                self._finish(tr, error=f"HTTP {tr.status}")
                return
            if head:
                self._send_headers(
                    h, tr.status, tr, ctype or "application/octet-stream", tr.content_length
                )
                self._finish(tr)
                return
            it = tr.chunks()
            try:
                first = next(it, b"")
            except FetchFailed as e:
                self._finish(tr, error=e.reason)
                h.send_simple(502, f"upstream failed: {e.reason}\n")
                return
            text_head = first[:64].decode("utf-8", errors="replace")
            is_hls = manifests.is_hls_text(text_head) or any(t in ctype.lower() for t in HLS_TYPES)
            is_dash = manifests.is_dash_text(first[:4096].decode("utf-8", "replace")) or any(
                t in ctype.lower() for t in DASH_TYPES
            )
            if is_hls or is_dash:
                tr.fetch.kind = FetchKind.PLAYLIST
                try:
                    rest = b"".join(it)
                except FetchFailed as e:
                    self._finish(tr, error=e.reason)
                    h.send_simple(502, f"upstream failed: {e.reason}\n")
                    return
                self._finish(tr)
                text = (first + rest).decode("utf-8", errors="replace")
                if is_dash:
                    self._serve_dash(h, sess, text, tr.final_url)
                else:
                    self._serve_hls_entry(h, sess, text, tr.final_url)
                return
            # progressive: pass through, honouring VLC's Range
            tr.fetch.kind = FetchKind.PROGRESSIVE
            with self._lock:
                first_session_use = sess.mode is Mode.PENDING
                sess.mode = Mode.PROGRESSIVE
                sess.prog_size = tr.total_size or sess.prog_size
                sess.prog_run_start = tr.body_start
                sess.prog_run_bytes = 0
            if first_session_use:
                self._emit(PlaylistLoaded(Mode.PROGRESSIVE, (), False, self._media_duration_s))
            self._send_headers(
                h, tr.status, tr, ctype or "application/octet-stream", tr.content_length
            )
            error = None
            try:
                self._relay_body(h, key, tr, first)
            except _ClientGone:
                error = "player closed the connection"
                raise
            except FetchAborted:
                error = "gateway stopped"
                raise
            except FetchFailed as e:
                error = e.reason
                self._emit(UpstreamError(sess.url, None, e.reason))
                h.close_connection = True
            finally:
                self._finish(tr, error=error)
        finally:
            self._end(key)

    def _send_text(
        self, h: _Handler, text: str, head: bool, ctype: str = CONTENT_TYPES[".m3u8"]
    ) -> None:
        body = text.encode("utf-8")
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Cache-Control", "no-store")
        h.end_headers()
        if not head:
            with self._lock:
                self._bytes_delivered += len(body)
            h.write(body)

    def _serve_hls_entry(self, h: _Handler, sess: _Session, text: str, final_url: str) -> None:
        try:
            if manifests.is_master_text(text):
                out = self._setup_master(sess, text, final_url)
            else:
                out = self._rewrite_media(sess, text, final_url, rendition=None)
                with self._lock:
                    if sess.mode is Mode.PENDING:
                        sess.mode = Mode.HLS_REWRITE
                        first = True
                    else:
                        first = False
                if first:
                    mp = sess.media.get(-1)
                    self._emit(
                        PlaylistLoaded(
                            Mode.HLS_REWRITE,
                            (),
                            sess.is_live,
                            None if sess.is_live or mp is None else mp.duration_s,
                        )
                    )
        except ManifestError as e:
            self._emit(UpstreamError(sess.url, None, f"bad playlist: {e}"))
            h.send_simple(502, f"bad playlist: {e}\n")
            return
        self._send_text(h, out, head=False)

    def _setup_master(self, sess: _Session, text: str, base: str) -> str:
        master = manifests.parse_master(text, base)
        with self._lock:
            sess.variants = list(master.variants)
            for v in master.variants:  # named by the master: on the allowlist in every mode
                sess.allowed[v.uri] = _Allowed(v.uri, UriRole.VARIANT, rendition=v.index)
        note = ""
        if not self.virtual_enabled:
            note = "gateway-side ABR disabled"
        elif master.has_alternate_media:
            note = "separate audio/subtitle renditions"
        elif master.has_session_keys:
            note = "encrypted"
        else:
            playlists: list[MediaPlaylist] = []
            for v in master.variants:
                body, final = self._fetch_text(v.uri, rendition_bitrate_bps=v.bandwidth or None)
                if body is None:
                    note = f"rendition {v.index} playlist failed: {final}"
                    break
                try:
                    playlists.append(manifests.parse_media(body, final))
                except ManifestError as e:
                    note = f"rendition {v.index} playlist: {e}"
                    break
            if not note:
                note = manifests.aligned(playlists) or ""
            if not note:
                return self._setup_virtual(sess, master.variants, playlists)
        log.info("HLS: VLC chooses renditions (rewrite mode): %s", note)

        def mapper(url: str, role: UriRole) -> str:
            idx = next((v.index for v in master.variants if v.uri == url), None)
            return self._allow(sess, url, role, rendition=idx)

        out, _ = manifests.rewrite_master(text, base, mapper)
        with self._lock:
            sess.mode = Mode.HLS_REWRITE
        self._emit(PlaylistLoaded(Mode.HLS_REWRITE, tuple(self.renditions()), False, None, note))
        return out

    def _setup_virtual(
        self, sess: _Session, variants: list[Variant], playlists: list[MediaPlaylist]
    ) -> str:
        for i, mp in enumerate(playlists):
            sess.media[i] = mp
            for seg in mp.segments:
                self._allow(
                    sess, seg.uri, UriRole.SEGMENT, rendition=i, seq=seg.seq, duration=seg.duration
                )
        ref = playlists[0]
        self._learn_timing(sess, ref)
        with self._lock:
            sess.is_live = ref.is_live
            sess.mode = Mode.HLS_VIRTUAL
            top = max(variants, key=lambda v: v.bandwidth)
            sess.master_text = manifests.build_single_variant_master(
                Variant(0, "", top.bandwidth), f"{self.base_url}/{sess.sid}/v/index.m3u8"
            )
        log.info("HLS: gateway chooses renditions (virtual mode, %d renditions)", len(variants))
        self._emit(
            PlaylistLoaded(
                Mode.HLS_VIRTUAL,
                tuple(self.renditions()),
                ref.is_live,
                None if ref.is_live else ref.duration_s,
            )
        )
        return sess.master_text

    def _rewrite_media(self, sess: _Session, text: str, base: str, rendition: int | None) -> str:
        mp = manifests.parse_media(text, base)
        seg_by_url = {s.uri: s for s in mp.segments}

        def mapper(url: str, role: UriRole) -> str:
            seg = seg_by_url.get(url) if role is UriRole.SEGMENT else None
            return self._allow(
                sess,
                url,
                role,
                rendition=rendition,
                seq=seg.seq if seg else None,
                duration=seg.duration if seg else None,
            )

        out, mp = manifests.rewrite_media(text, base, mapper)
        with self._lock:
            sess.media[rendition if rendition is not None else -1] = mp
            sess.is_live = mp.is_live
        self._learn_timing(sess, mp)
        return out

    def _serve_dash(self, h: _Handler, sess: _Session, text: str, final_url: str) -> None:
        """DASH reached through the entry URL: hand VLC the MPD with an absolute BaseURL."""
        with self._lock:
            sess.mode = Mode.DIRECT
        base = final_url.rsplit("/", 1)[0] + "/"
        if "<BaseURL" not in text:
            text = re.sub(
                r"(<MPD\b[^>]*>)",
                lambda m: m.group(1) + f"<BaseURL>{base}</BaseURL>",
                text,
                count=1,
            )
        self._emit(PlaylistLoaded(Mode.DIRECT, (), False, None, "DASH is played by VLC directly"))
        self._send_text(h, text, head=False, ctype=CONTENT_TYPES[".mpd"])

    # ------------------------------------------------------------------------------------
    # rewrite mode: allowed upstream URLs
    # ------------------------------------------------------------------------------------
    def _serve_allowed(self, h: _Handler, sess: _Session, a: _Allowed, head: bool) -> None:
        if a.role in (UriRole.VARIANT, UriRole.MEDIA, UriRole.IFRAME, UriRole.REPORT):
            url, rendition = a.url, a.rendition
            locked = self._locked
            if (
                a.role is UriRole.VARIANT
                and locked is not None
                and 0 <= locked < len(sess.variants)
            ):
                url, rendition = sess.variants[locked].uri, locked
            bitrate = (
                sess.variants[rendition].bandwidth
                if rendition is not None and rendition < len(sess.variants)
                else None
            )
            key = self._begin(FetchKind.PLAYLIST)
            try:
                body, final = self._fetch_text(url, rendition_bitrate_bps=bitrate)
            finally:
                self._end(key)
            if body is None:
                h.send_simple(502, f"upstream failed: {final}\n", head)
                return
            try:
                out = self._rewrite_media(sess, body, final, rendition)
            except ManifestError as e:
                self._emit(UpstreamError(url, None, f"bad playlist: {e}"))
                h.send_simple(502, f"bad playlist: {e}\n", head)
                return
            self._send_text(h, out, head)
            return
        # segments, init sections, keys, parts
        kind = _role_kind(a.role)
        variant_bw = None
        if a.rendition is not None and 0 <= a.rendition < len(sess.variants):
            variant_bw = sess.variants[a.rendition].bandwidth or None
        if kind is FetchKind.SEGMENT and a.seq is not None:
            self._segment_requested(sess, a.seq)
            if a.rendition is not None:
                self._note_rendition(sess, a.seq, a.rendition)
        key = self._begin(kind, a.seq, client=h.connection)
        try:
            rng = _parse_range(h.headers.get("Range"))
            kw: dict[str, Any] = {
                "method": "HEAD" if head else "GET",
                "rendition_bitrate_bps": variant_bw,
                "media_sequence": a.seq,
                "media_duration_s": a.duration,
            }
            if rng is not None:
                kw["range_start"], kw["range_end"] = rng
            ok = self._stream_one(h, sess, key, [a.url], kind, kw, a.seq, head)
            if ok and kind is FetchKind.SEGMENT and a.seq is not None and not head:
                self._segment_delivered(sess, a.seq, a.duration)
        finally:
            self._end(key)

    def _note_rendition(self, sess: _Session, seq: int, index: int) -> None:
        with self._lock:
            prev = sess.current
            sess.current = index
        if prev is not None and prev != index:
            self._emit(RenditionSwitched(seq, prev, index))

    # ------------------------------------------------------------------------------------
    # streaming one media object with retries / substitutes / "missing" handling
    # ------------------------------------------------------------------------------------
    def _stream_one(
        self,
        h: _Handler,
        sess: _Session,
        key: int,
        urls: list[str],
        kind: FetchKind,
        kw: dict[str, Any],
        seq: int | None,
        head: bool,
        per_url_kw: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Serve the first of ``urls`` that works; True when VLC got the whole body.

        A segment that none of ``urls`` can provide is answered with an empty 200
        (VLC then moves on) and reported as :class:`SegmentMissing`.
        """
        reasons: list[str] = []
        for i, url in enumerate(urls):
            args = dict(kw)
            if per_url_kw:
                args.update(per_url_kw[i])
            tr, failure = self._open(url, kind, key, **args)
            if tr is None:
                reasons.append(failure)
                continue
            if not tr.ok:
                reason = f"HTTP {tr.status}"
                self._finish(tr, error=reason)
                self._emit(UpstreamError(url, tr.status, reason))
                reasons.append(reason)
                if kind is not FetchKind.SEGMENT:
                    h.send_simple(tr.status, f"upstream answered {tr.status}\n", head)
                    return False
                continue
            if i > 0:
                log.info("segment %s served from a substitute rendition: %s", seq, url)
            ctype = tr.headers.get("Content-Type") or CONTENT_TYPES.get(
                _ext(url), "application/octet-stream"
            )
            self._send_headers(h, tr.status, tr, ctype, tr.content_length)
            error = None
            try:
                if not head:
                    self._relay_body(h, key, tr)
                return True
            except _ClientGone:
                error = "player closed the connection"
                raise
            except FetchAborted:
                error = "gateway stopped"
                raise
            except FetchFailed as e:
                error = e.reason
                h.close_connection = True  # VLC saw a truncated body; nothing else to do
                if kind is FetchKind.SEGMENT:
                    self._emit(SegmentMissing(seq, url, f"transfer failed: {e.reason}"))
                else:
                    self._emit(UpstreamError(url, None, e.reason))
                return False
            finally:
                self._finish(tr, error=error)
        reason = "; ".join(reasons) or "failed"
        if kind is FetchKind.SEGMENT:
            log.warning("segment %s missing (%s): telling the player to skip it", seq, reason)
            if seq is not None and not head:
                # VLC skips its time, so for delivery accounting it counts as delivered
                self._segment_delivered(sess, seq, None)
            self._emit(SegmentMissing(seq, urls[0], reason))
            self._send_headers(h, 200, None, CONTENT_TYPES.get(_ext(urls[0]), "video/mp2t"), 0)
            return False
        h.send_simple(502, f"upstream failed: {reason}\n", head)
        return False

    # ------------------------------------------------------------------------------------
    # virtual mode
    # ------------------------------------------------------------------------------------
    def _refresh(self, sess: _Session, rendition: int) -> MediaPlaylist | None:
        """Re-fetch a rendition's media playlist (live); keeps the old one on failure."""
        v = sess.variants[rendition]
        key = self._begin(FetchKind.PLAYLIST)
        try:
            body, final = self._fetch_text(v.uri, rendition_bitrate_bps=v.bandwidth or None)
        finally:
            self._end(key)
        if body is None:
            return sess.media.get(rendition)
        try:
            mp = manifests.parse_media(body, final)
        except ManifestError as e:
            self._emit(UpstreamError(v.uri, None, f"bad playlist: {e}"))
            return sess.media.get(rendition)
        with self._lock:
            sess.media[rendition] = mp
        self._learn_timing(sess, mp)
        return mp

    def _choose(self, sess: _Session, seq: int) -> int:
        n = len(sess.variants)
        locked = self._locked
        if locked is not None:
            return min(max(locked, 0), n - 1)
        current = sess.current if sess.current is not None else 0
        chooser = self.rendition_chooser
        if chooser is None:
            return current
        try:
            idx = int(chooser(seq))
        except Exception:
            log.exception("rendition_chooser failed; keeping rendition %d", current)
            return current
        return min(max(idx, 0), n - 1)

    def _serve_virtual_index(self, h: _Handler, sess: _Session, head: bool) -> None:
        rendition = sess.current if sess.current is not None else self._choose(sess, -1)
        mp = self._refresh(sess, rendition) if sess.is_live else sess.media.get(rendition)
        mp = mp or sess.media.get(0)
        if mp is None:
            h.send_simple(502, "no playlist\n", head)
            return
        text = manifests.build_virtual_media(
            mp, lambda s: f"{self.base_url}/{sess.sid}/v/{s.seq}{_ext(s.uri) or '.ts'}"
        )
        self._send_text(h, text, head)

    def _segment_for(self, sess: _Session, rendition: int, seq: int) -> MediaSegment | None:
        mp = sess.media.get(rendition)
        seg = mp.segment(seq) if mp else None
        if seg is None and sess.is_live:
            mp = self._refresh(sess, rendition)
            seg = mp.segment(seq) if mp else None
        return seg

    def _serve_virtual_segment(self, h: _Handler, sess: _Session, seq: int, head: bool) -> None:
        chosen = self._choose(sess, seq)
        order = [chosen] + sorted(
            (i for i in range(len(sess.variants)) if i != chosen),
            key=lambda i: abs(sess.variants[i].bandwidth - sess.variants[chosen].bandwidth),
        )[:MAX_SUBSTITUTES]
        candidates: list[tuple[int, MediaSegment]] = []
        for r in order:
            seg = self._segment_for(sess, r, seq)
            if seg is not None:
                candidates.append((r, seg))
        if not candidates:
            h.send_simple(404, "no such segment\n", head)
            return
        if not head:
            self._segment_requested(sess, seq)
            self._note_rendition(sess, seq, candidates[0][0])
        for r, seg in candidates:
            self._allow(sess, seg.uri, UriRole.SEGMENT, rendition=r, seq=seq, duration=seg.duration)
        key = self._begin(FetchKind.SEGMENT, seq, client=h.connection)
        try:
            per_url = [
                {
                    "rendition_bitrate_bps": sess.variants[r].bandwidth or None,
                    "media_sequence": seq,
                    "media_duration_s": seg.duration,
                }
                for r, seg in candidates
            ]
            ok = self._stream_one(
                h,
                sess,
                key,
                [seg.uri for _, seg in candidates],
                FetchKind.SEGMENT,
                {"method": "HEAD" if head else "GET"},
                seq,
                head,
                per_url,
            )
            if ok and not head:
                self._segment_delivered(sess, seq, candidates[0][1].duration)
        finally:
            self._end(key)
