"""Upstream objects of a DASH session for VLC (:class:`UpstreamObjects`): small ones
fetched whole (init segments, indexes; init segments kept per session), media segments
relayed after an optional prefix (the init segment of a self-initialising segment)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from player.core.model import FetchKind
from player.core.wording.errors import http_reason
from player.net.dash import SegmentRef
from player.net.events import SegmentMissing, UpstreamError
from player.net.gateway.relay import CONTENT_TYPES, Relay
from player.net.gateway.server import Handler
from player.net.transfer import FetchFailed

__all__ = ["AUDIO_TYPE", "MAX_INIT_BYTES", "VIDEO_TYPE", "InitCache", "UpstreamObjects"]

log = logging.getLogger(__name__)

#: An initialisation segment or index bigger than this is not one (bytes; real ones are
#: a few KiB, a long sidx ~12 bytes per segment).
MAX_INIT_BYTES = 4 * 1024 * 1024
VIDEO_TYPE = CONTENT_TYPES[".mp4"]
#: The audio group's objects are fMP4 audio (RFC 6381 ``audio/mp4``; ``.mp4`` maps to video).
AUDIO_TYPE = "audio/mp4"


class InitCache(Protocol):
    """Where a session keeps the init segments it fetched (they are small and reused)."""

    def cached_init(self, ref: SegmentRef) -> bytes | None: ...

    def keep_init(self, ref: SegmentRef, body: bytes) -> None: ...


class UpstreamObjects:
    """Upstream objects of a DASH session for VLC: small ones whole (init segments, indexes;
    init segments kept per session), media segments streamed after an optional prefix."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.ledger = relay.ledger

    def fetch_bytes(self, ref: SegmentRef, kind: FetchKind, key: int | None = None) -> bytes | None:
        """A small object (init segment, index) whole, recorded; None on failure (emitted)."""
        kw: dict[str, Any] = {}
        if ref.byte_range is not None:
            kw["range_start"], kw["range_end"] = ref.byte_range.start, ref.byte_range.end
        tr, _failure = self.relay.open(ref.url, kind, key, **kw)
        if tr is None:
            return None
        try:
            reason = None
            if not tr.ok:
                reason = http_reason(tr.status)
            elif ref.byte_range is not None and tr.status != 206:
                reason = "the server ignored the byte range"
            elif (tr.content_length or 0) > MAX_INIT_BYTES:
                reason = "initialisation segment too large"
            if reason is not None:
                self.relay.finish(tr, error=reason)
                self.relay.emit(UpstreamError(ref.url, tr.status, reason))
                return None
            body = tr.read_all(limit=MAX_INIT_BYTES)
        except FetchFailed as e:
            self.relay.finish(tr, error=e.reason)
            self.relay.emit(UpstreamError(ref.url, None, e.reason))
            return None
        self.relay.finish(tr)
        return body

    def init_bytes(self, cache: InitCache, ref: SegmentRef | None, key: int | None) -> bytes | None:
        if ref is None:
            return b""
        body = cache.cached_init(ref)
        if body is None:
            body = self.fetch_bytes(ref, FetchKind.INIT, key)
            if body is not None:
                cache.keep_init(ref, body)
        return body

    def relay_segment(
        self,
        h: Handler,
        key: int,
        ref: SegmentRef,
        prefix: bytes,
        ctype: str,
        kw: dict[str, Any],
        seq: int,
        reasons: list[str],
    ) -> bool | None:
        """Relay one upstream segment after ``prefix``: True when VLC got it whole, False
        when it broke after the headers, None when it could not start (try another)."""
        if ref.byte_range is not None:
            kw = {**kw, "range_start": ref.byte_range.start, "range_end": ref.byte_range.end}
        tr, failure = self.relay.open(ref.url, FetchKind.SEGMENT, key, **kw)
        if tr is None:
            reasons.append(failure)
            return None
        reason = None
        if not tr.ok:
            reason = http_reason(tr.status)
        elif ref.byte_range is not None and tr.status != 206:
            reason = "the server ignored the byte range"
        if reason is not None:
            self.relay.finish(tr, error=reason)
            self.relay.emit(UpstreamError(ref.url, tr.status, reason))
            reasons.append(reason)
            return None
        length = None if tr.content_length is None else len(prefix) + tr.content_length
        self.relay.send_headers(h, 200, None, ctype, length)
        failed = self.relay.relay_recorded(h, key, tr, prefix)
        if failed is None:
            return True
        self.relay.emit(SegmentMissing(seq, ref.url, f"transfer failed: {failed}"))
        return False

    def missing(self, h: Handler, seq: int, url: str, reasons: list[str], ctype: str) -> None:
        reason = "; ".join(reasons) or "failed"
        log.warning("DASH segment %s missing (%s): telling the player to skip it", seq, reason)
        self.relay.emit(SegmentMissing(seq, url, reason))
        self.relay.send_headers(h, 200, None, ctype, 0)
