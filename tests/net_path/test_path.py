"""Path discovery helpers (parsing, validation, routes) and discovery on loopback."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

import pytest

from player import report
from player.core.model import Hop, Segment
from player.net.path import discovery, engine, hosts, rdns, routes, sockets
from player.net.path.cache import PathCache
from player.net.path.discovery import PathResult


def _ee(errno_: int, origin: int, typ: int, code: int, offender: bytes) -> bytes:
    return struct.pack("=IBBBBII", errno_, origin, typ, code, 0, 0, 0) + offender


def _sin(addr: str) -> bytes:
    return struct.pack("=HH4s8x", socket.AF_INET, 0, socket.inet_aton(addr))


def _sin6(addr: str) -> bytes:
    return struct.pack(
        "=HHI16sI", socket.AF_INET6, 0, 0, socket.inet_pton(socket.AF_INET6, addr), 0
    )


# --- error queue parsing ----------------------------------------------------------------
def test_parse_extended_err_ipv4_time_exceeded() -> None:
    err = sockets.parse_extended_err(_ee(113, sockets.SO_EE_ORIGIN_ICMP, 11, 0, _sin("198.18.0.2")))
    assert (err.errno, err.origin, err.type, err.code) == (113, 2, 11, 0)
    assert err.offender == "198.18.0.2"
    assert sockets.classify_error(err, "203.0.113.2") == "ttl_exceeded"


def test_parse_extended_err_ipv6_and_port_unreachable() -> None:
    err = sockets.parse_extended_err(_ee(111, sockets.SO_EE_ORIGIN_ICMP6, 1, 4, _sin6("2001:db8::2")))
    assert err.offender == "2001:db8::2"
    assert sockets.classify_error(err, "2001:db8::2") == "reached"
    assert sockets.classify_error(err, "2001:db8::9") == "unreachable"
    v4 = sockets.parse_extended_err(_ee(111, sockets.SO_EE_ORIGIN_ICMP, 3, 3, _sin("203.0.113.2")))
    assert sockets.classify_error(v4, "203.0.113.2") == "reached"
    net_unreach = sockets.parse_extended_err(
        _ee(113, sockets.SO_EE_ORIGIN_ICMP, 3, 0, _sin("198.18.0.2"))
    )
    assert sockets.classify_error(net_unreach, "203.0.113.2") == "unreachable"


def test_parse_extended_err_without_offender_and_too_short() -> None:
    err = sockets.parse_extended_err(_ee(90, sockets.SO_EE_ORIGIN_LOCAL, 0, 0, b"\x00" * 16))
    assert err.offender is None and err.origin == sockets.SO_EE_ORIGIN_LOCAL
    with pytest.raises(ValueError):
        sockets.parse_extended_err(b"\x00" * 8)


def test_parse_cmsgs_picks_error_and_timestamp() -> None:
    ts = struct.pack("=qq", 1_700_000_000, 123_456_789)
    anc = [
        (socket.SOL_SOCKET, sockets.SCM_TIMESTAMPNS, ts),
        (socket.IPPROTO_IP, sockets.IP_RECVERR, _ee(113, 2, 11, 0, _sin("192.0.2.1"))),
    ]
    err, stamp = sockets.parse_cmsgs(anc)
    assert err is not None and err.offender == "192.0.2.1"
    assert stamp == 1_700_000_000_123_456_789
    assert sockets.parse_cmsgs([]) == (None, None)


# --- ICMP permission --------------------------------------------------------------------
def test_ping_permission_reason() -> None:
    assert sockets.ping_permission([1000], "0\t2147483647\n") == (True, None)
    ok, why = sockets.ping_permission([1000, 27], "1\t0\n")
    assert not ok and why == "ICMP not permitted: ping_group_range 1 0 excludes gid 1000"
    assert sockets.ping_permission([1000, 27], "20 30")[0]  # a supplementary group is enough
    with pytest.raises(ValueError):
        sockets.parse_ping_group_range("garbage")


# --- host validation --------------------------------------------------------------------
@pytest.mark.parametrize(
    "host",
    [
        "video.example.com",
        "cdn-1.example",
        "198.51.100.7",
        "[2001:db8::1]",
        "2001:db8::1",
        "localhost",
        "a_b.example.",
    ],
)
def test_valid_hosts(host: str) -> None:
    assert hosts.validate_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "",
        " ",
        "-oProxyCommand=x",
        "a;rm -rf /",
        "a b",
        "$(id)",
        "x" * 254,
        "a..b",
        "a.-b",
        "host/path",
        "`id`",
    ],
)
def test_invalid_hosts(host: str) -> None:
    with pytest.raises(ValueError):
        hosts.validate_host(host)


# --- routes -----------------------------------------------------------------------------
PROC_ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
tun0\t0000000A\t0100000A\t0003\t0\t0\t0\t000000FF\t0\t0\t0
eth1\t00000000\t0102A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0
"""


def test_parse_proc_net_route_and_gateways() -> None:
    table = routes.parse_proc_net_route(PROC_ROUTE)
    assert len(table) == 3  # the route without RTF_UP is skipped
    assert routes.default_gateway(routes=table) == "192.168.1.1"
    assert routes.default_gateway("10.1.2.3", table) == "10.0.0.1"  # longest prefix: tun0
    assert routes.default_gateway("192.168.1.77", table) is None  # on-link
    r = routes.route_for("203.0.113.5", table)
    assert r is not None and r.iface == "eth0"


def test_route_fingerprint_is_local_and_stable() -> None:
    assert routes.route_fingerprint("127.0.0.1") == routes.route_fingerprint("127.0.0.1")
    assert routes.route_fingerprint("127.0.0.1").startswith("127.0.0.1")


