"""MPD parsing, the sidx reader and hostile MPDs (pure: no I/O)."""

from __future__ import annotations

import re
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from player.core.wording import dash as wording
from player.net.dash import (
    ByteRange,
    MpdError,
    addressing,
    parse_mpd,
    parse_sidx,
    segments_from_sidx,
)
from player.net.dash.parse import MAX_SEGMENTS, expand_template, parse_duration
from player.net.gateway.dash_plan import DashUnsupported, build_tracks, resolve_indexes
from player.net.sniff import is_dash_text

URL = "http://cdn.example/show/stream.mpd"
NS = 'xmlns="urn:mpeg:dash:schema:mpd:2011"'


def mpd(body: str, attrs: str = 'type="static" mediaPresentationDuration="PT8S"') -> str:
    return f'<?xml version="1.0"?>\n<MPD {NS} {attrs}>{body}</MPD>\n'


def video(reps: str, extra: str = "") -> str:
    return f'<AdaptationSet contentType="video">{extra}{reps}</AdaptationSet>'


REP = '<Representation id="v" bandwidth="1"/>'


def period(*parts: str, attrs: str = "") -> str:
    return f"<Period{attrs}>" + "".join(parts) + "</Period>"


def vrep(rid: str = "v", bandwidth: str = "1", extra: str = "") -> str:
    return f'<Representation id="{rid}" bandwidth="{bandwidth}"{extra}/>'


TEMPLATE = (
    '<SegmentTemplate timescale="1000" duration="2000" startNumber="1" '
    'initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/$Number%05d$.m4s"/>'
)
AUDIO = f'<AdaptationSet contentType="audio">{TEMPLATE}<Representation id="a" bandwidth="64"/></AdaptationSet>'


def test_template_numbering_at_adaptation_set_level_is_inherited() -> None:
    m = parse_mpd(
        mpd(period(video(vrep("lo", "300000", ' width="320" height="180"'), TEMPLATE))),
        URL,
    )
    (rep,) = m.periods[0].adaptation_sets[0].representations
    assert rep.init is not None and rep.init.url == "http://cdn.example/show/lo/init.mp4"
    assert [s.url.rsplit("/", 2)[-2:] for s in rep.segments] == [
        ["lo", "00001.m4s"], ["lo", "00002.m4s"], ["lo", "00003.m4s"], ["lo", "00004.m4s"]
    ]  # fmt: skip
    assert [s.start_s for s in rep.segments] == [0.0, 2.0, 4.0, 6.0]
    assert [s.number for s in rep.segments] == [1, 2, 3, 4]
    assert (rep.width, rep.height, rep.bandwidth) == (320, 180, 300000)


def test_template_identifiers_and_widths() -> None:
    t = "v_$RepresentationID$_$Bandwidth$_$Number%03d$_$Time$_$Time%08x$_$$.m4s"
    assert expand_template(t, "a1", 500, 7, 255) == "v_a1_500_007_255_000000ff_$.m4s"
    with pytest.raises(MpdError):
        expand_template("$Nope$.m4s", "a", 1, 1, 1)


def test_timeline_with_repeat_and_time_addressing() -> None:
    tl = (
        '<SegmentTemplate timescale="90000" presentationTimeOffset="90000" media="s_$Time$.m4s">'
        '<SegmentTimeline><S t="90000" d="180000" r="2"/><S d="90000"/></SegmentTimeline>'
        "</SegmentTemplate>"
    )
    m = parse_mpd(mpd(period(video(REP, tl))), URL)
    segs = m.periods[0].adaptation_sets[0].representations[0].segments
    assert [s.url.rsplit("/", 1)[1] for s in segs] == [
        "s_90000.m4s", "s_270000.m4s", "s_450000.m4s", "s_630000.m4s"
    ]  # fmt: skip
    assert [s.start_s for s in segs] == [0.0, 2.0, 4.0, 6.0]
    assert [s.duration_s for s in segs] == [2.0, 2.0, 2.0, 1.0]


def test_timeline_repeat_minus_one_runs_to_the_next_s_or_the_period_end() -> None:
    tl = (
        '<SegmentTemplate timescale="10" media="$Number$.m4s"><SegmentTimeline>'
        '<S t="0" d="20" r="-1"/><S t="60" d="10" r="-1"/></SegmentTimeline></SegmentTemplate>'
    )
    m = parse_mpd(mpd(period(video(REP, tl))), URL)
    segs = m.periods[0].adaptation_sets[0].representations[0].segments
    assert [(s.start_s, s.duration_s) for s in segs] == [
        (0.0, 2.0), (2.0, 2.0), (4.0, 2.0), (6.0, 1.0), (7.0, 1.0)
    ]  # fmt: skip


