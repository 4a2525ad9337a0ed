"""Preflight: is this URL something we can play? Classify failures for humans.

:func:`preflight` is blocking (the caller runs it in a worker thread). It fetches the
first few KiB of the URL with requests and answers a :class:`PreflightResult`:
``kind`` is ``"hls"``, ``"dash"``, ``"progressive"`` or ``"unknown"``, and ``message``
is a sentence for the viewer when something is wrong, e.g. "Could not find the
server example.invalid", "The server answered 404 Not Found", "… is a web page, not
a video".
"""

from __future__ import annotations

import dataclasses
import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from player.core.redact import loggable
from player.core.wording import errors as words
from player.net import sniff as sniffer
from player.net.errors import ErrorKind, classify, http_status
from player.net.fetch import plain_session, send_following
from player.net.timing import policy_adapter
from player.net.tls_policy import TlsExemptions, TlsOrigin
from player.net.url_policy import AddressPolicy, AddressRefused

log = logging.getLogger(__name__)

PREFLIGHT_TIMEOUT_S = 8.0
SNIFF_BYTES = sniffer.SNIFF_CHARS  # the start of the body that decides what it is
USER_AGENT = "Stallwatch/0.1 (+python-requests)"

VIDEO_EXTENSIONS = {
    ".mp4",
    ".m4v",
    ".mov",
    ".mkv",
    ".webm",
    ".ts",
    ".avi",
    ".flv",
    ".ogv",
    ".mpg",
    ".mpeg",
}


#: Failures after the connection was accepted: the server is slow, not the input bad.
_SLOW = (ErrorKind.READ_TIMEOUT, ErrorKind.TIMEOUT)


@dataclass(frozen=True, slots=True)
class PreflightResult:
    """Outcome of :func:`preflight`."""

    ok: bool
    kind: str  # "hls" | "dash" | "progressive" | "unknown"
    message: str
    status: int | None = None
    content_type: str | None = None
    final_url: str | None = None
    #: ``https://host:port`` whose certificate failed verification (the viewer may exempt
    #: exactly that origin: :mod:`player.net.tls_policy`); None for any other outcome
    tls_origin: str | None = None
    #: ``host:port`` of the exempted origins this check reached without verifying them
    unverified: tuple[str, ...] = ()


def describe_network_error(url: str, exc: BaseException, timeout: float) -> str:
    """A human sentence for a requests/urllib3 failure to reach ``url``."""
    return classify(exc).sentence(url, timeout)


def sniff(head: bytes, content_type: str, url: str) -> tuple[str, str | None]:
    """``(kind, problem)`` from the first bytes, the Content-Type and the URL.

    ``problem`` is a human sentence when the content is clearly not video.
    """
    ctype = (content_type or "").lower()
    text = head.decode("utf-8", errors="replace")
    kind = sniffer.manifest_kind(text, ctype)
    if kind == "hls" and not sniffer.is_hls_text(text):
        return "hls", words.fake_hls(url)
    if kind is not None:
        return kind, None
    if _is_media_signature(head):
        return "progressive", None
    stripped = text.lstrip("\ufeff \t\r\n").lower()
    if (
        "text/html" in ctype
        or stripped.startswith(("<!doctype html", "<html"))
        or "<html" in stripped[:512]
    ):
        return "unknown", words.web_page(url)
    if not head:  # the whole answer was empty, whatever its Content-Type says
        return "unknown", words.empty(url)
    if ctype.startswith(("video/", "audio/")) and not _looks_textual(head):
        return "progressive", None
    if ctype.startswith(("text/", "application/json", "application/xml")) or (
        head and _looks_textual(head)
    ):
        return "unknown", words.text_document(url)
    ext = Path(urllib.parse.urlsplit(url).path).suffix.lower()
    if ext in VIDEO_EXTENSIONS or ctype.startswith(
        ("video/", "audio/", "application/octet-stream")
    ):
        return "progressive", None
    return "unknown", None


def _is_media_signature(b: bytes) -> bool:
    if len(b) >= 8 and b[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"styp"):
        return True
    if len(b) >= 189 and b[0] == 0x47 and b[188] == 0x47:  # MPEG-TS sync bytes
        return True
    return b.startswith((b"\x1a\x45\xdf\xa3", b"FLV", b"OggS", b"ID3", b"fLaC")) or (
        b.startswith(b"RIFF") and b[8:12] in (b"AVI ", b"WAVE")
    )


def _looks_textual(b: bytes) -> bool:
    if not b:
        return False
    sample = b[:1024]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(sample) - 4:  # not just a cut multi-byte char at the end
            return False
    printable = sum(1 for c in sample if c in (9, 10, 13) or 32 <= c < 127 or c >= 128)
    return printable / len(sample) > 0.95


