"""The address-class rule and redirect checks (pure parts of player.net.url_policy)."""

from __future__ import annotations

import pytest

from player.net.url_policy import (
    AddressClass,
    AddressPolicy,
    AddressRefused,
    BadUrl,
    absolute_http_url,
    address_class,
    check_redirect,
)

C = AddressClass


@pytest.mark.parametrize(
    ("address", "cls"),
    [
        ("127.0.0.1", C.LOOPBACK), ("127.8.9.10", C.LOOPBACK), ("::1", C.LOOPBACK),
        ("0.0.0.0", C.LOOPBACK), ("::", C.LOOPBACK), ("::ffff:127.0.0.1", C.LOOPBACK),
        ("169.254.169.254", C.LINK_LOCAL), ("fe80::1%eth0", C.LINK_LOCAL),
        ("10.0.0.1", C.PRIVATE), ("172.16.5.4", C.PRIVATE), ("192.168.1.1", C.PRIVATE),
        ("fd00::2", C.PRIVATE), ("::ffff:10.1.2.3", C.PRIVATE), ("[fc00::1]", C.PRIVATE),
        ("100.64.0.1", C.CGNAT), ("100.127.255.254", C.CGNAT),
        ("224.0.0.251", C.SPECIAL), ("255.255.255.255", C.SPECIAL), ("192.0.2.7", C.SPECIAL),
        ("93.184.216.34", C.PUBLIC), ("8.8.8.8", C.PUBLIC), ("2606:4700::1111", C.PUBLIC),
        ("172.32.0.1", C.PUBLIC), ("100.128.0.1", C.PUBLIC),
        # IPv6 forms embedding an IPv4 address are that address's class
        ("64:ff9b::c0a8:101", C.PRIVATE), ("64:ff9b::7f00:1", C.LOOPBACK),  # NAT64
        ("64:ff9b::a9fe:a9fe", C.LINK_LOCAL), ("64:ff9b::808:808", C.PUBLIC),
        ("64:ff9b:1::808:808", C.PRIVATE),  # NAT64 local-use: a translator of this network
        ("2002:c0a8:101::1", C.PRIVATE), ("2002:7f00:1::1", C.LOOPBACK),  # 6to4
        ("2002:a9fe:a9fe::", C.LINK_LOCAL), ("2002:808:808::1", C.PUBLIC),
        ("::ffff:0:c0a8:101", C.PRIVATE), ("::ffff:0:7f00:1", C.LOOPBACK),  # SIIT
        ("::c0a8:101", C.PRIVATE), ("::127.0.0.1", C.LOOPBACK),  # IPv4-compatible
        ("::a9fe:a9fe", C.LINK_LOCAL),
        ("fec0::1", C.PRIVATE), ("feff::1", C.PRIVATE),  # site-local (deprecated)
        ("2001:db8::1", C.SPECIAL), ("2001::1", C.SPECIAL), ("ff02::1", C.SPECIAL),  # Teredo
        ("100::1", C.SPECIAL), ("4000::1", C.SPECIAL),  # discard, unassigned
        ("198.18.0.1", C.SPECIAL), ("240.0.0.1", C.SPECIAL), ("0.1.2.3", C.LOOPBACK),
    ],
)  # fmt: skip
def test_address_classes(address: str, cls: AddressClass) -> None:
    assert address_class(address) is cls


def test_not_an_address_is_an_error() -> None:
    with pytest.raises(ValueError):
        address_class("example.com")


def test_a_public_entry_refuses_every_local_class() -> None:
    p = AddressPolicy("https://cdn.example.net/live/master.m3u8")
    assert p.permitted("cdn.example.net", ["93.184.216.34"]) == ["93.184.216.34"]
    assert p.allowed == {C.PUBLIC}
    for addr in ("127.0.0.1", "::1", "10.0.0.1", "169.254.169.254", "100.64.0.1", "fd00::1"):
        with pytest.raises(AddressRefused, match="refused to fetch from evil.example"):
            p.permitted("evil.example", [addr])


def test_a_loopback_entry_allows_loopback_and_public_only() -> None:
    p = AddressPolicy("http://127.0.0.1:8000/hls/master.m3u8")
    assert p.allowed == {C.PUBLIC, C.LOOPBACK}
    assert p.permitted("127.0.0.1", ["127.0.0.1"]) == ["127.0.0.1"]
    assert p.permitted("::1", ["::1"]) == ["::1"]
    assert p.permitted("cdn.example", ["93.184.216.34"]) == ["93.184.216.34"]
    for addr in ("10.0.0.1", "169.254.1.1", "192.168.1.1"):
        with pytest.raises(AddressRefused):
            p.permitted(addr, [addr])


