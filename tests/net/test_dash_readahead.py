"""The gateway's DASH video read-ahead over real loopback HTTP, against ffmpeg-made DASH
on the loopback origin: the test's client stands in for VLC (one request at a time, as
libVLC asks), and one test plays with real libVLC."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from player.core import thresholds as T
from player.core.abandon import InFlight
from player.core.abr import AbrController
from player.core.model import FetchKind
from player.net.gateway import FetchRecorded, Gateway, SegmentMissing
from player.net.gateway import dash_readahead as ra_mod
from player.net.gateway.ledger import DeliveryLedger
from player.net.manifests import parse_master, parse_media
from tests.net.test_dash_gateway import live_mpd, wait_until
from tests.support.media import make_dash
from tests.support.origin import OriginServer

SECONDS = 12
SEGMENTS = 6  # 2 s segments


@pytest.fixture(scope="module")
def dash_t(media_dir: Path) -> Path:
    d = media_dir / "dash_t"
    if not (d / "manifest.mpd").exists():
        make_dash(d, seconds=SECONDS, layout="template")
    return d


def chunk(r: int, seq: int) -> str:
    """The origin path of representation ``r``'s media segment for virtual ``seq``."""
    return f"/dash_t/chunk-stream{r}-{seq + 1:05d}.m4s"


def segment_body(d: Path, r: int, seq: int) -> bytes:
    return (d / f"init-stream{r}.m4s").read_bytes() + (d / chunk(r, seq)[8:]).read_bytes()


def fetches(events: list[object]) -> list:
    return [e.fetch for e in events if isinstance(e, FetchRecorded)]


def one_record_per_get(origin: OriginServer, events: list[object]) -> None:
    """Every GET the origin answered is exactly one recorded fetch, and the reverse."""
    seen = sorted(urllib.parse.urlsplit(r[1]).path for r in origin.requests if r[0] == "GET")
    recorded = sorted(urllib.parse.urlsplit(f.url).path for f in fetches(events))
    assert seen == recorded


def gets(origin: OriginServer, path: str) -> int:
    return len([q for q in origin.requests_for(path) if q[0] == "GET"])


def open_virtual(gateway: Gateway, origin: OriginServer) -> tuple[requests.Session, list[str]]:
    """(session, the virtual segment URIs) after VLC's first requests."""
    s = requests.Session()
    entry = gateway.open(origin.url("dash_t/manifest.mpd"))
    master = parse_master(s.get(entry).text, entry)
    index = master.variants[0].uri
    media = parse_media(s.get(index).text, index)
    assert len(media.segments) == SEGMENTS
    return s, [seg.uri for seg in media.segments]


def records_settled(origin: OriginServer, events: list[object]) -> Callable[[], bool]:
    """Every origin GET has its record (a record follows the body)."""

    def settled() -> bool:
        n = len([r for r in origin.requests if r[0] == "GET"])
        return len(fetches(events)) == n

    return settled


