"""Deliberate idle gaps in the gateway's upstream fetches (player/net/gateway/fetch_gate.py).

First the gate alone on a fake clock (its rules), then the real gateway in front of the
real loopback origin, with a plain HTTP client standing in for libVLC: during a gap no
segment GET reaches the origin, and the request held back is answered right after it;
the DASH read-ahead waits too. The gate's clock is a fake one the test moves, so a gap
lasts exactly as long as the test needs (no test depends on how fast the machine is);
one test lets a short gap end by itself on the real clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from player.core.model import FetchKind
from player.net.gateway import Gateway
from player.net.gateway.fetch_gate import FetchGate
from player.net.manifests import parse_master, parse_media
from tests.support.fakes import FakeClock
from tests.support.media import make_dash
from tests.support.origin import OriginServer

WAIT_S = 20.0  # ends a hang only
GAP_S = 1.2
ARM_S = 8.0


def wait_until(predicate: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


# --- the gate alone --------------------------------------------------------------------
@dataclass
class _Fetch:
    finished_at: float | None = None


@dataclass(eq=False)  # hashable by identity, as a Transfer is
class _Transfer:
    """What the gate reads of a Transfer: its fetch record's end."""

    fetch: _Fetch = field(default_factory=_Fetch)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gate(clock: FakeClock) -> FetchGate:
    return FetchGate(clock)


def in_flight(gate: FetchGate, kind: FetchKind = FetchKind.SEGMENT) -> _Transfer:
    """A transfer of ``kind`` sent through the gate and still open."""
    tr = _Transfer()
    with gate.opening(kind) as track:
        track(tr)
    return tr


def test_a_gap_begins_at_once_when_nothing_is_in_flight_and_ends_at_its_deadline(
    gate: FetchGate, clock: FakeClock
) -> None:
    assert gate.request(GAP_S, ARM_S)
    g = gate.gap()
    assert g is not None and g.number == 1 and g.left_s == pytest.approx(GAP_S)
    assert not gate.request(GAP_S, ARM_S), "one gap at a time"
    clock.advance(GAP_S - 0.1)
    assert gate.gap() is not None
    clock.advance(0.1)
    assert gate.gap() is None and not gate.active
    stats = gate.stats()
    assert stats.gaps == 1 and stats.gap_s == pytest.approx(GAP_S) and stats.held == 0


def test_a_gap_waits_for_the_download_in_flight_and_is_given_up_after_arm_s(
    gate: FetchGate, clock: FakeClock
) -> None:
    tr = in_flight(gate)
    assert gate.downloading()
    assert gate.request(GAP_S, ARM_S)
    assert gate.gap() is None and gate.active  # asked for; the download goes on
    assert gate.admit(FetchKind.SEGMENT), "nothing is held before the gap begins"
    clock.advance(1.0)
    tr.fetch.finished_at = clock()  # the download arrived
    g = gate.gap()
    assert g is not None and g.left_s == pytest.approx(GAP_S)
    gate.cancel()
    # a download that outlasts arm_s: the gap is given up, nothing ever held
    tr2 = in_flight(gate)
    assert gate.request(GAP_S, ARM_S)
    clock.advance(ARM_S + 0.1)
    tr2.fetch.finished_at = clock()
    assert gate.gap() is None and not gate.active
    assert gate.stats().gaps == 1


def test_only_media_counts_as_in_flight_and_only_segments_are_held(
    gate: FetchGate, clock: FakeClock
) -> None:
    in_flight(gate, FetchKind.PLAYLIST)  # playlists and keys
    assert not gate.downloading(), "a playlist is not our download"
    for kind in (FetchKind.INIT, FetchKind.PROGRESSIVE):
        tr = in_flight(gate, kind)
        assert gate.downloading()
        tr.fetch.finished_at = clock()
        assert not gate.downloading()
    assert gate.request(GAP_S, ARM_S) and gate.gap() is not None
    # in the gap: playlists and init segments pass at once (this thread would block else)
    assert gate.admit(FetchKind.PLAYLIST) and gate.admit(FetchKind.INIT)
    assert gate.stats().held == 0


