"""One upstream response being read: body chunks as they arrive, Range resume, its Fetch record.

A :class:`Transfer` is opened by :meth:`player.net.fetch.Fetcher.open`; :meth:`Transfer.chunks`
yields body bytes as they arrive (``read1``: never waits to fill a buffer) and, when the
body is cut or times out mid-transfer, resumes with a ``Range`` request from the first
missing byte (a ``Resumed`` event), so the consumer never sees a byte twice.

Bounded memory: a playlist body (a transfer whose fetch kind is ``PLAYLIST``, also when the
entry URL turns out to be one) stops at :data:`MAX_TEXT_BYTES` with "playlist too large",
however long the server keeps sending; :meth:`Transfer.read_all` decodes a gzip/deflate
``Content-Encoding`` (which we never ask for) incrementally and stops at the same cap, so a
compression bomb never expands in memory.
"""

from __future__ import annotations

import http.client
import logging
import re
import time
import zlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import requests
import urllib3

from player.core.model import Fetch, FetchKind
from player.core.redact import loggable
from player.net.errors import describe
from player.net.events import Resumed
from player.net.rx_meter import RECEIVED
from player.net.tcp_info import FlowMeter, socket_of
from player.net.timing import abort_connection_of
from player.net.url_policy import AddressPolicy

if TYPE_CHECKING:
    from player.net.fetch import Fetcher

__all__ = ["FetchAborted", "FetchFailed", "Transfer", "parse_content_range"]

log = logging.getLogger(__name__)

CHUNK_SIZE = 16 * 1024  # max bytes per read1() (and per write to the player)
#: Playlists / manifests, raw and decoded. The largest real playlists (a day of 2 s
#: segments with long signed URIs, big DASH MPDs) are around 2-4 MB; the parser's own
#: limit (player.net.manifests.MAX_PLAYLIST_CHARS) is the same.
MAX_TEXT_BYTES = 8 * 1024 * 1024
MIB = 1024 * 1024
#: Content-Encoding values read_all decodes (wbits for zlib: 32+ = gzip or zlib header)
_DECODERS = {"gzip": 32 + zlib.MAX_WBITS, "x-gzip": 32 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}

_RANGE_RE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.I)


class FetchAborted(Exception):
    """The fetcher is shutting down (``abort_all``/``close``)."""


