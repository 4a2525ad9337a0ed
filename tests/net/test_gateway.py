"""The loopback gateway with a plain HTTP client (requests) standing in for VLC."""

from __future__ import annotations

import logging
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from player.core.model import FetchKind
from player.net.fetch import Fetcher
from player.net.gateway import (
    FetchRecorded,
    Gateway,
    Mode,
    PlaylistLoaded,
    RenditionSwitched,
    Resumed,
    Retrying,
    SegmentMissing,
)
from player.net.gateway.routes import b64
from player.net.manifests import parse_master, parse_media
from tests.support.origin import OriginServer


def fetches(events: list[object]) -> list:
    return [e.fetch for e in events if isinstance(e, FetchRecorded)]


def settled(fn: Callable[[], object], want: object, timeout: float = 1.0) -> object:
    """``fn()`` once it equals ``want`` (the gateway finishes its bookkeeping a moment
    after the client has read the last byte), else its last value."""
    deadline = time.monotonic() + timeout
    while (got := fn()) != want and time.monotonic() < deadline:
        time.sleep(0.01)
    return got


def writes_stopped(gw: Gateway, longer_than_s: float, timeout: float = 10.0) -> int:
    """Wait until ``gw.bytes_delivered()`` has not grown for ``longer_than_s``; return it."""
    deadline = time.monotonic() + timeout
    last, since = gw.bytes_delivered(), time.monotonic()
    while True:
        now, got = time.monotonic(), gw.bytes_delivered()
        if got != last:
            last, since = got, now
        elif now - since > longer_than_s:
            return got
        assert now < deadline, f"the gateway kept writing ({got} bytes)"
        time.sleep(0.01)


def quiet(gw: Gateway) -> None:
    """Wait until the gateway has finished every request (records and events are out)."""
    assert settled(gw.open_requests, 0) == 0


@pytest.fixture
def fast_gateway(events: list[object]) -> Iterator[Gateway]:
    """A gateway whose retries back off quickly (0.05, 0.1, 0.2 s)."""
    gw = Gateway(on_event=events.append, fetcher=Fetcher(backoff_base_s=0.05))
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


def _virtual_index(gw: Gateway, s: requests.Session, entry: str) -> list[str]:
    master = s.get(entry)
    assert master.status_code == 200
    index_url = parse_master(master.text, entry).variants[0].uri
    media = parse_media(s.get(index_url).text, index_url)
    return [seg.uri for seg in media.segments]


# ----------------------------------------------------------------------------------------
# progressive
# ----------------------------------------------------------------------------------------
def test_progressive_range_passthrough(
    origin: OriginServer, gateway: Gateway, mp4_file: Path
) -> None:
    data = mp4_file.read_bytes()
    url = gateway.open(origin.url("clip.mp4"))
    assert url.startswith(gateway.base_url) and url.endswith("/clip.mp4")
    with requests.Session() as s:
        r = s.get(url, headers={"Range": "bytes=1000-1999"})
        assert r.status_code == 206 and r.content == data[1000:2000]
        assert r.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
        r = s.get(url, headers={"Range": f"bytes={len(data) - 100}-"})  # a seek near the end
        assert r.status_code == 206 and r.content == data[-100:]
        r = s.get(url)
        assert r.status_code == 200 and r.content == data
        assert r.headers["Content-Type"] == "video/mp4"
    assert [q[2] for q in origin.requests] == ["bytes=1000-1999", f"bytes={len(data) - 100}-", None]
    assert gateway.mode is Mode.PROGRESSIVE
    assert settled(gateway.bytes_delivered, 1100 + len(data)) == 1100 + len(data)


