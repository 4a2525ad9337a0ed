"""Thirty synthetic days of one household's viewing, for the ISP index tests and screenshots.

Every evening (19-23 h) and every morning/afternoon the household watches; the ISP
("Examplenet") congests in prime time: more stalls with ``isp`` verdicts and a lower
throughput; the rest of the day is mostly clean. Deterministic (a seeded generator).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from player.core.isp_index import SessionRow, StallRow

ISP = "Examplenet"
VIDEO_NETWORK = "ExampleCDN"
DAY0 = datetime(2026, 10, 1, tzinfo=UTC)


def synthetic_days(days: int = 30, seed: int = 9) -> list[SessionRow]:
    rng = random.Random(seed)
    rows: list[SessionRow] = []
    for d in range(days):
        for hour in (8, 12, 16, 19, 20, 21, 22):
            start = DAY0 + timedelta(days=d, hours=hour, minutes=rng.randint(0, 40))
            duration = rng.uniform(1200, 2700)
            prime = 19 <= hour < 23
            n = rng.choice((1, 2, 2, 3)) if prime else rng.choice((0, 0, 0, 1))
            stalls = tuple(
                StallRow(
                    started_at=start.timestamp() + rng.uniform(0, duration),
                    segment=rng.choice(("isp", "isp", "isp", "interconnect")) if prime else rng.choice(("server", "home_network")),
                )
                for _ in range(n)
            )
            rows.append(
                SessionRow(
                    started_at=start.timestamp(),
                    duration_s=duration,
                    isp=ISP,
                    video_network=VIDEO_NETWORK,
                    throughput_kbps=rng.uniform(3000, 6000) if prime else rng.uniform(15000, 25000),
                    stalls=stalls,
                )
            )
    return rows


def fill_store(store, rows: list[SessionRow]) -> None:  # noqa: ANN001 - a HistoryStore
    """Write ``rows`` through the store's own API, as the recorder would."""
    for row in rows:
        sid = store.start_session(started_at=row.started_at, source="https://cdn.example.net/v/index.m3u8?tok=1")
        verdict = row.stalls[-1].segment if row.stalls else None
        store.update_session(
            sid,
            duration_s=row.duration_s,
            isp=row.isp,
            video_network=row.video_network,
            throughput_kbps=row.throughput_kbps,
            stall_count=len(row.stalls),
            stall_s=2.0 * len(row.stalls),
            verdict=verdict,
            ended=1,
        )
        for i, st in enumerate(row.stalls):
            store.put_stall(sid, i, started_at=st.started_at, duration_s=2.0, segment=st.segment)