def test_base_url_at_every_level_resolves_relative_to_the_one_above() -> None:
    body = (
        "<BaseURL>https://media.example/root/</BaseURL><Period><BaseURL>p1/</BaseURL>"
        '<AdaptationSet contentType="video"><BaseURL>video/</BaseURL>'
        '<Representation id="r" bandwidth="1"><BaseURL>r1/</BaseURL>'
        '<SegmentList duration="4"><Initialization sourceURL="i.mp4"/>'
        '<SegmentURL media="a.m4s"/><SegmentURL media="/abs/b.m4s" mediaRange="10-19"/></SegmentList>'
        "</Representation></AdaptationSet></Period>"
    )
    rep = parse_mpd(mpd(body), URL).periods[0].adaptation_sets[0].representations[0]
    assert rep.init is not None and rep.init.url == "https://media.example/root/p1/video/r1/i.mp4"
    assert [s.url for s in rep.segments] == [
        "https://media.example/root/p1/video/r1/a.m4s", "https://media.example/abs/b.m4s"
    ]  # fmt: skip
    assert rep.segments[1].byte_range == ByteRange(10, 19)
    assert [s.start_s for s in rep.segments] == [0.0, 4.0]


def test_no_base_url_resolves_against_the_mpd_url_and_file_urls_are_refused() -> None:
    rep = parse_mpd(mpd(period(video(REP, TEMPLATE))), URL)
    assert (
        rep.periods[0]
        .adaptation_sets[0]
        .representations[0]
        .segments[0]
        .url.startswith("http://cdn.example/show/v/")
    )
    with pytest.raises(MpdError, match="http"):
        parse_mpd(mpd("<BaseURL>file:///etc/</BaseURL>" + period(video(REP, TEMPLATE))), URL)


def two_period_mpd() -> str:
    reps = '<Representation id="lo" bandwidth="300"/><Representation id="hi" bandwidth="900"/>'
    audio = (
        '<AdaptationSet contentType="audio"><Representation id="a" bandwidth="64"/></AdaptationSet>'
    )
    return mpd(
        f'<Period id="p0" duration="PT4S">{TEMPLATE}{video(reps)}{audio}</Period>'
        f'<Period id="p1" duration="PT6S">{TEMPLATE}{video(reps)}{audio}</Period>',
        'type="static" mediaPresentationDuration="PT10S"',
    )


def test_multi_period_becomes_one_timeline_with_discontinuities() -> None:
    m = parse_mpd(two_period_mpd(), URL)
    assert [(p.id, p.start_s, p.duration_s) for p in m.periods] == [
        ("p0", 0.0, 4.0),
        ("p1", 4.0, 6.0),
    ]
    tracks = build_tracks(m)
    segs = tracks.video[1].playlist.segments
    assert [s.seq for s in segs] == [0, 1, 2, 3, 4]
    assert [s.start_s for s in segs] == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert [s.discontinuity for s in segs] == [False, False, True, False, False]
    assert tracks.video[1].segments[2][0].url.endswith("/hi/00001.m4s")  # period 2, number 1
    assert tracks.audio is not None and [s.seq for s in tracks.audio.playlist.segments] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert [v.bandwidth for v in tracks.variants] == [300, 900]


def test_dynamic_template_lists_the_window_up_to_the_live_edge() -> None:
    ast = 1_700_000_000.0
    text = mpd(
        period(video(REP, TEMPLATE), AUDIO, attrs=' start="PT0S"'),
        'type="dynamic" availabilityStartTime="2023-11-14T22:13:20Z" '
        'timeShiftBufferDepth="PT10S" minimumUpdatePeriod="PT2S"',
    )
    m = parse_mpd(text, URL, now=ast + 61.0)  # segment 31 (60-62 s) is not complete yet
    assert m.is_live and m.min_update_s == 2.0 and m.availability_start == ast
    segs = m.periods[0].adaptation_sets[0].representations[0].segments
    assert segs[-1].number == 30 and segs[-1].start_s == 58.0  # ends at 60 <= 61
    assert all(s.start_s + s.duration_s >= 61.0 - 10.0 for s in segs)  # inside the window
    later = parse_mpd(text, URL, now=ast + 65.0).periods[0].adaptation_sets[0].representations[0]
    assert later.segments[-1].number == 32  # the edge moves with the clock
    live = build_tracks(m)
    assert live.video[0].playlist.is_live and live.video[0].playlist.segments[-1].seq == 30


