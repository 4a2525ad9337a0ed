"""Fetcher: per-fetch timing, connection reuse, retries with backoff, Range resume, abort."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from player.core.model import FetchKind
from player.net.errors import ErrorKind, classify
from player.net.events import Resumed, Retrying
from player.net.fetch import PERMANENT_KINDS, Fetcher, FetchFailed
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
