"""The gateway's DASH serving over real loopback HTTP (no VLC): what VLC is given, byte
for byte, against ffmpeg-made DASH on the loopback origin."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests

from player.core.model import FetchKind
from player.core.wording import dash as wording
from player.net.gateway import (
    FetchRecorded,
    Gateway,
    Mode,
    PlaylistLoaded,
    SegmentMissing,
    UpstreamError,
)
from player.net.manifests import parse_master, parse_media
from tests.support.media import make_dash
from tests.support.origin import OriginServer

WAIT_S = 15.0  # only ends a hang; conditions are polled


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def dash_t(media_dir: Path) -> Path:
    d = media_dir / "dash_t"
    if not (d / "manifest.mpd").exists():
        make_dash(d, seconds=12, layout="template")
    return d


@pytest.fixture(scope="module")
def dash_b(media_dir: Path) -> Path:
    d = media_dir / "dash_b"
    if not (d / "manifest.mpd").exists():
        make_dash(d, seconds=12, layout="base")
    return d


def loaded(events: list[object]) -> PlaylistLoaded:
    (ev,) = [e for e in events if isinstance(e, PlaylistLoaded)]
    return ev


def open_virtual(gateway: Gateway, url: str) -> tuple[requests.Session, str, str]:
    """(session, entry URL, virtual index URL) after VLC's first request."""
    s = requests.Session()
    entry = gateway.open(url)
    r = s.get(entry)
    assert r.status_code == 200, r.text
    master = parse_master(r.text, entry)
    assert len(master.variants) == 1 and master.has_alternate_media
    return s, entry, master.variants[0].uri


def test_template_mpd_becomes_virtual_hls_with_self_initialising_segments(
    gateway: Gateway, origin: OriginServer, events: list[object], dash_t: Path
) -> None:
    gateway.rendition_chooser = lambda seq: 1 if seq == 2 else 0
    gateway.readahead_segments = 0  # this test counts the fetches of each request alone
    s, entry, index = open_virtual(gateway, origin.url("dash_t/manifest.mpd"))
    ev = loaded(events)
    assert ev.mode is Mode.HLS_VIRTUAL and [r.bandwidth for r in ev.renditions] == [
        250_000,
        800_000,
    ]
    assert "DASH" in ev.note and gateway.mode is Mode.HLS_VIRTUAL and gateway.per_segment_data
    text = s.get(index).text
    media = parse_media(text, index)
    assert [seg.duration for seg in media.segments] == [2.0] * 6 and not media.is_live
    assert text.count("#EXT-X-DISCONTINUITY\n") == 5  # before every segment but the first
    body = s.get(media.segments[2].uri).content
    assert (
        body
        == (dash_t / "init-stream1.m4s").read_bytes()
        + (dash_t / "chunk-stream1-00003.m4s").read_bytes()
    )
    body0 = s.get(media.segments[0].uri).content
    assert (
        body0
        == (dash_t / "init-stream0.m4s").read_bytes()
        + (dash_t / "chunk-stream0-00001.m4s").read_bytes()
    )
    # the audio group: an ordinary fMP4 playlist whose URIs are the gateway's
    master = s.get(entry).text
    audio_uri = master.split('URI="', 1)[1].split('"', 1)[0]
    assert audio_uri.startswith(gateway.base_url)
    audio = parse_media(s.get(audio_uri).text, audio_uri)
    assert len(audio.segments) == 6 and len(audio.init_uris) == 1
    assert s.get(audio.init_uris[0]).content == (dash_t / "init-stream2.m4s").read_bytes()
    assert s.get(audio.segments[5].uri).content == (dash_t / "chunk-stream2-00006.m4s").read_bytes()

    def segs() -> list:  # a record follows the body VLC already has: wait for it
        return [
            e.fetch
            for e in events
            if isinstance(e, FetchRecorded) and e.fetch.kind is FetchKind.SEGMENT
        ]

    wait_until(lambda: len(segs()) == 3, "three segment records")
    assert [(f.media_sequence, f.rendition_bitrate_bps) for f in segs()] == [
        (2, 800_000),
        (0, 250_000),
        (5, None),
    ]  # fmt: skip  (audio records carry no video rendition bitrate)
    inits = [
        e.fetch for e in events if isinstance(e, FetchRecorded) and e.fetch.kind is FetchKind.INIT
    ]
    assert len(inits) == 3  # each init segment fetched once, then kept
    assert s.get(media.segments[3].uri).status_code == 200
    assert (
        len([e for e in events if isinstance(e, FetchRecorded) and e.fetch.kind is FetchKind.INIT])
        == 3
    )


