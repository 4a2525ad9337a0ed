"""Playback speed in the verdict: at r x the player needs r x the video's bitrate, and a
stall at a faster-than-normal speed is not blamed on a network that carries normal speed."""

from __future__ import annotations

import pytest

from player.core import evidence
from player.core import thresholds as T
from player.core.attribution import ProbeStatus, attribute
from player.core.model import Fetch, FetchKind, Segment
from player.core.wording import overlay_notice
from tests.core.test_attribution import SLOW_TTFB, make, path

NETWORK = (Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT, Segment.SERVER)
BITRATE = 2.5e6  # make()'s default: the video's bitrate at normal speed


def seg_fetch(at: float, bps: float) -> Fetch:
    return Fetch(
        url="https://cdn.example/s.ts",
        kind=FetchKind.SEGMENT,
        started_at=at - 1.0,
        finished_at=at,
        host="cdn.example",
        status=200,
        bytes=int(bps / 8),  # one second's worth: throughput_bps is bytes over transfer_ms
        ttfb_ms=40.0,
        transfer_ms=1000.0,
    )


@pytest.mark.parametrize(("rate", "needed"), [(1.0, 1e6), (2.0, 2e6), (0.5, 0.5e6), (4.0, 4e6)])
def test_needed_bitrate_scales_with_the_rate(rate: float, needed: float) -> None:
    inp = evidence.attribution_input(
        now=100.0,
        fetches=[seg_fetch(99.0, 3e6)],
        stall_started_at=99.5,
        rendition_bitrate_bps=1e6,
        playback_rate=rate,
    )
    assert inp.playback_rate == rate
    assert inp.fetch.needed_bitrate_bps == pytest.approx(needed)


def test_progressive_size_bitrate_scales_too() -> None:
    prog = Fetch(
        url="https://x.example/v.mp4",
        kind=FetchKind.PROGRESSIVE,
        started_at=0.0,
        finished_at=10.0,
        bytes=1_250_000,
        transfer_ms=10_000.0,
    )
    inp = evidence.attribution_input(now=11.0, fetches=[prog], length_s=10.0, playback_rate=2.0)
    assert inp.fetch.needed_bitrate_bps == pytest.approx(2 * 1_250_000 * 8 / 10.0)


@pytest.mark.parametrize("hops", ["isp", "home", "interconnect", "server_path", "server_ttfb"])
def test_fast_speed_over_a_link_that_carries_1x_blames_no_network(hops: str) -> None:
    kw: dict = {
        "isp": {"hops": path(inflate_at=2)},
        "home": {"hops": path(inflate_at=1, add=20.0)},
        "interconnect": {"hops": path(inflate_at=4)},
        "server_path": {"hops": path(inflate_at=5)},
        "server_ttfb": {"ttfb": SLOW_TTFB},
    }[hops]
    # 1.5x the bitrate: enough for normal speed, not for 2x
    at_1x = attribute(make(throughput=[1.5 * BITRATE] * 4, **kw))
    assert at_1x.segment in NETWORK, "the same evidence at 1x names the network"
    v = attribute(make(throughput=[1.5 * BITRATE] * 4, rate=2.0, **kw))
    assert v.segment not in NETWORK and v.culprit is None
    assert v.rule == "speed_shortfall"
    assert v.message.startswith("Playing at 2× needs more data than your connection delivers")
    assert "Normal speed should play smoothly." in v.message
    lines = [e.text for e in v.evidence]
    assert lines[0] == "Playing at 2× needs 2× the video's bitrate"
    assert any("needed" in t and "5.0 Mbit/s needed" in t for t in lines), lines


def test_fast_speed_without_a_throughput_only_says_probably() -> None:
    v = attribute(make(path(inflate_at=2), throughput=[], rate=3.0))
    assert v.rule == "speed_shortfall" and v.culprit is None
    assert v.message.startswith("Playing at 3× probably needs more data")
    assert "Normal speed" not in v.message


def test_a_link_below_even_1x_is_still_named_and_the_speed_said() -> None:
    v = attribute(make(path(inflate_at=2), throughput=[0.6 * BITRATE] * 4, rate=2.0))
    assert v.segment is Segment.ISP and v.rule == "isp_access"
    assert v.message.endswith(
        "This would stall even at normal speed; playing at 2× needs 2× the data."
    )
    assert any(e.text == "Playing at 2× needs 2× the video's bitrate" for e in v.evidence)


def test_unknown_at_speed_mentions_the_speed() -> None:
    inp = make(
        status=ProbeStatus.NOT_PERMITTED,
        reason="no raw sockets",
        throughput=[0.5 * BITRATE] * 4,
        rate=1.5,
    )
    v = attribute(inp)
    assert v.segment is Segment.UNKNOWN and v.rule == "unknown_no_probes"
    assert "playing at 1.5× needs 1.5× the data" in v.message


def test_the_device_is_still_named_at_speed() -> None:
    from tests.core.test_attribution import DROPS_CPU

    v = attribute(make(device=DROPS_CPU, throughput=[1.5 * BITRATE] * 4, rate=2.0))
    assert v.segment is Segment.DEVICE


@pytest.mark.parametrize("rate", [1.0, 1.0 + T.RATE_NORMAL_TOLERANCE / 2, 0.5])
def test_normal_or_slower_speed_changes_nothing(rate: float) -> None:
    v = attribute(make(path(inflate_at=2), throughput=[0.6 * BITRATE] * 4, rate=rate))
    assert v.segment is Segment.ISP
    assert "speed" not in v.message and all(e.kind != "speed" for e in v.evidence)


def test_no_stall_at_speed_has_no_speed_line() -> None:
    v = attribute(make(stalling=False, throughput=[1.5 * BITRATE] * 4, rate=2.0))
    assert v.segment is Segment.NONE and v.message == ""


def test_the_band_shows_the_speed_verdict_at_once_with_the_speed_line() -> None:
    v = attribute(make(path(inflate_at=2), throughput=[1.5 * BITRATE] * 4, rate=2.0))
    n = overlay_notice(v, stalled=True, stall_age_s=0.0)
    assert n.title == v.message, "no patience wait: the speed is known at once"
    assert n.detail == "Playing at 2× needs 2× the video's bitrate."
    assert n.segment == "unknown"
