"""What the player keeps and logs of a URL: safe_url, without_credentials."""

from __future__ import annotations

import pytest

from player.core.redact import (
    loggable,
    redact_urls_in_text,
    safe_url,
    without_credentials,
)


@pytest.mark.parametrize(
    ("url", "kept", "logged"),
    [
        ("https://u:p@cdn.example:8443/v/a9f3c2e1b7d4e5f6a7b8c9d0/i.m3u8?sig=1&id=42#x",
         "https://cdn.example:8443/v/…/i.m3u8?id=42", "https://cdn.example:8443/v/…/i.m3u8"),
        ("http://127.0.0.1:8000/hls/master.m3u8", "http://127.0.0.1:8000/hls/master.m3u8",
         "http://127.0.0.1:8000/hls/master.m3u8"),
        ("http://[::1]:80/a?token=zz&Expires=1&Key-Pair-Id=K&Policy=P", "http://[::1]:80/a",
         "http://[::1]:80/a"),
        ("https://s3.example/b/k.mp4?X-Amz-Credential=a&X-Amz-Date=2&lang=en",
         "https://s3.example/b/k.mp4?lang=en", "https://s3.example/b/k.mp4"),
        ("/home/me/My Videos/a?b.mp4", "/home/me/My Videos/a?b.mp4", "/home/me/My Videos/a?b.mp4"),
    ],
)  # fmt: skip
def test_safe_url(url: str, kept: str, logged: str) -> None:
    assert safe_url(url, keep_query=True) == kept
    assert loggable(url) == logged


def test_without_credentials() -> None:
    assert without_credentials("see http://bob:pw@h.example/x, https://a@b.example") == (
        "see http://h.example/x, https://b.example"
    )


@pytest.mark.parametrize(
    "query",
    [
        "__token__=exp=1~hmac=abc",  # Akamai
        "hdnts=exp%3D1~hmac%3Dabc",
        "X-Amz-Signature=abc",
        "Signature=abc",
        "auth_key=abc",
        "authKey=abc",
        "wmsAuthSign=abc",
        "sessionid=abc",
        "PHPSESSID=abc",
        "api-key=abc",
        "Expires=abc",
        "hmac=abc",
        "client_secret=abc",
        "passcode=abc",
        "st=abc",
        "e=abc",
    ],
)
def test_secret_query_parameters_never_survive(query: str) -> None:
    url = f"https://cdn.example/v/i.m3u8?lang=en&{query}&q=720"
    assert safe_url(url, keep_query=True) == "https://cdn.example/v/i.m3u8?lang=en&q=720"


def test_redact_urls_in_text_is_the_log_policy() -> None:
    line = (
        "GET http://bob:pw@127.0.0.1:9/Zx81kq93LmPq20aaQxx/a.ts?__token__=exp=1~hmac=abc failed"
        "; see https://cdn.example/i.m3u8#frag"
    )
    assert redact_urls_in_text(line) == (
        "GET http://127.0.0.1:9/…/a.ts failed; see https://cdn.example/i.m3u8"
    )
    assert redact_urls_in_text("no url here") == "no url here"


def test_an_encoded_secret_name_is_still_secret() -> None:
    assert safe_url("https://h.example/a?%5F%5Ftoken%5F%5F=x&Auth+Key=y&a=1", keep_query=True) == (
        "https://h.example/a?a=1"
    )