def test_dynamic_timeline_lists_only_segments_already_available() -> None:
    tl = (
        '<SegmentTemplate timescale="1" media="$Time$.m4s"><SegmentTimeline>'
        '<S t="100" d="2" r="-1"/></SegmentTimeline></SegmentTemplate>'
    )
    text = mpd(
        period(video(REP, tl), attrs=' start="PT0S"'),
        'type="dynamic" availabilityStartTime="1970-01-01T00:00:00Z" timeShiftBufferDepth="PT6S"',
    )
    segs = parse_mpd(text, URL, now=111.0).periods[0].adaptation_sets[0].representations[0].segments
    assert [s.url.rsplit("/", 1)[1] for s in segs] == ["104.m4s", "106.m4s", "108.m4s"]


def test_dynamic_timeline_from_long_ago_lists_only_the_window() -> None:
    tl = (
        '<SegmentTemplate timescale="1" startNumber="1" media="$Number$.m4s"><SegmentTimeline>'
        '<S t="0" d="2" r="-1"/></SegmentTimeline></SegmentTemplate>'
    )
    text = mpd(
        period(video(REP, tl), attrs=' start="PT0S"'),
        'type="dynamic" availabilityStartTime="1970-01-01T00:00:00Z" timeShiftBufferDepth="PT6S"',
    )
    now = 1_700_000_001.0  # 850 million segments since the start: only the window is listed
    segs = parse_mpd(text, URL, now=now).periods[0].adaptation_sets[0].representations[0].segments
    assert [s.number for s in segs] == [849_999_998, 849_999_999, 850_000_000]
    assert segs[-1].start_s + segs[-1].duration_s <= now


def test_iso_durations() -> None:
    assert parse_duration("PT1H2M3.5S", "x") == 3723.5
    assert parse_duration("P1DT1S", "x") == 86401.0
    for bad in ("PT", "P", "1S", "PT-1S", "-PT1S", "PTxS"):
        with pytest.raises(MpdError):
            parse_duration(bad, "x")


# --- sidx --------------------------------------------------------------------------------
def sidx_box(
    refs: list[tuple[int, int]], timescale: int = 1000, first_offset: int = 0, version: int = 0
) -> bytes:
    body = struct.pack(">B3xII", version, 1, timescale)
    body += struct.pack(">II" if version == 0 else ">QQ", 0, first_offset)
    body += struct.pack(">HH", 0, len(refs))
    for size, dur in refs:
        body += struct.pack(">III", size, dur, 0x90000000)
    return struct.pack(">I4s", 8 + len(body), b"sidx") + body


def test_sidx_gives_byte_ranges_and_durations() -> None:
    box = sidx_box([(1000, 2000), (1500, 2000), (700, 1000)], version=1)
    segs = segments_from_sidx(box, ByteRange(800, 800 + len(box) - 1), "http://h/f.mp4")
    anchor = 800 + len(box)
    assert [s.byte_range for s in segs] == [
        ByteRange(anchor, anchor + 999), ByteRange(anchor + 1000, anchor + 2499),
        ByteRange(anchor + 2500, anchor + 3199),
    ]  # fmt: skip
    assert [(s.start_s, s.duration_s) for s in segs] == [(0.0, 2.0), (2.0, 2.0), (4.0, 1.0)]


def test_sidx_first_offset_and_a_box_before_it() -> None:
    free = struct.pack(">I4s", 16, b"free") + b"\0" * 8
    box = sidx_box([(10, 1)], first_offset=5)
    (seg,) = segments_from_sidx(free + box, ByteRange(100, 100 + 16 + len(box) - 1), "http://h/f")
    assert seg.byte_range == ByteRange(100 + 16 + len(box) + 5, 100 + 16 + len(box) + 14)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        struct.pack(">I4s", 8, b"moov"),
        sidx_box([(10, 1)])[:30],  # cut short
        sidx_box([(10, 1)], timescale=0),
        sidx_box([(0x80000010, 1)]),  # hierarchical
        struct.pack(">I4s", 3, b"sidx"),  # size smaller than its header
    ],
)
def test_bad_sidx_is_an_mpd_error(data: bytes) -> None:
    with pytest.raises(MpdError):
        parse_sidx(data, 0)


