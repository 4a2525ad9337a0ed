"""The plain media playlist reader (player/net/hls_plain.py) reads exactly what the m3u8
library read before it: the same MediaPlaylist, or the same ManifestError message, on
generated playlists (plain ones, and ones with a line that sends them to the m3u8 library);
its fast URL resolution gives what absolute_http_url gives; the Pacer pauses on time."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from player.net import pacing
from player.net.hls_plain import RefResolver, is_plain_ref, scan_plain_media
from player.net.manifests import (
    ManifestError,
    MediaPlaylist,
    UriRole,
    _check_text,
    _parse_media_m3u8,  # the reading before: the m3u8 library's
    _rewrite_media_m3u8,  # the rewriting before
    parse_media,
    rewrite_media,
)
from player.net.url_policy import BadUrl, absolute_http_url

BASES = [
    "http://cdn.example/path/v0/index.m3u8",
    "https://h.example:8443/a/../b/./i.m3u8?token=x#frag",
    "http://h.example",
    "http://h.example/a//b/",
    "http://H.Example/x;p/i.m3u8",
    "http://[::1]:8080/live/i.m3u8",
    "http://127.0.0.1:5555/long0.m3u8",
    "http://h.example:99999/i.m3u8",  # bad port
    "ftp://h.example/i.m3u8",
    "http:///i.m3u8",
    "http://[::1/i.m3u8",
]
REFS = [
    "seg.ts", "/abs/seg_008.ts", "a/b/c.ts", "../up.ts", "./x.ts", "a/./b.ts", "a/../b.ts",
    "..", ".", "a/..", ".hidden.ts", "a//b.ts", "//other.example/x.ts", "http://other/x.ts",
    "HTTPS://other/x.ts", "file:///etc/passwd", "ftp://h/x.ts", "a b.ts", "x?q=1", "x#f",
    "a;p.ts", "%41%2F.ts", "seg:1.ts", "~u/x.ts", "a@b.ts", "x/", "/", "http://[::1",
    "data:,x", "é.ts", "a\tb.ts",
]  # fmt: skip
REF = st.one_of(
    st.sampled_from(REFS),
    st.text(alphabet="ab./-_%;?#:@~ ", min_size=1, max_size=12),
)


def outcome(fn, *args):  # noqa: ANN001, ANN201 - (kind, value) of a call
    try:
        return ("ok", fn(*args))
    except (ManifestError, BadUrl) as e:
        return (type(e).__name__, str(e))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(BASES), REF)
def test_the_fast_resolution_is_absolute_http_url(base: str, ref: str) -> None:
    event("plain" if is_plain_ref(ref) else "general")
    assert outcome(RefResolver(base), ref) == outcome(absolute_http_url, base, ref)


def test_plain_references_resolve_by_concatenation() -> None:
    r = RefResolver("https://h.example:8443/a/../b/./i.m3u8?token=x#frag")
    assert r._dir == "https://h.example:8443/b/" and r._root == "https://h.example:8443"
    assert r("seg_1.ts") == "https://h.example:8443/b/seg_1.ts"
    assert r("/hls/v0/seg_1.ts") == "https://h.example:8443/hls/v0/seg_1.ts"
    assert not any(is_plain_ref(x) for x in ("../a.ts", "a//b", "//h/x", "x?q", "a:b", "a;p"))


# ----------------------------------------------------------------------------------------
# the reading: plain playlists and ones that are not
# ----------------------------------------------------------------------------------------
NUMBER = st.one_of(
    st.integers(-3, 10**6).map(str),
    st.sampled_from(["", " 7 ", "+3", "1.5", "abc", "1_000", "0x10", "9" * 5000, "٣"]),
)
GOOD_DURATION = st.floats(0, 20, allow_nan=False).map(lambda d: f"{d:.6f}")
ODD_DURATION = st.sampled_from(["1", " 4 ", "-5", "nan", "inf", "1e400", "3601", "abc", "", "1_0"])
DURATION = st.integers(0, 29).flatmap(lambda n: ODD_DURATION if n == 13 else GOOD_DURATION)
TITLE = st.sampled_from(["", "title", "a,b", " spaced ", "x#EXTINF:y", "é"])
PLAIN_LINE = st.one_of(
    st.builds(lambda d, t: f"#EXTINF:{d},{t}", DURATION, TITLE),
    st.builds(lambda d: f"#EXTINF:{d}", DURATION),
    st.sampled_from(REFS[:24]),
    st.builds(
        lambda tag, n: f"{tag}:{n}",
        st.sampled_from(
            [
                "#EXT-X-VERSION",
                "#EXT-X-TARGETDURATION",
                "#EXT-X-MEDIA-SEQUENCE",
                "#EXT-X-DISCONTINUITY-SEQUENCE",
            ]
        ),
        NUMBER,
    ),
    st.sampled_from(
        [
            "#EXT-X-PLAYLIST-TYPE:VOD",
            "#EXT-X-PLAYLIST-TYPE: event ",
            "#EXT-X-PLAYLIST-TYPE:",
            "#EXT-X-DISCONTINUITY",
            "#EXT-X-ENDLIST",
            "#EXTM3U",
            "#EXTM3Ux",
            "#EXT-X-INDEPENDENT-SEGMENTS",
            "",
            "   ",
        ]
    ),
)
OTHER_LINE = st.sampled_from(  # lines outside the plain subset: the m3u8 library reads them
    [
        '#EXT-X-KEY:METHOD=AES-128,URI="k.bin"',
        "#EXT-X-KEY:METHOD=NONE",
        '#EXT-X-MAP:URI="init.mp4"',
        "#EXT-X-BYTERANGE:100@0",
        "# a comment",
        "#EXT-X-PROGRAM-DATE-TIME:2020-01-01T00:00:00+00:00",
        "#EXT-X-DISCONTINUITYX",
        "#EXT-X-ENDLIST:1",
        "#EXT-X-VERSION",
        "#EXT-X-MEDIA-SEQUENCEX:4",
        "#EXT-X-STREAM-INF:BANDWIDTH=1",
        "#EXTINFO:1,",
        "#EXT-X-GAP",
        "#EXT-X-PART:DURATION=1,URI=p.ts",
    ]
)


@st.composite
def playlists(draw: st.DrawFn) -> str:
    head = [] if draw(st.integers(0, 19)) == 11 else ["#EXTM3U"]  # (0 is drawn often)
    body: list[str] = []
    for _ in range(draw(st.integers(0, 10))):  # segments, mostly well formed
        if draw(st.integers(0, 3)) == 0:
            body.append(draw(PLAIN_LINE))
        body.append(f"#EXTINF:{draw(DURATION)},{draw(TITLE)}")
        body.append(draw(st.sampled_from([*REFS[:12], "s1.ts"])))
    for _ in range(draw(st.sampled_from([0, 0, 1, 3]))):
        body.insert(draw(st.integers(0, len(body))), draw(PLAIN_LINE))
    if draw(st.integers(0, 5)) == 3:
        body.insert(draw(st.integers(0, len(body))), draw(OTHER_LINE))
    if draw(st.booleans()):
        body.append("#EXT-X-ENDLIST")
    sep = draw(st.sampled_from(["\n", "\n", "\r\n", "\r", "\u2028"]))
    return sep.join(head + body) + draw(st.sampled_from(["", sep, " \n\n"]))


def read_before(text: str, base: str) -> MediaPlaylist:
    return _parse_media_m3u8(_check_text(text), base)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(playlists(), st.sampled_from(BASES[:7] * 3 + BASES))  # the good bases more often
def test_parse_media_reads_what_the_m3u8_library_read(text: str, base: str) -> None:
    try:
        plain = scan_plain_media(_check_text(text), base) is not None
    except ManifestError:
        plain = False
    before = outcome(read_before, text, base)
    event(f"{'plain' if plain else 'm3u8 library'}: {before[0]}")
    assert outcome(parse_media, text, base) == before


class Mapper:
    """A rewriting mapper that records what it was asked, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, UriRole]] = []

    def __call__(self, url: str, role: UriRole) -> str:
        self.calls.append((url, role))
        return "" if url.endswith("/s1.ts") else f"http://127.0.0.1:1/S/{role.value}?u={url}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(playlists(), st.sampled_from(BASES[:7] * 3 + BASES))
