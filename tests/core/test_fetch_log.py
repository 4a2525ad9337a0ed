"""FetchLog (player.core.fetch_log) and RunningMedian (player.core.stats): a bounded window
of the newest fetches, whole-session totals that stay exact past it, memory that does not
grow with the number of fetches."""

from __future__ import annotations

import gc
import random
import statistics
import tracemalloc

import pytest

from player.core.fetch_log import FETCH_WINDOW, MEDIA_KINDS, FetchLog
from player.core.model import Fetch, FetchKind
from player.core.stats import EXACT_MEDIAN_VALUES, MEDIAN_BUCKET_RATIO, RunningMedian
from tests.support.fetches import live_fetch


def logged(n: int, window: int = FETCH_WINDOW) -> tuple[FetchLog, list[Fetch]]:
    every = [live_fetch(i) for i in range(n)]
    log = FetchLog(window)
    for f in every:
        log.append(f)
    return log, every


def test_the_window_keeps_only_the_newest_records_in_order() -> None:
    log, every = logged(3 * FETCH_WINDOW + 5)
    assert log.recent() == every[-FETCH_WINDOW:]
    assert list(log) == every[-FETCH_WINDOW:]
    assert list(reversed(log)) == every[::-1][:FETCH_WINDOW]
    assert log.latest(8) == every[-8:]
    assert log.latest(0) == [] and log.latest(-1) == []
    assert log.latest(10 * FETCH_WINDOW) == every[-FETCH_WINDOW:]
    assert log.last is every[-1]
    assert log.window == FETCH_WINDOW


def test_an_empty_log() -> None:
    log = FetchLog()
    t = log.totals
    assert log.recent() == [] and log.latest(3) == [] and log.last is None
    assert t.count == 0 and t.by_kind == {} and t.bytes == 0
    assert t.mean_rendition_bitrate_bps is None and t.last_rendition_bitrate_bps is None
    assert t.first_media_started_at is None and t.last_media is None
    assert t.ttfb_ms.median() is None and t.segment_throughput_bps.median() is None


def test_totals_stay_exact_long_past_the_window() -> None:
    n = 5 * FETCH_WINDOW + 3
    log, every = logged(n)
    t = log.totals
    assert t.count == n
    by_kind: dict[str, int] = {}
    for f in every:
        by_kind[f.kind.value] = by_kind.get(f.kind.value, 0) + 1
    assert t.by_kind == by_kind and list(t.by_kind) == list(by_kind)  # first seen first
    assert t.bytes == sum(f.bytes for f in every)
    assert t.errors == sum(1 for f in every if f.error) > 0
    assert t.retries == sum(f.retries for f in every) > 0
    assert t.resumed == sum(f.resumed for f in every) > 0
    assert t.reused_connections == sum(1 for f in every if f.reused_connection)
    bitrates = [f.rendition_bitrate_bps for f in every if f.rendition_bitrate_bps]
    assert t.mean_rendition_bitrate_bps == pytest.approx(sum(bitrates) / len(bitrates))
    assert t.last_rendition_bitrate_bps == bitrates[-1]
    media = [f for f in every if f.kind in MEDIA_KINDS]
    assert t.first_media_started_at == media[0].started_at  # long gone from the window
    assert t.last_media is media[-1]
    assert t.largest_progressive_bytes == 0  # no progressive download in a live stream


def test_a_progressive_files_size_is_its_largest_download() -> None:
    log = FetchLog(window=2)
    for size in (1_000, 9_000_000, 4_000, 5_000):
        log.append(
            Fetch(url="https://h/v.mp4", kind=FetchKind.PROGRESSIVE, started_at=0.0, bytes=size)
        )
    assert log.totals.largest_progressive_bytes == 9_000_000
    assert [f.bytes for f in log] == [4_000, 5_000]


def test_medians_exact_while_short_then_within_half_a_percent() -> None:
    short, _ = logged(EXACT_MEDIAN_VALUES // 2)
    every = [live_fetch(i) for i in range(EXACT_MEDIAN_VALUES // 2)]
    ttfbs = [f.ttfb_ms for f in every if f.ttfb_ms is not None]
    tputs = [f.throughput_bps for f in every if f.kind is FetchKind.SEGMENT and f.throughput_bps]
    assert short.totals.ttfb_ms.median() == statistics.median(ttfbs)
    assert short.totals.segment_throughput_bps.median() == statistics.median(tputs)

    rng = random.Random(12)
    rm = RunningMedian()
    values = [rng.lognormvariate(4.0, 1.0) for _ in range(20 * EXACT_MEDIAN_VALUES)]
    for v in values:
        rm.add(v)
    assert rm.count == len(values)
    assert rm.median() == pytest.approx(statistics.median(values), rel=MEDIAN_BUCKET_RATIO - 1.0)


def test_running_median_exactness_ends_at_its_limit() -> None:
    rm = RunningMedian()
    for v in range(1, EXACT_MEDIAN_VALUES + 1):
        rm.add(float(v))
    assert rm.median() == statistics.median(range(1, EXACT_MEDIAN_VALUES + 1))
    rm.add(float(EXACT_MEDIAN_VALUES + 1))  # one more: bucketed from now on
    exact = statistics.median(range(1, EXACT_MEDIAN_VALUES + 2))
    assert rm.median() == pytest.approx(exact, rel=MEDIAN_BUCKET_RATIO - 1.0)


def test_running_median_counts_zero_and_out_of_range_values() -> None:
    rm = RunningMedian()
    for _ in range(EXACT_MEDIAN_VALUES):
        rm.add(0.0)
    for _ in range(EXACT_MEDIAN_VALUES + 1):
        rm.add(1e30)  # clamped to the top of the range, still counted above the zeros
    assert rm.median() == pytest.approx(1e12, rel=MEDIAN_BUCKET_RATIO - 1.0)
    rm.add(-5.0)
    rm.add(-5.0)  # the middle moves down into the zeros
    assert rm.median() == 0.0


def retained_bytes(n: int) -> int:
    """Bytes still allocated after ``n`` appends to one log (the log itself kept alive)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        log = FetchLog()
        for i in range(n):
            log.append(live_fetch(i))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        assert log.totals.count == n
        return after - before
    finally:
        tracemalloc.stop()


def test_memory_of_100_000_appends_is_bounded() -> None:
    """A day of a live stream is ~86 000 fetches. A plain list of them held ~43 MB; the
    log holds its window and totals (~0.44 MB): as much after 100 000 appends as after a
    few windows' worth, where both medians are already bucketed."""
    few_windows = retained_bytes(4 * FETCH_WINDOW)
    hundred_thousand = retained_bytes(100_000)
    assert hundred_thousand < 1_500_000, f"{hundred_thousand} bytes kept for 100 000 fetches"
    # no growth with the count (a list grows 8 bytes a record even of shared records):
    # only the medians' buckets may gain a few entries
    assert hundred_thousand - few_windows < 64 * 1024, (few_windows, hundred_thousand)