def preflight(
    url: str,
    timeout: float = PREFLIGHT_TIMEOUT_S,
    session: requests.Session | None = None,
    verify: bool | str = True,
    tls: TlsExemptions | None = None,
) -> PreflightResult:
    """Fetch the start of ``url`` and classify it (blocking; see module doc).

    Redirects are followed by the Fetcher's own loop (:func:`~player.net.fetch.send_following`:
    every hop checked, never https to http). ``verify``: certificate checking as requests
    takes it (a CA bundle path for tests); ``tls``: the origins the viewer exempted from it,
    decided per redirect hop (see :attr:`PreflightResult.tls_origin` and ``unverified``).
    Local paths and ``file://`` URLs are checked on disk.
    """
    used: list[str] = []

    def skip(hop_url: str) -> bool:  # the viewer's exception, decided per hop
        origin = tls.covers(hop_url) if tls is not None else None
        if origin is not None and origin.label not in used:
            used.append(origin.label)
        return origin is not None

    result = _preflight(url, timeout, session, verify, skip)
    return dataclasses.replace(result, unverified=tuple(used)) if used else result


def _preflight(
    url: str,
    timeout: float,
    session: requests.Session | None,
    verify: bool | str,
    skip: Callable[[str], bool],
) -> PreflightResult:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and url[1:3] in (":\\", ":/")):
        return _preflight_file(urllib.parse.unquote(parts.path) if scheme == "file" else url)
    if scheme not in ("http", "https"):
        return PreflightResult(False, "unknown", words.unsupported_scheme(scheme))
    if not parts.hostname:
        return PreflightResult(False, "unknown", words.invalid_address(url))
    own = session is None
    s = session or plain_session()  # no ~/.netrc credentials, no env proxies (as the Fetcher)
    if own:
        adapter = policy_adapter(AddressPolicy(url))  # a redirect hop: the gateway's rule
        s.mount("http://", adapter)
        s.mount("https://", adapter)
    try:
        try:
            # the Fetcher's own redirect loop: every hop checked (never https to http)
            resp = send_following(
                s,
                url,
                "GET",
                {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
                timeout=(timeout, timeout),
                verify=verify,
                unverified=skip,
            )
        except requests.exceptions.ReadTimeout as e:
            return _slow_answer(url, e, timeout)
        except AddressRefused as e:
            return PreflightResult(False, "unknown", e.reason)
        except (requests.exceptions.RequestException, ValueError) as e:  # ValueError: a
            # malformed redirect (requests parses Location with urlsplit)
            err = classify(e)
            log.info("preflight %s failed: %s", loggable(url), err.reason)
            hop = getattr(getattr(e, "request", None), "url", None) or url  # the failing hop
            tls_origin = TlsOrigin.of(hop) if err.kind is ErrorKind.TLS else None
            return PreflightResult(
                False,
                "unknown",
                err.sentence(hop if tls_origin is not None else url, timeout),
                tls_origin=tls_origin.url if tls_origin is not None else None,
            )
        with resp:
            ctype = resp.headers.get("Content-Type", "")
            if resp.status_code >= 400:
                return PreflightResult(
                    False,
                    "unknown",
                    http_status(resp.status_code, resp.reason).sentence(url),
                    resp.status_code,
                    ctype,
                    resp.url,
                )
            try:
                head = _read_head(resp)
            except requests.exceptions.RequestException as e:
                if classify(e).kind in _SLOW:
                    return _slow_answer(url, e, timeout, resp.status_code, ctype)
                return PreflightResult(
                    False,
                    "unknown",
                    describe_network_error(url, e, timeout),
                    resp.status_code,
                    ctype,
                )
            kind, problem = sniff(head, ctype, url)
            if problem:
                return PreflightResult(False, kind, problem, resp.status_code, ctype, resp.url)
            return PreflightResult(True, kind, "", resp.status_code, ctype, resp.url)
    finally:
        if own:
            s.close()


def _slow_answer(
    url: str, exc: BaseException, timeout: float, status: int | None = None, ctype: str = ""
) -> PreflightResult:
    """The server took the connection but is slow to answer: that is a congested or
    overloaded path, not bad input. Let playback start; the buffer model and the
    attribution judge what happens (the message says why the check was skipped)."""
    log.info("preflight %s: slow answer (%r); playing anyway", loggable(url), exc)
    return PreflightResult(
        True, "unknown", describe_network_error(url, exc, timeout), status, ctype
    )


def _read_head(resp: requests.Response) -> bytes:
    buf = b""
    for chunk in resp.iter_content(chunk_size=SNIFF_BYTES):
        buf += chunk
        if len(buf) >= SNIFF_BYTES:
            break
    return buf[:SNIFF_BYTES]


def _preflight_file(path: str) -> PreflightResult:
    p = Path(path).expanduser()
    if not p.exists():
        return PreflightResult(False, "unknown", words.no_such_file(str(p)))
    if not p.is_file():
        return PreflightResult(False, "unknown", words.not_a_file(str(p)))
    try:
        with p.open("rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as e:
        return PreflightResult(
            False, "unknown", words.unreadable_file(str(p), str(e.strerror or e))
        )
    kind, problem = sniff(head, "", str(p))
    if problem:
        return PreflightResult(False, kind, problem.replace(str(p), p.name, 1))
    return PreflightResult(True, kind, "")
