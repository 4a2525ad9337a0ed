"""What the gateway answers for the entry URL: sniff it, then progressive, HLS or DASH.

The first request decides the session's mode from the upstream body and Content-Type
(:func:`player.net.sniff.manifest_kind`): a plain file is passed through honouring VLC's
``Range`` (``progressive``); an HLS master becomes virtual mode when its renditions are
aligned (VLC gets a one-variant master) and rewrite mode otherwise; a media playlist is
rewritten; a DASH MPD becomes virtual mode too (:mod:`player.net.gateway.dash`), and
one the gateway cannot serve is handed to VLC with an absolute ``BaseURL`` (``direct``),
unless it names a host the session's address policy refuses
(:mod:`player.net.gateway.dash_direct`: VLC would fetch it without the policy).
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from typing import Any
from xml.sax.saxutils import escape

from player.core.model import FetchKind
from player.core.wording import dash as dash_wording
from player.core.wording.errors import http_reason
from player.net import manifests, sniff
from player.net.dash import MpdError
from player.net.events import UpstreamError
from player.net.gateway.dash import DashServer
from player.net.gateway.dash_direct import direct_refusal
from player.net.gateway.dash_plan import DashUnsupported
from player.net.gateway.media import MediaHandler, Policy
from player.net.gateway.model import Mode, PlaylistLoaded
from player.net.gateway.planner import aligned, virtual_blocker
from player.net.gateway.relay import CONTENT_TYPES, Relay, parse_range
from player.net.gateway.routes import Routes, Session, ext
from player.net.gateway.server import Handler
from player.net.manifests import ManifestError, MasterPlaylist, MediaPlaylist, UriRole
from player.net.transfer import FetchFailed, Transfer

__all__ = ["DASH_NOTE", "EntryHandler"]

log = logging.getLogger(__name__)

DASH_NOTE = dash_wording.DIRECT


class EntryHandler:
    """Answers ``open/NAME`` (see module doc)."""

    def __init__(self, routes: Routes, relay: Relay, policy: Policy, media: MediaHandler) -> None:
        self.routes = routes
        self.relay = relay
        self.ledger = relay.ledger
        self.policy = policy
        self.media = media
        self.dash = DashServer(routes, relay, policy)
        media.dash = self.dash

    def serve_entry(self, h: Handler, sess: Session, head: bool) -> None:
        if sess.plan.dash is not None and self.dash is not None:
            leaf = urllib.parse.urlsplit(h.path).path.rsplit("/", 1)[-1]
            if self.dash.serve_sub(h, sess, leaf, head):
                return
        if sess.mode is Mode.HLS_VIRTUAL and sess.plan.master_text is not None:
            self.relay.send_text(h, sess.plan.master_text, head)
            return
        rng = parse_range(h.headers.get("Range"))
        key = self.ledger.begin(FetchKind.PROGRESSIVE, client=h.connection)
        try:
            kw: dict[str, Any] = {"method": "HEAD" if head else "GET"}
            if rng is not None and sess.mode in (Mode.PENDING, Mode.PROGRESSIVE):
                kw["range_start"], kw["range_end"] = rng
            elif h.headers.get("Range") and sess.mode in (Mode.PENDING, Mode.PROGRESSIVE):
                kw["headers"] = {"Range": h.headers["Range"]}
            looks_hls = sess.kind_hint == "hls" or ext(sess.url) in (".m3u8", ".m3u")
            kind = FetchKind.PLAYLIST if looks_hls else FetchKind.PROGRESSIVE
            tr, failure = self.relay.open(sess.url, kind, key, **kw)
            if tr is None:
                h.send_simple(502, f"upstream failed: {failure}\n", head)
                return
            self._answer(h, sess, key, tr, head)
        finally:
            self.ledger.end(key)

    def _answer(self, h: Handler, sess: Session, key: int, tr: Transfer, head: bool) -> None:
        ctype = tr.headers.get("Content-Type", "") or ""
        if not tr.ok:
            if tr.status != 416:  # 416 = VLC probing past the end: normal
                self.relay.emit(UpstreamError(sess.url, tr.status, http_reason(tr.status)))
            self.relay.send_headers(h, tr.status, tr, "text/plain", 0)
            self.relay.finish(tr, error=http_reason(tr.status))
            return
        if head:
            self.relay.send_headers(
                h, tr.status, tr, ctype or "application/octet-stream", tr.content_length
            )
            self.relay.finish(tr)
            return
        it = tr.chunks()
        try:
            first = next(it, b"")
        except FetchFailed as e:  # e.g. a playlist whose Content-Length is over the cap
            self.relay.emit(UpstreamError(sess.url, None, e.reason))
            self.relay.finish(tr, error=e.reason)
            h.send_simple(502, f"upstream failed: {e.reason}\n")
            return
        found = sniff.manifest_kind(first, ctype)
        if found is not None:
            tr.fetch.kind = FetchKind.PLAYLIST
            try:
                rest = b"".join(it)  # bounded: a PLAYLIST transfer stops at its cap
            except FetchFailed as e:
                self.relay.emit(UpstreamError(sess.url, None, e.reason))
                self.relay.finish(tr, error=e.reason)
                h.send_simple(502, f"upstream failed: {e.reason}\n")
                return
            self.relay.finish(tr)
            text = (first + rest).decode("utf-8", errors="replace")
            if found == "dash":
                self._serve_dash(h, sess, text, tr.final_url)
            else:
                self._serve_hls(h, sess, text, tr.final_url)
            return
        self._serve_progressive(h, sess, key, tr, ctype, first)

    # --- progressive ----------------------------------------------------------------------
    def _serve_progressive(
        self, h: Handler, sess: Session, key: int, tr: Transfer, ctype: str, first: bytes
    ) -> None:
        """Pass the file through, honouring VLC's Range."""
        tr.fetch.kind = FetchKind.PROGRESSIVE
        with sess.lock:
            first_session_use = sess.mode is Mode.PENDING
            sess.mode = Mode.PROGRESSIVE
        self.ledger.progressive_started(sess.run, tr.total_size, tr.body_start)
        if first_session_use:
            self.relay.emit(
                PlaylistLoaded(Mode.PROGRESSIVE, (), False, self.ledger.media_duration_s)
            )
        self.relay.send_headers(
            h, tr.status, tr, ctype or "application/octet-stream", tr.content_length
        )
        failed = self.relay.relay_recorded(h, key, tr, first)
        if failed is not None:
            self.relay.emit(UpstreamError(sess.url, None, failed))

    # --- DASH -----------------------------------------------------------------------------
    def _serve_dash(self, h: Handler, sess: Session, text: str, final_url: str) -> None:
        """DASH: the gateway's virtual HLS when it can (:mod:`player.net.gateway.dash`);
        a bad MPD is a bad playlist (502); one it cannot serve goes to VLC's own DASH."""
        try:
            master = self.dash.setup(sess, text, final_url)
        except MpdError as e:
            self.relay.emit(UpstreamError(sess.url, None, f"bad playlist: {e}"))
            h.send_simple(502, f"bad playlist: {e}\n")
            return
        except DashUnsupported as e:
            refusal = direct_refusal(sess.policy, text, final_url)
            if refusal is not None:
                log.warning("DASH: not handed to VLC (%s): %s", e.detail, refusal)
                reason = dash_wording.refused(refusal)
                self.relay.emit(UpstreamError(sess.url, None, reason))
                h.send_simple(502, reason + "\n")
                return
            log.info("DASH: VLC fetches the stream itself: %s", e.detail)
            self._serve_dash_direct(h, sess, text, final_url, dash_wording.direct(str(e)))
            return
        self.relay.send_text(h, master, head=False)

    def _serve_dash_direct(
        self, h: Handler, sess: Session, text: str, final_url: str, note: str
    ) -> None:
        """Hand VLC the MPD with an absolute BaseURL (VLC fetches the segments itself)."""
        with sess.lock:
            sess.mode = Mode.DIRECT
        base = final_url.rsplit("/", 1)[0] + "/"
        if "<BaseURL" not in text:
            text = re.sub(
                r"(<MPD\b[^>]*>)",
                lambda m: m.group(1) + f"<BaseURL>{escape(base)}</BaseURL>",
                text,
                count=1,
            )
        self.relay.emit(PlaylistLoaded(Mode.DIRECT, (), False, None, note))
        self.relay.send_text(h, text, head=False, ctype=CONTENT_TYPES[".mpd"])

    # --- HLS ------------------------------------------------------------------------------
    def _serve_hls(self, h: Handler, sess: Session, text: str, final_url: str) -> None:
        try:
            if sniff.is_master_text(text):
                out = self._setup_master(sess, text, final_url)
            else:
                out = self.media.rewrite_media(sess, text, final_url, rendition=None)
                with sess.lock:
                    first = sess.mode is Mode.PENDING
                    if first:
                        sess.mode = Mode.HLS_REWRITE
                if first:
                    live = sess.plan.is_live
                    mp = sess.plan.media.get(-1)
                    duration = None if live or mp is None else mp.duration_s
                    self.relay.emit(PlaylistLoaded(Mode.HLS_REWRITE, (), live, duration))
        except ManifestError as e:
            self.relay.emit(UpstreamError(sess.url, None, f"bad playlist: {e}"))
            h.send_simple(502, f"bad playlist: {e}\n")
            return
        self.relay.send_text(h, out, head=False)

    def _setup_master(self, sess: Session, text: str, base: str) -> str:
        master = manifests.parse_master(text, base)
        sess.plan.set_variants(master.variants)
        for v in master.variants:  # named by the master: on the allowlist in every mode
            self.routes.allow(sess, v.uri, UriRole.VARIANT, rendition=v.index)
        note = virtual_blocker(master, self.policy.virtual)
        if not note:
            playlists: list[MediaPlaylist] = []
            total = 0  # segments so far, against manifests.MAX_VIRTUAL_SEGMENTS
            for v in master.variants:
                body, final = self.relay.fetch_text(
                    v.uri, rendition_bitrate_bps=v.bandwidth or None
                )
                if body is None:
                    note = f"rendition {v.index} playlist failed: {final}"
                    break
                try:
                    playlists.append(manifests.parse_media(body, final))
                except ManifestError as e:
                    note = f"rendition {v.index} playlist: {e}"
                    break
                total += len(playlists[-1].segments)
                if total > manifests.MAX_VIRTUAL_SEGMENTS:  # stop fetching: rewrite mode
                    note = f"more than {manifests.MAX_VIRTUAL_SEGMENTS} segments in all"
                    break
            if not note:
                note = aligned(playlists) or ""
            if not note:
                return self._setup_virtual(sess, playlists)
        log.info("HLS: VLC chooses renditions (rewrite mode): %s", note)
        return self._setup_rewrite(sess, master, text, base, note)

    def _setup_rewrite(
        self, sess: Session, master: MasterPlaylist, text: str, base: str, note: str
    ) -> str:
        def mapper(url: str, role: UriRole) -> str:
            idx = next((v.index for v in master.variants if v.uri == url), None)
            return self.routes.allow(sess, url, role, rendition=idx)

        out, _ = manifests.rewrite_master(text, base, mapper)
        with sess.lock:
            sess.mode = Mode.HLS_REWRITE
        renditions = tuple(sess.plan.renditions())
        self.relay.emit(PlaylistLoaded(Mode.HLS_REWRITE, renditions, False, None, note))
        return out

    def _setup_virtual(self, sess: Session, playlists: list[MediaPlaylist]) -> str:
        for i, mp in enumerate(playlists):
            self.routes.allow_segments(sess, i, mp.segments)
        ref = playlists[0]
        self.ledger.learn_timing(sess.run, ref.segments)
        master_text = sess.plan.go_virtual(playlists, self.routes.virtual_index_url(sess))
        with sess.lock:
            sess.mode = Mode.HLS_VIRTUAL
        n = len(sess.plan.variants)
        log.info("HLS: gateway chooses renditions (virtual mode, %d renditions)", n)
        self.relay.emit(
            PlaylistLoaded(
                Mode.HLS_VIRTUAL,
                tuple(sess.plan.renditions()),
                ref.is_live,
                None if ref.is_live else ref.duration_s,
            )
        )
        return master_text
