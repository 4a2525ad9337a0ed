"""Fetcher: per-fetch timing, connection reuse, retries with backoff, Range resume, abort;
redirects, the environment, the address policy and bounded bodies (security)."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from player.core.model import FetchKind
from player.net.errors import ErrorKind, classify
from player.net.events import Resumed, Retrying
from player.net.fetch import MAX_REDIRECTS, PERMANENT_KINDS, Fetcher, FetchFailed
from player.net.preflight import preflight
from player.net.transfer import MAX_TEXT_BYTES
from player.net.url_policy import AddressPolicy
from tests.support.hostile import HostileOrigin, endless
from tests.support.origin import OriginServer, make_self_signed_cert, server_ssl_context

SIZE = 300 * 1024


WAIT_S = 10.0  # generous bound for conditions that normally hold within milliseconds


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` until it holds; fail after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@pytest.fixture
def blob_dir(tmp_path: Path) -> Path:
    (tmp_path / "blob.mp4").write_bytes(bytes(i % 251 for i in range(SIZE)))
    return tmp_path


@pytest.fixture
def srv(blob_dir: Path) -> Iterator[OriginServer]:
    with OriginServer(blob_dir) as s:
        yield s


@pytest.fixture
def fetcher(events: list[object]) -> Iterator[Fetcher]:
    f = Fetcher(on_event=events.append, backoff_base_s=0.05, read_timeout=2.0)
    yield f
    f.close()


def test_timings_and_connection_reuse(srv: OriginServer, fetcher: Fetcher, blob_dir: Path) -> None:
    data = (blob_dir / "blob.mp4").read_bytes()
    srv.rate_bps = 8_000_000  # ~1 MB/s: transfer of 300 KiB takes ~0.3 s
    srv.add_fault("*.mp4", "slow_first_byte", seconds=0.15, times=1)
    with fetcher.open(srv.url("blob.mp4"), FetchKind.PROGRESSIVE) as tr:
        body = b"".join(tr.chunks())
    first = tr.fetch
    assert body == data and first.bytes == SIZE and first.status == 200
    assert not first.reused_connection
    assert first.dns_ms is not None and 0 <= first.dns_ms < 1000
    assert first.connect_ms is not None and 0 <= first.connect_ms < 1000
    assert first.tls_ms is None  # plain HTTP
    assert first.ttfb_ms is not None and 140 <= first.ttfb_ms < 1500
    assert first.transfer_ms is not None and 150 < first.transfer_ms < 2000
    assert first.throughput_bps is not None and 3e6 < first.throughput_bps < 12e6
    assert first.finished_at is not None and first.finished_at >= first.started_at

    srv.rate_bps = None
    with fetcher.open(srv.url("blob.mp4"), FetchKind.PROGRESSIVE) as tr:
        assert b"".join(tr.chunks()) == data
    second = tr.fetch
    assert second.reused_connection  # keep-alive
    assert second.connect_ms is None and second.dns_ms is None
    assert second.ttfb_ms is not None and second.ttfb_ms < 100


def test_tls_timing(blob_dir: Path, tmp_path: Path) -> None:
    cert, key = make_self_signed_cert(tmp_path / "certs")
    with OriginServer(blob_dir, ssl_context=server_ssl_context(cert, key)) as s:
        f = Fetcher(verify=str(cert))
        try:
            _, tr = f.get_bytes(s.url("blob.mp4"), FetchKind.PROGRESSIVE)
            assert tr.fetch.tls_ms is not None and 0 < tr.fetch.tls_ms < 2000
            assert tr.fetch.bytes == SIZE
            _, tr2 = f.get_bytes(s.url("blob.mp4"), FetchKind.PROGRESSIVE)
            assert tr2.fetch.reused_connection and tr2.fetch.tls_ms is None
        finally:
            f.close()
        bad = Fetcher()  # system CAs only: the self-signed certificate is refused, no retries
        try:
            with pytest.raises(FetchFailed, match="TLS") as info:
                bad.open(s.url("blob.mp4"), FetchKind.PROGRESSIVE)
            assert "after" not in info.value.reason  # permanent: one attempt
        finally:
            bad.close()


@pytest.mark.parametrize(
    ("url", "kind"),
    [("http://", ErrorKind.INVALID_URL), ("no-scheme.example/x", ErrorKind.INVALID_URL),
     ("gopher://example.invalid/", ErrorKind.INVALID_URL)],
)  # fmt: skip
def test_permanent_failures_follow_the_error_taxonomy(
    fetcher: Fetcher, events: list[object], url: str, kind: ErrorKind
) -> None:
    # "permanent" is player.net.errors.classify's kind, not the exception's type
    assert kind in PERMANENT_KINDS
    with pytest.raises(FetchFailed) as info:
        fetcher.open(url, FetchKind.SEGMENT)
    assert classify(info.value.__cause__).kind is kind  # type: ignore[arg-type]
    assert "after" not in info.value.reason
    assert not [e for e in events if isinstance(e, Retrying)]


def test_a_refused_connection_is_retried(fetcher: Fetcher, events: list[object]) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchFailed, match="after 4 attempts"):
        fetcher.open(f"http://127.0.0.1:{port}/blob.mp4", FetchKind.SEGMENT)
    retries = [e for e in events if isinstance(e, Retrying)]
    assert len(retries) == 3 and all("refused" in r.reason for r in retries)


def test_5xx_retried_with_backoff(
    srv: OriginServer, fetcher: Fetcher, events: list[object]
) -> None:
    srv.add_fault("*.mp4", "status", code=503, times=2)
    t0 = time.monotonic()
    with fetcher.open(srv.url("blob.mp4"), FetchKind.SEGMENT) as tr:
        assert tr.status == 200 and len(tr.read_all()) == SIZE
    assert tr.fetch.retries == 2
    retries = [e for e in events if isinstance(e, Retrying)]
    assert [(r.attempt, r.delay_s) for r in retries] == [(1, 0.05), (2, 0.1)]
    assert "503" in retries[0].reason
    assert time.monotonic() - t0 >= 0.15


def test_retries_are_bounded(srv: OriginServer, fetcher: Fetcher) -> None:
    srv.add_fault("*.mp4", "status", code=500)
    with pytest.raises(FetchFailed) as info:
        fetcher.open(srv.url("blob.mp4"), FetchKind.SEGMENT)
    assert info.value.status == 500 and info.value.fetch is not None
    assert info.value.fetch.error and info.value.fetch.retries == fetcher.max_retries
    assert len(srv.requests) == fetcher.max_retries + 1


def test_404_is_returned_not_retried(srv: OriginServer, fetcher: Fetcher) -> None:
    with fetcher.open(srv.url("nope.ts"), FetchKind.SEGMENT) as tr:
        assert tr.status == 404
    assert len(srv.requests) == 1


def test_cut_resumes_with_range(
    srv: OriginServer, fetcher: Fetcher, blob_dir: Path, events: list[object]
) -> None:
    data = (blob_dir / "blob.mp4").read_bytes()
    srv.add_fault("*.mp4", "cut", after_bytes=100_000, times=2)
    with fetcher.open(srv.url("blob.mp4"), FetchKind.PROGRESSIVE) as tr:
        body = b"".join(tr.chunks())
    assert body == data  # no byte twice, none missing
    assert tr.fetch.resumed == 2 and tr.fetch.bytes == SIZE
    assert [e.at_byte for e in events if isinstance(e, Resumed)] == [100_000, 200_000]
    ranges = [r[2] for r in srv.requests]
    assert ranges == [None, "bytes=100000-", "bytes=200000-"]


def test_resume_inside_a_range_request(srv: OriginServer, fetcher: Fetcher, blob_dir: Path) -> None:
    data = (blob_dir / "blob.mp4").read_bytes()
    srv.add_fault("*.mp4", "cut", after_bytes=20_000)
    with fetcher.open(
        srv.url("blob.mp4"), FetchKind.PROGRESSIVE, range_start=50_000, range_end=149_999
    ) as tr:
        body = b"".join(tr.chunks())
    assert body == data[50_000:150_000]
    assert srv.requests[-1][2] == "bytes=70000-149999"


def test_stalled_body_resumes_after_read_timeout(
    srv: OriginServer, blob_dir: Path, events: list[object]
) -> None:
    f = Fetcher(on_event=events.append, read_timeout=0.3)
    try:
        srv.add_fault("*.mp4", "pause", after_bytes=64_000, seconds=5)
        t0 = time.monotonic()
        with f.open(srv.url("blob.mp4"), FetchKind.PROGRESSIVE) as tr:
            assert b"".join(tr.chunks()) == (blob_dir / "blob.mp4").read_bytes()
        assert time.monotonic() - t0 < 2.0
        assert tr.fetch.resumed == 1
    finally:
        f.close()


def test_abort_all_wakes_a_stalled_read(srv: OriginServer) -> None:
    f = Fetcher(read_timeout=30)
    srv.add_fault("*.mp4", "pause", after_bytes=10_000, seconds=None)
    tr = f.open(srv.url("blob.mp4"), FetchKind.PROGRESSIVE)
    outcome: list[BaseException | None] = []

    def reader() -> None:
        try:
            for _ in tr.chunks():
                pass
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - we want whatever it raised
            outcome.append(e)

    t = threading.Thread(target=reader)
    t.start()
    wait_until(lambda: tr.waiting_since is not None, "the read to block on upstream")
    f.abort_all()
    t.join(WAIT_S)  # far less than the 30 s read timeout: abort_all woke the read
    assert not t.is_alive()
    assert outcome and type(outcome[0]).__name__ == "FetchAborted"
    tr.close()
    f.close()


# ----------------------------------------------------------------------------------------
# security: redirects, the environment, the address policy, bounded bodies
# ----------------------------------------------------------------------------------------
def _redirect_chain(o: HostileOrigin, n: int, target: str = "/blob") -> str:
    """``/r0`` -> ``/r1`` -> ... -> ``/r{n-1}`` -> ``target``; returns the first URL."""
    for i in range(n):
        nxt = f"/r{i + 1}" if i + 1 < n else target
        o.route(f"/r{i}", status=302, headers={"Location": nxt})
    o.route(target, body=b"the body")
    return o.url("r0")


def test_five_redirects_are_followed_a_sixth_is_not(fetcher: Fetcher) -> None:
    with HostileOrigin() as o:
        body, tr = fetcher.get_bytes(_redirect_chain(o, MAX_REDIRECTS), FetchKind.SEGMENT)
        assert body == b"the body" and tr.final_url == o.url("blob")
        assert tr.fetch.reused_connection  # redirect answers give their connection back
        with pytest.raises(FetchFailed, match="redirect") as info:
            fetcher.open(_redirect_chain(o, MAX_REDIRECTS + 1, "/other"), FetchKind.SEGMENT)
        assert info.value.fetch is not None and info.value.fetch.retries == 0
        assert not o.seen("/other")


def test_a_redirect_loop_is_not_retried(fetcher: Fetcher, events: list[object]) -> None:
    with HostileOrigin() as o:
        o.route("/loop", status=302, headers={"Location": "/loop"})
        with pytest.raises(FetchFailed, match="redirect"):
            fetcher.open(o.url("loop"), FetchKind.SEGMENT)
        assert len(o.seen("/loop")) == MAX_REDIRECTS + 1  # 6 requests, not 4 x 31
    assert not [e for e in events if isinstance(e, Retrying)]


@pytest.mark.parametrize(
    ("location", "match"),
    [("http://[::1/x", "malformed"), ("file:///etc/passwd", "file"),
     ("gopher://127.0.0.1/", "gopher"), ("http://127.0.0.1:99999/", "malformed")],
)  # fmt: skip
def test_bad_redirects_fail_cleanly(fetcher: Fetcher, location: str, match: str) -> None:
    with HostileOrigin() as o:
        o.route("/seg.ts", status=301, headers={"Location": location})
        with pytest.raises(FetchFailed, match=match) as info:
            fetcher.open(o.url("seg.ts"), FetchKind.SEGMENT)
        assert info.value.fetch is not None and info.value.fetch.error
        assert len(o.seen("/seg.ts")) == 1


def test_https_is_never_downgraded_to_http(tmp_path: Path) -> None:
    cert, key = make_self_signed_cert(tmp_path / "certs")
    with HostileOrigin() as plain, HostileOrigin(ssl_context=server_ssl_context(cert, key)) as tls:
        plain.route("/seg.ts", body=b"plain")
        tls.route("/seg.ts", status=302, headers={"Location": plain.url("seg.ts")})
        tls.route("/up", status=302, headers={"Location": "/seg2.ts"})
        tls.route("/seg2.ts", body=b"encrypted")
        f = Fetcher(verify=str(cert))
        try:
            with pytest.raises(FetchFailed, match="https to unencrypted http"):
                f.open(tls.url("seg.ts"), FetchKind.SEGMENT)
            assert f.get_bytes(tls.url("up"), FetchKind.SEGMENT)[0] == b"encrypted"
            # http -> https is fine
            plain.route("/to-tls", status=302, headers={"Location": tls.url("seg2.ts")})
            assert f.get_bytes(plain.url("to-tls"), FetchKind.SEGMENT)[0] == b"encrypted"
        finally:
            f.close()
        assert not plain.seen("/seg.ts")


def test_no_netrc_credentials_and_no_proxy_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text("machine 127.0.0.1 login viewer password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NETRC", str(netrc))
    with HostileOrigin() as o, HostileOrigin() as proxy:
        for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(var, proxy.url(""))
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        o.route("/a.m3u8", body=b"#EXTM3U\n")
        f = Fetcher()
        try:
            body, tr = f.get_bytes(o.url("a.m3u8"))
        finally:
            f.close()
        assert body == b"#EXTM3U\n" and tr.status == 200
        assert preflight(o.url("a.m3u8")).kind == "hls"  # the opening check: the same
        seen = o.seen("/a.m3u8")
        assert len(seen) == 2
        for req in seen:
            assert not {k.lower() for k in req.headers} & {"authorization", "proxy-authorization"}
        assert not proxy.requests  # straight to the origin


def test_any_exception_of_a_request_becomes_fetch_failed(fetcher: Fetcher) -> None:
    # mocked: no real server raises a plain RuntimeError out of requests; this stands for
    # whatever a library bug might raise (the real cases are the bad redirects above)
    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("library bug")

    fetcher.session.request = broken  # type: ignore[method-assign]
    with pytest.raises(FetchFailed, match="library bug") as info:
        fetcher.open("http://127.0.0.1:9/seg.ts", FetchKind.SEGMENT)
    assert info.value.fetch is not None and info.value.fetch.retries == 0


def _listener() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    s.setblocking(False)
    return s


def _accepted(s: socket.socket) -> bool:
    try:
        conn, _ = s.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def test_a_public_session_never_connects_to_loopback(fetcher: Fetcher) -> None:
    fetcher.policy = AddressPolicy("https://cdn.example.net/live/index.m3u8")
    with _listener() as lst:
        port = lst.getsockname()[1]
        for url in (f"http://127.0.0.1:{port}/seg.ts", f"http://localhost:{port}/seg.ts"):
            with pytest.raises(FetchFailed, match="refused to fetch") as info:
                fetcher.open(url, FetchKind.SEGMENT)
            assert info.value.fetch is not None and info.value.fetch.retries == 0
        # the listener's accept queue is empty: not even a TCP handshake happened
        assert not _accepted(lst)


def test_a_pooled_connection_is_checked_again_for_the_next_session(fetcher: Fetcher) -> None:
    with HostileOrigin() as o:
        o.route("/seg.ts", body=b"x" * 100)
        fetcher.policy = AddressPolicy(o.url("index.m3u8"))  # opened on 127.0.0.1
        assert fetcher.get_bytes(o.url("seg.ts"), FetchKind.SEGMENT)[0] == b"x" * 100
        fetcher.policy = AddressPolicy("https://cdn.example.net/index.m3u8")  # a new session
        with pytest.raises(FetchFailed, match="refused to fetch"):
            fetcher.open(o.url("seg.ts"), FetchKind.SEGMENT)
        assert len(o.seen("/seg.ts")) == 1  # the kept-alive connection was not used


def test_an_endless_playlist_stops_at_the_cap(fetcher: Fetcher) -> None:
    with HostileOrigin() as o:
        o.route("/live.m3u8", body=endless())
        with pytest.raises(FetchFailed, match="playlist too large"):
            fetcher.get_bytes(o.url("live.m3u8"), FetchKind.PLAYLIST)
        o.route("/big.m3u8", headers={"Content-Length": str(MAX_TEXT_BYTES + 1)})
        with pytest.raises(FetchFailed, match="playlist too large"):
            fetcher.get_bytes(o.url("big.m3u8"), FetchKind.PLAYLIST)


def test_a_gzip_bomb_is_decoded_up_to_the_cap_only(fetcher: Fetcher) -> None:
    bomb = gzip.compress(b"#EXTM3U\n" + b"\n" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < MAX_TEXT_BYTES // 16  # small on the wire, 64 MB decoded
    text = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg.ts\n#EXT-X-ENDLIST\n"
    with HostileOrigin() as o:
        o.route("/bomb.m3u8", headers={"Content-Encoding": "gzip"}, body=bomb)
        o.route("/ok.m3u8", headers={"Content-Encoding": "gzip"}, body=gzip.compress(text))
        o.route("/zlib.m3u8", headers={"Content-Encoding": "deflate"}, body=zlib.compress(text))
        o.route("/junk.m3u8", headers={"Content-Encoding": "gzip"}, body=b"not gzip at all")
        with pytest.raises(FetchFailed, match="playlist too large"):
            fetcher.get_bytes(o.url("bomb.m3u8"), FetchKind.PLAYLIST)
        assert fetcher.get_bytes(o.url("ok.m3u8"))[0] == text
        assert fetcher.get_bytes(o.url("zlib.m3u8"))[0] == text
        with pytest.raises(FetchFailed, match="bad gzip body"):
            fetcher.get_bytes(o.url("junk.m3u8"))


def test_preflight_survives_a_malformed_redirect_and_a_loop() -> None:
    with HostileOrigin() as o:
        o.route("/bad.m3u8", status=302, headers={"Location": "http://[::1/x"})
        o.route("/loop.m3u8", status=302, headers={"Location": "/loop.m3u8"})
        bad = preflight(o.url("bad.m3u8"))
        assert not bad.ok and bad.message
        loop = preflight(o.url("loop.m3u8"))
        assert not loop.ok and len(o.seen("/loop.m3u8")) == MAX_REDIRECTS + 1


def test_preflight_applies_the_address_rule_to_redirects() -> None:
    with HostileOrigin() as o:
        o.route("/go.m3u8", status=302, headers={"Location": "http://10.0.0.1:8080/x"})
        o.route("/home.m3u8", status=302, headers={"Location": "/index.m3u8"})
        o.route("/index.m3u8", body=b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n")
        r = preflight(o.url("go.m3u8"))  # opened on 127.0.0.1: a private hop is refused
        assert not r.ok and "refused to fetch from 10.0.0.1" in r.message
        assert preflight(o.url("home.m3u8")).kind == "hls"  # same-host redirect: fine
