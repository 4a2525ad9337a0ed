"""What the gateway answers for URLs a session named: allowlisted upstream URLs, virtual mode.

``r/TOKEN`` (rewrite mode, and anything a playlist named): a media playlist is fetched
and rewritten so that its URIs go through the gateway again (``lock_rendition`` swaps a
variant playlist for the pinned one); a segment, init section, key or part is relayed
(VLC's ``Range`` passed on). ``v/index.m3u8`` and ``v/SEQ`` (virtual mode): the virtual
media playlist, and each virtual segment from the rendition the plan chooses, with
substitutes from other renditions when it is missing (a DASH session's segments are
answered by :mod:`player.net.gateway.dash`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from player.core.model import FetchKind
from player.net import manifests
from player.net.events import UpstreamError
from player.net.gateway.planner import Chooser, build_virtual_media
from player.net.gateway.relay import Relay, parse_range
from player.net.gateway.routes import Allowed, Routes, Session
from player.net.gateway.server import Handler
from player.net.manifests import ManifestError, MediaPlaylist, UriRole

__all__ = ["MediaHandler", "Policy", "role_kind"]

log = logging.getLogger(__name__)

_PLAYLIST_ROLES = (UriRole.VARIANT, UriRole.MEDIA, UriRole.IFRAME, UriRole.REPORT)


@dataclass(slots=True)
class Policy:
    """The caller's say in rendition choice (the gateway's public attributes)."""

    locked: int | None = None  # lock_rendition(): every following segment from this one
    chooser: Chooser | None = None  # rendition_chooser(seq) -> index (the session's ABR)
    virtual: bool = True  # False: never virtual mode (VLC's own ABR, hls-rewrite)
    readahead: int | None = None  # DASH video segments read ahead; None: the default, 0: off


class DashAnswers(Protocol):
    """What answers a DASH session's virtual segments (:mod:`player.net.gateway.dash`)."""

    def refresh(self, sess: Session, rendition: int) -> MediaPlaylist | None: ...

    def serve_video(self, h: Handler, sess: Session, seq: int, head: bool) -> None: ...


def role_kind(role: UriRole) -> FetchKind:
    """The kind of fetch record for a URI of ``role``."""
    if role in (UriRole.SEGMENT, UriRole.PART):
        return FetchKind.SEGMENT
    if role is UriRole.INIT:
        return FetchKind.INIT
    return FetchKind.PLAYLIST  # playlists, and keys (small control files)


