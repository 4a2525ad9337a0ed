"""DASH through the gateway: the MPD as virtual HLS, segments self-initialising.

:meth:`DashServer.setup` (the entry URL answered with an MPD) parses it safely
(:mod:`player.net.dash`), reads ``SegmentBase`` indexes (``sidx`` byte ranges), and
turns it into the gateway's virtual mode (:mod:`player.net.gateway.dash_plan`): VLC
gets a one-variant HLS master, the session's chooser picks the video representation
for every segment, and each virtual segment is the chosen representation's init
segment followed by its media segment (fetched with ``Range`` when the MPD gives byte
ranges). Audio is an HLS audio group whose playlist, init and segments are answered
under the entry URL's directory. Every fetch is recorded (segments with their virtual
sequence number and duration) and the delivery ledger runs as for HLS.

Live MPDs (``type="dynamic"``) are re-fetched every ``minimumUpdatePeriod`` and their
segment lists re-read from the clock when VLC reloads a playlist or asks for a segment
not listed yet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from player.core.model import FetchKind
from player.core.wording import dash as wording
from player.net.dash import MpdError, SegmentRef, parse_mpd
from player.net.events import UpstreamError
from player.net.gateway.dash_audio import DashAudio
from player.net.gateway.dash_objects import InitCache, UpstreamObjects
from player.net.gateway.dash_plan import (
    DashUnsupported,
    build_master,
    build_tracks,
    resolve_indexes,
)
from player.net.gateway.dash_readahead import ReadAhead
from player.net.gateway.dash_segments import SelfInitSegments
from player.net.gateway.dash_state import AUDIO_PLAYLIST, DashState
from player.net.gateway.media import Policy
from player.net.gateway.model import Mode, PlaylistLoaded
from player.net.gateway.relay import Relay
from player.net.gateway.routes import Routes, Session
from player.net.gateway.server import Handler
from player.net.manifests import MediaPlaylist

__all__ = ["DASH_VIRTUAL_NOTE", "DashServer", "InitCache", "SelfInitSegments"]

log = logging.getLogger(__name__)

#: PlaylistLoaded.note of a DASH stream the gateway serves (and chooses for).
DASH_VIRTUAL_NOTE = wording.VIRTUAL


class DashServer:
    """Sets up and answers DASH sessions (see module doc)."""

    def __init__(
        self,
        routes: Routes,
        relay: Relay,
        policy: Policy,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.routes = routes
        self.relay = relay
        self.ledger = relay.ledger
        self.policy = policy
        self.wall = wall
        self.clock = clock
        self.objects = UpstreamObjects(relay)
        self.segments = SelfInitSegments(self.objects, policy)
        self.audio = DashAudio(self.objects, self.refresh, self.leaf_url)

    def serve_sub(self, h: Handler, sess: Session, leaf: str, head: bool) -> bool:
        """Answer a ``dash~...`` leaf under the entry URL; False when it is not one."""
        return self.audio.serve_sub(h, sess, leaf, head)

    # --- set-up -------------------------------------------------------------------------
    def setup(self, sess: Session, text: str, final_url: str) -> str:
        """The HLS master for VLC; :class:`DashUnsupported` (fall back to VLC's DASH) or
        :class:`MpdError` (a bad MPD) when not possible."""
        if not self.policy.virtual:
            raise DashUnsupported(wording.ABR_OFF, "gateway-side ABR disabled")
        mpd = parse_mpd(text, final_url, now=self.wall())
        mpd = resolve_indexes(mpd, self._fetch_index)
        tracks = build_tracks(mpd)
        state = DashState(mpd, text, tracks, self.clock)
        plan = sess.plan
        plan.set_variants(tracks.variants)
        audio_uri = self.leaf_url(sess, AUDIO_PLAYLIST) if tracks.audio else None
        master = build_master(tracks, self.routes.virtual_index_url(sess), audio_uri)
        plan.dash = state
        state.readahead = ReadAhead(
            sess,
            self.objects,
            self.policy,
            state,
            state.video,
            lambda: self.routes.current is sess,
        )
        plan.go_virtual([t.playlist for t in tracks.video], "", master_text=master)
        self.ledger.learn_timing(sess.run, tracks.video[0].playlist.segments)
        with sess.lock:
            sess.mode = Mode.HLS_VIRTUAL
        note = "; ".join([DASH_VIRTUAL_NOTE, *tracks.notes])
        log.info("DASH: gateway chooses representations (%d)", len(tracks.variants))
        self.relay.emit(
            PlaylistLoaded(
                Mode.HLS_VIRTUAL, tuple(plan.renditions()), mpd.is_live, mpd.duration_s, note
            )
        )
        return master

    def leaf_url(self, sess: Session, leaf: str) -> str:
        return self.routes.entry_url(sess).rsplit("/", 1)[0] + "/" + leaf

    def _fetch_index(self, ref: SegmentRef) -> bytes | None:
        return self.objects.fetch_bytes(ref, FetchKind.INIT)

    # --- live ---------------------------------------------------------------------------
    def refresh(self, sess: Session, rendition: int) -> MediaPlaylist | None:
        """Live: the rendition's latest virtual media playlist (MPD re-fetched when due)."""
        state: DashState | None = sess.plan.dash
        if state is None:
            return None
        if state.is_live and (state.update_due() or state.reexpand_due()):
            self._reload(sess, state)
        return sess.plan.media.get(rendition)

    def _reload(self, sess: Session, state: DashState) -> None:
        """Re-read the live segment lists (re-fetching the MPD when due); one thread at a
        time, the others keep serving from the current lists meanwhile."""
        if not state.reloading.acquire(blocking=False):
            return
        try:
            self._reload_locked(sess, state)
        finally:
            state.reloading.release()

    def _reload_locked(self, sess: Session, state: DashState) -> None:
        text = None
        url = state.mpd.url
        if state.update_due():
            state.fetch_attempted()  # a failing origin is asked again one period later
            body, final = self.relay.fetch_playlist(url, None)
            if body is not None:
                text, url = body, final
        try:
            mpd = parse_mpd(text if text is not None else state.text, url, now=self.wall())
            tracks = build_tracks(mpd, by_number=True)  # numbering stays live-style
        except (MpdError, DashUnsupported) as e:
            detail = e.detail if isinstance(e, DashUnsupported) else str(e)
            log.warning("DASH: the live MPD cannot be re-read (%s); keeping the old lists", detail)
            self.relay.emit(UpstreamError(url, None, f"bad playlist: {e}"))
            state.replace(state.mpd, state.tracks, None)  # keep the old lists
            return
        if len(tracks.video) != len(state.tracks.video):
            log.warning("DASH: the live MPD changed its representations; keeping the old ones")
            return
        state.replace(mpd, tracks, text)
        for i, t in enumerate(tracks.video):
            sess.plan.update(i, t.playlist, live_from_it=True)  # a live MPD may end (static)
        self.ledger.learn_timing(sess.run, tracks.video[0].playlist.segments)

    # --- video --------------------------------------------------------------------------
    def serve_video(self, h: Handler, sess: Session, seq: int, head: bool) -> None:
        """Virtual segment ``seq``: the chosen representation's init + media segment."""
        state: DashState | None = sess.plan.dash
        if state is None:
            h.send_simple(404, "no such segment\n", head)
            return
        self.segments.serve(
            h,
            sess,
            seq,
            head,
            lambda r, _seg: state.video(r, seq),
            state,
            lambda r: self.refresh(sess, r),
            state.readahead,
        )
