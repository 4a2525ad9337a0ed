"""Self-initialising virtual segments of a DASH session (:class:`SelfInitSegments`): the
chosen representation's init segment followed by its media segment, substitutes tried."""

from __future__ import annotations

from collections.abc import Callable

from player.core.model import FetchKind
from player.net.dash import SegmentRef
from player.net.gateway.dash_objects import VIDEO_TYPE, InitCache, UpstreamObjects
from player.net.gateway.dash_readahead import Prefetched, ReadAhead
from player.net.gateway.media import Policy
from player.net.gateway.routes import Session
from player.net.gateway.server import Handler
from player.net.manifests import MediaPlaylist, MediaSegment

__all__ = ["Lookup", "Refresh", "SelfInitSegments"]

#: ``lookup(rendition, listed_segment) -> (upstream segment, its init segment)`` or None.
Lookup = Callable[[int, MediaSegment], "tuple[SegmentRef, SegmentRef | None] | None"]
Refresh = Callable[[int], "MediaPlaylist | None"]


class SelfInitSegments:
    """Virtual segments that carry their own initialisation segment (fMP4): for segment
    ``seq`` the plan chooses a rendition (the pin, else the session's chooser) and VLC gets
    that rendition's init segment followed by its media segment; substitutes from other
    renditions are tried when it is missing, and a segment missing everywhere is an empty
    ``200`` (VLC skips it)."""

    def __init__(self, objects: UpstreamObjects, policy: Policy) -> None:
        self.objects = objects
        self.relay = objects.relay
        self.ledger = objects.relay.ledger
        self.policy = policy

    def serve(
        self,
        h: Handler,
        sess: Session,
        seq: int,
        head: bool,
        lookup: Lookup,
        cache: InitCache,
        refresh: Refresh,
        readahead: ReadAhead | None = None,
    ) -> None:
        """Answer virtual segment ``seq``; ``lookup(rendition, listed_segment)`` gives the
        upstream (segment, init segment) of a candidate."""
        plan = sess.plan
        if not head and sess.reopened:  # a reopened input's first segment (Gateway.reopened)
            sess.reopened = False
            readahead = None if seq == 0 else readahead  # its format probe: read nothing ahead
        ahead = None if head or readahead is None else self._take(h, readahead, seq)
        if ahead is not None and self.policy.locked not in (None, ahead.rendition):
            readahead.drop("rendition pinned")  # type: ignore[union-attr]
            ahead = None
        if ahead is not None and ahead.body is not None:
            self._serve_held(h, sess, ahead, readahead)  # type: ignore[arg-type]
            return
        chosen = ahead.rendition if ahead is not None else None
        if chosen is None:
            chosen = plan.choose(seq, self.policy.locked, self.policy.chooser)
        candidates = plan.candidates(seq, chosen, refresh)
        reasons: list[str] = []
        if ahead is not None:  # its prefetch failed (recorded): the substitutes are left
            reasons.append(ahead.reason)
            candidates = [c for c in candidates if c[0] != ahead.rendition] or candidates[:0]
        if not candidates and ahead is None:
            h.send_simple(404, "no such segment\n", head)
            return
        if head:
            h.send_simple(200, "", True, ctype=VIDEO_TYPE)
            return
        self.ledger.segment_requested(sess.run, seq)
        first = candidates[0][0] if candidates else chosen
        switched = plan.served(seq, first)
        if switched is not None:
            self.relay.emit(switched)
        key = self.ledger.begin(FetchKind.SEGMENT, seq, client=h.connection)
        try:
            for r, seg in candidates:
                pair = lookup(r, seg)
                if pair is None:
                    continue
                ref, init = pair
                prefix = self.objects.init_bytes(cache, init, key)
                if prefix is None:
                    reasons.append("initialisation segment failed")
                    continue
                kw = {
                    "rendition_bitrate_bps": plan.bandwidth(r),
                    "media_sequence": seq,
                    "media_duration_s": seg.duration,
                }
                done = self.objects.relay_segment(h, key, ref, prefix, VIDEO_TYPE, kw, seq, reasons)
                if done is None:
                    continue
                if done:
                    self.ledger.segment_delivered(sess.run, seq, seg.duration)
                return
            self.ledger.segment_delivered(sess.run, seq, None)  # VLC skips its time
            url = candidates[0][1].uri if candidates else f"segment {seq}"
            self.objects.missing(h, seq, url, reasons, VIDEO_TYPE)
        finally:
            self.ledger.end(key)
            if readahead is not None:  # after this fetch: one at a time, so each
                readahead.served(seq)  # fetch's throughput is the path's, not a share

    def _take(self, h: Handler, readahead: ReadAhead, seq: int) -> Prefetched | None:
        """The read-ahead's entry for ``seq``; VLC counts as waiting on upstream while the
        same segment's prefetch is still arriving (stall attribution sees it)."""
        key = self.ledger.begin(FetchKind.SEGMENT, seq, client=h.connection)
        try:
            return readahead.take(seq)
        finally:
            self.ledger.end(key)

    def _serve_held(self, h: Handler, sess: Session, ahead: Prefetched, ra: ReadAhead) -> None:
        """Answer from memory a segment read ahead (its fetch is recorded already)."""
        seq = ahead.seq
        self.ledger.segment_requested(sess.run, seq)
        switched = sess.plan.served(seq, ahead.rendition)
        if switched is not None:
            self.relay.emit(switched)
        ra.served(seq)
        key = self.ledger.begin(FetchKind.SEGMENT, seq, client=h.connection)
        try:
            self.relay.send_bytes(h, ahead.body or b"", False, VIDEO_TYPE)
            self.ledger.segment_delivered(sess.run, seq, ahead.duration_s)
        finally:
            self.ledger.end(key)