def test_a_held_segment_fetch_goes_when_the_gap_ends_and_close_refuses_it(
    gate: FetchGate, clock: FakeClock
) -> None:
    assert gate.request(GAP_S, ARM_S)
    results: list[bool] = []
    holds: list[bool] = []
    t = threading.Thread(
        target=lambda: results.append(gate.admit(FetchKind.SEGMENT, lambda: holds.append(True)))
    )
    t.start()
    wait_until(lambda: gate.stats().held == 1, "the fetch held at the gate")
    assert holds == [True] and not results
    clock.advance(GAP_S)
    assert gate.gap() is None  # the deadline passed: the gate wakes its waiters
    t.join(WAIT_S)
    assert results == [True]
    # a gap ended by close(): the waiting fetch is refused (the gateway stops)
    assert gate.request(GAP_S, ARM_S)
    t = threading.Thread(target=lambda: results.append(gate.admit(FetchKind.SEGMENT)))
    t.start()
    wait_until(lambda: gate.stats().held == 2, "the second fetch held")
    gate.close()
    t.join(WAIT_S)
    assert results == [True, False]
    assert not gate.request(GAP_S, ARM_S), "a closed gate makes no gap"
    assert gate.stats().gaps == 2


# --- the real gateway -------------------------------------------------------------------
@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(time.monotonic())


@pytest.fixture
def gated(events: list[object], fake_clock: FakeClock) -> Iterator[Gateway]:
    """A started gateway whose gate and ledger run on ``fake_clock``."""
    gw = Gateway(on_event=events.append, clock=fake_clock)
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


def segment_gets(origin: OriginServer, pattern: str) -> int:
    return len([r for r in origin.requests_for(pattern) if r[0] == "GET"])


def virtual_hls(gw: Gateway, origin: OriginServer) -> list[str]:
    s = requests.Session()
    entry = gw.open(origin.url("hls/master.m3u8"))
    index = parse_master(s.get(entry).text, entry).variants[0].uri
    return [seg.uri for seg in parse_media(s.get(index).text, index).segments]


class Client:
    """A libVLC-like request in its own thread (one connection of its own)."""

    def __init__(self, url: str) -> None:
        self.response: requests.Response | None = None
        self.error: Exception | None = None
        self._t = threading.Thread(target=self._get, args=(url,), name="test-client")
        self._t.start()

    def _get(self, url: str) -> None:
        try:
            self.response = requests.get(url, timeout=WAIT_S)
        except requests.RequestException as e:
            self.error = e

    def done(self) -> bool:
        return not self._t.is_alive()

    def join(self) -> None:
        self._t.join(WAIT_S)
        assert not self._t.is_alive(), "the request never ended"


def test_during_a_gap_no_segment_reaches_the_origin_and_the_held_request_goes_after_it(
    gated: Gateway, origin: OriginServer, fake_clock: FakeClock, media_dir: Path
) -> None:
    uris = virtual_hls(gated, origin)
    assert requests.get(uris[0], timeout=WAIT_S).status_code == 200
    wait_until(lambda: not gated.downloading(), "segment 0's download closed")
    gate = gated.fetch_gate
    assert gate.request(GAP_S, ARM_S) and gate.gap() is not None  # nothing in flight
    client = Client(uris[1])
    wait_until(lambda: gate.stats().held == 1, "libVLC's request held at the gate")
    # 1 s into the 1.2 s gap: the request is open, yet nothing downloads, nothing starves
    fake_clock.advance(GAP_S - 0.2)
    assert gate.gap() is not None and not client.done()
    assert gated.open_requests() == 1 and not gated.downloading()
    assert not gated.starving(), "VLC waits on our gap, not on upstream"
    assert segment_gets(origin, "/hls/v*/seg_001.ts") == 0
    fake_clock.advance(0.2)  # the gap's end
    assert gate.gap() is None
    client.join()
    assert client.response is not None and client.response.status_code == 200
    body = (media_dir / "hls" / "v0" / "seg_001.ts").read_bytes()
    assert client.response.content == body
    assert segment_gets(origin, "/hls/v*/seg_001.ts") == 1
    stats = gate.stats()
    assert stats.gaps == 1 and stats.gap_s == pytest.approx(GAP_S) and stats.held == 1


