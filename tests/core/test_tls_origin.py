"""The certificate exception's scope: exactly https + host + port."""

from __future__ import annotations

import pytest

from player.core.tls_origin import TlsOrigin


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://Example.COM/video/master.m3u8?token=x", "example.com:443"),
        ("https://example.com:443/", "example.com:443"),
        ("https://192.168.1.20:8443/live.mpd", "192.168.1.20:8443"),
        ("https://[::1]:8443/x", "[::1]:8443"),
        ("https://user:secret@cdn.example.net:9443/a", "cdn.example.net:9443"),
    ],
)
def test_an_https_url_has_one_origin(url: str, label: str) -> None:
    origin = TlsOrigin.of(url)
    assert origin is not None and origin.label == label
    assert origin.url == f"https://{label}"
    assert "secret" not in origin.url and "token" not in origin.url


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/",
        "ftp://example.com/",
        "https:///nohost",
        "https://h:99999/",
        "nonsense",
        "",
    ],
)
def test_no_origin_without_https_and_a_host(url: str) -> None:
    assert TlsOrigin.of(url) is None


def test_another_port_or_host_is_another_origin() -> None:
    a = TlsOrigin.of("https://example.com/")
    assert a == TlsOrigin.of("https://EXAMPLE.com:443/other")
    assert a != TlsOrigin.of("https://example.com:8443/")
    assert a != TlsOrigin.of("https://www.example.com/")


@pytest.mark.parametrize(
    "url",
    ["https://[::1/x", "https://[example.com]/", "https://h:80a/", "https://h:0/", "https://:443/"],
)
def test_malformed_authorities_have_no_origin(url: str) -> None:
    assert TlsOrigin.of(url) is None