def test_segment_base_resolved_from_its_index() -> None:
    body = (
        '<Period><AdaptationSet contentType="video"><Representation id="v" bandwidth="5">'
        '<BaseURL>v.mp4</BaseURL><SegmentBase indexRange="600-699"/></Representation>'
        "</AdaptationSet>"
        '<AdaptationSet contentType="audio"><Representation id="a" bandwidth="1">'
        '<BaseURL>a.mp4</BaseURL><SegmentBase indexRange="500-599"/></Representation>'
        "</AdaptationSet></Period>"
    )
    m = parse_mpd(mpd(body), URL)
    rep = m.periods[0].adaptation_sets[0].representations[0]
    assert rep.init is not None and rep.init.byte_range == ByteRange(0, 599)  # bytes before
    assert rep.index is not None and rep.index.byte_range == ByteRange(600, 699)
    with pytest.raises(DashUnsupported):
        resolve_indexes(m, lambda ref: None)
    box = sidx_box([(1000, 2000)] * 4)
    tracks = build_tracks(resolve_indexes(m, lambda ref: box))
    segs = tracks.video[0].playlist.segments
    assert [s.byterange for s in segs][:2] == [f"1000@{600 + len(box)}", f"1000@{1600 + len(box)}"]
    assert tracks.audio is not None and len(tracks.audio.playlist.segments) == 4


def test_video_without_separate_audio_is_left_to_vlc() -> None:
    m = parse_mpd(mpd(period(video(REP, TEMPLATE))), URL)
    with pytest.raises(DashUnsupported) as err:
        build_tracks(m)
    assert str(err.value) == wording.NO_AUDIO  # plain words for the viewer
    assert "adaptation set" in err.value.detail  # the technical reason, for the log


# --- hostile and malformed ---------------------------------------------------------------
BOMB = (
    '<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    f"<MPD {NS}><Period><BaseURL>&c;</BaseURL></Period></MPD>"
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    f"<MPD {NS}><Period><BaseURL>&x;</BaseURL></Period></MPD>"
)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (BOMB, "not allowed"),
        (EXTERNAL, "not allowed"),
        ("<MPD", "malformed"),
        ("<html><body>hi</body></html>", "not a DASH MPD"),
        (mpd(""), "no Period"),
        (mpd(period(video(vrep("v", "x"), TEMPLATE))), "whole number"),
        (mpd(period(video(vrep("v", "-5"), TEMPLATE))), "whole number"),
        (
            mpd(period(video(REP, TEMPLATE.replace('duration="2000"', 'duration="0"')))),
            "at least 1",
        ),
        (
            mpd(
                period(video(REP, TEMPLATE)),
                'type="static" mediaPresentationDuration="PT99999999999S"',
            ),
            "out of range",
        ),
        (
            mpd(
                period(video(REP, TEMPLATE)),
                'type="static" mediaPresentationDuration="PT10000000S"',
            ),
            "more than",
        ),
        (
            mpd(
                "<Period>"
                + video(
                    '<Representation id="v" bandwidth="1"><SegmentTemplate media="$Number$" timescale="1"><SegmentTimeline><S d="1" r="999999999"/></SegmentTimeline></SegmentTemplate></Representation>'
                )
                + "</Period>"
            ),
            "more than",
        ),
        (
            mpd(
                "<Period>"
                + video(
                    '<Representation id="v" bandwidth="1"><SegmentList duration="1"><SegmentURL media="a" mediaRange="9-1"/></SegmentList></Representation>'
                )
                + "</Period>"
            ),
            "byte range",
        ),
        (
            mpd(
                "<Period>"
                + "<AdaptationSet>"
                + '<Representation id="v" bandwidth="1"/>' * 101
                + "</AdaptationSet></Period>"
            ),
            "more than",
        ),
        (mpd(period(video(vrep("../x"), TEMPLATE))), "invalid Representation@id"),
        (mpd("<Period/>", 'type="dynamic"'), "availabilityStartTime"),
        ("x" * (4 * 1024 * 1024 + 1), "too large"),
    ],
)
def test_hostile_and_malformed_mpds_are_clear_errors(text: str, needle: str) -> None:
    with pytest.raises(MpdError, match=needle):
        parse_mpd(text, URL)


def _many_reps_mpd(sets: int, reps: int, seconds: int) -> str:
    """``sets`` video sets of ``reps`` representations, ``seconds`` 1 s segments each."""
    tpl = '<SegmentTemplate timescale="1" duration="1" media="$RepresentationID$/$Number$.m4s"/>'
    body = "".join(video("".join(vrep(f"v{k}_{i}") for i in range(reps)), tpl) for k in range(sets))
    return mpd(period(body, AUDIO), f'type="static" mediaPresentationDuration="PT{seconds}S"')


