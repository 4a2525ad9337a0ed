"""The test origin server itself (and the demo origin under it): ranges, faults,
throttling, scripted first-byte delay, hold/release, fast stop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

from player.demo.origin import JOIN_TIMEOUT_S, ThrottledOrigin
from tests.support.origin import OriginServer

WAIT_S = 10.0  # generous bound for conditions that normally hold within milliseconds


def wait_for(predicate, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "blob.mp4").write_bytes(bytes(range(256)) * 1024)  # 256 KiB
    (tmp_path / "list.m3u8").write_text("#EXTM3U\n")
    return tmp_path


def test_range_head_and_types(files: Path) -> None:
    data = (files / "blob.mp4").read_bytes()
    with OriginServer(files) as srv, requests.Session() as s:
        r = s.get(srv.url("blob.mp4"))
        assert r.status_code == 200 and r.content == data
        assert r.headers["Content-Type"] == "video/mp4"
        r = s.get(srv.url("blob.mp4"), headers={"Range": "bytes=1000-1999"})
        assert r.status_code == 206 and r.content == data[1000:2000]
        assert r.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
        r = s.get(srv.url("blob.mp4"), headers={"Range": "bytes=-10"})
        assert r.content == data[-10:]
        assert (
            s.get(srv.url("blob.mp4"), headers={"Range": f"bytes={len(data)}-"}).status_code == 416
        )
        h = s.head(srv.url("list.m3u8"))
        assert h.headers["Content-Type"] == "application/vnd.apple.mpegurl"
        assert s.get(srv.url("missing.ts")).status_code == 404
        assert s.get(srv.url("../etc/passwd")).status_code == 404
    assert srv.requests[0] == ("GET", "/blob.mp4", None, 200)


def test_status_fault_times_then_ok(files: Path) -> None:
    with OriginServer(files) as srv:
        srv.add_fault("*.mp4", "status", code=503, times=2)
        codes = [requests.get(srv.url("blob.mp4")).status_code for _ in range(3)]
        assert codes == [503, 503, 200]


def test_cut_and_throttle(files: Path) -> None:
    with OriginServer(files) as srv:
        srv.add_fault("/blob.mp4", "cut", after_bytes=50_000)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(srv.url("blob.mp4"), timeout=5).content  # noqa: B018
        srv.rate_bps = 8_000_000  # 1 MB/s
        t0 = time.monotonic()
        assert len(requests.get(srv.url("blob.mp4"), timeout=5).content) == 256 * 1024
        assert time.monotonic() - t0 > 0.2  # 256 KiB at 1 MB/s cannot take less


def test_rate_trace(files: Path) -> None:
    with OriginServer(files) as srv:
        srv.set_rate_trace([(0.0, None), (10.0, 1000.0)])
        assert srv.current_rate_bps() is None
        srv.set_rate_trace([(0.0, 5e6)])
        assert srv.current_rate_bps() == 5e6


def test_stop_while_paused_forever(files: Path) -> None:
    srv = OriginServer(files).start()
    pause = srv.add_fault("*.mp4", "pause", after_bytes=1000, seconds=None)
    got: list[object] = []

    def client() -> None:
        try:
            got.append(len(requests.get(srv.url("blob.mp4"), timeout=10).content))
        except requests.RequestException as e:
            got.append(e)

    t = threading.Thread(target=client)
    t.start()
    wait_for(lambda: pause.waiting, "the request to reach the pause")
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < JOIN_TIMEOUT_S, "stop waited for the paused handler"
    t.join(2)
    assert got and isinstance(got[0], requests.RequestException)
    assert not [x for x in threading.enumerate() if x.name.startswith("origin-")]


def test_hold_keeps_requests_until_released(files: Path) -> None:
    with OriginServer(files) as srv:
        hold = srv.add_fault("*.mp4", "hold")
        got: list[int] = []
        t = threading.Thread(target=lambda: got.append(requests.get(srv.url("blob.mp4"), timeout=10).status_code))
        t.start()
        wait_for(lambda: hold.waiting == ["/blob.mp4"], "the request to be held")
        assert requests.get(srv.url("list.m3u8"), timeout=5).status_code == 200  # others pass
        assert not got and srv.requests_for("/blob.mp4") == []
        hold.release()
        t.join(5)
        assert got == [200] and hold.waiting == []
        assert requests.get(srv.url("blob.mp4"), timeout=5).status_code == 200  # released for good


def test_pause_until_released(files: Path) -> None:
    with OriginServer(files) as srv:
        pause = srv.add_fault("*.mp4", "pause", after_bytes=1000, seconds=None)
        got: list[int] = []
        t = threading.Thread(target=lambda: got.append(len(requests.get(srv.url("blob.mp4"), timeout=10).content)))
        t.start()
        wait_for(lambda: pause.waiting, "the body to pause")
        assert not got
        pause.release()
        t.join(5)
        assert got == [256 * 1024]


def test_cut_then_status(files: Path) -> None:
    with OriginServer(files) as srv:
        srv.add_fault("*.mp4", "cut", after_bytes=50_000, then_status=503)
        assert requests.get(srv.url("blob.mp4"), headers={"Range": "bytes=0-999"}).status_code == 206
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(srv.url("blob.mp4"), timeout=5).content  # noqa: B018
        assert requests.get(srv.url("blob.mp4"), headers={"Range": "bytes=50000-"}).status_code == 503
        assert requests.get(srv.url("list.m3u8")).status_code == 200


def test_demo_origin_scripted_delay_and_no_faults(files: Path) -> None:
    with ThrottledOrigin(files) as srv:
        assert not hasattr(srv, "add_fault")  # fault injection lives in tests/support only
        srv.set_rate_trace([(0.0, None, 0.3), (60.0, 1000.0)])
        assert srv.current_delay_s() == 0.3 and srv.current_rate_bps() is None
        t0 = time.monotonic()
        r = requests.get(srv.url("blob.mp4"), headers={"Range": "bytes=10-19"}, timeout=5)
        assert time.monotonic() - t0 >= 0.3  # the overloaded server answers late
        assert r.status_code == 206 and r.content == bytes(range(10, 20))
        assert srv.requests == [("GET", "/blob.mp4", "bytes=10-19", 206)]
