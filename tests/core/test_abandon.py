"""The abandon rule (player/core/abandon.py) and AbrController.abandon: pure, no clock."""

from __future__ import annotations

import pytest

from player.core import thresholds as T
from player.core.abandon import InFlight, ProgressMeter, abandon_choice
from player.core.abr import AbrController

LADDER = (1_000_000, 3_000_000, 6_000_000)
SEG_S = 2.0
TOP_BYTES = int(LADDER[2] * SEG_S / 8)  # a 2 s segment of the 6 Mbit/s rendition


def flight(received: int, rate_bps: float, total: int = TOP_BYTES) -> InFlight:
    return InFlight(elapsed_s=1.0, received_bytes=received, total_bytes=total, rate_bps=rate_bps)


def test_a_download_that_arrives_in_time_goes_on() -> None:
    # 1.5 MB left of 1.5 MB at 6 Mbit/s: 2 s, with 10 s of buffer
    assert abandon_choice(LADDER, 2, flight(0, 6e6), buffer_s=10.0) is None


def test_a_collapse_abandons_for_the_highest_rendition_that_fits() -> None:
    # 1.3 MB left at 1.8 Mbit/s: ~5.8 s, but only 6 - 2 = 4 s of buffer above the panic
    # level; the middle rendition's whole segment (0.75 MB) takes 3.3 s: it fits
    got = abandon_choice(LADDER, 2, flight(200_000, 1.8e6), buffer_s=6.0)
    assert got is not None and got.index == 1
    assert "left at 1.80 Mbit/s" in got.reason


def test_when_nothing_lower_fits_the_lowest_is_fetched() -> None:
    # 3 s of buffer: 1 s of room; the lowest (0.25 MB at 1.8 Mbit/s = 1.1 s) does not fit
    # either, but arrives long before the rest of the top one (5.8 s)
    got = abandon_choice(LADDER, 2, flight(200_000, 1.8e6), buffer_s=3.0)
    assert got is not None and got.index == 0


def test_no_abandon_when_starting_over_is_not_sooner() -> None:
    # 30 kB left of the middle rendition: the lowest's whole segment is bigger than that
    total = int(LADDER[1] * SEG_S / 8)
    assert abandon_choice(LADDER, 1, flight(total - 30_000, 0.2e6, total), buffer_s=2.5) is None


def test_the_lowest_rendition_is_never_abandoned() -> None:
    total = int(LADDER[0] * SEG_S / 8)
    assert abandon_choice(LADDER, 0, flight(0, 0.1e6, total), buffer_s=2.0) is None


def test_nothing_arriving_means_the_lowest() -> None:
    got = abandon_choice(LADDER, 2, flight(0, 0.0), buffer_s=8.0)
    assert got is not None and got.index == 0


def test_meter_waits_for_the_minimum_elapsed_time() -> None:
    m = ProgressMeter(started_s=100.0, total_bytes=TOP_BYTES)
    m.update(100.0 + T.ABR_ABANDON_MIN_ELAPSED_S / 2, 50_000)
    assert m.snapshot() is None
    m.update(100.0 + T.ABR_ABANDON_MIN_ELAPSED_S, 100_000)
    snap = m.snapshot()
    assert snap is not None
    assert snap.rate_bps == pytest.approx(100_000 * 8 / T.ABR_ABANDON_MIN_ELAPSED_S)


def test_meter_sees_a_collapse_the_lifetime_average_hides() -> None:
    """9 Mbit/s for 1 s, then 1.8 Mbit/s for 1 s (a 4 s top segment, 3 MB): the recent
    window's rate is judged, not the (still high) average since the request."""
    total = 2 * TOP_BYTES
    m = ProgressMeter(started_s=0.0, total_bytes=total)
    got = 0
    for i in range(1, 11):  # 0.1 s steps at 9 Mbit/s
        got += int(9e6 * 0.1 / 8)
        m.update(i * 0.1, got)
    for i in range(11, 21):  # then 1.8 Mbit/s
        got += int(1.8e6 * 0.1 / 8)
        m.update(i * 0.1, got)
    snap = m.snapshot()
    assert snap is not None
    assert got * 8 / 2.0 > 5e6  # the lifetime average still says "fast"
    assert snap.rate_bps == pytest.approx(1.8e6, rel=0.01)
    # 1.65 MB left at 1.8 Mbit/s (7.3 s) with 3 s of room: the lowest (0.5 MB, 2.2 s)
    got_back = abandon_choice(LADDER, 2, snap, buffer_s=5.0)
    assert got_back is not None and got_back.index == 0
    # judged by the lifetime average (5.4 Mbit/s: 2.4 s left) it would have gone on
    assert abandon_choice(LADDER, 2, flight(got, got * 8 / 2.0, total), buffer_s=5.0) is None


def test_controller_abandon_becomes_the_current_rendition() -> None:
    abr = AbrController(LADDER, SEG_S)
    for _ in range(5):
        abr.add_throughput(20e6, TOP_BYTES, TOP_BYTES * 8 / 20e6)
    assert abr.choose(12.0).index == 2
    got = abr.abandon(2, flight(200_000, 1.8e6), buffer_s=6.0)
    assert got is not None and got.index == 1
    assert abr.current == 1


def test_controller_never_abandons_a_pinned_rendition() -> None:
    abr = AbrController(LADDER, SEG_S)
    abr.pin(2)
    assert abr.abandon(2, flight(200_000, 1.8e6), buffer_s=3.0) is None