def test_the_whole_mpd_has_a_segment_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # each representation is under MAX_SEGMENTS, but together they are over the budget:
    # refused while expanding (the budget is patched small to keep the test fast)
    monkeypatch.setattr(addressing, "MAX_TOTAL_SEGMENTS", 1000)
    with pytest.raises(MpdError, match="segments in all"):
        parse_mpd(_many_reps_mpd(1, 10, 101), URL)
    assert len(build_tracks(parse_mpd(_many_reps_mpd(1, 10, 90), URL)).video) == 10


def test_only_the_served_sets_are_expanded() -> None:
    m = parse_mpd(_many_reps_mpd(3, 2, 10), URL)
    sets = m.periods[0].adaptation_sets
    made = [sum(len(r.segments) for r in a.representations) for a in sets]
    assert made == [20, 0, 0, 5]  # first video set, two unserved video sets, audio (2 s)
    assert all(r.init is None for a in sets[1:3] for r in a.representations)


def test_the_budget_is_documented() -> None:
    assert addressing.MAX_TOTAL_SEGMENTS == 100_000


def test_too_many_elements_is_refused() -> None:
    urls = '<S d="1"/>' * 200_001
    reps = (
        '<Representation id="v" bandwidth="1"><SegmentTemplate media="$Number$"><SegmentTimeline>'
    )
    text = mpd(period(video(reps + urls + "</SegmentTimeline></SegmentTemplate></Representation>")))
    with pytest.raises(MpdError, match="elements"):
        parse_mpd(text, URL)


def test_limits_are_the_documented_ones() -> None:
    assert MAX_SEGMENTS == 20_000


# --- fuzz: nothing but MpdError / DashUnsupported escapes -----------------------------------
FUZZ_BASE = two_period_mpd().replace(
    "<Representation", '<Representation width="640" height="360"', 1
)
ATTR_VALUES = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        ["", "-1", "0", "1e9", "NaN", "PT", "P1Y", "$Number$", "x" * 300, "../..", "file:///"]
    ),
    st.text(max_size=20),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_mpds_fail_only_with_clear_errors(data: st.DataObject) -> None:
    text = FUZZ_BASE
    for _ in range(data.draw(st.integers(1, 4))):
        how = data.draw(st.sampled_from(["attr", "cut", "dup"]))
        if how == "attr":
            names = re.findall(r'(\w+)="[^"]*"', text)
            name = data.draw(st.sampled_from(names))
            value = data.draw(ATTR_VALUES).replace('"', "").replace("&", "").replace("<", "")
            new = f'{name}="{value}"'  # a function: a "\\" in the value is no escape
            text = re.sub(rf'{name}="[^"]*"', lambda _m, new=new: new, text, count=1)
        elif how == "cut":
            i = data.draw(st.integers(0, len(text) - 1))
            text = text[:i] + text[i + data.draw(st.integers(1, 40)) :]
        else:
            i = data.draw(st.integers(0, len(text) - 1))
            j = data.draw(st.integers(i, min(len(text), i + 200)))
            text = text[:j] + text[i:j] + text[j:]
    try:
        m = parse_mpd(text, URL, now=1_700_000_000.0)
    except MpdError:
        return
    try:
        build_tracks(m)
    except (MpdError, DashUnsupported):
        pass


@pytest.mark.parametrize(
    ("head", "is_mpd"),
    [
        ('<?xml version="1.0"?>\n<MPD xmlns="x"></MPD>', True),
        ("\ufeff  <MPD>", True),
        ('<!-- made by a packager -->\n<MPD type="static">', True),
        ('<?xml version="1.0"?><!-- c --><?pi x?><mpd:MPD xmlns:mpd="u">', True),
        ("<html><MPD>", False),
        ('<?xml version="1.0"?><html>', False),
        ("<MPDX>", False),
        ("<!-- never closed <MPD>", False),
    ],
)
def test_sniffing_an_mpd_root(head: str, is_mpd: bool) -> None:
    assert is_dash_text(head) is is_mpd


def test_periods_that_follow_on_are_no_discontinuity() -> None:
    tpl = '<SegmentTemplate timescale="1000" duration="2000" presentationTimeOffset="{}" media="$Number$.m4s"/>'
    reps = video(vrep("v", "1")) + AUDIO.replace(TEMPLATE, "")
    text = mpd(
        period(tpl.format(0), reps, attrs=' duration="PT4S"')
        + period(tpl.format(4000), reps, attrs=' duration="PT4S"'),  # file time goes on at 4 s
        'type="static" mediaPresentationDuration="PT8S"',
    )
    tracks = build_tracks(parse_mpd(text, URL))
    assert [s.discontinuity for s in tracks.video[0].playlist.segments] == [False] * 4
    assert tracks.audio is not None
    assert not any(s.discontinuity for s in tracks.audio.playlist.segments)