def test_the_download_in_flight_finishes_then_the_gap_holds_the_next(
    gated: Gateway, origin: OriginServer, fake_clock: FakeClock
) -> None:
    uris = virtual_hls(gated, origin)
    hold = origin.add_fault("/hls/v*/seg_001.ts", "hold")
    first = Client(uris[1])
    wait_until(lambda: hold.waiting, "segment 1 waiting at the origin")
    assert gated.downloading()
    gate = gated.fetch_gate
    assert gate.request(GAP_S, ARM_S)
    assert gate.gap() is None, "a fetch in flight is never cut short"
    hold.release()
    first.join()
    assert first.response is not None and first.response.status_code == 200
    wait_until(lambda: gate.gap() is not None, "the gap begins once nothing is in flight")
    second = Client(uris[2])
    wait_until(lambda: gate.stats().held == 1, "segment 2's request held")
    assert segment_gets(origin, "/hls/v*/seg_002.ts") == 0
    gate.cancel()  # a seek, say: the held request goes at once
    second.join()
    assert second.response is not None and second.response.status_code == 200
    assert segment_gets(origin, "/hls/v*/seg_002.ts") == 1


def test_a_gap_ends_by_itself_on_the_real_clock(gateway: Gateway, origin: OriginServer) -> None:
    uris = virtual_hls(gateway, origin)
    gate = gateway.fetch_gate
    assert gate.request(0.3, ARM_S) and gate.gap() is not None
    client = Client(uris[0])
    client.join()  # nobody ends the gap: its own deadline does
    assert client.response is not None and client.response.status_code == 200
    stats = gate.stats()
    assert stats.gaps == 1 and stats.held == 1 and gate.gap() is None


def test_stop_opens_the_gate_at_once(
    events: list[object], origin: OriginServer, fake_clock: FakeClock
) -> None:
    gw = Gateway(on_event=events.append, clock=fake_clock).start()
    try:
        uris = virtual_hls(gw, origin)
        assert gw.fetch_gate.request(GAP_S, ARM_S)
        client = Client(uris[0])
        wait_until(lambda: gw.fetch_gate.stats().held == 1, "the request held")
    finally:
        gw.stop()  # the fake clock never ends this gap: stop must
    client.join()
    assert client.response is None or client.response.status_code != 200
    assert segment_gets(origin, "/hls/v*/seg_000.ts") == 0


# --- the DASH read-ahead ----------------------------------------------------------------
@pytest.fixture(scope="module")
def dash_g(media_dir: Path) -> Path:
    d = media_dir / "dash_g"
    if not (d / "manifest.mpd").exists():
        make_dash(d, seconds=12, layout="template")
    return d


def chunk(seq: int) -> str:
    return f"/dash_g/chunk-stream0-{seq + 1:05d}.m4s"


def test_the_dash_read_ahead_counts_as_downloading_and_waits_for_the_gap(
    gated: Gateway, origin: OriginServer, fake_clock: FakeClock, dash_g: Path
) -> None:
    gated.rendition_chooser = lambda seq: 0
    s = requests.Session()
    entry = gated.open(origin.url("dash_g/manifest.mpd"))
    index = parse_master(s.get(entry).text, entry).variants[0].uri
    uris = [seg.uri for seg in parse_media(s.get(index).text, index).segments]
    hold = origin.add_fault(chunk(1), "hold")
    assert s.get(uris[0]).status_code == 200  # the read-ahead starts on segment 1
    wait_until(lambda: hold.waiting, "segment 1 read ahead, waiting at the origin")
    # no request of libVLC's is open, yet our download is in flight
    assert gated.open_requests() == 0 and gated.downloading()
    gate = gated.fetch_gate
    assert gate.request(GAP_S, ARM_S) and gate.gap() is None
    hold.release()
    wait_until(lambda: gate.stats().held == 1, "the read-ahead's next fetch held by the gap")
    assert gate.gap() is not None and not gated.downloading()
    assert segment_gets(origin, chunk(2)) == 0
    fake_clock.advance(GAP_S)
    assert gate.gap() is None
    wait_until(lambda: segment_gets(origin, chunk(2)) == 1, "segment 2 read ahead after the gap")
    for seq in range(1, 3):  # libVLC's requests are answered from memory as before
        assert s.get(uris[seq]).status_code == 200
