"""The report's ``fetches`` object gains the video flow's own TCP signals (new keys only:
every key it had keeps its name and value)."""

from __future__ import annotations

from player.core.model import FlowSignals
from player.session import metrics
from player.session.media import OpenMedia
from tests.support.fetches import live_fetch

KEYS = {"rcv_rtt_ms_min", "rcv_rtt_ms_median", "ooo_packets"}


def test_without_signals_the_new_keys_are_none_and_the_old_ones_unchanged() -> None:
    media = OpenMedia(source="https://cdn.example.com/live/master.m3u8")
    for i in range(12):
        media.fetches.append(live_fetch(i))
    got = metrics.fetch_summary(media, None)
    assert {k: got[k] for k in KEYS} == dict.fromkeys(KEYS)
    assert {"count", "ttfb_ms_median", "throughput_kbps_median", "probe_ratio"} <= set(got)


def test_the_receiver_rtt_and_losses_of_the_video_downloads_are_summarised() -> None:
    media = OpenMedia(source="https://cdn.example.com/live/master.m3u8")
    rtts = iter([20.0, 250.0, 30.0, 40.0, 35.0, 28.0])
    for i in range(12):
        f = live_fetch(i)
        if f.kind.value == "segment":
            f.flow = FlowSignals(rcv_rtt_end_ms=next(rtts), ooo_packets=2)
        media.fetches.append(f)
    got = metrics.fetch_summary(media, None)
    n = sum(1 for f in media.fetches if f.flow is not None)
    assert n == 6  # the segments among the 12 (live_fetch's pattern)
    assert got["rcv_rtt_ms_min"] == 20.0
    assert got["rcv_rtt_ms_median"] == 32.5
    assert got["ooo_packets"] == 2 * n