class MediaHandler:
    """Answers ``r/...`` and ``v/...`` (see module doc)."""

    def __init__(self, routes: Routes, relay: Relay, policy: Policy) -> None:
        self.routes = routes
        self.relay = relay
        self.ledger = relay.ledger
        self.policy = policy
        self.dash: DashAnswers | None = None  # DASH segments (set by the entry handler)

    # --- rewrite mode -------------------------------------------------------------------
    def rewrite_media(self, sess: Session, text: str, base: str, rendition: int | None) -> str:
        """A media playlist with every URI through the gateway (and on the allowlist)."""
        mp = manifests.parse_media(text, base)
        seg_by_url = {s.uri: s for s in mp.segments}

        def mapper(url: str, role: UriRole) -> str:
            seg = seg_by_url.get(url) if role is UriRole.SEGMENT else None
            return self.routes.allow(
                sess,
                url,
                role,
                rendition=rendition,
                seq=seg.seq if seg else None,
                duration=seg.duration if seg else None,
            )

        out, mp = manifests.rewrite_media(text, base, mapper)
        self.routes.prune_live(sess, rendition, mp)  # live: forget segments gone from it
        sess.plan.update(rendition if rendition is not None else -1, mp, live_from_it=True)
        self.ledger.learn_timing(sess.run, mp.segments)
        return out

    def serve_allowed(self, h: Handler, sess: Session, a: Allowed, head: bool) -> None:
        if a.role in _PLAYLIST_ROLES:
            self._serve_playlist(h, sess, a, head)
            return
        # segments, init sections, keys, parts
        kind = role_kind(a.role)
        if kind is FetchKind.SEGMENT and a.seq is not None:
            self.ledger.segment_requested(sess.run, a.seq)
            if a.rendition is not None:
                self._served(sess, a.seq, a.rendition)
        key = self.ledger.begin(kind, a.seq, client=h.connection)
        try:
            rng = parse_range(h.headers.get("Range"))
            kw: dict[str, Any] = {
                "method": "HEAD" if head else "GET",
                "rendition_bitrate_bps": sess.plan.bandwidth(a.rendition),
                "media_sequence": a.seq,
                "media_duration_s": a.duration,
            }
            if rng is not None:
                kw["range_start"], kw["range_end"] = rng
            ok = self.relay.stream(h, sess.run, key, [a.url], kind, kw, a.seq, head)
            if ok and kind is FetchKind.SEGMENT and a.seq is not None and not head:
                self.ledger.segment_delivered(sess.run, a.seq, a.duration)
        finally:
            self.ledger.end(key)

    def _serve_playlist(self, h: Handler, sess: Session, a: Allowed, head: bool) -> None:
        variants = sess.plan.variants
        url, rendition = a.url, a.rendition
        locked = self.policy.locked
        if a.role is UriRole.VARIANT and locked is not None and 0 <= locked < len(variants):
            url, rendition = variants[locked].uri, locked
        bitrate = (
            variants[rendition].bandwidth
            if rendition is not None and rendition < len(variants)
            else None
        )
        body, final = self.relay.fetch_playlist(url, bitrate)
        if body is None:
            h.send_simple(502, f"upstream failed: {final}\n", head)
            return
        try:
            out = self.rewrite_media(sess, body, final, rendition)
        except ManifestError as e:
            self.relay.emit(UpstreamError(url, None, f"bad playlist: {e}"))
            h.send_simple(502, f"bad playlist: {e}\n", head)
            return
        self.relay.send_text(h, out, head)

    def _served(self, sess: Session, seq: int, index: int) -> None:
        switched = sess.plan.served(seq, index)
        if switched is not None:
            self.relay.emit(switched)

    # --- virtual mode -------------------------------------------------------------------
    def refresher(self, sess: Session) -> Callable[[int], MediaPlaylist | None]:
        """``refresh(rendition)`` for the plan: re-fetch that media playlist (live; for
        DASH the MPD, when due)."""
        dash = self.dash
        if sess.plan.dash is not None and dash is not None:
            return lambda rendition: dash.refresh(sess, rendition)
        return lambda rendition: self.refresh(sess, rendition)

    def refresh(self, sess: Session, rendition: int) -> MediaPlaylist | None:
        """Re-fetch a rendition's media playlist (live); keeps the old one on failure."""
        v = sess.plan.variants[rendition]
        body, final = self.relay.fetch_playlist(v.uri, v.bandwidth or None)
        if body is None:
            return sess.plan.media.get(rendition)
        try:
            mp = manifests.parse_media(body, final)
        except ManifestError as e:
            self.relay.emit(UpstreamError(v.uri, None, f"bad playlist: {e}"))
            return sess.plan.media.get(rendition)
        sess.plan.update(rendition, mp)
        self.routes.prune_live(sess, rendition, mp)
        self.ledger.learn_timing(sess.run, mp.segments)
        return mp

    def serve_virtual_index(self, h: Handler, sess: Session, head: bool) -> None:
        p = self.policy
        mp = sess.plan.index_playlist(p.locked, p.chooser, self.refresher(sess))
        if mp is None:
            h.send_simple(502, "no playlist\n", head)
            return
        is_dash = sess.plan.dash is not None
        text = build_virtual_media(
            mp,
            lambda s: self.routes.virtual_segment_url(sess, s.seq, ".mp4" if is_dash else s.uri),
            self_init=is_dash,
        )
        self.relay.send_text(h, text, head)

    def serve_virtual_segment(self, h: Handler, sess: Session, seq: int, head: bool) -> None:
        if sess.plan.dash is not None and self.dash is not None:
            self.dash.serve_video(h, sess, seq, head)
            return
        plan = sess.plan
        chosen = plan.choose(seq, self.policy.locked, self.policy.chooser)
        candidates = plan.candidates(seq, chosen, self.refresher(sess))
        if not candidates:
            h.send_simple(404, "no such segment\n", head)
            return
        if not head:
            self.ledger.segment_requested(sess.run, seq)
            self._served(sess, seq, candidates[0][0])
        for r, seg in candidates:
            self.routes.allow(
                sess, seg.uri, UriRole.SEGMENT, rendition=r, seq=seq, duration=seg.duration
            )
        key = self.ledger.begin(FetchKind.SEGMENT, seq, client=h.connection)
        try:
            per_url = [
                {
                    "rendition_bitrate_bps": plan.bandwidth(r),
                    "media_sequence": seq,
                    "media_duration_s": seg.duration,
                }
                for r, seg in candidates
            ]
            ok = self.relay.stream(
                h,
                sess.run,
                key,
                [seg.uri for _, seg in candidates],
                FetchKind.SEGMENT,
                {"method": "HEAD" if head else "GET"},
                seq,
                head,
                per_url,
            )
            if ok and not head:
                self.ledger.segment_delivered(sess.run, seq, candidates[0][1].duration)
        finally:
            self.ledger.end(key)
