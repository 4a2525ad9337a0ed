"""The ISP index from 30 synthetic days: prime time's congestion must show up."""

from __future__ import annotations

from datetime import UTC

from player.core import isp_index as ix
from tests.support.history_days import ISP, VIDEO_NETWORK, synthetic_days


def test_thirty_days_prime_time_worse() -> None:
    rows = synthetic_days(30)
    groups = ix.build_index(rows, tz=UTC)
    assert [(g.kind, g.name) for g in groups] == [("isp", ISP), ("video_network", VIDEO_NETWORK)]
    isp = groups[0]
    assert isp.total.sessions == 30 * 7
    assert isp.prime.sessions == 30 * 4 and isp.rest.sessions == 30 * 3
    assert isp.prime.stall_rate > 2 * isp.rest.stall_rate
    assert isp.prime.median_throughput_kbps < isp.rest.median_throughput_kbps / 2
    assert isp.prime_time_worse is True
    assert "Prime time is worse" in ix.summary_line(isp)
    # by hour: the evening hours carry the ISP verdicts, the morning none
    verdicts = ix.verdicts_by_hour(isp)
    assert sum(verdicts["isp"][19:23]) > 0 and sum(verdicts["isp"][:19]) == 0
    assert isp.by_hour[20].stall_rate > isp.by_hour[8].stall_rate
    assert isp.by_hour[3].stall_rate is None  # nothing watched at 3 am


def test_even_day_is_not_called_worse() -> None:
    day = ix.SessionRow(started_at=0, duration_s=3600, isp="A", stalls=(ix.StallRow(0, "isp"),))
    rows = [
        ix.SessionRow(started_at=h * 3600.0, duration_s=3600, isp="A", throughput_kbps=5000, stalls=day.stalls)
        for h in (10, 20)
    ]
    g = ix.build_index(rows, tz=UTC)[0]
    assert g.prime.stall_rate == g.rest.stall_rate == 1.0
    assert g.prime_time_worse is False
    assert "no worse" in ix.summary_line(g)


def test_unmeasured_and_empty() -> None:
    assert ix.build_index([]) == []
    g = ix.build_index([ix.SessionRow(started_at=10 * 3600.0, duration_s=60)], tz=UTC)
    assert {x.name for x in g} == {ix.NOT_MEASURED}
    assert g[0].prime_time_worse is None
    assert "not enough" in ix.summary_line(g[0])