def test_segments_are_read_ahead_and_served_from_memory(
    gateway: Gateway, origin: OriginServer, events: list[object], dash_t: Path
) -> None:
    gateway.rendition_chooser = lambda seq: seq % 2
    s, uris = open_virtual(gateway, origin)
    assert s.get(uris[0]).content == segment_body(dash_t, 0, 0)
    # VLC has not asked for 1 yet: the gateway fetches 1..depth by itself (the media ends
    # first at the default depth: 5 segments of 2 s are left)
    depth = min(ra_mod.READAHEAD_SEGMENTS, int(ra_mod.MAX_READAHEAD_S // 2), SEGMENTS - 1)
    wait_until(lambda: gets(origin, chunk(depth % 2, depth)) == 1, "the last one read ahead")
    wait_until(lambda: gateway.readahead_s() == pytest.approx(2.0 * depth), "all held")
    for seq in range(1, SEGMENTS):  # each from memory, the origin asked once each
        assert s.get(uris[seq]).content == segment_body(dash_t, seq % 2, seq)
    assert [gets(origin, chunk(seq % 2, seq)) for seq in range(SEGMENTS)] == [1] * SEGMENTS
    wait_until(records_settled(origin, events), "every fetch recorded")
    segs = [f for f in fetches(events) if f.kind is FetchKind.SEGMENT]
    assert sorted(f.media_sequence for f in segs) == list(range(SEGMENTS))
    bws = [r.bandwidth for r in gateway.renditions()]
    assert all(
        f.rendition_bitrate_bps == bws[f.media_sequence % 2] and f.status == 200 for f in segs
    )
    assert all(
        f.ttfb_ms is not None and f.finished_at is not None and f.bytes > 0 for f in segs
    )  # real timing, real bytes
    one_record_per_get(origin, events)
    # the gateway counts a segment delivered once its write returned, which may be after
    # the client has read the last byte
    wait_until(lambda: gateway.delivered_media_s() == pytest.approx(SECONDS), "all delivered")
    assert gateway.readahead_s() == 0.0


def test_memory_stays_within_the_byte_cap(
    gateway: Gateway,
    origin: OriginServer,
    events: list[object],
    dash_t: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway.rendition_chooser = lambda seq: 1
    sizes = [len(segment_body(dash_t, 1, seq)) for seq in range(SEGMENTS)]
    cap = sizes[1] + sizes[2] + 1  # two segments fit, never three
    monkeypatch.setattr(ra_mod, "MAX_READAHEAD_BYTES", cap)
    s, uris = open_virtual(gateway, origin)
    assert s.get(uris[0]).content == segment_body(dash_t, 1, 0)
    wait_until(lambda: gets(origin, chunk(1, 2)) == 1, "segment 2 read ahead")
    state = gateway._routes.current.plan.dash  # noqa: SLF001 (the cache's own accounting)
    ra = state.readahead
    wait_until(lambda: ra.held_bytes() == sizes[1] + sizes[2], "two segments held")
    for seq in range(1, SEGMENTS):
        assert s.get(uris[seq]).content == segment_body(dash_t, 1, seq)
        assert ra.held_bytes() <= cap
    assert 0 < ra.peak_bytes <= cap
    wait_until(records_settled(origin, events), "every fetch recorded")
    one_record_per_get(origin, events)


def test_a_seek_drops_the_cache_and_serves_the_new_position(
    gateway: Gateway,
    origin: OriginServer,
    events: list[object],
    dash_t: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ra_mod, "READAHEAD_SEGMENTS", 3)  # the seek lands past what is held
    gateway.rendition_chooser = lambda seq: 0
    s, uris = open_virtual(gateway, origin)
    assert s.get(uris[0]).content == segment_body(dash_t, 0, 0)
    wait_until(lambda: gateway.readahead_s() == pytest.approx(6.0), "1..3 held")
    gateway.rendition_chooser = lambda seq: 1  # what the ABR picks after the seek
    assert s.get(uris[4]).content == segment_body(dash_t, 1, 4)  # the seek: 1..3 dropped
    assert gets(origin, chunk(1, 4)) == 1
    wait_until(lambda: gets(origin, chunk(1, 5)) == 1, "5 read ahead after the seek")
    assert s.get(uris[5]).content == segment_body(dash_t, 1, 5)
    assert gets(origin, chunk(1, 5)) == 1  # from memory
    wait_until(records_settled(origin, events), "every fetch recorded")
    one_record_per_get(origin, events)


def test_a_404_while_reading_ahead_is_skipped_with_a_note(
    gateway: Gateway, origin: OriginServer, events: list[object], dash_t: Path
) -> None:
    gateway.rendition_chooser = lambda seq: 0
    origin.add_fault("/dash_t/chunk-stream[01]-00003.m4s", "status", code=404)
    s, uris = open_virtual(gateway, origin)
    assert s.get(uris[0]).content == segment_body(dash_t, 0, 0)
    wait_until(lambda: gets(origin, chunk(0, 2)) == 1, "the read-ahead met the 404")
    assert s.get(uris[1]).content == segment_body(dash_t, 0, 1)
    r = s.get(uris[2])
    assert r.status_code == 200 and r.content == b""  # VLC skips it
    (missing,) = [e for e in events if isinstance(e, SegmentMissing)]
    assert missing.seq == 2 and "404" in missing.reason
    assert gets(origin, chunk(0, 2)) == 1  # not asked again for VLC's request
    assert gets(origin, chunk(1, 2)) == 1  # the substitute was tried
    assert s.get(uris[3]).content == segment_body(dash_t, 0, 3)
    wait_until(records_settled(origin, events), "every fetch recorded")
    one_record_per_get(origin, events)


@pytest.mark.vlc
def test_libvlc_is_served_ahead_of_its_requests(
    origin: OriginServer,
    gateway: Gateway,
    events: list[object],
    vlc_play: Callable,
    dash_t: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # which origin requests had been made when libVLC asked the gateway for each segment
    asked: dict[int, int] = {}
    real = DeliveryLedger.segment_requested

    def spy(self: DeliveryLedger, run: object, seq: int) -> bool:
        asked.setdefault(seq, len(origin.requests))
        return real(self, run, seq)  # type: ignore[arg-type]

    monkeypatch.setattr(DeliveryLedger, "segment_requested", spy)
    gateway.rendition_chooser = lambda seq: seq % 2
    res = vlc_play(gateway.open(origin.url("dash_t/manifest.mpd")), rate=4.0)
    assert res.ended and not res.error, res
    assert res.decoded_video >= 0.8 * SECONDS * 25, res.decoded_video
    paths = [urllib.parse.urlsplit(r[1]).path for r in origin.requests]
    ahead = [
        n
        for n in range(SEGMENTS - 2)
        if n + 1 in asked and chunk((n + 2) % 2, n + 2) in paths[: asked[n + 1]]
    ]
    assert ahead, (asked, paths)  # the origin saw N+2 before libVLC asked for N+1
    wait_until(records_settled(origin, events), "every fetch recorded")
    one_record_per_get(origin, events)
    video = [f for f in fetches(events) if f.kind is FetchKind.SEGMENT and f.rendition_bitrate_bps]
    assert sorted(f.media_sequence for f in video) == list(range(SEGMENTS))


def test_live_read_ahead_stops_at_the_edge(
    gateway: Gateway, origin: OriginServer, events: list[object], dash_t: Path, media_dir: Path
) -> None:
    gateway.rendition_chooser = lambda seq: 0
    (media_dir / "live.mpd").write_text(live_mpd(time.time() - 9.0))  # edge: segment 4
    s = requests.Session()
    entry = gateway.open(origin.url("live.mpd"))
    index = parse_master(s.get(entry).text, entry).variants[0].uri
    media = parse_media(s.get(index).text, index)
    edge = media.segments[-1]
    before = media.segments[-2]
    live_chunk = "/dash_t/chunk-stream0-{:05d}.m4s".format  # live: numbered as listed
    assert s.get(before.uri).content.endswith((dash_t / live_chunk(before.seq)[8:]).read_bytes())
    ra = gateway._routes.current.plan.dash.readahead  # noqa: SLF001 (its own state)
    wait_until(lambda: gets(origin, live_chunk(edge.seq)) == 1, "the edge segment read ahead")
    wait_until(ra.idle, "the read-ahead to stop at the edge")
    assert s.get(edge.uri).content.endswith((dash_t / live_chunk(edge.seq)[8:]).read_bytes())
    wait_until(ra.idle, "the read-ahead to stop at the edge again")
    assert gets(origin, live_chunk(edge.seq)) == 1  # from memory
    assert not origin.requests_for(f"/dash_t/chunk-stream[01]-{edge.seq + 1:05d}.m4s")
    wait_until(records_settled(origin, events), "every fetch recorded")
    one_record_per_get(origin, events)


class _AbandoningChooser:
    """Stands in for the session's GenChooser (player/session/rendition_policy.py): a fixed
    rendition per segment, and the real core rule (AbrController.abandon) judging each
    download in flight against a given buffer ahead of it."""

    def __init__(self, gateway: Gateway, plan: dict[int, int], buffer_s: dict[int, float]):
        self.gateway = gateway
        self.abr: AbrController | None = None  # the renditions are known once opened
        self.plan = plan
        self.buffer_s = buffer_s
        self.judged: list[tuple[int, int, InFlight]] = []
        self.abandoned: list[tuple[int, int, int]] = []

    def __call__(self, seq: int) -> int:
        return self.plan.get(seq, 0)

    def abandon(self, rendition: int, seq: int, flight: InFlight) -> int | None:
        self.judged.append((rendition, seq, flight))
        if self.abr is None:
            bws = [r.bandwidth for r in self.gateway.renditions()]
            assert bws == sorted(bws)  # gateway order is the ABR's ascending order here
            self.abr = AbrController(bws, 2.0)
        got = self.abr.abandon(rendition, flight, self.buffer_s.get(seq, 30.0))
        if got is None:
            return None
        self.abandoned.append((seq, rendition, got.index))
        return got.index


def test_a_prefetch_too_slow_for_the_buffer_is_abandoned_for_the_lower_rendition(
    gateway: Gateway,
    origin: OriginServer,
    events: list[object],
    dash_t: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow origin (0.4 Mbit/s: the 0.8 Mbit/s rendition's segment needs ~5 s) and only
    2.5 s of buffer ahead of segment 2: its prefetch is abandoned on the way, recorded as
    abandoned with the bytes it got, and segment 2 is fetched from rendition 0, which is
    what VLC gets."""
    monkeypatch.setattr(ra_mod, "READAHEAD_SEGMENTS", 2)
    origin.rate_bps = 400_000
    judge = _AbandoningChooser(gateway, plan={2: 1}, buffer_s={2: 2.5})
    gateway.rendition_chooser = judge
    s, uris = open_virtual(gateway, origin)
    assert s.get(uris[0]).content == segment_body(dash_t, 0, 0)
    assert s.get(uris[1]).content == segment_body(dash_t, 0, 1)
    assert s.get(uris[2]).content == segment_body(dash_t, 0, 2)  # the lower rendition
    assert judge.abandoned == [(2, 1, 0)]
    assert gets(origin, chunk(1, 2)) == 1 and gets(origin, chunk(0, 2)) == 1
    wait_until(records_settled(origin, events), "every fetch recorded")
    one_record_per_get(origin, events)
    segs = {
        (f.media_sequence, f.rendition_bitrate_bps): f
        for f in fetches(events)
        if f.kind is FetchKind.SEGMENT and f.media_sequence == 2
    }
    bws = [r.bandwidth for r in gateway.renditions()]
    given_up, kept = segs[(2, bws[1])], segs[(2, bws[0])]
    full = len((dash_t / chunk(1, 2)[8:]).read_bytes())
    assert given_up.error is not None and given_up.error.startswith("abandoned for rendition 0")
    assert 0 < given_up.bytes < full  # what really arrived before it was given up
    assert given_up.ttfb_ms is not None and given_up.finished_at is not None
    assert kept.error is None and kept.status == 200
    assert kept.bytes == len((dash_t / chunk(0, 2)[8:]).read_bytes())
    # every judgement was of a download in flight, after the minimum elapsed time
    assert all(f.elapsed_s >= T.ABR_ABANDON_MIN_ELAPSED_S for _, _, f in judge.judged)


def test_a_prefetch_that_arrives_in_time_is_never_abandoned(
    gateway: Gateway,
    origin: OriginServer,
    events: list[object],
    dash_t: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same slow origin with a deep buffer (30 s) ahead: judged, kept."""
    monkeypatch.setattr(ra_mod, "READAHEAD_SEGMENTS", 2)
    origin.rate_bps = 400_000
    judge = _AbandoningChooser(gateway, plan={1: 1, 2: 1}, buffer_s={})
    gateway.rendition_chooser = judge
    s, uris = open_virtual(gateway, origin)
    assert s.get(uris[0]).content == segment_body(dash_t, 0, 0)
    assert s.get(uris[1]).content == segment_body(dash_t, 1, 1)
    assert judge.judged and not judge.abandoned
    wait_until(records_settled(origin, events), "every fetch recorded")
    assert not [f for f in fetches(events) if f.error]
    one_record_per_get(origin, events)
