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
taxonomy's (:func:`player.net.errors.classify`). *Every* failure of a request, whatever
it raises, comes out of :meth:`Fetcher.open` as :class:`FetchFailed` (or
:class:`FetchAborted` when stopping), so the gateway's own error path (a note, the
segment skipped) always handles it.

Security (see :mod:`player.net.url_policy`):

* redirects are followed here, not by requests: at most :data:`MAX_REDIRECTS` per
  request, each ``Location`` checked (http/https only, never https to http, malformed
  ones refused), and a redirect loop is not retried (at most ``MAX_REDIRECTS + 1``
  requests);
* every connection is checked against the request's address policy (address classes,
  DNS rebinding) by :mod:`player.net.timing`'s connections: ``open(policy=...)``, else
  the enclosing :func:`~player.net.timing.policy_scope` (the gateway sets one per
  session for every request it serves), else :attr:`Fetcher.policy`;
* nothing comes from the environment: ``trust_env`` is False, so no ``~/.netrc``
  credentials are ever sent and no ``*_proxy`` variables are used (a proxy would resolve
  names itself, which would defeat the address check);
* certificates are verified for every request, except a request (or redirect hop) to an
  origin the viewer exempted (:class:`~player.net.tls_policy.TlsExemptions`): the choice is
  made per hop, never for the session, and each exempted origin used is reported once as
  :class:`~player.net.events.CertificateNotVerified`.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from player.core.model import Fetch, FetchKind
from player.core.redact import loggable
from player.core.wording.errors import http_reason
from player.net.errors import ErrorKind, classify
from player.net.events import CertificateNotVerified, EventSink, Retrying
from player.net.timing import (
    ConnTiming,
    PolicyHolder,
    TimedAdapter,
    abort_connection_of,
    policy_scope,
    scoped_policy,
)
from player.net.tls_policy import TlsExemptions
from player.net.transfer import FetchAborted, FetchFailed, Transfer
from player.net.url_policy import AddressPolicy, AddressRefused, check_redirect

__all__ = ["FetchAborted", "FetchFailed", "Fetcher", "Transfer", "plain_session", "send_following"]

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
#: failures a retry cannot fix (the same handshake, URL or redirect chain fails the same
#: way again)
PERMANENT_KINDS = frozenset({ErrorKind.TLS, ErrorKind.INVALID_URL, ErrorKind.REDIRECT_LOOP})
#: Redirects followed per request. Browsers allow about 20; real CDNs use one or two (a
#: geo or token redirect), and every hop is a round trip VLC waits for.
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: A redirect's body up to this size is read so that its connection can be reused.
REDIRECT_BODY_MAX = 64 * 1024


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
        user_agent: str = USER_AGENT,
        tls: TlsExemptions | None = None,
    ) -> None:
        """``verify``: requests' verification for every request (True, or a CA bundle);
        ``tls``: the origins the viewer exempted from it (None: none)."""
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
        self._holder = PolicyHolder()
        self.session = _Session()
        # no ~/.netrc credentials, no *_proxy / REQUESTS_CA_BUNDLE from the environment
        self.session.trust_env = False
        self.session.verify = verify
        # passed per request too: REQUESTS_CA_BUNDLE in the environment would override
        # a session-level setting
        self.verify = verify
        self.tls = tls
        self._unverified_seen: set[str] = set()  # exempted origins reported so far
        self.session.headers.update({"User-Agent": user_agent, "Accept-Encoding": "identity"})
        adapter = TimedAdapter(
            self._registry, self._holder, max_retries=0, pool_maxsize=POOL_MAXSIZE
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def policy(self) -> AddressPolicy | None:
        """The address policy every connection is checked against (None: unrestricted)."""
        return self._holder.policy

    @policy.setter
    def policy(self, policy: AddressPolicy | None) -> None:
        self._holder.policy = policy

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

    def _send_following(self, url: str, method: str, headers: dict[str, str]) -> requests.Response:
        """One attempt: the request and the redirects it leads to (see module doc)."""
        return send_following(
            self.session,
            url,
            method,
            headers,
            timeout=self.timeout,
            verify=self.verify,
            stopping=self._stop,
            unverified=self._skips_verification,
        )

    def _skips_verification(self, url: str) -> bool:
        """Is ``url`` on an origin the viewer exempted? (Reported once per origin.)"""
        origin = self.tls.covers(url) if self.tls is not None else None
        if origin is None:
            return False
        with self._lock:
            first = origin.label not in self._unverified_seen
            self._unverified_seen.add(origin.label)
        if first:
            log.warning("not verifying the certificate of %s (exempted)", origin.label)
            self._emit(CertificateNotVerified(origin.label))
        return True

    def _request_with_retries(
        self,
        url: str,
        method: str,
        headers: dict[str, str],
        policy: AddressPolicy | None = None,
    ) -> tuple[requests.Response, float, int]:
        """Send until a non-retryable answer; returns (response, attempt start, retries).
        Every connection is checked against ``policy`` (None: the scope's / the default).

        Whatever goes wrong comes out as :class:`FetchFailed` (or :class:`FetchAborted`)."""
        with policy_scope(policy):
            return self._retrying(url, method, headers)

    def _retrying(
        self, url: str, method: str, headers: dict[str, str]
    ) -> tuple[requests.Response, float, int]:
        attempt = 0
        while True:
            if self.stopping:
                raise FetchAborted(url)
            t0 = time.monotonic()
            status: int | None = None
            try:
                resp = self._send_following(url, method, headers)
            except FetchAborted:
                raise
            except AddressRefused as e:
                raise _failed(url, e.reason, attempt) from e  # the policy said no: final
            except requests.exceptions.RequestException as e:
                if self.stopping:
                    raise FetchAborted(url) from e
                err = classify(e)
                reason = err.reason
                if err.kind in PERMANENT_KINDS:
                    raise _failed(url, reason, attempt) from e  # permanent: do not retry
            except Exception as e:  # anything else (a library's ValueError, ...): permanent
                if self.stopping:
                    raise FetchAborted(url) from e
                raise _failed(url, classify(e).reason, attempt) from e
            else:
                if resp.status_code not in RETRY_STATUSES:
                    return resp, t0, attempt
                status = resp.status_code
                reason = http_reason(status, resp.reason or "")
                resp.close()
            attempt += 1
            if attempt > self.max_retries:
                raise _failed(url, f"{reason} (after {attempt} attempts)", attempt - 1, status)
            delay = self.backoff(attempt)
            log.info(
                "retrying %s in %.2f s (attempt %d): %s", loggable(url), delay, attempt, reason
            )
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
        policy: AddressPolicy | None = None,
    ) -> Transfer:
        """Send the request (with retries) and return the open :class:`Transfer`.

        Every connection it makes or reuses (redirects and later Range resumes included)
        is checked against ``policy``; None: the policy of the enclosing
        :func:`~player.net.timing.policy_scope` (the gateway's, per session), else
        :attr:`policy`.

        Any final HTTP status (including 4xx) is returned; network failures and retryable
        statuses that outlast the retries, refused addresses and redirects, and any other
        error raise :class:`FetchFailed` (with the failed :class:`Fetch` as ``exc.fetch``).
        """
        policy = policy or scoped_policy() or self.policy
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
            resp, t0, retries = self._request_with_retries(url, method, hdrs, policy)
        except FetchFailed as e:
            fetch.error = e.reason
            fetch.status = e.status
            fetch.retries = e.retries if e.retries is not None else self.max_retries
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
        tr.policy = policy  # a Range resume is checked against the same policy
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


