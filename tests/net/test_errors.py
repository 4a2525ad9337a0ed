"""The one network-error taxonomy: exceptions as requests/urllib3 raise them -> kind -> words."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests
import urllib3

from player.core.wording.errors import ErrorKind, reason, sentence
from player.net.errors import classify, describe, http_status

URL = "http://media.example:8080/v.mp4"


def wrapped(inner: BaseException, outer: type[requests.RequestException]) -> BaseException:
    """``inner`` as requests delivers it: outer(MaxRetryError(reason=inner))."""
    return outer(urllib3.exceptions.MaxRetryError(None, "/v.mp4", inner))  # type: ignore[arg-type]


def refused() -> BaseException:
    err = urllib3.exceptions.NewConnectionError(
        None,  # type: ignore[arg-type]
        "Failed to establish a new connection: [Errno 111] Connection refused",
    )
    err.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return wrapped(err, requests.exceptions.ConnectionError)


def dns() -> BaseException:
    gai = socket.gaierror(-2, "Name or service not known")
    err = urllib3.exceptions.NameResolutionError("media.example", None, gai)  # type: ignore[arg-type]
    return wrapped(err, requests.exceptions.ConnectionError)


def tls() -> BaseException:
    cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cert.verify_message = "self-signed certificate"
    return requests.exceptions.SSLError(urllib3.exceptions.SSLError(cert))


@pytest.mark.parametrize(
    ("make", "kind", "short"),
    [
        (refused, ErrorKind.REFUSED, "connection refused"),
        (dns, ErrorKind.DNS, "DNS lookup failed"),
        (tls, ErrorKind.TLS, "TLS error"),
        (lambda: requests.exceptions.ConnectTimeout("x"), ErrorKind.CONNECT_TIMEOUT, "connect timeout"),
        (lambda: requests.exceptions.ReadTimeout("x"), ErrorKind.READ_TIMEOUT, "read timeout"),
        # body reads inside requests' iter_content: a urllib3 read timeout in a ConnectionError
        (
            lambda: requests.exceptions.ConnectionError(
                urllib3.exceptions.ReadTimeoutError(None, "/v.mp4", "Read timed out.")  # type: ignore[arg-type]
            ),
            ErrorKind.READ_TIMEOUT,
            "read timeout",
        ),
        (lambda: TimeoutError("timed out"), ErrorKind.TIMEOUT, "timeout"),
        (
            lambda: urllib3.exceptions.ProtocolError("Connection broken", ConnectionResetError()),
            ErrorKind.CUT,
            "connection cut mid-transfer",
        ),
        (
            lambda: requests.exceptions.ConnectionError(
                urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104))
            ),
            ErrorKind.RESET,
            "connection reset",
        ),
        (lambda: requests.exceptions.TooManyRedirects("x"), ErrorKind.REDIRECT_LOOP, "redirect loop"),
        (lambda: requests.exceptions.InvalidURL("x"), ErrorKind.INVALID_URL, "invalid address"),
        (lambda: ValueError("odd"), ErrorKind.OTHER, "ValueError: odd"),
    ],
)
def test_classify(make: object, kind: ErrorKind, short: str) -> None:
    exc = make()  # type: ignore[operator]
    assert classify(exc).kind is kind
    assert describe(exc) == short


def test_viewer_sentences_name_the_host_and_the_detail() -> None:
    assert classify(dns()).sentence(URL) == (
        "Could not find the server media.example (DNS lookup failed)."
    )
    assert classify(refused()).sentence(URL) == (
        "The server media.example refused the connection on port 8080."
    )
    assert classify(tls()).sentence(URL) == (
        "The secure connection to media.example failed: certificate: self-signed certificate."
    )
    slow = classify(requests.exceptions.ReadTimeout("x")).sentence(URL, 0.5)
    assert slow == "The server media.example accepted the connection but sent nothing within 0.5 s."
    assert classify(ValueError("odd")).sentence(URL) == "Could not reach media.example: ValueError."


def test_http_status_words() -> None:
    assert http_status(404).reason == "HTTP 404 Not Found"
    assert http_status(404).sentence(URL) == "The server answered 404 Not Found."
    assert http_status(599, "Odd").sentence(URL) == "The server answered 599 Odd."
    assert http_status(599).sentence(URL) == "The server answered 599."
    assert reason(ErrorKind.HTTP_STATUS, "", status=503) == "HTTP 503"


def test_tls_detail_says_handshake_or_certificate() -> None:
    assert sentence(ErrorKind.TLS, "h", detail="wrong version number") == (
        "The secure connection to h failed: handshake: wrong version number."
    )
    assert sentence(ErrorKind.TLS, "h", detail="certificate has expired").endswith(
        "failed: certificate has expired."
    )
