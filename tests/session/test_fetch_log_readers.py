"""Every reader of an open's fetches gives what it gave when the open kept every record:
the report's ``fetches`` object, the QoE bitrate, the statistics view, the verdict's
evidence and the Why? window, long after the first records left FetchLog's window.

The oracles below are the readers as they were over a plain list of every fetch."""

from __future__ import annotations

import statistics

import pytest

from player.core import evidence
from player.core import explain as why
from player.core.fetch_log import FETCH_WINDOW, MEDIA_KINDS
from player.core.model import Fetch, FetchKind, PlaybackState
from player.core.stats import MEDIAN_BUCKET_RATIO, harmonic_mean
from player.session import metrics
from player.session.media import OpenMedia
from tests.support.fetches import live_fetch

N = 3 * FETCH_WINDOW + 7  # well past the window: the first records are gone from it
NOW = 2.0 * N / 4 + 1.0  # just after the last fetch (live_fetch: 4 fetches per 2 s)


def long_open(n: int = N) -> tuple[OpenMedia, list[Fetch]]:
    media = OpenMedia(source="https://cdn.example.com/live/master.m3u8")
    every = [live_fetch(i) for i in range(n)]
    for f in every:
        media.fetches.append(f)
    return media, every


def old_summary(every: list[Fetch]) -> dict:
    by_kind: dict[str, int] = {}
    for f in every:
        by_kind[f.kind.value] = by_kind.get(f.kind.value, 0) + 1
    ttfbs = [f.ttfb_ms for f in every if f.ttfb_ms is not None]
    tputs = [t for t in (f.throughput_bps for f in every if f.kind is FetchKind.SEGMENT) if t]
    return {
        "count": len(every),
        "by_kind": by_kind,
        "bytes": sum(f.bytes for f in every),
        "errors": sum(1 for f in every if f.error),
        "retries": sum(f.retries for f in every),
        "resumed": sum(f.resumed for f in every),
        "reused_connections": sum(1 for f in every if f.reused_connection),
        "ttfb_ms_median": statistics.median(ttfbs),
        "throughput_kbps_median": statistics.median(tputs) / 1000.0,
    }


def test_the_report_counts_every_fetch_of_a_long_open() -> None:
    media, every = long_open()
    got = metrics.fetch_summary(media, None)
    want = old_summary(every)
    for key in ("count", "by_kind", "bytes", "errors", "retries", "resumed", "reused_connections"):
        assert got[key] == want[key], key
    for key in ("ttfb_ms_median", "throughput_kbps_median"):  # beyond the exact limit
        assert got[key] == pytest.approx(want[key], rel=MEDIAN_BUCKET_RATIO - 1.0, abs=0.1), key
    assert got["probe_bytes"] == 0 and got["probe_ratio"] == 0.0
    assert got["per_segment_data"] is True and got["notes"] == []


def test_a_short_opens_report_is_exact() -> None:
    media, every = long_open(40)
    got, want = metrics.fetch_summary(media, None), old_summary(every)
    assert got["ttfb_ms_median"] == round(want["ttfb_ms_median"], 1)
    assert got["throughput_kbps_median"] == round(want["throughput_kbps_median"], 1)


def test_qoe_bitrate_and_the_statistics_view_see_the_whole_open() -> None:
    media, every = long_open()
    q = metrics.qoe(media, frames_displayed=10, frames_dropped=0)
    bitrates = [f.rendition_bitrate_bps for f in every if f.rendition_bitrate_bps]
    assert q.avg_bitrate_kbps == round(sum(bitrates) / len(bitrates) / 1000.0, 1)
    view = metrics.stats_view(
        media, state=PlaybackState.PLAYING, q=q, history=[], pinned=False, video_size=(0, 0)
    )
    last = [f for f in every if f.kind in MEDIA_KINDS][-1]
    assert view.fetch_count == N
    assert (view.host, view.connection_reused, view.ttfb_ms) == (
        last.host,
        last.reused_connection,
        last.ttfb_ms,
    )
    want_tput = harmonic_mean(
        f.throughput_bps
        for f in every[-evidence.RECENT_FETCHES :]
        if f.kind in MEDIA_KINDS and f.throughput_bps
    )
    assert view.throughput_bps == pytest.approx(want_tput)
    assert evidence.recent_throughput(media.fetches) == evidence.recent_throughput(every)


def test_the_verdicts_evidence_and_the_why_window_are_unchanged() -> None:
    media, every = long_open()
    for window_end in (NOW, NOW - 30.0):  # now, and a stall that began 30 s ago
        kw = {"now": NOW, "window_end": window_end, "length_s": 3600.0}
        assert evidence.attribution_input(
            fetches=media.fetches, **kw
        ) == evidence.attribution_input(fetches=every, **kw)
    assert evidence.first_segment_at(media.fetches) == evidence.first_segment_at(every) is not None
    assert evidence.last_rendition_bitrate(media.fetches) == evidence.last_rendition_bitrate(every)
    assert why.fetch_rows(media.fetches) == why.fetch_rows(every)
    assert len(why.fetch_rows(media.fetches)) == why.T.EXPLAIN_LAST_FETCHES
    assert why.explain(None, [], media.fetches) == why.explain(None, [], every)


def test_a_progressive_files_size_outlives_the_window() -> None:
    """A progressive file's size (its bitrate when no rendition names one) is its largest
    download, however long ago; later ranges are smaller."""
    media = OpenMedia(source="https://cdn.example.com/film.mp4")
    every = [
        Fetch(
            url="https://cdn.example.com/film.mp4",
            kind=FetchKind.PROGRESSIVE,
            started_at=float(i),
            bytes=50_000_000 if i == 0 else 1_000 + i,
            ttfb_ms=20.0,
            transfer_ms=100.0,
            finished_at=i + 0.2,
        )  # fmt: skip
        for i in range(FETCH_WINDOW + 10)
    ]
    for f in every:
        media.fetches.append(f)
    assert every[0] not in media.fetches.recent()
    assert evidence.content_length(media.fetches) == evidence.content_length(every) == 50_000_000
    kw = {"now": float(len(every)), "length_s": 100.0}
    fe = evidence.attribution_input(fetches=media.fetches, **kw).fetch
    assert fe == evidence.attribution_input(fetches=every, **kw).fetch
    assert fe.needed_bitrate_bps == pytest.approx(50_000_000 * 8 / 100.0)
