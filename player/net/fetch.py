"""Timed HTTP fetching with requests: DNS / connect / TLS / TTFB / transfer per fetch.

requests does not expose connection-level timings, so :class:`TimedAdapter` installs
urllib3 connection subclasses that time ``getaddrinfo``, the TCP ``connect`` and the
TLS handshake themselves (``_new_conn`` / ``connect``) and leave the result on the
connection. After each request the adapter takes that result off the connection
that served it: a connection with a fresh result was opened for this request; one
without (an already connected, pooled socket) was *reused*.

:class:`Fetcher` adds what the gateway needs on top:

* bounded retries with exponential backoff for connection errors, timeouts,
  HTTP 5xx / 408 / 429 (``Retrying`` events);
* body streaming with :meth:`Transfer.chunks`, which yields bytes as they arrive
  (``read1``: never waits to fill a buffer) and, when the body is cut or times out
  mid-transfer, resumes with a ``Range`` request from the first missing byte
  (``Resumed`` events), so the consumer never sees a byte twice;
* one :class:`~player.core.model.Fetch` record per logical fetch (retries and
  resumes included);
* :meth:`Fetcher.abort_all`, which shuts down every socket so that blocked reads
  return at once (used by ``Gateway.stop``).
"""

from __future__ import annotations

import http.client
import logging
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.util.connection import allowed_gai_family

from player.core.model import Fetch, FetchKind

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0  # longest silence (headers or body) before a retry / resume
CHUNK_SIZE = 16 * 1024  # max bytes per read1() (and per write to the player)
MAX_RETRIES = 3  # extra attempts after the first, per request
MAX_RESUMES = 5  # Range resumes after cuts, per fetch
BACKOFF_BASE_S = 0.25  # 0.25, 0.5, 1.0, ... capped at BACKOFF_MAX_S
BACKOFF_MAX_S = 2.0
MAX_TEXT_BYTES = 8 * 1024 * 1024  # playlists / manifests
POOL_MAXSIZE = 8
USER_AGENT = "Stallwatch/0.1 (+python-requests)"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

_RANGE_RE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.I)


# --------------------------------------------------------------------------------------
# events (the gateway forwards these to its on_event callback)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FetchRecorded:
    """A fetch finished (successfully or not); ``fetch`` is the complete record."""

    fetch: Fetch


@dataclass(frozen=True, slots=True)
class SegmentMissing:
    """A segment could not be fetched at all; the player was told to skip it."""

    seq: int | None
    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class Resumed:
    """A body cut mid-transfer was resumed with a Range request from ``at_byte``."""

    url: str
    at_byte: int


@dataclass(frozen=True, slots=True)
class Retrying:
    """A request failed and will be retried after ``delay_s`` (attempt 1 = first retry)."""

    url: str
    attempt: int
    reason: str
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """The origin failed for good: an HTTP error ``status`` or a network ``reason``."""

    url: str
    status: int | None
    reason: str


EventSink = Callable[[object], None]


class FetchAborted(Exception):
    """The fetcher is shutting down (``abort_all``/``close``)."""


