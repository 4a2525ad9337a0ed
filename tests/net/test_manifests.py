"""Playlist parsing / rewriting, including a property test on malformed input."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from player.net.gateway.planner import aligned, build_virtual_media
from player.net.manifests import (
    ManifestError,
    UriRole,
    parse_master,
    parse_media,
    parse_playlist,
    rewrite_master,
    rewrite_media,
)
from player.net.sniff import is_dash_text, is_hls_text

BASE = "http://cdn.example/path/master.m3u8"
MASTER = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240,CODECS="avc1.42c015,mp4a.40.2"
v0/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720
https://other.example/v2/index.m3u8?token=abc
"""
MEDIA = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:7
#EXTINF:2.0,
seg_007.ts
#EXTINF:2.0,
/abs/seg_008.ts
#EXT-X-DISCONTINUITY
#EXTINF:1.5,
seg_009.ts
#EXT-X-ENDLIST
"""
FMP4 = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MAP:URI="init.mp4"
#EXT-X-KEY:METHOD=AES-128,URI="key.bin"
#EXTINF:4.0,
a.m4s
#EXTINF:4.0,
b.m4s
"""


def gw(url: str, role: UriRole) -> str:
    return f"http://127.0.0.1:1/S/{role.value}?u={url}"


def test_rewrite_master_maps_every_variant() -> None:
    text, master = rewrite_master(MASTER, BASE, gw)
    assert [v.uri for v in master.variants] == [
        "http://cdn.example/path/v0/index.m3u8",
        "https://other.example/v2/index.m3u8?token=abc",
    ]
    assert master.variants[0].bandwidth == 400000 and master.variants[0].resolution == (426, 240)
    assert "http://127.0.0.1:1/S/variant?u=http://cdn.example/path/v0/index.m3u8" in text
    assert "BANDWIDTH=2000000" in text
    assert "v0/index.m3u8\n" not in text.replace("path/v0/index.m3u8", "")


def test_rewrite_media_segments_and_timing() -> None:
    text, mp = rewrite_media(MEDIA, "http://cdn.example/path/v0/index.m3u8", gw)
    assert [s.seq for s in mp.segments] == [7, 8, 9]
    assert mp.segments[1].uri == "http://cdn.example/abs/seg_008.ts"
    assert mp.segments[2].discontinuity and mp.segments[2].start_s == 4.0
    assert mp.duration_s == 5.5 and not mp.is_live and mp.media_sequence == 7
    assert text.count("http://127.0.0.1:1/S/segment?u=") == 3
    assert "#EXT-X-DISCONTINUITY" in text and "#EXT-X-ENDLIST" in text
    assert mp.segment(8) is mp.segments[1] and mp.segment(3) is None


def test_rewrite_fmp4_maps_init_and_key() -> None:
    text, mp = rewrite_media(FMP4, "http://h/x/i.m3u8", gw)
    assert mp.is_live and mp.has_keys and mp.init_uris == ["http://h/x/init.mp4"]
    assert "/S/init?u=http://h/x/init.mp4" in text and "/S/key?u=http://h/x/key.bin" in text


def test_alignment_and_virtual_playlist() -> None:
    a = parse_media(MEDIA, "http://h/a/i.m3u8")
    b = parse_media(MEDIA.replace("seg_", "b_"), "http://h/b/i.m3u8")
    assert aligned([a, b]) is None
    c = parse_media(MEDIA.replace("#EXTINF:1.5,\nseg_009.ts\n", ""), "http://h/c/i.m3u8")
    assert "segments" in (aligned([a, c]) or "")
    assert "initialisation" in (
        aligned(
            [
                parse_media(
                    FMP4.replace('#EXT-X-KEY:METHOD=AES-128,URI="key.bin"\n', ""), "http://h/"
                )
            ]
        )
        or ""
    )
    v = build_virtual_media(a, lambda s: f"/v/{s.seq}.ts")
    again = parse_media(v, "http://127.0.0.1/v/index.m3u8")
    assert [s.seq for s in again.segments] == [7, 8, 9]
    assert [s.duration for s in again.segments] == [2.0, 2.0, 1.5]
    assert again.segments[2].discontinuity and not again.is_live


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "#EXTM3U"),
        ("<html>hi</html>", "#EXTM3U"),
        ("#EXTM3U\n#EXT-X-ENDLIST\n", "no segments"),
        ("#EXTM3U\n#EXTINF:abc,\nx.ts\n#EXT-X-ENDLIST\n", "malformed"),
        ("#EXTM3U\n#EXTINF:-5,\nx.ts\n#EXT-X-ENDLIST\n", "duration"),
        ("#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n", "not an http"),
        ("#EXTM3U\n#EXTINF:1,\nftp://h/x.ts\n#EXT-X-ENDLIST\n", "not an http"),
    ],
)
def test_bad_playlists_raise_manifest_error(text: str, needle: str) -> None:
    with pytest.raises(ManifestError, match=needle):
        parse_playlist(text, BASE)


