"""The gateway against hostile origins and hostile local clients (issue 12).

Real loopback servers throughout: :class:`~tests.support.hostile.HostileOrigin` plays the
hostile origin, and the hostile local clients are separate *processes* (a subprocess
speaking raw HTTP over a socket), as another program on the viewer's machine would be.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from player.net import manifests
from player.net.fetch import MAX_REDIRECTS, Fetcher
from player.net.gateway import (
    Gateway,
    Mode,
    PlaylistLoaded,
    Retrying,
    SegmentMissing,
    UpstreamError,
    server,
)
from player.net.gateway.routes import LIVE_KEEP_SEGMENTS, b64
from player.net.manifests import MAX_VARIANTS, parse_media
from player.net.url_policy import AddressClass, address_class
from tests.support.hostile import HostileOrigin, endless

PROC_TIMEOUT_S = 30.0  # only ends a hang: the subprocesses finish in well under a second
M3U8 = {"Content-Type": "application/vnd.apple.mpegurl"}


def media_playlist(uris: list[str], *, live: bool = False, first_seq: int = 0) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2"]
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{first_seq}")
    for u in uris:
        lines += ["#EXTINF:2.0,", u]
    if not live:
        lines.append("#EXT-X-ENDLIST")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def hostile() -> Iterator[HostileOrigin]:
    with HostileOrigin() as o:
        yield o


@pytest.fixture
def gw(events: list[object]) -> Iterator[Gateway]:
    """A gateway whose retries back off quickly."""
    g = Gateway(on_event=events.append, fetcher=Fetcher(backoff_base_s=0.01))
    g.start()
    try:
        yield g
    finally:
        g.stop()


def segments_via_gateway(gw: Gateway, entry: str) -> list[str]:
    r = requests.get(entry, timeout=10)
    assert r.status_code == 200, r.text
    return [s.uri for s in parse_media(r.text, entry).segments]


def sid_of(gw: Gateway, entry: str) -> str:
    return entry[len(gw.base_url) + 1 :].split("/")[0]


def quiet(gw: Gateway) -> None:
    """Wait until the gateway finished every request (its records and events are out)."""
    deadline = time.monotonic() + 15
    while gw.open_requests() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gw.open_requests() == 0


# ----------------------------------------------------------------------------------------
# 1. any upstream failure is the gateway's own error path; nothing secret in any log
# ----------------------------------------------------------------------------------------
def test_a_malformed_redirect_skips_the_segment_and_logs_nothing_secret(
    hostile: HostileOrigin, gw: Gateway, events: list[object], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    hostile.route("/index.m3u8", headers=M3U8, body=media_playlist(["s0.ts", "s1.ts"]))
    hostile.route("/s0.ts", status=302, headers={"Location": "http://[::1/x"})
    hostile.route("/s1.ts", body=b"G" * 188)
    entry = gw.open(hostile.url("index.m3u8"))
    with requests.Session() as s:
        segs = segments_via_gateway(gw, entry)
        r0 = s.get(segs[0], timeout=10)
        r1 = s.get(segs[1], timeout=10)
    assert r0.status_code == 200 and r0.content == b""  # skipped: VLC moves on
    assert r1.status_code == 200 and r1.content == b"G" * 188  # the stream goes on
    quiet(gw)
    (missing,) = [e for e in events if isinstance(e, SegmentMissing)]
    assert missing.seq == 0 and "malformed" in missing.reason
    assert len(hostile.seen("/s0.ts")) == 1  # a bad redirect is not retried
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # every logger but this test's own client (urllib3 logging the requests it, standing in
    # for VLC, sends to the gateway: in the player, VLC is the client and logs nothing here)
    ours = [
        r for r in caplog.records
        if not (r.name.startswith("urllib3") and f":{gw.port}" in r.getMessage())
    ]  # fmt: skip
    assert any("/…/…/" in r.getMessage() for r in ours)  # the gateway logged, redacted
    text = "".join(f"{r.getMessage()} {r.exc_text or ''} {r.args}" for r in ours)
    assert gw.secret not in text and sid_of(gw, entry) not in text


def test_a_redirect_loop_costs_six_requests_and_skips_the_segment(
    hostile: HostileOrigin, gw: Gateway, events: list[object]
) -> None:
    hostile.route("/index.m3u8", headers=M3U8, body=media_playlist(["loop.ts"]))
    hostile.route("/loop.ts", status=302, headers={"Location": "/loop.ts"})
    entry = gw.open(hostile.url("index.m3u8"))
    (seg,) = segments_via_gateway(gw, entry)
    r = requests.get(seg, timeout=10)
    assert r.status_code == 200 and r.content == b""
    quiet(gw)
    assert len(hostile.seen("/loop.ts")) == MAX_REDIRECTS + 1
    assert not [e for e in events if isinstance(e, Retrying)]
    assert "redirect" in [e for e in events if isinstance(e, SegmentMissing)][0].reason


# ----------------------------------------------------------------------------------------
# 4. address classes: what the viewer opened decides
# ----------------------------------------------------------------------------------------
def test_a_loopback_session_may_fetch_loopback_but_not_private_or_link_local(
    hostile: HostileOrigin, gw: Gateway, events: list[object]
) -> None:
    with HostileOrigin(host="::1") as v6:
        v6.route("/v6.ts", body=b"six" * 100)
        uris = [
            "http://10.0.0.1/private.ts",
            "http://169.254.169.254/latest/meta-data.ts",
            "http://100.64.0.1/cgnat.ts",
            v6.url("v6.ts"),  # [::1]: loopback, like the 127.0.0.1 the viewer opened
        ]
        hostile.route("/index.m3u8", headers=M3U8, body=media_playlist(uris))
        entry = gw.open(hostile.url("index.m3u8"))
        with requests.Session() as s:
            answers = [s.get(u, timeout=10) for u in segments_via_gateway(gw, entry)]
        quiet(gw)
        assert [a.status_code for a in answers] == [200, 200, 200, 200]
        assert [a.content for a in answers[:3]] == [b"", b"", b""]  # refused: skipped
        assert answers[3].content == b"six" * 100
        assert len(v6.seen("/v6.ts")) == 1
    missing = [e for e in events if isinstance(e, SegmentMissing)]
    assert [m.seq for m in missing] == [0, 1, 2]
    assert all("refused to fetch" in m.reason for m in missing)
    assert not [e for e in events if isinstance(e, Retrying)]  # refused at once, no connect
    refused = [f for f in gw.fetches() if f.media_sequence in (0, 1, 2)]
    assert len(refused) == 3 and all(f.connect_ms is None and f.retries == 0 for f in refused)


def own_non_loopback_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        try:
            u.connect(("192.0.2.1", 9))  # UDP connect only picks the route
        except OSError:
            return None
        addr = u.getsockname()[0]
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


def test_a_refused_address_is_never_connected_to(
    hostile: HostileOrigin, gw: Gateway, events: list[object]
) -> None:
    addr = own_non_loopback_address()
    if addr is None or address_class(addr) is AddressClass.PUBLIC:
        pytest.skip("needs a non-public, non-loopback address on this machine")
    with socket.socket() as lst:  # a real listener at the refused address
        lst.bind((addr, 0))
        lst.listen(8)
        lst.setblocking(False)
        port = lst.getsockname()[1]
        hostile.route(
            "/index.m3u8", headers=M3U8, body=media_playlist([f"http://{addr}:{port}/s.ts"])
        )
        entry = gw.open(hostile.url("index.m3u8"))  # opened on 127.0.0.1
        (seg,) = segments_via_gateway(gw, entry)
        assert requests.get(seg, timeout=10).content == b""
        quiet(gw)
        with pytest.raises(BlockingIOError):
            lst.accept()  # no TCP handshake ever reached it
    (missing,) = [e for e in events if isinstance(e, SegmentMissing)]
    assert f"refused to fetch from {addr}" in missing.reason


def test_a_request_of_an_old_session_keeps_its_own_sessions_policy(
    hostile: HostileOrigin, gw: Gateway, events: list[object]
) -> None:
    """Session A (opened on this machine's non-loopback address) has a segment in flight
    when session B is opened on 127.0.0.1: the redirect A's origin then sends to loopback
    is checked against A's policy, not B's (a shared policy would let it through)."""
    addr = own_non_loopback_address()
    if addr is None or address_class(addr) is AddressClass.PUBLIC:
        pytest.skip("needs a non-public, non-loopback address on this machine")
    gate = threading.Event()

    def gated() -> Iterator[bytes]:  # the redirect's body: read before the hop is followed
        gate.wait(PROC_TIMEOUT_S)
        yield b"move"

    hostile.route("/secret.ts", body=b"secret" * 10)
    hostile.route("/b.mp4", body=b"\x00" * 10)
    with HostileOrigin(host=addr) as a_origin:
        a_origin.route("/index.m3u8", headers=M3U8, body=media_playlist(["slow.ts"]))
        a_origin.route(
            "/slow.ts",
            status=302,
            headers={"Location": hostile.url("secret.ts"), "Content-Length": "4"},
            body=gated,
        )
        entry = gw.open(a_origin.url("index.m3u8"))
        (seg,) = segments_via_gateway(gw, entry)
        answers: list[requests.Response] = []
        client = threading.Thread(target=lambda: answers.append(requests.get(seg, timeout=30)))
        client.start()
        deadline = time.monotonic() + 15
        while not a_origin.seen("/slow.ts") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert a_origin.seen("/slow.ts")
        gw.open(hostile.url("b.mp4"))  # session B: loopback is allowed for *its* requests
        gate.set()
        client.join(PROC_TIMEOUT_S)
    assert [a.content for a in answers] == [b""]  # A's segment: refused, skipped
    assert not hostile.seen("/secret.ts")
    quiet(gw)
    (missing,) = [e for e in events if isinstance(e, SegmentMissing)]
    assert "refused to fetch from 127.0.0.1" in missing.reason


def test_a_redirect_is_checked_at_every_hop(
    hostile: HostileOrigin, gw: Gateway, events: list[object]
) -> None:
    hostile.route("/index.m3u8", headers=M3U8, body=media_playlist(["hop.ts"]))
    hostile.route("/hop.ts", status=302, headers={"Location": "/hop2.ts"})
    hostile.route("/hop2.ts", status=307, headers={"Location": "http://192.168.1.1/admin"})
    entry = gw.open(hostile.url("index.m3u8"))
    (seg,) = segments_via_gateway(gw, entry)
    assert requests.get(seg, timeout=10).content == b""
    quiet(gw)
    (missing,) = [e for e in events if isinstance(e, SegmentMissing)]
    assert "refused to fetch from 192.168.1.1" in missing.reason


# ----------------------------------------------------------------------------------------
# 5. bounded memory
# ----------------------------------------------------------------------------------------
def test_an_endless_entry_playlist_stops_at_the_cap(
    hostile: HostileOrigin, gw: Gateway, events: list[object]
) -> None:
    hostile.route("/live.m3u8", headers=M3U8, body=endless())
    r = requests.get(gw.open(hostile.url("live.m3u8")), timeout=30)
    assert r.status_code == 502 and "playlist too large" in r.text
    quiet(gw)
    assert any(isinstance(e, UpstreamError) and "playlist too large" in e.reason for e in events)


def test_a_gzip_bomb_media_playlist_is_refused(
    hostile: HostileOrigin, gw: Gateway, events: list[object]
) -> None:
    master = b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nbomb.m3u8\n"
    bomb = gzip.compress(b"#EXTM3U\n" + b"#" * (64 * 1024 * 1024), compresslevel=9)
    hostile.route("/master.m3u8", headers=M3U8, body=master)
    hostile.route("/bomb.m3u8", headers={**M3U8, "Content-Encoding": "gzip"}, body=bomb)
    r = requests.get(gw.open(hostile.url("master.m3u8")), timeout=30)
    assert r.status_code == 200 and gw.mode is Mode.HLS_REWRITE  # the variant failed
    quiet(gw)
    assert any(isinstance(e, UpstreamError) and "playlist too large" in e.reason for e in events)


def test_too_many_variants_is_a_bad_playlist(hostile: HostileOrigin, gw: Gateway) -> None:
    n = MAX_VARIANTS + 1
    master = "#EXTM3U\n" + "".join(
        f"#EXT-X-STREAM-INF:BANDWIDTH={1000 + i}\nv{i}.m3u8\n" for i in range(n)
    )
    hostile.route("/master.m3u8", headers=M3U8, body=master.encode())
    r = requests.get(gw.open(hostile.url("master.m3u8")), timeout=30)
    assert r.status_code == 502 and "too many variants" in r.text
    assert len(hostile.requests) == 1  # none of the variants was fetched


@pytest.mark.parametrize(("budget", "mode"), [(9, Mode.HLS_VIRTUAL), (5, Mode.HLS_REWRITE)])
def test_virtual_mode_has_a_segment_budget_across_renditions(
    hostile: HostileOrigin,
    gw: Gateway,
    events: list[object],
    monkeypatch: pytest.MonkeyPatch,
    budget: int,
    mode: Mode,
) -> None:
    """Three renditions of three segments: 9 fit a budget of 9 (virtual mode); over a
    budget of 5 the gateway stops fetching renditions up front and lets VLC choose."""
    monkeypatch.setattr(manifests, "MAX_VIRTUAL_SEGMENTS", budget)
    master = "#EXTM3U\n" + "".join(
        f"#EXT-X-STREAM-INF:BANDWIDTH={100_000 * (i + 1)}\nv{i}.m3u8\n" for i in range(3)
    )
    hostile.route("/master.m3u8", headers=M3U8, body=master.encode())
    for i in range(3):
        hostile.route(
            f"/v{i}.m3u8", headers=M3U8, body=media_playlist([f"v{i}_{n}.ts" for n in range(3)])
        )
    r = requests.get(gw.open(hostile.url("master.m3u8")), timeout=30)
    assert r.status_code == 200, r.text
    assert gw.mode is mode
    if mode is Mode.HLS_REWRITE:
        assert not hostile.seen("/v2.m3u8")  # fetching stopped at the budget
        (loaded,) = [e for e in events if isinstance(e, PlaylistLoaded)]
        assert f"more than {budget} segments" in loaded.note


def test_a_live_allowlist_forgets_segments_that_left_the_window(
    hostile: HostileOrigin, gw: Gateway
) -> None:
    def window(first: int) -> bytes:
        return media_playlist([f"s{i}.ts" for i in range(first, first + 3)], live=True,
                              first_seq=first)  # fmt: skip

    for i in range(40):
        hostile.route(f"/s{i}.ts", body=b"T" * 188)
    hostile.route("/live.m3u8", headers=M3U8, body=window(0))
    entry = gw.open(hostile.url("live.m3u8"))
    with requests.Session() as s:
        first = segments_via_gateway(gw, entry)
        assert s.get(first[0], timeout=10).status_code == 200
        hostile.route("/live.m3u8", headers=M3U8, body=window(30))  # much later
        segments_via_gateway(gw, entry)  # a refresh
        assert s.get(first[0], timeout=10).status_code == 403  # left the window: forgotten
        hostile.route("/live.m3u8", headers=M3U8, body=window(31))
        now = segments_via_gateway(gw, entry)
        assert s.get(now[-1], timeout=10).status_code == 200
    sess = gw._routes.current
    assert sess is not None
    segs = [a for a in sess.allowed.values() if a.seq is not None]
    assert len(segs) <= 3 + LIVE_KEEP_SEGMENTS + 1


# ----------------------------------------------------------------------------------------
# 6. the gateway's own server, from another process
# ----------------------------------------------------------------------------------------
CLIENT = textwrap.dedent(
    """
    import socket, sys, time
    port, mode, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    if mode == "loris":
        # one byte of a request head at a time, for as long as the server lets us
        head = ("GET " + path + " HTTP/1.1\\r\\nHost: 127.0.0.1:%d\\r\\n" % port).encode()
        sent = 0
        try:
            while True:
                s.sendall(head[sent % len(head):][:1] if sent < len(head) else b"X")
                sent += 1
                time.sleep(0.05)
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        break
                except BlockingIOError:
                    pass
                finally:
                    s.setblocking(True)
        except OSError:
            pass
        print("closed after", sent)
    else:
        s.sendall(("GET " + path + " HTTP/1.1\\r\\nHost: " + mode + "\\r\\n"
                   "Origin: http://evil.example\\r\\nConnection: close\\r\\n\\r\\n").encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        print(data.split(b"\\r\\n\\r\\n", 1)[0].decode())
    """
)


def run_client(port: int, mode: str, path: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, str(port), mode, path],
        capture_output=True, text=True, timeout=PROC_TIMEOUT_S, check=True,
    )  # fmt: skip
    return out.stdout


def test_slow_loris_from_another_process_is_cut_off(
    hostile: HostileOrigin, gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "REQUEST_HEAD_DEADLINE_S", 0.5)  # the test need not wait 10 s
    hostile.route("/a.mp4", body=b"\x00" * 1000)
    entry = gw.open(hostile.url("a.mp4"))
    path = entry.split(str(gw.port), 1)[1]
    out = run_client(gw.port, "loris", path)  # without a deadline this never returns
    assert out.startswith("closed after")
    assert requests.get(entry, timeout=10).content == b"\x00" * 1000  # still serving


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1.nip.io:{port}", "127.0.0.1:1"])
def test_a_foreign_host_header_is_refused(hostile: HostileOrigin, gw: Gateway, host: str) -> None:
    hostile.route("/a.mp4", body=b"\x00" * 1000)
    entry = gw.open(hostile.url("a.mp4"))
    path = entry.split(str(gw.port), 1)[1]
    head = run_client(gw.port, host.format(port=gw.port), path)
    assert head.startswith("HTTP/1.1 403")
    assert "access-control" not in head.lower()
    assert not hostile.requests  # nothing was fetched for it


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}"])
def test_our_own_host_names_are_served_without_cors(
    hostile: HostileOrigin, gw: Gateway, host: str
) -> None:
    hostile.route("/a.mp4", body=b"\x00" * 1000)
    entry = gw.open(hostile.url("a.mp4"))
    path = entry.split(str(gw.port), 1)[1]
    head = run_client(gw.port, host.format(port=gw.port), path)
    assert head.startswith("HTTP/1.1 200")
    assert "access-control" not in head.lower()


def test_guesses_and_traversal_are_403(hostile: HostileOrigin, gw: Gateway) -> None:
    hostile.route("/a.mp4", body=b"\x00" * 1000)
    entry = gw.open(hostile.url("a.mp4"))
    sid = sid_of(gw, entry)
    for path in (
        f"/x/../{gw.secret}/{sid}/open/a.mp4",
        f"/{gw.secret}/../{gw.secret}/{sid}/open/a.mp4",
        f"/{gw.secret}/{sid}/r/{b64('file:///etc/passwd')}/passwd",
        f"/{gw.secret}/{sid}/r/{b64(hostile.url('a.mp4') + '/../secret')}/x",
        f"/{gw.secret}/{sid}/r/..%2f..%2fetc%2fpasswd/x",
        f"/{gw.secret}%2f{sid}/open/a.mp4",
    ):
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
        conn.request("GET", path)  # sent as written (requests would remove the dot segments)
        r = conn.getresponse()
        assert r.status == 403, path
        assert not any(k.lower().startswith("access-control") for k in r.headers)
        conn.close()
    opt = requests.options(entry, headers={"Origin": "http://evil.example"}, timeout=10)
    assert opt.status_code >= 400 and "Access-Control-Allow-Origin" not in opt.headers
    assert not hostile.requests


HOARDER = textwrap.dedent(
    """
    import select, socket, sys
    port, n, want_closed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(n)]
    print("open", flush=True)
    closed = set()
    while len(closed) < want_closed:  # the server closes those it must
        readable, _, _ = select.select([s for s in socks if s not in closed], [], [], 30)
        if not readable:
            break
        for s in readable:
            if s.recv(1) == b"":
                closed.add(s)
    print("closed", sorted(socks.index(s) for s in closed), flush=True)
    sys.stdin.read()  # hold the others open until the test is done
    """
)


def hoard(port: int, n: int, want_closed: int) -> subprocess.Popen[str]:
    """Another process opening ``n`` idle connections to the gateway."""
    return subprocess.Popen(
        [sys.executable, "-c", HOARDER, str(port), str(n), str(want_closed)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_idle_connections_beyond_the_limit_close_the_oldest(
    hostile: HostileOrigin, gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit, extra = 4, 3
    monkeypatch.setattr(server, "MAX_CONNECTIONS", limit)
    proc = hoard(gw.port, limit + extra, extra)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "open"
        assert proc.stdout.readline().strip() == "closed [0, 1, 2]"  # the oldest idle ones
        deadline = time.monotonic() + 15
        while gw._server.registry.open_count() > limit and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gw._server.registry.open_count() == limit
    finally:
        proc.communicate("", timeout=PROC_TIMEOUT_S)


def test_idle_connections_of_another_process_do_not_lock_the_player_out(
    hostile: HostileOrigin, gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 4
    monkeypatch.setattr(server, "MAX_CONNECTIONS", limit)
    hostile.route("/a.mp4", body=b"\x00" * 1000)
    entry = gw.open(hostile.url("a.mp4"))
    proc = hoard(gw.port, limit, 1)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "open"  # every slot taken, all idle
        assert requests.get(entry, timeout=10).content == b"\x00" * 1000
        assert proc.stdout.readline().strip() == "closed [0]"
    finally:
        proc.communicate("", timeout=PROC_TIMEOUT_S)