def test_segment_base_is_served_by_byte_ranges_from_its_sidx(
    gateway: Gateway, origin: OriginServer, events: list[object], dash_b: Path
) -> None:
    gateway.rendition_chooser = lambda seq: 1
    gateway.readahead_segments = 0  # the origin's last range must be the one VLC got
    s, _entry, index = open_virtual(gateway, origin.url("dash_b/manifest.mpd"))
    media = parse_media(s.get(index).text, index)
    assert len(media.segments) == 6 and loaded(events).duration_s == pytest.approx(12.0)
    data = (dash_b / "manifest-stream1.mp4").read_bytes()
    body = s.get(media.segments[1].uri).content
    # init (the bytes before the sidx) + the second subsegment, which the sidx places
    reqs = [q for q in origin.requests_for("/dash_b/manifest-stream1.mp4") if q[0] == "GET"]
    ranges = [tuple(int(x) for x in q[2].split("=")[1].split("-")) for q in reqs]
    assert all(q[3] == 206 for q in reqs)
    init = next(r for r in ranges if r[0] == 0)
    seg = ranges[-1]
    assert body == data[: init[1] + 1] + data[seg[0] : seg[1] + 1]
    assert data[seg[0] + 4 : seg[0] + 8] == b"moof"  # a fragment starts where the sidx says
    assert seg[1] + 1 == data.index(b"moof", seg[0] + 8) - 4  # and ends where the next begins


def test_a_missing_segment_is_skipped_with_substitutes_tried(
    gateway: Gateway, origin: OriginServer, events: list[object], dash_t: Path
) -> None:
    origin.add_fault("/dash_t/chunk-stream[01]-00003.m4s", "status", code=404)
    s, _entry, index = open_virtual(gateway, origin.url("dash_t/manifest.mpd"))
    media = parse_media(s.get(index).text, index)
    r = s.get(media.segments[2].uri)
    assert r.status_code == 200 and r.content == b""
    assert [m.seq for m in events if isinstance(m, SegmentMissing)] == [2]
    assert origin.requests_for("/dash_t/chunk-stream0-00003.m4s")
    assert origin.requests_for("/dash_t/chunk-stream1-00003.m4s")  # the substitute
    assert gateway.delivered_media_s() == 2.0  # VLC skips its time: it counts as delivered
    assert s.get(media.segments[3].uri).content  # and the stream goes on


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period><BaseURL>&c;</BaseURL></Period></MPD>'
)


def test_a_hostile_mpd_is_a_bad_playlist(
    gateway: Gateway, origin: OriginServer, events: list[object], media_dir: Path
) -> None:
    (media_dir / "bomb.mpd").write_text(BOMB)
    r = requests.get(gateway.open(origin.url("bomb.mpd")))
    assert r.status_code == 502 and "bad playlist" in r.text
    (err,) = [e for e in events if isinstance(e, UpstreamError)]
    assert "bad playlist" in err.reason and "not allowed" in err.reason


def test_an_mpd_without_video_goes_to_vlc_with_the_reason(
    gateway: Gateway, origin: OriginServer, events: list[object], dash_t: Path, media_dir: Path
) -> None:
    (media_dir / "audio_only.mpd").write_text(
        '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'mediaPresentationDuration="PT4S"><Period><AdaptationSet contentType="audio">'
        '<Representation id="a" bandwidth="64000"><SegmentTemplate media="a$Number$.m4s" '
        'duration="2"/></Representation></AdaptationSet></Period></MPD>'
    )
    r = requests.get(gateway.open(origin.url("audio_only.mpd")))
    assert r.status_code == 200 and "<MPD" in r.text
    assert gateway.mode is Mode.DIRECT and not gateway.per_segment_data
    assert loaded(events).note == wording.direct(wording.NO_VIDEO)  # plain words


VIDEO_ONLY = (
    '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
    'mediaPresentationDuration="PT4S">{base}<Period><AdaptationSet contentType="video">'
    '<Representation id="v" bandwidth="64000"><SegmentTemplate media="{media}" '
    'duration="2"/></Representation></AdaptationSet></Period></MPD>'
)