def test_cut_mid_transfer_resumes(
    origin: OriginServer, gateway: Gateway, mp4_file: Path, events: list[object]
) -> None:
    data = mp4_file.read_bytes()
    origin.add_fault("/clip.mp4", "cut", after_bytes=len(data) // 3)
    r = requests.get(gateway.open(origin.url("clip.mp4")), timeout=10)
    assert r.content == data  # bytes already sent are not resent, none are lost
    quiet(gateway)
    assert [e.at_byte for e in events if isinstance(e, Resumed)] == [len(data) // 3]
    (f,) = [f for f in fetches(events) if f.kind is FetchKind.PROGRESSIVE]
    assert f.resumed == 1 and f.bytes == len(data) and f.error is None
    assert origin.requests[-1][2] == f"bytes={len(data) // 3}-"


def test_upstream_404_is_passed_to_the_player(origin: OriginServer, gateway: Gateway) -> None:
    r = requests.get(gateway.open(origin.url("missing.mp4")))
    assert r.status_code == 404


# ----------------------------------------------------------------------------------------
# security
# ----------------------------------------------------------------------------------------
def test_403_without_secret_or_for_old_session(origin: OriginServer, gateway: Gateway) -> None:
    url = gateway.open(origin.url("clip.mp4"))
    root = f"http://127.0.0.1:{gateway.port}"
    sid_path = url[len(gateway.base_url) :]
    for bad in [root + "/", root + "/x" + sid_path, root + "/" + gateway.secret[:-1] + sid_path]:
        assert requests.get(bad).status_code == 403, bad
    assert requests.head(url).status_code == 200
    gateway.open(origin.url("clip.mp4"))  # a new session: the old URL is dead
    assert requests.get(url).status_code == 403
    assert len([q for q in origin.requests if q[0] == "GET"]) == 0


def test_unnamed_url_is_refused(origin: OriginServer, gateway: Gateway, hls_master: Path) -> None:
    entry = gateway.open(origin.url("hls/master.m3u8"))
    with requests.Session() as s:
        _virtual_index(gateway, s, entry)
        sid = entry[len(gateway.base_url) + 1 :].split("/")[0]
        named = origin.url("hls/v0/index.m3u8")  # named by the master playlist
        unnamed = origin.url("clip.mp4")  # on the same origin, but nobody named it
        other = "http://example.com/"
        for u in (unnamed, other):
            r = s.get(f"{gateway.base_url}/{sid}/r/{b64(u)}/x")
            assert r.status_code == 403
        assert s.get(f"{gateway.base_url}/{sid}/r/{b64(named)}/index.m3u8").status_code == 200
    assert not origin.requests_for("/clip.mp4")


def test_logs_never_show_the_secret_or_the_session_id(
    origin: OriginServer, gateway: Gateway, hls_master: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="player")
    entry = gateway.open(origin.url("hls/master.m3u8"))
    sid = entry[len(gateway.base_url) + 1 :].split("/")[0]
    with requests.Session() as s:
        for u in _virtual_index(gateway, s, entry)[:2]:
            assert s.get(u).status_code == 200
        root = f"http://127.0.0.1:{gateway.port}"
        assert s.get(f"{root}/wrong-secret/{sid}/open/x").status_code == 403
        assert s.get(f"{gateway.base_url}/{sid}/nothing-here").status_code == 404
    quiet(gateway)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("player")]
    assert any("GET" in m for m in ours)  # request lines are logged, redacted
    assert not [m for m in ours if gateway.secret in m or sid in m]


def test_listens_on_loopback_only(gateway: Gateway) -> None:
    assert gateway._server is not None and gateway._server.server_address[0] == "127.0.0.1"
    assert len(gateway.secret) >= 32


# ----------------------------------------------------------------------------------------
# HLS: virtual playlist, rendition choice, accounting
# ----------------------------------------------------------------------------------------
def test_hls_virtual_playlist_and_rendition_choice(
    origin: OriginServer, gateway: Gateway, media_dir: Path, events: list[object]
) -> None:
    choice = {"r": 0}
    gateway.rendition_chooser = lambda seq: choice["r"]
    entry = gateway.open(origin.url("hls/master.m3u8"), kind="hls")
    with requests.Session() as s:
        segs = _virtual_index(gateway, s, entry)
        assert len(segs) == 6 and all(u.startswith(gateway.base_url) for u in segs)
        assert gateway.mode is Mode.HLS_VIRTUAL and len(gateway.renditions()) == 3
        assert s.get(segs[0]).content == (media_dir / "hls/v0/seg_000.ts").read_bytes()
        choice["r"] = 2
        assert s.get(segs[1]).content == (media_dir / "hls/v2/seg_001.ts").read_bytes()
        gateway.lock_rendition(1)  # pin beats the chooser
        assert s.get(segs[2]).content == (media_dir / "hls/v1/seg_002.ts").read_bytes()
        gateway.lock_rendition(None)
        assert s.get(segs[3]).content == (media_dir / "hls/v2/seg_003.ts").read_bytes()
    quiet(gateway)
    assert gateway.current_rendition() == 2
    loaded = [e for e in events if isinstance(e, PlaylistLoaded)]
    assert loaded[0].mode is Mode.HLS_VIRTUAL and loaded[0].duration_s == pytest.approx(12.0)
    assert [
        (e.seq, e.from_index, e.to_index) for e in events if isinstance(e, RenditionSwitched)
    ] == [
        (1, 0, 2),
        (2, 2, 1),
        (3, 1, 2),
    ]
    seg_fetches = [f for f in fetches(events) if f.kind is FetchKind.SEGMENT]
    assert [f.media_sequence for f in seg_fetches] == [0, 1, 2, 3]
    bws = [r.bandwidth for r in gateway.renditions()]
    assert [f.rendition_bitrate_bps for f in seg_fetches] == [bws[0], bws[2], bws[1], bws[2]]
    assert all(f.media_duration_s == pytest.approx(2.0) for f in seg_fetches)
    playlists = [f for f in fetches(events) if f.kind is FetchKind.PLAYLIST]
    assert len(playlists) == 4  # master + 3 media playlists
    # timing: the very first request opened a connection, later ones reused it
    first = fetches(events)[0]
    assert not first.reused_connection and first.connect_ms is not None
    assert all(f.reused_connection for f in seg_fetches)
    assert all(f.ttfb_ms is not None and f.ttfb_ms < 1000 for f in seg_fetches)


def test_delivery_accounting_and_seek(origin: OriginServer, gateway: Gateway) -> None:
    entry = gateway.open(origin.url("hls/master.m3u8"))
    with requests.Session() as s:
        segs = _virtual_index(gateway, s, entry)
        assert gateway.delivered_media_s() == 0.0
        for u in segs[:3]:
            s.get(u)
        assert settled(gateway.delivered_media_s, 6.0) == pytest.approx(6.0)
        assert gateway.delivered_until_s() == pytest.approx(6.0)
        s.get(segs[4])  # a seek: a new run starts at segment 4 (media time 8 s)
        assert settled(gateway.delivered_media_s, 2.0) == pytest.approx(2.0)
        assert gateway.delivered_until_s() == pytest.approx(10.0)
        s.get(segs[5])
        assert settled(gateway.delivered_until_s, 12.0) == pytest.approx(12.0)
    assert settled(gateway.open_requests, 0) == 0 and not gateway.starving()


def test_5xx_retried_then_success(
    origin: OriginServer, fast_gateway: Gateway, media_dir: Path, events: list[object]
) -> None:
    origin.add_fault("/hls/v0/seg_001.ts", "status", code=503, times=2)
    entry = fast_gateway.open(origin.url("hls/master.m3u8"))
    with requests.Session() as s:
        segs = _virtual_index(fast_gateway, s, entry)
        r = s.get(segs[1])
    assert r.status_code == 200 and r.content == (media_dir / "hls/v0/seg_001.ts").read_bytes()
    quiet(fast_gateway)
    assert [e.attempt for e in events if isinstance(e, Retrying)] == [1, 2]
    (f,) = [f for f in fetches(events) if f.media_sequence == 1]
    assert f.retries == 2 and f.status == 200
    assert [q[3] for q in origin.requests_for("/hls/v0/seg_001.ts")] == [503, 503, 200]


def test_missing_segment_reported_and_skipped(
    origin: OriginServer, fast_gateway: Gateway, events: list[object]
) -> None:
    origin.add_fault("/hls/v*/seg_002.ts", "status", code=404)
    entry = fast_gateway.open(origin.url("hls/master.m3u8"))
    with requests.Session() as s:
        segs = _virtual_index(fast_gateway, s, entry)
        for u in segs[:4]:
            r = s.get(u)
            assert r.status_code == 200
    assert r.content  # segment 3 is fine
    quiet(fast_gateway)
    missing = [e for e in events if isinstance(e, SegmentMissing)]
    assert len(missing) == 1 and missing[0].seq == 2 and "404" in missing[0].reason
    # the same segment of the other renditions was tried first
    assert len(origin.requests_for("/hls/v*/seg_002.ts")) == 3
    # playback moves on: the skipped segment does not block delivery accounting
    assert settled(fast_gateway.delivered_media_s, 8.0) == pytest.approx(8.0)


def test_missing_segment_substituted_from_another_rendition(
    origin: OriginServer, gateway: Gateway, media_dir: Path, events: list[object]
) -> None:
    origin.add_fault("/hls/v0/seg_001.ts", "status", code=404)
    entry = gateway.open(origin.url("hls/master.m3u8"))
    with requests.Session() as s:
        segs = _virtual_index(gateway, s, entry)
        body = s.get(segs[1]).content
    assert body == (media_dir / "hls/v1/seg_001.ts").read_bytes()
    assert not [e for e in events if isinstance(e, SegmentMissing)]


def test_rewrite_mode_when_renditions_differ(
    media_dir: Path, tmp_path: Path, gateway: Gateway, events: list[object]
) -> None:
    root = tmp_path / "odd"
    shutil.copytree(media_dir / "hls", root)
    v1 = root / "v1/index.m3u8"
    lines = v1.read_text().splitlines()
    cut = max(i for i, line in enumerate(lines) if line.startswith("#EXTINF"))
    v1.write_text("\n".join(lines[:cut] + lines[cut + 2 :]) + "\n")  # one segment fewer
    with OriginServer(root) as srv, requests.Session() as s:
        entry = gateway.open(srv.url("master.m3u8"))
        master = parse_master(s.get(entry).text, entry)
        assert gateway.mode is Mode.HLS_REWRITE and len(master.variants) == 3
        assert all(v.uri.startswith(gateway.base_url) for v in master.variants)
        media = parse_media(s.get(master.variants[2].uri).text, master.variants[2].uri)
        assert all(seg.uri.startswith(gateway.base_url) for seg in media.segments)
        assert s.get(media.segments[1].uri).content == (root / "v2/seg_001.ts").read_bytes()
        gateway.lock_rendition(0)  # rewrite mode: applies to playlists fetched afterwards
        locked = parse_media(s.get(master.variants[1].uri).text, master.variants[1].uri)
        assert s.get(locked.segments[0].uri).content == (root / "v0/seg_000.ts").read_bytes()
    quiet(gateway)
    note = [e for e in events if isinstance(e, PlaylistLoaded)][0].note
    assert "segments" in note
    seg = [f for f in fetches(events) if f.kind is FetchKind.SEGMENT]
    assert (
        seg[0].media_sequence == 1 and seg[0].rendition_bitrate_bps == master.variants[2].bandwidth
    )


def test_live_playlist_is_refreshed(media_dir: Path, tmp_path: Path, gateway: Gateway) -> None:
    root = tmp_path / "live"
    shutil.copytree(media_dir / "hls", root)

    def publish(n: int) -> None:  # a live window with the first n segments, no ENDLIST
        for v in ("v0", "v1", "v2"):
            body = [
                "#EXTM3U",
                "#EXT-X-VERSION:3",
                "#EXT-X-TARGETDURATION:2",
                "#EXT-X-MEDIA-SEQUENCE:0",
            ]
            for i in range(n):
                body += ["#EXTINF:2.0,", f"seg_{i:03d}.ts"]
            (root / v / "index.m3u8").write_text("\n".join(body) + "\n")

    publish(3)
    with OriginServer(root) as srv, requests.Session() as s:
        entry = gateway.open(srv.url("master.m3u8"))
        assert len(_virtual_index(gateway, s, entry)) == 3
        publish(5)
        master = parse_master(s.get(entry).text, entry)
        media = parse_media(s.get(master.variants[0].uri).text, master.variants[0].uri)
        assert [seg.seq for seg in media.segments] == [0, 1, 2, 3, 4] and media.is_live
        assert s.get(media.segments[4].uri).content == (root / "v0/seg_004.ts").read_bytes()
        assert len(srv.requests_for("/v0/index.m3u8")) >= 2


def test_dash_the_gateway_cannot_serve_is_left_to_vlc(
    gateway: Gateway, origin: OriginServer, media_dir: Path
) -> None:
    # DASH goes through the gateway (tests/net/test_dash*.py); an MPD it cannot serve
    # (here: no video adaptation set) behind a URL that does not say so: VLC gets it with
    # an absolute BaseURL, so that it fetches the segments from the origin itself
    (media_dir / "manifest").write_text(
        '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period/></MPD>\n'
    )
    text = requests.get(gateway.open(origin.url("manifest"))).text
    assert f"<BaseURL>{origin.url('')}</BaseURL><Period/>" in text
    assert gateway.mode is Mode.DIRECT and not gateway.per_segment_data


# ----------------------------------------------------------------------------------------
# stalls and stop()
# ----------------------------------------------------------------------------------------
def test_starving_and_stop_during_stalled_upstream(origin: OriginServer, mp4_file: Path) -> None:
    gw = Gateway()
    gw.start()
    origin.add_fault("/clip.mp4", "pause", after_bytes=50_000, seconds=None)
    url = gw.open(origin.url("clip.mp4"))
    got: list[int] = []

    def client() -> None:
        try:
            with requests.get(url, stream=True, timeout=10) as r:
                for chunk in r.iter_content(4096):
                    got.append(len(chunk))
        except requests.RequestException:
            pass

    t = threading.Thread(target=client, name="test-client")
    t.start()
    deadline = time.monotonic() + 3
    while not gw.starving() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gw.starving() and gw.starving_for_s() > 0.3
    assert gw.bytes_delivered() == 50_000 and sum(got) > 40_000  # client reads 4 KiB blocks
    t0 = time.monotonic()
    gw.stop()
    assert time.monotonic() - t0 < 1.0
    assert not [x.name for x in threading.enumerate() if x.name.startswith("gateway")]
    t.join(3)
    assert not t.is_alive()


def test_player_hanging_up_during_a_stall_is_noticed(
    origin: OriginServer, gateway: Gateway, events: list[object]
) -> None:
    origin.add_fault("/clip.mp4", "pause", after_bytes=20_000, seconds=None)
    url = gateway.open(origin.url("clip.mp4"))
    path = url.split(str(gateway.port), 1)[1]
    sock = socket.create_connection(("127.0.0.1", gateway.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{gateway.port}\r\n\r\n".encode())
    assert sock.recv(1000)
    assert settled(gateway.starving, True, timeout=2.0)
    sock.close()  # like VLC seeking or stopping mid-stall
    assert settled(gateway.starving, False, timeout=1.5) is False
    quiet(gateway)
    (f,) = fetches(events)
    assert f.error == "player closed the connection" and 20_000 <= f.bytes < 100_000


def test_a_player_that_stops_reading_is_not_starving(tmp_path: Path, gateway: Gateway) -> None:
    (tmp_path / "big.mp4").write_bytes(bytes(24 * 1024 * 1024))
    with OriginServer(tmp_path) as srv:
        url = gateway.open(srv.url("big.mp4"))
        path = url.split(str(gateway.port), 1)[1]
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", gateway.port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{gateway.port}\r\n\r\n".encode())
        assert sock.recv(1000)
        # the gateway is blocked writing to a full socket, not waiting: once no byte has
        # gone out for longer than the starving threshold, a gateway that counted a
        # blocked write as waiting would already call it starving
        held = writes_stopped(gateway, longer_than_s=2 * gateway.starving_after_s)
        assert gateway.open_requests() == 1 and not gateway.starving()
        assert gateway.bytes_delivered() == held < 24 * 1024 * 1024
        sock.close()