# --- reverse names ----------------------------------------------------------------------
def test_reverse_names_cleans_and_times_out() -> None:
    def resolver(addr: str) -> str | None:
        if addr == "192.0.2.3":
            time.sleep(2.0)
        return {"192.0.2.1": "Core1.Example.NET.", "192.0.2.2": "192.0.2.2"}.get(addr)

    t0 = time.monotonic()
    names = rdns.reverse_names(
        ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"], resolver, timeout_s=0.3
    )
    assert time.monotonic() - t0 < 1.0
    assert names == {
        "192.0.2.1": "core1.example.net",
        "192.0.2.2": None,
        "192.0.2.3": None,
        "192.0.2.4": None,
    }


# --- discovery on loopback ---------------------------------------------------------------
def _no_dns(_addr: str) -> str | None:
    return "localhost"


def test_discover_loopback_udp() -> None:
    res = discovery.discover_path(
        "127.0.0.1", 9, methods=("udp",), timeout_s=0.3, resolver=_no_dns, gateway=None
    )
    assert res.method == "udp" and res.reached and res.reason is None
    assert [(h.hop, h.address, h.name) for h in res.hops] == [(1, "127.0.0.1", "localhost")]
    assert res.hops[0].segment is Segment.SERVER
    assert res.probe_bytes > 0
    assert report.hop_json(res.hops[0])["segment"] == "server"


def test_discover_loopback_tcp_to_a_listener() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        res = discovery.discover_path(
            "127.0.0.1", port, methods=("tcp",), timeout_s=0.3, resolver=_no_dns
        )
    assert res.method == "tcp" and res.reached and len(res.hops) == 1


def test_discover_records_why_icmp_was_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    why = "ICMP not permitted: ping_group_range 1 0 excludes gid 1000"
    monkeypatch.setattr(discovery, "ping_permission", lambda *a, **k: (False, why))
    res = discovery.discover_path("127.0.0.1", 9, timeout_s=0.3, resolver=_no_dns)
    assert res.method == "udp" and res.reason == why and res.degraded


def test_discover_falls_back_when_the_destination_is_silent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """udp: only a router answers (destination silent); tcp then reaches the server."""
    monkeypatch.setattr(discovery, "ping_permission", lambda *a, **k: (True, None))

    def fake_trace(method: str, dst: str, port: int, **_kw: object) -> discovery._Trace:
        if method == "icmp":
            raise sockets.MethodUnavailable(13, "ICMP socket refused")
        answers = {1: sockets.ProbeReply(1, method, "192.168.1.1", 0.5, "ttl_exceeded")}
        if method == "tcp":
            answers[2] = sockets.ProbeReply(2, method, dst, 9.0, "reached")
            return discovery._Trace(method, answers, 2)
        answers[2] = sockets.ProbeReply(2, method, None, None, "timeout")
        return discovery._Trace(method, answers, None)

    monkeypatch.setattr(discovery, "trace", fake_trace)
    res = discovery.discover_path("203.0.113.2", 443, resolver=lambda a: None, gateway="192.168.1.1")
    assert res.method == "tcp" and res.reached
    assert res.reason == "ICMP socket refused; UDP: the destination did not answer"
    assert [(h.address, h.segment) for h in res.hops] == [
        ("192.168.1.1", Segment.HOME_NETWORK),
        ("203.0.113.2", Segment.SERVER),
    ]


def test_discover_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        discovery.discover_path("bad host; rm", 443)
    with pytest.raises(ValueError):
        discovery.discover_path("127.0.0.1", 9, methods=("smoke-signals",), resolver=_no_dns)


def test_run_probes_times_out_and_wakes_up_early() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:  # receives, never answers
        quiet.bind(("127.0.0.1", 0))
        spec = sockets.ProbeSpec(1, "udp", "127.0.0.1", quiet.getsockname()[1], None)
        t0 = time.monotonic()
        reply = engine.run_probes([spec], 0.2)[1]
        assert reply.kind == "timeout" and not reply.answered and reply.sent_bytes > 0
        assert 0.15 < time.monotonic() - t0 < 1.0
        r, w = os.pipe()
        try:
            threading.Timer(0.1, os.write, (w, b"x")).start()
            t0 = time.monotonic()
            engine.run_probes([spec], 5.0, wake_fd=r)
            assert time.monotonic() - t0 < 1.0
        finally:
            os.close(r)
            os.close(w)


# --- the cache ----------------------------------------------------------------------------
def test_path_cache_rediscovers_on_route_change_and_invalidate() -> None:
    fp = {"v": "a"}
    calls: list[str] = []

    def discover(host: str, port: int, **_kw: object) -> PathResult:
        calls.append(host)
        return PathResult(
            host, "203.0.113.2", port, [Hop(1, "192.168.1.1")], "udp", fingerprint=fp["v"]
        )

    cache = PathCache(discover=discover, fingerprint=lambda _dst: fp["v"])
    first = cache.get("Video.Example", 443)
    assert cache.get("video.example", 443) is first and calls == ["video.example"]
    fp["v"] = "b"  # e.g. Wi-Fi -> Ethernet
    second = cache.get("video.example", 443)
    assert second is not first and len(calls) == 2
    assert cache.get("video.example", 443) is second
    cache.invalidate("video.example")
    assert cache.peek("video.example", 443) is None
    cache.get("video.example", 443)
    assert cache.discoveries == 3
    cache.invalidate()
    assert cache.peek("video.example", 443) is None


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_discover_ipv6_loopback() -> None:
    res = discovery.discover_path("::1", 9, methods=("udp", "tcp"), timeout_s=0.3, resolver=_no_dns)
    assert res.reached and res.address == "::1"
    assert [h.address for h in res.hops] == ["::1"]