def test_rewrite_media_writes_what_the_m3u8_library_wrote(text: str, base: str) -> None:
    """The same text for VLC (the m3u8 library's dumps() format), the same parse, and the
    mapper asked the same things in the same order (it puts them on the allowlist)."""
    fast, before = Mapper(), Mapper()
    want = outcome(lambda: _rewrite_media_m3u8(_check_text(text), base, before))
    got = outcome(lambda: rewrite_media(text, base, fast))
    try:
        plain = scan_plain_media(_check_text(text), base) is not None
    except ManifestError:
        plain = False
    event(f"{'plain' if plain else 'm3u8 library'}: {want[0]}")
    assert got == want
    assert fast.calls == before.calls


MEDIA = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:2.0,first
seg_007.ts
#EXTINF:2.0,
/abs/seg_008.ts
#EXT-X-DISCONTINUITY
#EXTINF:1.5,
http://other.example/seg_009.ts
#EXT-X-ENDLIST
"""


def test_a_plain_playlist_is_read_without_the_m3u8_library() -> None:
    base = "http://cdn.example/path/v0/index.m3u8"
    plain = scan_plain_media(MEDIA, base)
    assert plain is not None and [s[2] for s in plain.segments][1] == "/abs/seg_008.ts"
    mp = parse_media(MEDIA, base)
    assert mp == read_before(MEDIA, base)
    assert [s.seq for s in mp.segments] == [7, 8, 9] and mp.segments[0].title == "first"
    assert mp.segments[1].uri == "http://cdn.example/abs/seg_008.ts"
    assert mp.segments[2].discontinuity and mp.segments[2].start_s == 4.0
    assert not mp.is_live and mp.target_duration == 2.0 and mp.version == 3
    # what the plain subset leaves out goes to the m3u8 library (and reads as before)
    for extra in ('#EXT-X-KEY:METHOD=AES-128,URI="k.bin"', "# comment", "#EXTINF:1,"):
        text = MEDIA.replace("#EXT-X-ENDLIST\n", extra + "\n")
        assert scan_plain_media(text, base) is None
        assert outcome(parse_media, text, base) == outcome(read_before, text, base)


def test_a_plain_playlist_is_rewritten_as_the_m3u8_library_wrote_it() -> None:
    base = "http://cdn.example/path/v0/index.m3u8"
    text = """#EXTM3U
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-DISCONTINUITY-SEQUENCE:2
#EXT-X-PLAYLIST-TYPE:event
#EXTINF:2.0,first
seg_007.ts
#EXT-X-DISCONTINUITY
#EXTINF:1.50,
s1.ts
#EXTINF:-0.0,
seg_009.ts
#EXTINF:0.0,
seg_010.ts
#EXT-X-ENDLIST
"""  # (the Mapper writes no URI for s1.ts: its line goes, its discontinuity stays)
    assert scan_plain_media(text, base) is not None
    fast, before = Mapper(), Mapper()
    out, mp = rewrite_media(text, base, fast)
    assert (out, mp) == _rewrite_media_m3u8(text, base, before) and fast.calls == before.calls
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in out and "#EXT-X-PLAYLIST-TYPE:EVENT" in out
    assert "#EXTINF:-0," in out and "#EXTINF:0," in out and "s1.ts" not in out
    assert "#EXTINF:2,first\nhttp://127.0.0.1:1/S/segment?u=" in out


def test_a_long_playlist_reads_the_same() -> None:
    """Thousands of segments (the fault campaign plays 2 x 50 000 of them): unique names,
    repeated names, absolute ones, discontinuities, a live window."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:4", "#EXT-X-MEDIA-SEQUENCE:90"]
    for i in range(3_000):
        if i % 500 == 0:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{1 + (i % 7) / 3:.6f},")
        lines.append(f"/hls/v0/seg_{i % 12:03d}.ts" if i % 3 else f"chunks/{i}.ts?sig=abc{i}")
    text = "\n".join(lines) + "\n"
    base = "https://cdn.example/a/b/index.m3u8"
    assert scan_plain_media(text, base) is not None
    mp = parse_media(text, base)
    assert mp == read_before(text, base)
    assert len(mp.segments) == 3_000 and mp.is_live and mp.segments[-1].seq == 3_089


# ----------------------------------------------------------------------------------------
# the pacer
# ----------------------------------------------------------------------------------------
class FakeTime:
    """A clock the test moves, and the sleeps asked of it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def test_the_pacer_pauses_once_a_slice_of_work_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeTime()
    monkeypatch.setattr(pacing, "time", clock)
    pace = pacing.Pacer()
    for _ in range(50):  # work faster than a slice: no pause
        clock.now += pacing.SLICE_S / 100
        pace()
    assert clock.sleeps == []
    clock.now += pacing.SLICE_S
    pace()
    assert clock.sleeps == [pacing.PAUSE_S]
    pace()  # the next slice starts after the pause
    clock.now += pacing.SLICE_S * 0.9
    pace()
    assert len(clock.sleeps) == 1
    clock.now += pacing.SLICE_S * 0.2
    pace()
    assert len(clock.sleeps) == 2
