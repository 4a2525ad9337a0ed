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


@pytest.mark.parametrize(
    "url",
    [
        "https://h:²/",  # str.isdigit() says yes, int() says no
        "https://h:٤٤٣/",  # Arabic-Indic digits: int() would read 443
        "https://h:" + "1" * 5000 + "/",  # int() of 5000 digits raises ValueError
        "https://h:065535/",  # six digits
        "https://h:65536/",
    ],
)
def test_a_port_is_one_to_five_ascii_digits(url: str) -> None:
    assert TlsOrigin.of(url) is None


def test_a_five_digit_port_and_leading_zeros() -> None:
    assert TlsOrigin.of("https://h:65535/") == TlsOrigin("h", 65535)
    assert TlsOrigin.of("https://h:08443/") == TlsOrigin("h", 8443)


def test_a_unicode_host_is_kept_in_its_idna_form() -> None:
    # the form urllib3 connects to (and names in its warnings): xn--bcher-kva.example
    unicode = TlsOrigin.of("https://Bücher.example:8443/live/master.m3u8")
    assert unicode == TlsOrigin("xn--bcher-kva.example", 8443)
    assert unicode == TlsOrigin.of("https://BÜCHER.EXAMPLE:8443/")
    assert unicode == TlsOrigin.of("https://xn--bcher-kva.example:8443/")
    assert unicode == TlsOrigin("bücher.example", 8443)  # built directly: encoded too
    assert unicode.label == "xn--bcher-kva.example:8443"
    assert TlsOrigin.of("https://例え.jp/").host == "xn--r8jz45g.jp"  # only that label encoded
    assert TlsOrigin.of("https://bücher.example/") != TlsOrigin.of("https://bucher.example/")


@pytest.mark.parametrize(
    "url",
    [
        "https://例え。jp/",  # an ideographic full stop: no label separator for urllib3 either
        "https://a\u200db.example/",  # a zero-width joiner where IDNA 2008 forbids it
    ],
)
def test_an_invalid_idna_host_has_no_origin(url: str) -> None:
    assert TlsOrigin.of(url) is None
