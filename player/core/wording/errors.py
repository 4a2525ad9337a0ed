"""Network failures and bad input in words: the error taxonomy's kinds, reasons and sentences.

Pure: the network layer classifies an exception into an :class:`ErrorKind` plus a *safe*
detail (a TLS verification message, an exception type name, an HTTP status phrase; never
a gateway URL, secret or session id), and these functions turn that into words:

- :func:`reason`: a short lower-case reason for fetch records, events and notes
  ("read timeout", "DNS lookup failed", "HTTP 503 Service Unavailable");
- :func:`sentence`: the viewer's sentence when an address cannot be played
  ("Could not find the server example.invalid (DNS lookup failed).");
- the bad-input sentences of preflight (not http(s), no such file, a web page, ...).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """What went wrong on the way to a server (one taxonomy for fetch, gateway, preflight)."""

    DNS = "dns"  # the server's name did not resolve
    TLS = "tls"  # handshake or certificate failure
    CONNECT_TIMEOUT = "connect-timeout"  # no TCP connection within the connect timeout
    READ_TIMEOUT = "read-timeout"  # connected, then silence longer than the read timeout
    TIMEOUT = "timeout"  # a bare socket timeout (connect or read not known)
    REFUSED = "refused"  # nothing listens on that port
    CUT = "cut"  # the body stopped mid-transfer
    RESET = "reset"  # the connection was reset
    REDIRECT_LOOP = "redirect-loop"
    INVALID_URL = "invalid-url"
    HTTP_STATUS = "http-status"  # the server answered, with an error status
    OTHER = "other"


_REASONS = {
    ErrorKind.DNS: "DNS lookup failed",
    ErrorKind.TLS: "TLS error",
    ErrorKind.CONNECT_TIMEOUT: "connect timeout",
    ErrorKind.READ_TIMEOUT: "read timeout",
    ErrorKind.TIMEOUT: "timeout",
    ErrorKind.REFUSED: "connection refused",
    ErrorKind.CUT: "connection cut mid-transfer",
    ErrorKind.RESET: "connection reset",
    ErrorKind.REDIRECT_LOOP: "redirect loop",
    ErrorKind.INVALID_URL: "invalid address",
}


def http_reason(status: int, phrase: str = "") -> str:
    """``"HTTP 404"`` or ``"HTTP 503 Service Unavailable"``."""
    return f"HTTP {status} {phrase or ''}".strip()


def reason(
    kind: ErrorKind, detail: str = "", name: str = "", status: int | None = None
) -> str:
    """The short reason for a failure of ``kind`` (see module doc).

    ``detail`` is the safe detail (for OTHER: the exception's text; for HTTP_STATUS: the
    status phrase), ``name`` the exception's type name, ``status`` the HTTP status.
    """
    if kind is ErrorKind.HTTP_STATUS and status is not None:
        return http_reason(status, detail)
    if kind in _REASONS:
        return _REASONS[kind]
    if name:
        return f"{name}: {detail}" if detail else name
    return detail or "network error"


def _tls_detail(detail: str) -> str:
    if "certificate" not in detail.lower():
        return f"handshake: {detail}"
    return detail if detail.lower().startswith("certificate") else f"certificate: {detail}"


def _seconds(timeout_s: float | None) -> str:
    return f"within {timeout_s:g} s" if timeout_s is not None else "in time"


def sentence(
    kind: ErrorKind,
    host: str,
    *,
    detail: str = "",
    name: str = "",
    status: int | None = None,
    port: int | None = None,
    timeout_s: float | None = None,
    url: str = "",
) -> str:
    """The viewer's sentence for a failure of ``kind`` to reach ``host`` (see module doc)."""
    if kind is ErrorKind.DNS:
        return f"Could not find the server {host} (DNS lookup failed)."
    if kind is ErrorKind.TLS:
        return f"The secure connection to {host} failed: {_tls_detail(detail)}."
    if kind is ErrorKind.CONNECT_TIMEOUT:
        return f"The server {host} did not answer {_seconds(timeout_s)} (connection timed out)."
    if kind in (ErrorKind.READ_TIMEOUT, ErrorKind.TIMEOUT):
        return f"The server {host} accepted the connection but sent nothing {_seconds(timeout_s)}."
    if kind is ErrorKind.REFUSED:
        where = f" on port {port}" if port else ""
        return f"The server {host} refused the connection{where}."
    if kind is ErrorKind.RESET:
        return f"The connection to {host} was reset."
    if kind is ErrorKind.CUT:
        return f"The connection to {host} was cut before the end of the answer."
    if kind is ErrorKind.REDIRECT_LOOP:
        return f"The server {host} redirects in a loop."
    if kind is ErrorKind.INVALID_URL:
        return invalid_address(url or host)
    if kind is ErrorKind.HTTP_STATUS and status is not None:
        return f"The server answered {status} {detail}".rstrip() + "."
    return f"Could not reach {host}: {name or 'network error'}."


# --------------------------------------------------------------------------------------
# bad input (preflight)
# --------------------------------------------------------------------------------------
def unsupported_scheme(scheme: str) -> str:
    return f"Cannot play {scheme}: addresses; use http(s) or a file."


def invalid_address(url: str) -> str:
    return f"{url} is not a valid address."


def no_such_file(path: str) -> str:
    return f"The file {path} does not exist."


def not_a_file(path: str) -> str:
    return f"{path} is not a file."


def unreadable_file(path: str, why: str) -> str:
    return f"Cannot read {path}: {why}."


def fake_hls(what: str) -> str:
    """A body served as an HLS playlist that is not one."""
    return f"{what} claims to be an HLS playlist but does not start with #EXTM3U."


def web_page(what: str) -> str:
    return f"{what} is a web page, not a video."


def text_document(what: str) -> str:
    return f"{what} is a text document, not a video."


def empty(what: str) -> str:
    return f"{what} is empty."
