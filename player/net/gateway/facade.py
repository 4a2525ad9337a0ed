"""The Gateway class: a small facade over the server, routes, planner, relay and ledger."""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable

from player.core.model import Fetch
from player.net.fetch import Fetcher
from player.net.gateway.dash_readahead import ReadAhead
from player.net.gateway.entry import EntryHandler
from player.net.gateway.fetch_gate import FetchGate
from player.net.gateway.ledger import STARVING_AFTER_S, DeliveryLedger
from player.net.gateway.media import MediaHandler, Policy
from player.net.gateway.model import InFlight, Mode, Rendition
from player.net.gateway.planner import Chooser
from player.net.gateway.relay import Relay
from player.net.gateway.routes import Routes, ext, name_for
from player.net.gateway.server import HOST, GatewayServer, Handler
from player.net.tls_policy import TlsExemptions

__all__ = ["Gateway"]

log = logging.getLogger(__name__)


class Gateway:
    """Loopback HTTP gateway between VLC and the origin (see the package doc)."""

    def __init__(
        self,
        *,
        on_event: Callable[[object], None] | None = None,
        rendition_chooser: Chooser | None = None,
        fetcher: Fetcher | None = None,
        virtual: bool = True,
        starving_after_s: float = STARVING_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
        tls: TlsExemptions | None = None,
    ) -> None:
        """``virtual=False`` disables gateway-side ABR (always ``hls-rewrite``); ``tls``: the
        origins whose certificates the viewer chose not to verify (the fetcher asks per
        request)."""
        self.on_event = on_event
        self.fetcher = fetcher or Fetcher(tls=tls)
        if tls is not None:
            self.fetcher.tls = tls
        self.fetcher.on_event = self._emit
        self._policy = Policy(chooser=rendition_chooser, virtual=virtual)
        self._ledger = DeliveryLedger(clock, starving_after_s)
        self._routes = Routes(lambda: self.base_url)
        self._gate = FetchGate(clock)  # the session's idle gaps (fetch_gate)
        self._relay = Relay(self.fetcher, self._ledger, self._emit, self._gate)
        self._media = MediaHandler(self._routes, self._relay, self._policy)
        self._entry = EntryHandler(self._routes, self._relay, self._policy, self._media)
        self._server = GatewayServer(self._dispatch, self._ledger, self._routes.redact)

    # --- attributes callers set ---------------------------------------------------------
    @property
    def rendition_chooser(self) -> Chooser | None:
        """``chooser(seq) -> rendition index`` for virtual segments (None: keep the current)."""
        return self._policy.chooser

    @rendition_chooser.setter
    def rendition_chooser(self, chooser: Chooser | None) -> None:
        self._policy.chooser = chooser

    @property
    def virtual_enabled(self) -> bool:
        return self._policy.virtual

    @property
    def starving_after_s(self) -> float:
        return self._ledger.starving_after_s

    @property
    def secret(self) -> str:
        return self._routes.secret

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> Gateway:
        """Listen on 127.0.0.1 (a free port) in a thread named ``gateway-http``.

        A gateway is single-use: after :meth:`stop` make a new one.
        """
        if self._server.started:
            return self
        if self._server.stopping:
            raise RuntimeError("a stopped gateway cannot be restarted")
        self._server.start()
        log.info("gateway listening on %s:%d", HOST, self.port)
        return self

    def stop(self) -> None:
        """Stop within about a second, even while upstream is stalled (idempotent)."""
        if not self._server.started:
            return
        self._server.begin_stop()
        self._gate.close()  # a gap ends at once; a fetch held at the gate is refused
        ra = self._readahead()
        if ra is not None:
            ra.close()  # its worker ends; a fetch it has open is aborted just below
        self.fetcher.abort_all()  # wakes reads blocked on the origin, cancels backoffs
        alive = self._server.stop()  # wakes writes blocked on VLC, joins the threads
        if alive:
            log.warning("gateway threads still running after stop(): %s", alive)
        self.fetcher.close()
        log.info("gateway stopped")

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/SECRET`` (every gateway URL starts with it)."""
        return f"http://{HOST}:{self.port}/{self.secret}"

    # --- sessions -----------------------------------------------------------------------
    def open(self, url: str, kind: str | None = None) -> str:
        """Start a new session for ``url``; return the URL to give VLC.

        ``kind`` is preflight's classification (``"hls"``, ``"dash"``, ``"progressive"``,
        ``"unknown"``) or None to sniff. DASH goes through the gateway too (virtual mode;
        ``direct`` only for an MPD the gateway cannot serve, see the entry module).
        The previous session's URLs stop working (403).
        """
        if not self._server.started:
            raise RuntimeError("gateway is not started")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the gateway only fetches http(s) URLs, not {url!r}")
        if kind is None and ext(url) == ".mpd":
            kind = "dash"
        name = name_for(url, "index.m3u8" if kind == "hls" else "media")
        if kind == "hls" and not name.lower().endswith((".m3u8", ".m3u")):
            name += ".m3u8"
        ra = self._readahead()
        if ra is not None:
            ra.close()  # the previous session's read-ahead: its worker ends now
        self._gate.cancel()  # no gap of the previous session holds the new one's fetches
        sess = self._routes.new_session(url, kind, name, self._ledger.new_run())
        # its address policy applies to its own requests only (Routes.dispatch's scope)
        return self._routes.entry_url(sess)

    @property
    def mode(self) -> Mode:
        s = self._routes.current
        return s.mode if s else Mode.PENDING

    @property
    def serves_dash(self) -> bool:
        """The current session serves DASH as virtual HLS. libVLC 3 refuses seeks in it
        (its stream drains at the discontinuity before every segment), so the session
        moves there by reopening this session's URL at the new position."""
        s = self._routes.current
        return s is not None and s.plan.dash is not None

    def reopened(self) -> None:
        """libVLC was just given this session's URL again, with a start time (the
        session's seek in DASH). Its new input asks for segment 0 first, only to learn the
        stream's format before it seeks: that request is answered without the read-ahead,
        so nothing is prefetched from segment 0 while libVLC's next request is the target."""
        s = self._routes.current
        if s is not None and s.plan.dash is not None:
            s.reopened = True

    @property
    def per_segment_data(self) -> bool:
        """False when VLC fetches the stream itself (an MPD the gateway cannot serve)."""
        return self.mode is not Mode.DIRECT

    # --- renditions ---------------------------------------------------------------------
    def renditions(self) -> list[Rendition]:
        """Renditions of the current HLS session (empty until VLC fetched the master)."""
        s = self._routes.current
        return s.plan.renditions() if s else []

    def current_rendition(self) -> int | None:
        """Rendition of the last segment served."""
        s = self._routes.current
        return s.plan.current if s else None

    def lock_rendition(self, index: int | None) -> None:
        """Pin every following segment to rendition ``index``; None returns to auto."""
        self._policy.locked = index

    @property
    def locked_rendition(self) -> int | None:
        return self._policy.locked

    @property
    def readahead_segments(self) -> int | None:
        """DASH video segments fetched ahead of VLC (None: the default, 0: none)."""
        return self._policy.readahead

    @readahead_segments.setter
    def readahead_segments(self, n: int | None) -> None:
        self._policy.readahead = n

    # --- delivery (the ledger) ----------------------------------------------------------
    def set_media_duration(self, seconds: float | None) -> None:
        """Tell the gateway a progressive file's duration (for delivered_media_s)."""
        self._ledger.set_media_duration(seconds)

    def inflight(self) -> list[InFlight]:
        """Segment and progressive requests being answered now (oldest first)."""
        return self._ledger.inflight()

    def segment_duration_s(self) -> float | None:
        """Median segment duration of the current HLS session (None before playlists)."""
        return self._ledger.segment_duration_s()

    def media_duration_s(self) -> float | None:
        """VOD duration from the playlists (or as set for a progressive file)."""
        s = self._routes.current
        from_playlists = s.plan.duration_s() if s else None
        return from_playlists if from_playlists is not None else self._ledger.media_duration_s

    def delivered_media_s(self) -> float | None:
        """Media seconds fully delivered to VLC in the current run (see the ledger)."""
        return self._ledger.delivered_media_s(self.mode)

    def delivered_until_s(self) -> float | None:
        """Media position up to which VLC has been given data (run start + delivered)."""
        return self._ledger.delivered_until_s(self.mode)

    def readahead_s(self) -> float:
        """Media seconds of DASH video read ahead in memory, not yet given to VLC (the
        ABR adds them to libVLC's buffer; 0 outside a DASH session)."""
        ra = self._readahead()
        return ra.held_s() if ra is not None else 0.0

    def _readahead(self) -> ReadAhead | None:
        s = self._routes.current
        state = s.plan.dash if s else None
        return state.readahead if state is not None else None

    @property
    def fetch_gate(self) -> FetchGate:
        """Deliberate idle gaps in the upstream segment fetches (the session asks for them)."""
        return self._gate

    def downloading(self) -> bool:
        """One of our media downloads is in flight upstream now (the read-ahead's included,
        a request held by an idle gap not): what a probe sample is labelled loaded by."""
        return self._gate.downloading()

    def starving(self) -> bool:
        """VLC waits on an open request that had no byte for > ``starving_after_s``."""
        return self._ledger.starving()

    def starving_for_s(self) -> float:
        """How long the longest-waiting open request has had no byte (0 if none waits)."""
        return self._ledger.starving_for_s()

    def open_requests(self) -> int:
        """Requests from VLC currently being answered."""
        return self._ledger.open_requests()

    def bytes_delivered(self) -> int:
        """Total body bytes written to VLC since start."""
        return self._ledger.bytes_delivered()

    def fetches(self) -> list[Fetch]:
        """The newest fetches recorded (up to fetch_log.FETCH_WINDOW; every one is also
        sent as a FetchRecorded event)."""
        return self._relay.fetches()

    # --- internals ----------------------------------------------------------------------
    def _dispatch(self, h: Handler, head: bool) -> None:
        self._routes.dispatch(h, head, self._entry, self._media)

    def _emit(self, event: object) -> None:
        cb = self.on_event
        if cb is None:
            return
        try:
            cb(event)
        except Exception:
            log.exception("on_event callback failed for %r", event)