def test_a_private_entry_allows_its_own_class() -> None:
    # the netem testbed: origin and segments at 10.x in a namespace
    p = AddressPolicy("http://10.77.0.1:8080/master.m3u8")
    assert p.permitted("10.77.0.1", ["10.77.0.1"]) == ["10.77.0.1"]
    with pytest.raises(AddressRefused):
        p.permitted("127.0.0.1", ["127.0.0.1"])


def test_an_entry_name_takes_its_classes_from_its_first_resolution() -> None:
    p = AddressPolicy("http://media.example/stream.m3u8")
    assert p.allowed is None
    # another host first: only public, nothing learned
    with pytest.raises(AddressRefused):
        p.permitted("other.example", ["192.168.0.9"])
    assert p.allowed is None
    assert p.permitted("MEDIA.example", ["93.184.216.34"]) == ["93.184.216.34"]
    assert p.allowed == {C.PUBLIC}
    # DNS rebinding: the same name later resolving to loopback is refused
    with pytest.raises(AddressRefused):
        p.permitted("media.example", ["127.0.0.1"])


def test_every_resolved_address_is_checked() -> None:
    p = AddressPolicy("https://cdn.example/x.m3u8")
    # a name answering with a public and a loopback address: only the public one is used
    assert p.permitted("mixed.example", ["127.0.0.1", "93.184.216.34"]) == ["93.184.216.34"]
    # localhost opened by the viewer: both of its addresses are this machine
    q = AddressPolicy("http://localhost:8000/a.m3u8")
    assert q.permitted("localhost", ["::1", "127.0.0.1"]) == ["::1", "127.0.0.1"]
    assert q.allowed == {C.PUBLIC, C.LOOPBACK}


@pytest.mark.parametrize(
    ("current", "location", "want"),
    [
        ("http://a.example/x/seg.ts", "/y/seg.ts", "http://a.example/y/seg.ts"),
        ("http://a.example/x/seg.ts", "seg2.ts", "http://a.example/x/seg2.ts"),
        ("http://a.example/x", "https://b.example/z", "https://b.example/z"),
        ("https://a.example/x", "https://b.example/z", "https://b.example/z"),
    ],
)
def test_redirects_that_are_followed(current: str, location: str, want: str) -> None:
    assert check_redirect(current, location) == want


@pytest.mark.parametrize(
    ("current", "location", "match"),
    [
        ("http://a.example/x", "http://[::1/x", "malformed"),
        ("http://a.example/x", "http://a.example:99999/x", "malformed"),
        ("http://a.example/x", "file:///etc/passwd", "file"),
        ("http://a.example/x", "ftp://a.example/x", "ftp"),
        ("https://a.example/x", "http://a.example/x", "https to unencrypted http"),
        ("https://a.example/x", "//b.example/x", None),  # scheme-relative keeps https: fine
    ],
)
def test_redirects_that_are_refused(current: str, location: str, match: str | None) -> None:
    if match is None:
        assert check_redirect(current, location) == "https://b.example/x"
        return
    with pytest.raises(AddressRefused, match=match):
        check_redirect(current, location)


@pytest.mark.parametrize(
    ("base", "ref", "want"),
    [
        ("https://a.example/x/i.m3u8", "s.ts", "https://a.example/x/s.ts"),
        ("https://a.example/x/i.m3u8", " /y/s.ts\n", "https://a.example/y/s.ts"),
        ("https://a.example/x/i.m3u8", "//b.example/s.ts", "https://b.example/s.ts"),
        ("http://a.example/", "HTTPS://B.example:8443/s", "HTTPS://B.example:8443/s"),
    ],
)
def test_absolute_http_url(base: str, ref: str, want: str) -> None:
    assert absolute_http_url(base, ref) == want


@pytest.mark.parametrize(
    ("ref", "malformed"),
    [
        ("file:///etc/passwd", False), ("ftp://h/x", False), ("data:,x", False),
        ("http:///nohost", False), ("http://h:99999/x", True), ("http://[::1/x", True),
        ("a b.ts", True), ("x\x00.ts", True),
    ],
)  # fmt: skip
def test_absolute_http_url_refuses(ref: str, malformed: bool) -> None:
    with pytest.raises(BadUrl) as e:
        absolute_http_url("https://a.example/i.m3u8", ref)
    assert e.value.malformed is malformed