@pytest.mark.parametrize(
    ("base", "media", "refused_host"),
    [
        ("<BaseURL>http://10.0.0.1/media/</BaseURL>", "v$Number$.m4s", "10.0.0.1"),
        ("", "http://169.254.1.1/latest/v$Number$.m4s", "169.254.1.1"),
        ("<BaseURL>http://[::ffff:192.168.1.1]/</BaseURL>", "v$Number$.m4s", "::ffff:192.168.1.1"),
    ],
)
def test_a_direct_mpd_naming_a_refused_address_is_not_handed_to_vlc(
    gateway: Gateway,
    origin: OriginServer,
    events: list[object],
    media_dir: Path,
    base: str,
    media: str,
    refused_host: str,
) -> None:
    # video only: the gateway cannot serve it (no separate audio), so it would go to VLC,
    # which fetches without the session's address policy: the loopback origin allows
    # loopback, never a private or link-local address the viewer did not open
    (media_dir / "video_only_bad.mpd").write_text(VIDEO_ONLY.format(base=base, media=media))
    r = requests.get(gateway.open(origin.url("video_only_bad.mpd")))
    assert r.status_code == 502 and "<MPD" not in r.text
    assert gateway.mode is not Mode.DIRECT
    (err,) = [e for e in events if isinstance(e, UpstreamError)]
    assert err.reason.startswith("This DASH stream was not played")
    assert f"refused to fetch from {refused_host}" in err.reason
    assert not [e for e in events if isinstance(e, PlaylistLoaded)]


def test_a_direct_mpd_on_the_opened_host_goes_to_vlc_with_an_escaped_base(
    gateway: Gateway, origin: OriginServer, events: list[object], media_dir: Path
) -> None:
    d = media_dir / "a&b"
    d.mkdir(exist_ok=True)
    (d / "video_only.mpd").write_text(VIDEO_ONLY.format(base="", media="v$Number$.m4s"))
    url = origin.url("a&b/video_only.mpd")  # "&" is allowed raw in a URL path
    r = requests.get(gateway.open(url))
    assert r.status_code == 200 and gateway.mode is Mode.DIRECT
    root = ElementTree.fromstring(r.text)  # well-formed: the "&" was escaped
    (base_el,) = [e for e in root if e.tag.endswith("BaseURL")]
    assert base_el.text is not None and base_el.text.endswith("/a&b/")
    assert loaded(events).note == wording.direct(wording.NO_AUDIO)


def live_mpd(ast: float) -> str:
    start = dt.datetime.fromtimestamp(ast, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    tpl = (
        '<SegmentTemplate timescale="1000" duration="2000" startNumber="1" '
        'initialization="init-stream$RepresentationID$.m4s" '
        'media="chunk-stream$RepresentationID$-$Number%05d$.m4s"/>'
    )
    return (
        '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" '
        f'availabilityStartTime="{start}" minimumUpdatePeriod="PT1S" timeShiftBufferDepth="PT8S">'
        f'<Period start="PT0S"><BaseURL>dash_t/</BaseURL>{tpl}'
        '<AdaptationSet contentType="video"><Representation id="0" bandwidth="250000"/>'
        '<Representation id="1" bandwidth="800000"/></AdaptationSet>'
        '<AdaptationSet contentType="audio"><Representation id="2" bandwidth="64000"/>'
        "</AdaptationSet></Period></MPD>"
    )


def test_live_mpd_moves_its_edge_and_is_refetched(
    gateway: Gateway, origin: OriginServer, events: list[object], dash_t: Path, media_dir: Path
) -> None:
    (media_dir / "live.mpd").write_text(live_mpd(time.time() - 7.0))  # edge: segment 3
    s, _entry, index = open_virtual(gateway, origin.url("live.mpd"))
    ev = loaded(events)
    assert ev.is_live and ev.duration_s is None
    first = parse_media(s.get(index).text, index)
    assert first.is_live and first.segments[-1].seq in (3, 4)
    text = s.get(index).text
    assert "#EXT-X-ENDLIST" not in text and "#EXT-X-DISCONTINUITY-SEQUENCE" in text
    wait_until(
        lambda: parse_media(s.get(index).text, index).segments[-1].seq > first.segments[-1].seq,
        "the live edge to move",
    )
    assert len(origin.requests_for("/live.mpd")) >= 2  # minimumUpdatePeriod: fetched again
    newest = parse_media(s.get(index).text, index).segments[-1]
    body = s.get(newest.uri).content
    assert body.endswith((dash_t / f"chunk-stream0-{newest.seq:05d}.m4s").read_bytes())
