"""Timed HTTP fetching with requests: one Fetch record per fetch, retries, resume, abort.

Connection set-up timing (DNS / connect / TLS, reuse) comes from
:class:`~player.net.timing.TimedAdapter`; the body is read by a
:class:`~player.net.transfer.Transfer` (TTFB, transfer time, resume). :class:`Fetcher`
adds what the gateway needs on top:

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

Failure reasons and which failures are permanent (not retried) are the network-error
taxonomy's (:func:`player.net.errors.classify`).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from player.core.model import Fetch, FetchKind
from player.core.wording.errors import http_reason
from player.net.errors import ErrorKind, classify
from player.net.events import EventSink, Retrying
from player.net.timing import ConnTiming, TimedAdapter
from player.net.transfer import FetchAborted, FetchFailed, Transfer

__all__ = ["FetchAborted", "FetchFailed", "Fetcher", "Transfer"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0  # longest silence (headers or body) before a retry / resume
MAX_RETRIES = 3  # extra attempts after the first, per request
MAX_RESUMES = 5  # Range resumes after cuts, per fetch
BACKOFF_BASE_S = 0.25  # 0.25, 0.5, 1.0, ... capped at BACKOFF_MAX_S
BACKOFF_MAX_S = 2.0
POOL_MAXSIZE = 8
USER_AGENT = "Stallwatch/0.1 (+python-requests)"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: failures a retry cannot fix (the same handshake or URL fails the same way again)
PERMANENT_KINDS = frozenset({ErrorKind.TLS, ErrorKind.INVALID_URL})


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
                err = classify(e)
                reason = err.reason
                if err.kind in PERMANENT_KINDS:
                    raise FetchFailed(url, reason) from e  # permanent: do not retry
            else:
                if resp.status_code not in RETRY_STATUSES:
                    return resp, t0, attempt
                status = resp.status_code
                reason = http_reason(status, resp.reason or "")
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
            tr.close(error=classify(e).reason if not isinstance(e, FetchFailed) else e.reason)
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
