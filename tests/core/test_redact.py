"""Redaction: addresses, home host names, URL query strings and path tokens never leave."""

from __future__ import annotations

import pytest

from player.core.redact import (
    ADDRESS,
    HOME_HOST,
    TOKEN,
    looks_like_token,
    redact_source,
    redact_text,
    redact_url,
    url_host,
)


def test_url_with_a_token_loses_query_and_token_segments() -> None:
    url = (
        "https://cdn.example.net/v1/a9f3c2e1b7d44f0e9c1a2b3c4d5e6f70/Zx81_kq93LmPq20aa/"
        "720p/index.m3u8?token=eyJhbGciOi.secret&Expires=1700000000&Signature=abc#t=10"
    )
    out = redact_url(url)
    assert out == f"https://cdn.example.net/v1/{TOKEN}/{TOKEN}/720p/index.m3u8"
    for secret in ("token", "eyJ", "Signature", "Expires", "a9f3c2", "Zx81", "#t"):
        assert secret not in out


def test_credentials_are_dropped_and_address_hosts_hidden() -> None:
    assert redact_url("http://user:pw@192.0.2.7:8080/movie.mp4?x=1") == f"http://{ADDRESS}:8080/movie.mp4"
    assert redact_url("http://[2001:db8::1]:443/a/b.ts") == f"http://{ADDRESS}:443/a/b.ts"
    assert redact_url("http://nas.lan/films/holiday.mkv") == f"http://{HOME_HOST}/films/holiday.mkv"


def test_a_login_containing_at_signs_is_dropped_whole() -> None:
    out = redact_url("http://user@corp:p@ss@c.example/x")
    assert out.startswith("http://c.example/") and "user" not in out and "ss@" not in out


def test_a_path_with_addresses() -> None:
    text = "GET /relay/10.0.0.12/seg-7.ts from 203.0.113.9:443 via fe80::1%eth0 and [2001:db8::5]:80"
    out = redact_text(text)
    for literal in ("10.0.0.12", "203.0.113.9", "fe80::1", "2001:db8::5", "eth0"):
        assert literal not in out, out
    assert "seg-7.ts" in out and out.count(ADDRESS) == 4


def test_dashed_addresses_in_host_names() -> None:
    out = redact_text("2nd hop: 100-64-12-7.dyn.isp.example, then pool-71-105-3-9.nycmny.fios.verizon.net")
    assert "100-64-12-7" not in out and "71-105-3-9" not in out
    assert "isp.example" in out and "verizon.net" in out


def test_home_host_names() -> None:
    out = redact_text("route: fritz.box -> my-router.lan -> printer.local -> isp.example", home_names=["fritz.box"])
    assert "fritz.box" not in out and "my-router" not in out and "printer.local" not in out
    assert out.count(HOME_HOST) == 3 and "isp.example" in out


@pytest.mark.parametrize(
    "text",
    [
        "The video's server (Stallwatch demo server) is responding slowly.",
        "Video arrived at 1.2 Mbit/s; this quality needs 3.0 Mbit/s.",
        "Stallwatch 0.9.0, 2026-12-01 11:30",
        "Delay inside Verizon grew by 250 ms while the video loaded.",
    ],
)
def test_plain_sentences_pass_unchanged(text: str) -> None:
    assert redact_text(text) == text


def test_token_heuristic() -> None:
    assert looks_like_token("a9f3c2e1b7d44f0e9c1a2b3c4d5e6f70")
    assert looks_like_token("Zx81_kq93LmPq20aa.ts")
    assert not looks_like_token("index.m3u8") and not looks_like_token("big-buck-bunny-1080p")
    assert not looks_like_token("720p") and not looks_like_token("Stallwatch-Demo-2026")
    assert looks_like_token("eyJhbGciOiJIUzI1NiJ9")


def test_what_the_history_keeps_of_a_source() -> None:
    assert redact_source("https://u:p@cdn.example:8443/v/AbC123dEf456GhI789jkl/i.m3u8?sig=1#f") == (
        "cdn.example", "https://cdn.example:8443/v/…/i.m3u8",
    )  # fmt: skip
    assert "192.168" not in redact_source("http://h.example/192.168.1.20/movie.mp4")[1]
    assert redact_source("/home/alice/Videos/holiday.mkv") == ("", "holiday.mkv")
    assert redact_source("file:///home/alice/Videos/holiday.mkv") == ("", "holiday.mkv")


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://u:p@CDN.Example.com:8443/x?y#z", "cdn.example.com"),
        ("http://[2001:DB8::1]:443/a", "2001:db8::1"),
        ("http://a@b@c.example/x", "c.example"),  # the last "@" ends the credentials
        ("http://host?x=1", "host"),
        ("http://", ""),
        ("clip.mp4", ""),
    ],
)
def test_url_host(url: str, host: str) -> None:
    assert url_host(url) == host