def send_following(
    session: requests.Session,
    url: str,
    method: str,
    headers: Mapping[str, str],
    *,
    timeout: float | tuple[float, float],
    verify: bool | str = True,
    stopping: threading.Event | None = None,
    unverified: Callable[[str], bool] | None = None,
) -> requests.Response:
    """``method url`` and the redirects it leads to, followed here (never by requests): at
    most :data:`MAX_REDIRECTS` hops, each ``Location`` checked by
    :func:`~player.net.url_policy.check_redirect` (:class:`AddressRefused` for a malformed,
    non-http(s) or https-to-http one; ``TooManyRedirects`` beyond the limit). The answer
    is streamed (``stream=True``). The Fetcher's and preflight's one redirect rule.

    ``verify`` applies to every hop except those ``unverified(hop_url)`` says the viewer
    exempted (:mod:`player.net.tls_policy`): decided per hop, so a redirect from an
    exempted origin to any other one is verified."""
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        if stopping is not None and stopping.is_set():
            raise FetchAborted(url)
        resp = session.request(
            method,
            current,
            headers=dict(headers),
            stream=True,
            timeout=timeout,
            allow_redirects=False,
            verify=False if unverified is not None and unverified(current) else verify,
        )
        location = resp.headers.get("Location")
        if resp.status_code not in REDIRECT_STATUSES or location is None:
            return resp
        status = resp.status_code
        _discard(resp)
        if hop == MAX_REDIRECTS:
            raise requests.exceptions.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")
        current = check_redirect(current, location)  # AddressRefused when unsafe
        if status == 303 and method != "HEAD":
            method = "GET"
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def plain_session() -> requests.Session:
    """A requests session like the Fetcher's for a one-off request (preflight): nothing
    from the environment, and redirects never parsed by requests (:func:`send_following`)."""
    s = _Session()
    s.trust_env = False
    return s


class _Session(requests.Session):
    """A requests session that never follows (nor even parses) a redirect: the fetcher
    does (requests would parse ``Location`` even with ``allow_redirects=False``)."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


def _failed(url: str, reason: str, retries: int, status: int | None = None) -> FetchFailed:
    e = FetchFailed(url, reason, status)
    e.retries = retries
    return e


def _discard(resp: requests.Response) -> None:
    """Drop a redirect answer: a small body is read so the connection can be reused."""
    try:
        length = int(resp.headers.get("Content-Length", "-1"))
        if 0 <= length <= REDIRECT_BODY_MAX:
            _ = resp.content  # read to the end: then close() gives the connection back
            resp.close()
        else:
            abort_connection_of(resp)
            resp.close()
    except Exception:  # a broken redirect answer: just drop its connection
        log.debug("discarding a redirect answer failed", exc_info=True)
        resp.close()