class FetchFailed(Exception):
    """A request failed: after all retries (network error or retryable status), or for
    good (a refused address or redirect, a playlist too large, any other error)."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.url = url
        self.reason = reason
        self.status = status
        self.fetch: Fetch | None = None  # the failed record, when raised by Fetcher.open
        self.retries: int | None = None  # retries made before it failed (Fetcher.open)


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """``"bytes 0-99/1000"`` -> ``(0, 99, 1000)``; None when absent or unparsable."""
    if not value:
        return None
    m = _RANGE_RE.match(value.strip())
    if not m:
        return None
    total = None if m.group(3) == "*" else int(m.group(3))
    return int(m.group(1)), int(m.group(2)), total


class Transfer:
    """An open upstream response plus the :class:`Fetch` record being filled in.

    Use :meth:`chunks` to stream the body (with transparent resume) and always
    :meth:`close` (or use it as a context manager) to finish the record.
    """

    def __init__(
        self,
        fetcher: Fetcher,
        url: str,
        method: str,
        resp: requests.Response,
        fetch: Fetch,
        attempt_t0: float,
        headers: dict[str, str],
        range_start: int | None,
        range_end: int | None,
    ) -> None:
        self._fetcher = fetcher
        self.policy: AddressPolicy | None = None  # the request's address policy (Fetcher.open)
        self.url = url
        self.method = method
        self._resp: requests.Response | None = resp
        self.fetch = fetch
        self._attempt_t0 = attempt_t0
        self._req_headers = headers
        self.status: int = resp.status_code
        self.headers: Mapping[str, str] = resp.headers
        self.final_url: str = resp.url or url
        self.received = 0  # body bytes handed to the consumer
        self.waiting_since: float | None = None  # monotonic; set while blocked on upstream
        self._first_byte_at: float | None = None
        self._last_byte_at: float | None = None
        self._flow = FlowMeter()  # TCP_INFO at the first byte and at the end (tcp_info)
        self._closed = False
        self._cancelled = False
        self._eof = False
        self.content_length = _int_header(resp.headers.get("Content-Length"))
        cr = parse_content_range(resp.headers.get("Content-Range")) if self.status == 206 else None
        self.content_range = cr
        # absolute offset in the upstream entity of this response's first body byte
        self.body_start = cr[0] if cr else 0
        self._range_end = cr[1] if cr else range_end
        self._requested_start = range_start
        self._validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
        self._validator_is_strong = bool(resp.headers.get("ETag")) and not str(
            resp.headers.get("ETag", "")
        ).startswith("W/")

    # --- info ---------------------------------------------------------------------------
    @property
    def first_byte_at(self) -> float | None:
        """Monotonic time the first body byte arrived (None while waiting)."""
        return self._first_byte_at

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def total_size(self) -> int | None:
        """Size of the whole upstream entity when known."""
        if self.content_range:
            return self.content_range[2]
        if self.status == 200:
            return self.content_length
        return None

    # --- streaming ---------------------------------------------------------------------
    def _read1(self) -> bytes:
        assert self._resp is not None
        return self._resp.raw.read1(CHUNK_SIZE, decode_content=False)

    def chunks(self) -> Iterator[bytes]:
        """Yield body bytes as they arrive; resume with Range after a cut or a timeout.

        Raises :class:`FetchFailed` when the body cannot be completed,
        :class:`FetchAborted` when the fetcher is stopping.
        """
        if self.method == "HEAD" or self._resp is None:
            return
        expected = self.content_length
        if expected is not None and expected > self._limit():
            raise FetchFailed(self.url, too_large(self._limit()))
        resumes = 0
        while True:
            if expected is not None and self.received >= expected:
                self._eof = True
                return
            asked = self.waiting_since = time.monotonic()
            err: BaseException | None = None
            data = b""
            try:
                data = self._read1()
            except (
                urllib3.exceptions.HTTPError,
                requests.exceptions.RequestException,
                http.client.HTTPException,
                OSError,
                ValueError,  # read on a closed file after abort()
                AttributeError,  # fp set to None by a concurrent close
            ) as e:
                err = e
            self.waiting_since = None
            if self._fetcher.stopping or self._cancelled:
                raise FetchAborted(self.url)
            if data:
                if self.received + len(data) > self._limit():
                    raise FetchFailed(self.url, too_large(self._limit()))
                now = time.monotonic()
                if self._first_byte_at is None:
                    self._first_byte_at = now
                    self._set_ttfb(now)
                    self._flow.first_byte(socket_of(self._resp))
                self._flow.arrived(now, now - asked)
                self._last_byte_at = now
                RECEIVED.add(len(data))  # every body byte the player receives
                self.received += len(data)
                self.fetch.bytes = self.received
                yield data
                continue
            if err is None and (expected is None or self.received >= expected):
                self._eof = True
                return  # normal end of body
            reason = describe(err) if err else "connection closed before the end of the body"
            # a cut: resume from the first byte the consumer has not seen
            if resumes >= self._fetcher.max_resumes:
                raise FetchFailed(self.url, f"{reason}; gave up after {resumes} resumes")
            resumes += 1
            self._resume(reason)
            expected = self.content_length

    def _set_ttfb(self, now: float) -> None:
        t = self.fetch
        setup = sum(x for x in (t.dns_ms, t.connect_ms, t.tls_ms) if x is not None)
        t.ttfb_ms = max(0.0, (now - self._attempt_t0) * 1000.0 - setup)

    def _resume(self, reason: str) -> None:
        """Replace the response with a Range request starting at the first missing byte."""
        at = self.body_start + self.received
        self._close_resp()
        headers = dict(self._req_headers)
        end = "" if self._range_end is None else str(self._range_end)
        headers["Range"] = f"bytes={at}-{end}"
        if self._validator and self._validator_is_strong:
            headers["If-Range"] = self._validator
        log.info("resuming %s at byte %d (%s)", loggable(self.url), at, reason)
        resp, _t0, retries = self._fetcher._request_with_retries(
            self.url, "GET", headers, self.policy
        )
        self.fetch.retries += retries
        self._resp = resp
        self._flow.connection_changed(socket_of(resp))
        skip = 0
        if resp.status_code == 206:
            cr = parse_content_range(resp.headers.get("Content-Range"))
            if cr is None or cr[0] != at:
                self._close_resp()
                raise FetchFailed(
                    self.url, f"resume at {at} answered {resp.headers.get('Content-Range')}"
                )
        elif resp.status_code == 200 and "If-Range" not in headers:
            skip = at  # server ignores Range: read and drop what was already delivered
        else:
            status = resp.status_code
            self._close_resp()
            raise FetchFailed(self.url, f"resume at {at} answered HTTP {status}", status)
        while skip > 0:
            try:
                data = resp.raw.read(min(skip, CHUNK_SIZE), decode_content=False)
            except (urllib3.exceptions.HTTPError, OSError) as e:
                raise FetchFailed(self.url, f"resume failed: {describe(e)}") from e
            if not data:
                raise FetchFailed(self.url, "resume failed: body shorter than before")
            RECEIVED.add(len(data))
            skip -= len(data)
        remaining = _int_header(resp.headers.get("Content-Length"))
        if remaining is not None:
            if resp.status_code == 200:
                remaining -= at
            self.content_length = self.received + remaining
        self.fetch.resumed += 1
        self._fetcher._emit(Resumed(self.url, at))

    def cancel(self) -> None:
        """From another thread: make a blocked :meth:`chunks` raise FetchAborted now."""
        self._cancelled = True
        abort_connection_of(self._resp)

    def _limit(self) -> int | float:
        """The most body bytes this transfer may read (playlists only are bounded: media
        bodies are streamed to VLC, never kept)."""
        return MAX_TEXT_BYTES if self.fetch.kind is FetchKind.PLAYLIST else float("inf")

    def read_all(self, limit: int = MAX_TEXT_BYTES) -> bytes:
        """The whole (decoded) body, for playlists; FetchFailed beyond ``limit`` bytes,
        raw or decoded (see module doc)."""
        encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        wbits = _DECODERS.get(encoding)
        decoder = zlib.decompressobj(wbits) if wbits is not None else None
        parts: list[bytes] = []
        n = 0
        try:
            for c in self.chunks():
                while c:
                    if decoder is None:
                        out, c = c, b""
                    else:  # never more than the cap (+1 to notice it) out of one chunk
                        out = decoder.decompress(c, limit - n + 1)
                        c = decoder.unconsumed_tail
                    n += len(out)
                    if n > limit:
                        raise FetchFailed(self.url, too_large(limit))
                    parts.append(out)
            if decoder is not None:
                out = decoder.flush()  # input is all consumed: at most zlib's window left
                if n + len(out) > limit:
                    raise FetchFailed(self.url, too_large(limit))
                parts.append(out)
        except zlib.error as e:
            raise FetchFailed(self.url, f"bad {encoding} body: {e}") from e
        return b"".join(parts)

    # --- finishing ----------------------------------------------------------------------
    def _close_resp(self, reusable: bool = False) -> None:
        """Drop the response: back to the pool when fully read, else close its socket."""
        resp, self._resp = self._resp, None
        if resp is None:
            return
        try:
            if reusable:
                resp.raw.release_conn()
            else:
                # only while still attached: once urllib3 released it, it may be in use
                abort_connection_of(resp)
                resp.close()
        except Exception:  # closing a broken response must never raise
            log.debug("error closing response", exc_info=True)

    def close(self, error: str | None = None) -> Fetch:
        """Release the connection and finish the :class:`Fetch` record (idempotent)."""
        if self._closed:
            return self.fetch
        self._closed = True
        complete = self._eof or self.method == "HEAD" or self.content_length == 0
        if self._first_byte_at is not None:  # the flow's end sample, before the socket goes
            self.fetch.flow = self._flow.finish()
        # a half-read socket must never go back to the pool
        self._close_resp(reusable=complete and error is None)
        now = time.monotonic()
        f = self.fetch
        f.finished_at = now
        f.bytes = self.received
        if self._first_byte_at is None and f.ttfb_ms is None and error is None:
            self._set_ttfb(now)  # empty body: first byte == end of headers
        if self._first_byte_at is not None and self._last_byte_at is not None:
            f.transfer_ms = (self._last_byte_at - self._first_byte_at) * 1000.0
        if error:
            f.error = error
        self._fetcher._unregister(self)
        return f

    def __enter__(self) -> Transfer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def too_large(limit: float) -> str:
    """The reason for a playlist over the cap."""
    return f"playlist too large (more than {limit / MIB:g} MB)"


def _int_header(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None
