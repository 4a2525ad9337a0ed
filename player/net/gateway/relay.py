"""The relay: upstream requests through the Fetcher, body chunks to VLC, the missing segment.

Retries with bounded backoff (5xx, 408, 429, timeouts, connection errors) and Range
resume after a cut are the :class:`~player.net.fetch.Fetcher`'s; the relay writes bytes
to VLC chunk by chunk as they arrive (never whole-segment buffering, or VLC's own rate
estimate is fooled), keeps the ledger's waiting/bytes numbers, records every fetch, and
answers a segment that stays missing (after retries, and after the substitutes it was
given) with an empty ``200`` so that VLC moves on (VLC stops at a 404), reported as
:class:`~player.net.events.SegmentMissing`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from player.core.fetch_log import FETCH_WINDOW
from player.core.model import Fetch, FetchKind
from player.core.redact import loggable
from player.core.wording.errors import http_reason
from player.net.errors import describe
from player.net.events import FetchRecorded, SegmentMissing, UpstreamError
from player.net.fetch import Fetcher
from player.net.gateway.fetch_gate import FetchGate
from player.net.gateway.ledger import Delivery, DeliveryLedger, MediaRun
from player.net.gateway.routes import ext
from player.net.gateway.server import ClientGone, Handler
from player.net.timing import scoped_policy
from player.net.transfer import FetchAborted, FetchFailed, Transfer
from player.net.url_policy import AddressPolicy

__all__ = ["CONTENT_TYPES", "Relay", "parse_range"]

log = logging.getLogger(__name__)

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
PASS_HEADERS = ("Content-Type", "Content-Range", "Last-Modified", "ETag", "Content-Encoding")

_RANGE_RE = re.compile(r"\s*bytes\s*=\s*(\d+)\s*-\s*(\d*)\s*")


def parse_range(value: str | None) -> tuple[int | None, int | None] | None:
    """``bytes=N-`` / ``bytes=N-M`` -> (N, M|None); None when absent or another form."""
    if not value:
        return None
    m = _RANGE_RE.fullmatch(value)
    if not m:
        return None
    return int(m.group(1)), (int(m.group(2)) if m.group(2) else None)


class Relay:
    """Upstream fetches with accounting, and writing their bodies to VLC."""

    def __init__(
        self,
        fetcher: Fetcher,
        ledger: DeliveryLedger,
        emit: Callable[[object], None],
        gate: FetchGate | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.ledger = ledger
        self.emit = emit
        self.gate = gate or FetchGate()  # idle gaps: every upstream request asks it first
        self._lock = threading.Lock()
        # bounded like the session's log: every record also goes out as FetchRecorded
        self._fetches: deque[Fetch] = deque(maxlen=FETCH_WINDOW)

    # --- fetch records ------------------------------------------------------------------
    def record(self, fetch: Fetch) -> None:
        with self._lock:
            self._fetches.append(fetch)
        self.emit(FetchRecorded(fetch))

    def fetches(self) -> list[Fetch]:
        with self._lock:
            return list(self._fetches)

    def finish(self, tr: Transfer, error: str | None = None) -> Fetch:
        """Close ``tr`` and record its fetch."""
        f = tr.close(error=error)
        self.record(f)
        return f

    # --- upstream -----------------------------------------------------------------------
    def open(
        self,
        url: str,
        kind: FetchKind,
        key: int | None = None,
        *,
        policy: AddressPolicy | None = None,
        **kw: Any,
    ) -> tuple[Transfer | None, str]:
        """Open an upstream request: ``(transfer, "")``, or ``(None, reason)`` after
        recording the failed fetch and emitting :class:`UpstreamError`. Every failure of
        the request (whatever it raised) takes this path; only a stopping gateway raises.

        The request is checked against ``policy``, else the session's (the
        :func:`~player.net.timing.policy_scope` :meth:`Routes.dispatch` set); with neither,
        it is refused rather than fetched unrestricted."""
        policy = policy or scoped_policy() or self.fetcher.policy
        if policy is None:
            log.error("upstream request outside any session's address policy: refused")
            reason = "refused to fetch: no session address policy"
            self.emit(UpstreamError(url, None, reason))
            return None, reason
        self._pass_gate(url, kind, self.ledger.get(key))
        try:
            with self.gate.opening(kind) as track:
                tr = self.fetcher.open(url, kind, policy=policy, **kw)
                track(tr)
        except FetchAborted:
            raise
        except FetchFailed as e:
            if e.fetch is not None:
                self.record(e.fetch)
            self.emit(UpstreamError(url, e.status, e.reason))
            return None, e.reason
        except Exception as e:  # Fetcher.open turns failures into FetchFailed: a bug
            log.error("upstream request failed unexpectedly: %s", describe(e))
            reason = describe(e)
            self.emit(UpstreamError(url, None, reason))
            return None, reason
        if self.ledger.attach(key, tr):
            tr.cancel()  # VLC hung up while the request was being sent
        return tr, ""

    def _pass_gate(self, url: str, kind: FetchKind, d: Delivery | None) -> None:
        """Wait while an idle gap holds ``kind`` back (:mod:`player.net.gateway.fetch_gate`).
        Meanwhile VLC waits on the gap, not on upstream: request ``d`` does not count as
        starving until the hold is over. Raises FetchAborted when the gateway stops."""
        held: list[bool] = []

        def on_hold() -> None:
            held.append(True)
            self.ledger.waiting(d, False)

        if not self.gate.admit(kind, on_hold):
            raise FetchAborted(url)
        if held:
            self.ledger.waiting(d, True)

    def fetch_text(
        self, url: str, kind: FetchKind = FetchKind.PLAYLIST, **kw: Any
    ) -> tuple[str, str] | tuple[None, str]:
        """Whole small body as text: ``(text, final_url)`` or ``(None, reason)``."""
        tr, failure = self.open(url, kind, **kw)
        if tr is None:
            return None, failure
        try:
            if not tr.ok:
                reason = http_reason(tr.status)
                tr.close(error=reason)
                self.record(tr.fetch)
                self.emit(UpstreamError(url, tr.status, reason))
                return None, reason
            body = tr.read_all()
        except FetchAborted:
            tr.close(error="gateway stopped")
            self.record(tr.fetch)
            raise
        except Exception as e:  # FetchFailed, or anything else reading the body
            reason = e.reason if isinstance(e, FetchFailed) else describe(e)
            tr.close(error=reason)
            self.record(tr.fetch)
            self.emit(UpstreamError(url, None, reason))
            return None, reason
        tr.close()
        self.record(tr.fetch)
        return body.decode("utf-8", errors="replace"), tr.final_url

    def fetch_playlist(self, url: str, bitrate: int | None) -> tuple[str, str] | tuple[None, str]:
        """:meth:`fetch_text` of a media playlist, counted as an open request meanwhile."""
        key = self.ledger.begin(FetchKind.PLAYLIST)
        try:
            return self.fetch_text(url, rendition_bitrate_bps=bitrate)
        finally:
            self.ledger.end(key)

    # --- writing to VLC -----------------------------------------------------------------
    def send_headers(
        self, h: Handler, status: int, tr: Transfer | None, ctype: str, length: int | None
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

    def send_text(
        self, h: Handler, text: str, head: bool, ctype: str = CONTENT_TYPES[".m3u8"]
    ) -> None:
        """A generated body (playlist, MPD) in one piece."""
        self.send_bytes(h, text.encode("utf-8"), head, ctype)

    def send_bytes(self, h: Handler, body: bytes, head: bool, ctype: str) -> None:
        """A body held in memory (generated text, a cached init segment) in one piece."""
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Cache-Control", "no-store")
        h.end_headers()
        if not head:
            self.ledger.wrote(None, len(body))
            h.write(body)

    def relay_recorded(self, h: Handler, key: int, tr: Transfer, first: bytes = b"") -> str | None:
        """Relay ``tr``'s body (see :meth:`relay_body`) and record its fetch, however it
        ends. A player that hung up or a gateway that stops is raised on; an upstream that
        failed mid-body returns its reason (VLC saw a truncated body: the connection closes)."""
        error = None
        try:
            self.relay_body(h, key, tr, first)
            return None
        except ClientGone:
            error = "player closed the connection"
            raise
        except FetchAborted:
            error = "gateway stopped"
            raise
        except FetchFailed as e:
            error = e.reason
            h.close_connection = True
            return e.reason
        except Exception as e:  # anything else while reading upstream: the same
            error = describe(e)
            h.close_connection = True
            return error
        finally:
            self.finish(tr, error=error)

    def relay_body(self, h: Handler, key: int, tr: Transfer, first: bytes = b"") -> None:
        """Write ``first`` and then the rest of ``tr``'s body to VLC as it arrives."""
        d = self.ledger.get(key)
        if first:
            self._write(h, d, first)
        it: Iterator[bytes] = tr.chunks()
        while True:
            self.ledger.waiting(d, True)
            try:
                chunk = next(it)
            except StopIteration:
                break
            except FetchAborted:
                if d is not None and d.gone:
                    raise ClientGone from None
                raise
            finally:
                self.ledger.waiting(d, False)
            self._write(h, d, chunk)

    def _write(self, h: Handler, d: Delivery | None, chunk: bytes) -> None:
        h.write(chunk)
        self.ledger.wrote(d, len(chunk))

    # --- one media object, with substitutes and the "missing" answer --------------------
    def stream(
        self,
        h: Handler,
        run: MediaRun,
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
            tr, failure = self.open(url, kind, key, **args)
            if tr is None:
                reasons.append(failure)
                continue
            if not tr.ok:
                reason = http_reason(tr.status)
                self.finish(tr, error=reason)
                self.emit(UpstreamError(url, tr.status, reason))
                reasons.append(reason)
                if kind is not FetchKind.SEGMENT:
                    h.send_simple(tr.status, f"upstream answered {tr.status}\n", head)
                    return False
                continue
            if i > 0:
                log.info("segment %s served from a substitute rendition: %s", seq, loggable(url))
            ctype = tr.headers.get("Content-Type") or CONTENT_TYPES.get(
                ext(url), "application/octet-stream"
            )
            self.send_headers(h, tr.status, tr, ctype, tr.content_length)
            if head:
                self.finish(tr)
                return True
            failed = self.relay_recorded(h, key, tr)
            if failed is None:
                return True
            if kind is FetchKind.SEGMENT:
                self.emit(SegmentMissing(seq, url, f"transfer failed: {failed}"))
            else:
                self.emit(UpstreamError(url, None, failed))
            return False
        reason = "; ".join(reasons) or "failed"
        if kind is FetchKind.SEGMENT:
            log.warning("segment %s missing (%s): telling the player to skip it", seq, reason)
            if seq is not None and not head:
                # VLC skips its time, so for delivery accounting it counts as delivered
                self.ledger.segment_delivered(run, seq, None)
            self.emit(SegmentMissing(seq, urls[0], reason))
            self.send_headers(h, 200, None, CONTENT_TYPES.get(ext(urls[0]), "video/mp2t"), 0)
            return False
        h.send_simple(502, f"upstream failed: {reason}\n", head)
        return False