class FetchFailed(Exception):
    """A request failed after all retries (network error or retryable status)."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.url = url
        self.reason = reason
        self.status = status
        self.fetch: Fetch | None = None  # the failed record, when raised by Fetcher.open


# --------------------------------------------------------------------------------------
# timed urllib3 connections
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ConnTiming:
    """Set-up cost of one new connection (milliseconds)."""

    dns_ms: float | None
    connect_ms: float | None
    tls_ms: float | None


class _TimingMixin:
    """Times DNS, TCP connect and TLS of urllib3 connections (see module doc)."""

    registry: weakref.WeakSet[Any] | None = None  # set per adapter (dynamic subclass)

    # attributes of urllib3.connection.HTTPConnection used below
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        self._sw_dns_ms: float | None = None
        self._sw_connect_ms: float | None = None
        host = self._dns_host.strip("[]")
        t0 = time.perf_counter()
        try:
            infos = socket.getaddrinfo(host, self.port, allowed_gai_family(), socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise NameResolutionError(self.host, self, e) from e  # type: ignore[arg-type]
        t1 = time.perf_counter()
        self._sw_dns_ms = (t1 - t0) * 1000.0
        err: OSError | None = None
        for af, socktype, proto, _canon, sa in infos:
            sock = None
            try:
                sock = socket.socket(af, socktype, proto)
                self._sw_pending_sock = sock  # lets abort() reach a socket still connecting
                for opt in self.socket_options or ():
                    sock.setsockopt(*opt)
                if isinstance(self.timeout, int | float):
                    sock.settimeout(self.timeout)
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect(sa)
                self._sw_connect_ms = (time.perf_counter() - t1) * 1000.0
                return sock
            except OSError as e:
                err = e
                if sock is not None:
                    sock.close()
        if isinstance(err, TimeoutError | socket.timeout):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from err
        raise NewConnectionError(
            self,  # type: ignore[arg-type]
            f"Failed to establish a new connection: {err or 'no address'}",
        ) from err

    def connect(self) -> None:
        self._sw_fresh: ConnTiming | None = None
        reg = type(self).registry
        if reg is not None:
            reg.add(self)
        t0 = time.perf_counter()
        super().connect()  # type: ignore[misc]
        self._sw_pending_sock = None
        total = (time.perf_counter() - t0) * 1000.0
        dns = getattr(self, "_sw_dns_ms", None)
        tcp = getattr(self, "_sw_connect_ms", None)
        tls = None
        if isinstance(self, HTTPSConnection):
            tls = max(0.0, total - (dns or 0.0) - (tcp or 0.0))
        self._sw_fresh = ConnTiming(dns, tcp, tls)

    def take_fresh_timing(self) -> ConnTiming | None:
        """Timing of the connect made for the current request, or None if reused."""
        t = getattr(self, "_sw_fresh", None)
        self._sw_fresh = None
        return t

    def abort(self) -> None:
        """Shut the socket down so that a blocked read/write returns immediately."""
        sock = getattr(self, "sock", None) or getattr(self, "_sw_pending_sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class TimedHTTPConnection(_TimingMixin, HTTPConnection):
    """Plain-HTTP connection with set-up timing."""


class TimedHTTPSConnection(_TimingMixin, HTTPSConnection):
    """HTTPS connection with set-up timing (TLS = connect() total - DNS - TCP)."""


class TimedAdapter(HTTPAdapter):
    """HTTPAdapter whose pools use timed connections; annotates responses.

    Each response gets ``sw_timing`` (:class:`ConnTiming` or None) and
    ``sw_reused`` (bool) attributes.
    """

    def __init__(self, registry: weakref.WeakSet[Any], **kw: Any) -> None:
        self._registry = registry
        attrs = {"registry": registry}
        http_conn = type("SwHTTPConnection", (TimedHTTPConnection,), attrs)
        https_conn = type("SwHTTPSConnection", (TimedHTTPSConnection,), attrs)
        self._pool_classes = {
            "http": type("SwHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("SwHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }
        super().__init__(**kw)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self._pool_classes
        return manager

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        resp = super().send(request, **kwargs)
        raw = resp.raw
        conn = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
        timing = conn.take_fresh_timing() if isinstance(conn, _TimingMixin) else None
        resp.sw_timing = timing  # type: ignore[attr-defined]
        resp.sw_reused = conn is not None and timing is None  # type: ignore[attr-defined]
        return resp


# --------------------------------------------------------------------------------------
# Fetcher and Transfer
# --------------------------------------------------------------------------------------
def describe_error(exc: BaseException) -> str:
    """Short human-readable reason for a requests/urllib3/socket exception."""
    text = str(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError):
        return "read timeout"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if "NameResolutionError" in text or "Name or service not known" in text:
        return "DNS lookup failed"
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(exc, urllib3.exceptions.ProtocolError | requests.exceptions.ChunkedEncodingError):
        return "connection cut mid-transfer"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    return f"{type(exc).__name__}: {text[:200]}"


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
        resumes = 0
        while True:
            if expected is not None and self.received >= expected:
                self._eof = True
                return
            self.waiting_since = time.monotonic()
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
                now = time.monotonic()
                if self._first_byte_at is None:
                    self._first_byte_at = now
                    self._set_ttfb(now)
                self._last_byte_at = now
                self.received += len(data)
                self.fetch.bytes = self.received
                yield data
                continue
            if err is None and (expected is None or self.received >= expected):
                self._eof = True
                return  # normal end of body
            reason = describe_error(err) if err else "connection closed before the end of the body"
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
        log.info("resuming %s at byte %d (%s)", self.url, at, reason)
        resp, _t0, retries = self._fetcher._request_with_retries(self.url, "GET", headers)
        self.fetch.retries += retries
        self._resp = resp
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
                raise FetchFailed(self.url, f"resume failed: {describe_error(e)}") from e
            if not data:
                raise FetchFailed(self.url, "resume failed: body shorter than before")
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
        resp = self._resp
        conn = getattr(getattr(resp, "raw", None), "connection", None)
        if isinstance(conn, _TimingMixin):
            conn.abort()

    def read_all(self, limit: int = MAX_TEXT_BYTES) -> bytes:
        """The whole body (for playlists); FetchFailed beyond ``limit`` bytes."""
        parts: list[bytes] = []
        n = 0
        for c in self.chunks():
            n += len(c)
            if n > limit:
                raise FetchFailed(self.url, f"body larger than {limit} bytes")
            parts.append(c)
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
                conn = getattr(resp.raw, "connection", None)
                if isinstance(conn, _TimingMixin):
                    conn.abort()
                resp.close()
        except Exception:  # closing a broken response must never raise
            log.debug("error closing response", exc_info=True)

    def close(self, error: str | None = None) -> Fetch:
        """Release the connection and finish the :class:`Fetch` record (idempotent)."""
        if self._closed:
            return self.fetch
        self._closed = True
        complete = self._eof or self.method == "HEAD" or self.content_length == 0
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


def _int_header(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


class Fetcher:
    """A requests.Session with timing, retries, resume and abort (see module doc)."""

    def __init__(
        self,
        *,
        on_event: EventSink | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
        max_retries: int = MAX_RETRIES,
        max_resumes: int = MAX_RESUMES,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        verify: bool | str = True,
        trust_env: bool = True,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.on_event = on_event
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.max_resumes = max_resumes
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._stop = threading.Event()
        self._registry: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._open: set[Transfer] = set()
        self.session = requests.Session()
        self.session.trust_env = trust_env
        self.session.verify = verify
        # passed per request too: REQUESTS_CA_BUNDLE in the environment would override
        # a session-level setting
        self.verify = verify
        self.session.headers.update({"User-Agent": user_agent, "Accept-Encoding": "identity"})
        adapter = TimedAdapter(self._registry, max_retries=0, pool_maxsize=POOL_MAXSIZE)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _emit(self, event: object) -> None:
        cb = self.on_event
        if cb is None:
            return
        try:
            cb(event)
        except Exception:  # a consumer bug must not break a transfer
            log.exception("on_event callback failed for %r", event)

    def backoff(self, attempt: int) -> float:
        """Delay before retry ``attempt`` (1-based): base * 2**(attempt-1), capped."""
        return min(self.backoff_max_s, self.backoff_base_s * (2 ** (attempt - 1)))

    def _request_with_retries(
        self, url: str, method: str, headers: dict[str, str]
    ) -> tuple[requests.Response, float, int]:
        """Send until a non-retryable answer; returns (response, attempt start, retries)."""
        attempt = 0
        while True:
            if self.stopping:
                raise FetchAborted(url)
            t0 = time.monotonic()
            status: int | None = None
            try:
                resp = self.session.request(
                    method,
                    url,
                    headers=headers,
                    stream=True,
                    timeout=self.timeout,
                    allow_redirects=True,
                    verify=self.verify,
                )
            except requests.exceptions.RequestException as e:
                if self.stopping:
                    raise FetchAborted(url) from e
                reason = describe_error(e)
                if isinstance(e, requests.exceptions.SSLError | requests.exceptions.InvalidURL):
                    raise FetchFailed(url, reason) from e  # permanent: do not retry
            else:
                if resp.status_code not in RETRY_STATUSES:
                    return resp, t0, attempt
                status = resp.status_code
                reason = f"HTTP {status} {resp.reason or ''}".strip()
                resp.close()
            attempt += 1
            if attempt > self.max_retries:
                raise FetchFailed(url, f"{reason} (after {attempt} attempts)", status)
            delay = self.backoff(attempt)
            log.info("retrying %s in %.2f s (attempt %d): %s", url, delay, attempt, reason)
            self._emit(Retrying(url, attempt, reason, delay))
            if self._stop.wait(delay):
                raise FetchAborted(url)

    def open(
        self,
        url: str,
        kind: FetchKind,
        *,
        method: str = "GET",
        range_start: int | None = None,
        range_end: int | None = None,
        headers: Mapping[str, str] | None = None,
        rendition_bitrate_bps: int | None = None,
        media_sequence: int | None = None,
        media_duration_s: float | None = None,
    ) -> Transfer:
        """Send the request (with retries) and return the open :class:`Transfer`.

        Any final HTTP status (including 4xx) is returned; only network failures and
        retryable statuses that outlast the retries raise :class:`FetchFailed` (with
        the failed :class:`Fetch` as ``exc.fetch``).
        """
        hdrs = dict(headers or {})
        if range_start is not None or range_end is not None:
            start = "" if range_start is None else str(range_start)
            end = "" if range_end is None else str(range_end)
            hdrs["Range"] = f"bytes={start}-{end}"
        fetch = Fetch(
            url=url,
            kind=kind,
            started_at=time.monotonic(),
            host=urlsplit(url).hostname or "",
            rendition_bitrate_bps=rendition_bitrate_bps,
            media_sequence=media_sequence,
            media_duration_s=media_duration_s,
        )
        try:
            resp, t0, retries = self._request_with_retries(url, method, hdrs)
        except FetchFailed as e:
            fetch.error = e.reason
            fetch.status = e.status
            fetch.retries = self.max_retries
            fetch.finished_at = time.monotonic()
            e.fetch = fetch
            raise
        fetch.retries = retries
        fetch.status = resp.status_code
        timing: ConnTiming | None = getattr(resp, "sw_timing", None)
        fetch.reused_connection = bool(getattr(resp, "sw_reused", False))
        if timing is not None:
            fetch.dns_ms, fetch.connect_ms, fetch.tls_ms = (
                timing.dns_ms,
                timing.connect_ms,
                timing.tls_ms,
            )
        tr = Transfer(self, url, method, resp, fetch, t0, hdrs, range_start, range_end)
        with self._lock:
            self._open.add(tr)
        return tr

    def get_bytes(
        self, url: str, kind: FetchKind = FetchKind.PLAYLIST, **kw: Any
    ) -> tuple[bytes, Transfer]:
        """Fetch a whole (small) body; returns ``(body, closed transfer)``."""
        tr = self.open(url, kind, **kw)
        try:
            body = tr.read_all() if tr.ok else b""
        except BaseException as e:
            tr.close(error=describe_error(e) if not isinstance(e, FetchFailed) else e.reason)
            raise
        tr.close()
        return body, tr

    def _unregister(self, tr: Transfer) -> None:
        with self._lock:
            self._open.discard(tr)

    def abort_all(self) -> None:
        """Stop: fail pending retries and wake every blocked socket operation."""
        self._stop.set()
        for conn in list(self._registry):
            conn.abort()

    def close(self) -> None:
        """Abort everything and close the session."""
        self.abort_all()
        try:
            self.session.close()
        except Exception:
            log.debug("session close failed", exc_info=True)