def test_wrong_kind() -> None:
    with pytest.raises(ManifestError, match="master"):
        rewrite_media(MASTER, BASE, gw)
    with pytest.raises(ManifestError, match="media playlist"):
        parse_master(MEDIA, BASE)


def test_sniffing() -> None:
    assert is_hls_text("\ufeff#EXTM3U\n")
    assert is_dash_text('<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">')
    assert not is_dash_text("#EXTM3U")


# ----------------------------------------------------------------------------------------
# property test: arbitrary / mutated text never raises anything but ManifestError
# ----------------------------------------------------------------------------------------
TAGS = [
    "#EXTM3U", "#EXTINF:", "#EXT-X-STREAM-INF:", "#EXT-X-MEDIA-SEQUENCE:", "#EXT-X-TARGETDURATION:",
    "#EXT-X-ENDLIST", "#EXT-X-DISCONTINUITY", "#EXT-X-MAP:URI=", "#EXT-X-KEY:METHOD=", "#EXT-X-BYTERANGE:",
    "#EXT-X-MEDIA:TYPE=AUDIO,URI=", "#EXT-X-PROGRAM-DATE-TIME:", "#EXT-X-PART:DURATION=",
    "#EXT-X-I-FRAME-STREAM-INF:URI=", "#EXT-X-SESSION-KEY:URI=", "#EXT-X-VERSION:", "#EXT-X-PLAYLIST-TYPE:",
    "#EXT-X-DATERANGE:ID=", "#EXT-X-SKIP:SKIPPED-SEGMENTS=", "#EXT-X-PRELOAD-HINT:URI=",
]  # fmt: skip
JUNK = st.text(alphabet=string.printable + "\u00e9\u2028\ufeff\x00", max_size=40)
LINE = st.one_of(
    JUNK,
    st.builds(lambda t, v: t + v, st.sampled_from(TAGS), JUNK),
    st.builds(lambda t, v: f"{t}{v}", st.sampled_from(TAGS), st.integers(-(10**20), 10**20)),
    st.sampled_from(
        ["seg.ts", "http://x/y.ts", "//h/z.ts", "file:///etc/passwd", "http://[::1", "", " "]
    ),
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from([MASTER, MEDIA, FMP4, MEDIA, MASTER, ""]))
    lines = base.splitlines()
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3, 6]))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "dup", "truncate"]))
        i = draw(st.integers(0, max(0, len(lines))))
        if op == "insert":
            lines.insert(i, draw(LINE))
        elif lines and op == "delete":
            lines.pop(min(i, len(lines) - 1))
        elif lines and op == "replace":
            lines[min(i, len(lines) - 1)] = draw(LINE)
        elif lines and op == "dup":
            lines.insert(i, lines[min(i, len(lines) - 1)])
        elif op == "truncate":
            lines = lines[:i]
    sep = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    return sep.join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated(), mutated(), mutated(), st.lists(LINE, max_size=12).map("\n".join), JUNK))
def test_rewriter_never_crashes(text: str) -> None:
    for fn in (rewrite_master, rewrite_media):
        try:
            out, parsed = fn(text, BASE, gw)
        except ManifestError as e:
            assert str(e).strip(), "ManifestError needs a message"
            event(f"{fn.__name__}: ManifestError")
            continue
        event(f"{fn.__name__}: rewritten")
        assert isinstance(out, str) and out.startswith("#EXTM3U")
        # a rewritten playlist parses again, and only names gateway URLs
        again = parse_playlist(out, "http://127.0.0.1:1/S/x.m3u8")
        if hasattr(again, "segments"):
            assert all(s.uri.startswith("http://127.0.0.1:1/S/") for s in again.segments)
        else:
            assert all(v.uri.startswith("http://127.0.0.1:1/S/") for v in again.variants)
