"""The one network-error classifier: an exception or an HTTP status -> ErrorKind + safe detail.

Fetch records, gateway events and preflight's sentences all come from :func:`classify`
(the words live in :mod:`player.core.wording.errors`). Exceptions are looked at together
with everything they wrap (causes, contexts, urllib3 ``reason``, exception arguments),
because requests nests the interesting one several levels deep.
"""

from __future__ import annotations

import socket
import ssl
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus

import requests
import urllib3

from player.core.wording import errors as words
from player.core.wording.errors import ErrorKind

__all__ = ["ErrorKind", "NetError", "chain", "classify", "describe", "http_status"]

#: Exception text kept as the detail of an unclassified failure (characters).
MAX_DETAIL_CHARS = 200


@dataclass(frozen=True, slots=True)
class NetError:
    """A classified failure: its kind and the safe detail the wording may show."""

    kind: ErrorKind
    detail: str = ""  # TLS message, HTTP status phrase, or (OTHER) the exception's text
    name: str = ""  # exception type name ("" for an HTTP status)
    status: int | None = None  # HTTP_STATUS only

    @property
    def reason(self) -> str:
        """Short reason for fetch records and events ("read timeout", "HTTP 404", ...)."""
        return words.reason(self.kind, self.detail, self.name, self.status)

    def sentence(self, url: str, timeout_s: float | None = None) -> str:
        """The viewer's sentence for this failure to reach ``url``."""
        try:
            parts = urllib.parse.urlsplit(url)
            host, port = parts.hostname or url, parts.port
        except ValueError:
            host, port = url, None
        return words.sentence(
            self.kind,
            host,
            detail=self.detail,
            name=self.name,
            status=self.status,
            port=port,
            timeout_s=timeout_s,
            url=url,
        )


def chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (causes, contexts, urllib3 reasons, args)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        e = todo.pop()
        if e in seen:
            continue
        seen.append(e)
        for nxt in (e.__cause__, e.__context__, getattr(e, "reason", None)):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
        for a in e.args:
            if isinstance(a, BaseException):
                todo.append(a)
    return seen


def _any(found: list[BaseException], *types: type[BaseException]) -> bool:
    return any(isinstance(e, types) for e in found)


def _tls_detail(found: list[BaseException], exc: BaseException) -> str:
    for e in found:
        if isinstance(e, ssl.SSLCertVerificationError):
            return e.verify_message or str(e)
    return next((str(e) for e in found if isinstance(e, ssl.SSLError)), str(exc))


def classify(exc: BaseException) -> NetError:
    """The kind of a requests / urllib3 / socket failure (most specific first)."""
    found = chain(exc)
    text = " ".join(str(e) for e in found)
    name = type(exc).__name__
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema,
    ):
        return NetError(ErrorKind.INVALID_URL, name=name)
    if (
        _any(found, socket.gaierror, urllib3.exceptions.NameResolutionError)
        or "NameResolutionError" in text
        or "Name or service not known" in text
        or "Failed to resolve" in text
    ):
        return NetError(ErrorKind.DNS, name=name)
    if isinstance(exc, requests.exceptions.SSLError) or _any(found, ssl.SSLError):
        return NetError(ErrorKind.TLS, _tls_detail(found, exc), name)
    if _any(found, requests.exceptions.ConnectTimeout) or any(
        # urllib3's NewConnectionError (refused, unreachable) subclasses ConnectTimeoutError
        isinstance(e, urllib3.exceptions.ConnectTimeoutError)
        and not isinstance(e, urllib3.exceptions.NewConnectionError)
        for e in found
    ):
        return NetError(ErrorKind.CONNECT_TIMEOUT, name=name)
    if _any(found, requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError):
        return NetError(ErrorKind.READ_TIMEOUT, name=name)
    if _any(found, TimeoutError, socket.timeout):
        return NetError(ErrorKind.TIMEOUT, name=name)
    if _any(found, ConnectionRefusedError) or "Connection refused" in text:
        return NetError(ErrorKind.REFUSED, name=name)
    # a body that broke off (the exception itself: a wrapped ProtocolError can also be a
    # connection that closed before any answer, which is not "mid-transfer")
    if isinstance(exc, urllib3.exceptions.ProtocolError | requests.exceptions.ChunkedEncodingError):
        return NetError(ErrorKind.CUT, name=name)
    if _any(found, ConnectionResetError) or "connection reset" in text.lower():
        return NetError(ErrorKind.RESET, name=name)
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return NetError(ErrorKind.REDIRECT_LOOP, name=name)
    return NetError(ErrorKind.OTHER, str(exc)[:MAX_DETAIL_CHARS], name)


def describe(exc: BaseException) -> str:
    """Short reason for a requests/urllib3/socket exception (``classify(exc).reason``)."""
    return classify(exc).reason


def http_status(status: int, phrase: str | None = None) -> NetError:
    """An HTTP error answer; ``phrase`` is the server's reason phrase (or the standard one)."""
    if not phrase:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
    return NetError(ErrorKind.HTTP_STATUS, phrase, status=status)
