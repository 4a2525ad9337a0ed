"""HLS planning without sockets: virtual playlist, rendition choice, substitutes, live window."""

from __future__ import annotations

import pytest

from player.net.gateway.model import RenditionSwitched
from player.net.gateway.planner import (
    MAX_SUBSTITUTES,
    HlsPlan,
    aligned,
    build_virtual_media,
    virtual_blocker,
)
from player.net.manifests import MediaPlaylist, parse_master, parse_media

BASE = "http://cdn.example/show/master.m3u8"
# three variants, deliberately not in bandwidth order
MASTER = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240
v0/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720
v1/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360
v2/index.m3u8
"""
INDEX = "http://127.0.0.1:9/SECRET/SID/v/index.m3u8"


def media_text(first: int, n: int, *, live: bool = False, dur: float = 2.0) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2"]
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{first}")
    for seq in range(first, first + n):
        lines += [f"#EXTINF:{dur:.1f},", f"seg_{seq:03d}.ts"]
    if not live:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def rendition_playlist(r: int, first: int = 0, n: int = 6, live: bool = False) -> MediaPlaylist:
    url = f"http://cdn.example/show/v{r}/index.m3u8"
    return parse_media(media_text(first, n, live=live), url)


def virtual_plan(live: bool = False, n: int = 6) -> HlsPlan:
    plan = HlsPlan()
    plan.set_variants(parse_master(MASTER, BASE).variants)
    playlists = [rendition_playlist(r, n=n, live=live) for r in range(3)]
    assert aligned(playlists) is None
    plan.go_virtual(playlists, INDEX)
    return plan


def no_refresh(rendition: int) -> MediaPlaylist | None:
    raise AssertionError(f"a VOD playlist was refreshed (rendition {rendition})")


# ----------------------------------------------------------------------------------------
# the virtual playlists
# ----------------------------------------------------------------------------------------
def test_master_with_three_variants_becomes_a_one_variant_master() -> None:
    plan = virtual_plan()
    assert [(r.index, r.bandwidth, r.resolution) for r in plan.renditions()] == [
        (0, 400000, (426, 240)),
        (1, 2500000, (1280, 720)),
        (2, 900000, (640, 360)),
    ]
    assert plan.master_text is not None
    master = parse_master(plan.master_text, INDEX)
    assert [(v.uri, v.bandwidth) for v in master.variants] == [(INDEX, 2500000)]
    assert plan.duration_s() == pytest.approx(12.0) and not plan.is_live


def test_virtual_media_playlist_has_the_reference_timing() -> None:
    plan = virtual_plan()
    ref = plan.index_playlist(None, None, no_refresh)
    assert ref is not None
    text = build_virtual_media(ref, lambda s: f"/v/{s.seq}.ts")
    got = parse_media(text, INDEX)
    assert [s.seq for s in got.segments] == list(range(6))
    assert [s.uri for s in got.segments] == [f"http://127.0.0.1:9/v/{i}.ts" for i in range(6)]
    assert all(s.duration == pytest.approx(2.0) for s in got.segments)
    assert not got.is_live and "#EXT-X-PLAYLIST-TYPE:VOD" in text


def test_unaligned_renditions_are_refused_with_a_reason() -> None:
    a, b = rendition_playlist(0), rendition_playlist(1, n=5)
    assert "segments" in (aligned([a, b]) or "")
    longer = parse_media(media_text(0, 6, dur=3.0), "http://cdn.example/show/v2/index.m3u8")
    assert "duration" in (aligned([a, longer]) or "")
    assert aligned([]) == "no renditions"


def test_self_initialising_renditions_may_use_byte_ranges_and_init_sections() -> None:
    fmp4 = (
        '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="init.mp4"\n'
        + "".join(f"#EXTINF:2.0,\n#EXT-X-BYTERANGE:100@{i * 100}\nv.mp4\n" for i in range(6))
        + "#EXT-X-ENDLIST\n"
    )
    a = parse_media(fmp4, "http://cdn.example/show/v0/index.m3u8")
    b = parse_media(fmp4, "http://cdn.example/show/v1/index.m3u8")
    assert "byte ranges" in (aligned([a, b]) or "")  # HLS virtual mode cannot serve them
    assert aligned([a, b], self_init=True) is None  # DASH's self-initialising segments can
    short = parse_media(fmp4.replace("#EXTINF:2.0,", "#EXTINF:1.0,", 1), b.url)
    assert "duration" in (aligned([a, short], self_init=True) or "")  # timing still counts


def test_what_in_the_master_rules_virtual_mode_out() -> None:
    master = parse_master(MASTER, BASE)
    assert virtual_blocker(master) == ""
    assert virtual_blocker(master, virtual_enabled=False) == "gateway-side ABR disabled"
    audio = MASTER.replace(
        "#EXT-X-VERSION:3\n",
        '#EXT-X-VERSION:3\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="a/en.m3u8"\n',
    )
    assert virtual_blocker(parse_master(audio, BASE)) == "separate audio/subtitle renditions"


# ----------------------------------------------------------------------------------------
# which rendition serves a sequence number
# ----------------------------------------------------------------------------------------
def test_rendition_choice_per_sequence_number() -> None:
    plan = virtual_plan()
    asked: list[int] = []

    def chooser(seq: int) -> int:
        asked.append(seq)
        return {0: 0, 1: 2, 2: 9}.get(seq, -4)

    assert plan.choose(0, None, None) == 0  # no chooser: the current one (0 at the start)
    assert [plan.choose(s, None, chooser) for s in (0, 1, 2, 3)] == [0, 2, 2, 0]  # clamped
    assert asked == [0, 1, 2, 3]
    assert plan.choose(1, 1, chooser) == 1 and asked == [0, 1, 2, 3]  # a pin beats it
    assert plan.choose(1, 7, None) == 2  # a pin out of range is clamped


def test_a_failing_chooser_keeps_the_current_rendition() -> None:
    plan = virtual_plan()
    plan.served(0, 2)

    def broken(seq: int) -> int:
        raise RuntimeError("ABR bug")

    assert plan.choose(1, None, broken) == 2


def test_switches_are_reported_only_on_change() -> None:
    plan = virtual_plan()
    assert plan.served(0, 0) is None  # the first segment is not a switch
    assert plan.served(1, 0) is None
    assert plan.served(2, 1) == RenditionSwitched(2, 0, 1)
    assert plan.current == 1


# ----------------------------------------------------------------------------------------
# substitutes for a missing segment
# ----------------------------------------------------------------------------------------
def test_substitutes_are_the_nearest_renditions_in_bandwidth() -> None:
    plan = virtual_plan()
    assert plan.order(0) == [0, 2, 1]  # 400k: 900k is nearer than 2500k
    assert plan.order(1) == [1, 2, 0]
    segs = plan.candidates(3, 0, no_refresh)
    assert [(r, s.seq) for r, s in segs] == [(0, 3), (2, 3), (1, 3)]
    assert segs[1][1].uri == "http://cdn.example/show/v2/seg_003.ts"


def test_a_segment_missing_from_a_rendition_is_taken_from_the_others() -> None:
    plan = virtual_plan()
    short = rendition_playlist(0, n=3)  # rendition 0 no longer lists segment 4
    plan.update(0, short)
    assert [r for r, _ in plan.candidates(4, 0, no_refresh)] == [2, 1]
    assert plan.candidates(99, 0, no_refresh) == []


def test_substitutes_are_capped() -> None:
    plan = HlsPlan()
    text = "#EXTM3U\n" + "".join(
        f"#EXT-X-STREAM-INF:BANDWIDTH={bw}\nv{i}.m3u8\n"
        for i, bw in enumerate([100, 200, 300, 400, 500])
    )
    plan.set_variants(parse_master(text, BASE).variants)
    assert plan.order(2) == [2, 1, 3] and len(plan.order(2)) == 1 + MAX_SUBSTITUTES


def test_bandwidth_of_a_rendition() -> None:
    plan = virtual_plan()
    assert plan.bandwidth(2) == 900000
    assert plan.bandwidth(None) is None and plan.bandwidth(3) is None
    assert plan.bandwidth(-1) is None


# ----------------------------------------------------------------------------------------
# live
# ----------------------------------------------------------------------------------------
def test_live_window_is_refreshed_for_a_segment_not_listed_yet() -> None:
    plan = virtual_plan(live=True, n=3)
    assert plan.is_live and plan.duration_s() is None
    refreshed: list[int] = []

    def refresh(rendition: int) -> MediaPlaylist | None:
        refreshed.append(rendition)
        mp = rendition_playlist(rendition, first=2, n=3, live=True)  # window moved: 2..4
        plan.update(rendition, mp)
        return mp

    assert [r for r, _ in plan.candidates(1, 0, refresh)] == [0, 2, 1]
    assert refreshed == []  # listed: no refresh
    segs = plan.candidates(4, 0, refresh)
    assert [(r, s.seq) for r, s in segs] == [(0, 4), (2, 4), (1, 4)]
    assert refreshed == [0, 2, 1]  # each rendition refreshed once
    assert [s.seq for s in plan.media[1].segments] == [2, 3, 4]


def test_live_index_follows_the_current_rendition() -> None:
    plan = virtual_plan(live=True, n=3)
    plan.served(0, 2)
    asked: list[int] = []

    def refresh(rendition: int) -> MediaPlaylist | None:
        asked.append(rendition)
        return None  # the refresh failed

    assert plan.index_playlist(None, None, refresh) is plan.media[0]  # fallback
    assert asked == [2]
    vod = virtual_plan()
    assert vod.index_playlist(None, None, no_refresh) is vod.media[0]
