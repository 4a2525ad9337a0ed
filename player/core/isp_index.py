"""Your own ISP index: the history's sessions summed up per ISP and per video network.

Like Netflix's ISP Speed Index (the seeds), but for one household and with stalls, not only
speed: stall rate (stalls per hour watched), median throughput and the verdicts, by hour of
day, and prime time (19-23 h) against the rest of the day. Pure: rows in, aggregates out;
the caller reads the rows (player.store.history) and chooses the time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from player.core.stats import median
from player.core.units import fmt_bitrate

PRIME_START_H = 19  # prime time is 19:00-23:00 (the hours the seeds' index is worst)
PRIME_END_H = 23
HOURS = 24
NOT_MEASURED = "(not measured)"  # sessions whose path was not probed or not named
SEGMENTS = ("device", "home_network", "isp", "interconnect", "server", "unknown")
SEGMENT_LABELS = {  # the plot legend's words for each verdict
    "device": "this computer",
    "home_network": "home network",
    "isp": "internet provider",
    "interconnect": "between networks",
    "server": "video server",
    "unknown": "could not tell",
}
WORSE_BY = 1.25  # prime time's stall rate must exceed the rest's by 25 % to be called worse


@dataclass(frozen=True, slots=True)
class StallRow:
    started_at: float  # Unix time
    segment: str = "unknown"


@dataclass(frozen=True, slots=True)
class SessionRow:
    started_at: float  # Unix time
    duration_s: float
    isp: str | None = None
    video_network: str | None = None
    throughput_kbps: float | None = None
    stalls: tuple[StallRow, ...] = ()


@dataclass(slots=True)
class Bucket:
    """The sessions of one group in one hour of day (or one part of the day)."""

    sessions: int = 0
    watched_s: float = 0.0
    stalls: int = 0
    throughputs: list[float] = field(default_factory=list)
    verdicts: dict[str, int] = field(default_factory=dict)

    @property
    def stall_rate(self) -> float | None:
        """Stalls per hour watched (None: nothing watched)."""
        return self.stalls / (self.watched_s / 3600.0) if self.watched_s > 0 else None

    @property
    def median_throughput_kbps(self) -> float | None:
        return median(self.throughputs)


@dataclass(slots=True)
class GroupIndex:
    """One ISP's (or video network's) index."""

    kind: str  # "isp" | "video_network"
    name: str
    total: Bucket = field(default_factory=Bucket)
    by_hour: list[Bucket] = field(default_factory=lambda: [Bucket() for _ in range(HOURS)])
    prime: Bucket = field(default_factory=Bucket)
    rest: Bucket = field(default_factory=Bucket)

    @property
    def prime_time_worse(self) -> bool | None:
        """Prime time clearly worse than the rest (None: not enough of either watched)."""
        p, r = self.prime.stall_rate, self.rest.stall_rate
        if p is None or r is None:
            return None
        if p > r * WORSE_BY:
            return True
        pt, rt = self.prime.median_throughput_kbps, self.rest.median_throughput_kbps
        return bool(pt is not None and rt is not None and pt * WORSE_BY < rt)


def is_prime(hour: int) -> bool:
    return PRIME_START_H <= hour < PRIME_END_H


def _hour(ts: float, tz: tzinfo | None) -> int:
    return datetime.fromtimestamp(ts, tz).hour


def _add(bucket: Bucket, row: SessionRow, stalls: Iterable[StallRow]) -> None:
    bucket.sessions += 1
    bucket.watched_s += max(0.0, row.duration_s)
    if row.throughput_kbps:
        bucket.throughputs.append(row.throughput_kbps)
    for st in stalls:
        bucket.stalls += 1
        bucket.verdicts[st.segment] = bucket.verdicts.get(st.segment, 0) + 1


def build_index(rows: Sequence[SessionRow], tz: tzinfo | None = None) -> list[GroupIndex]:
    """Per-ISP then per-video-network indexes (ISPs first, each by most watched).

    A session counts, with its watch time, throughput and stalls, in the hour of day it
    started: the evening a viewer remembers, even if a stall came after midnight."""
    groups: dict[tuple[str, str], GroupIndex] = {}
    for row in rows:
        hour = _hour(row.started_at, tz)
        for kind, name in (("isp", row.isp), ("video_network", row.video_network)):
            key = (kind, name or NOT_MEASURED)
            g = groups.get(key)
            if g is None:
                g = groups[key] = GroupIndex(kind=kind, name=key[1])
            _add(g.total, row, row.stalls)
            _add(g.by_hour[hour], row, row.stalls)
            _add(g.prime if is_prime(hour) else g.rest, row, row.stalls)
    return sorted(groups.values(), key=lambda g: (g.kind != "isp", g.name == NOT_MEASURED, -g.total.watched_s))


def verdicts_by_hour(group: GroupIndex) -> dict[str, list[int]]:
    """Per segment, the count of stall verdicts in each hour of day (for a stacked plot)."""
    return {seg: [b.verdicts.get(seg, 0) for b in group.by_hour] for seg in SEGMENTS}


def summary_line(group: GroupIndex) -> str:
    """The index in one sentence: prime time against the rest of the day."""
    p, r = group.prime, group.rest
    if p.stall_rate is None or r.stall_rate is None:
        return f"{group.name}: not enough viewing both in prime time (19-23 h) and outside it to compare."
    parts = [f"{group.name}: {p.stall_rate:.1f} stalls per hour in prime time (19-23 h), {r.stall_rate:.1f} otherwise"]
    pt, rt = p.median_throughput_kbps, r.median_throughput_kbps
    if pt is not None and rt is not None:
        parts.append(f"median throughput {fmt_bitrate(pt * 1000)} vs {fmt_bitrate(rt * 1000)}")
    verdict = {True: "Prime time is worse.", False: "Prime time is no worse than the rest."}[bool(group.prime_time_worse)]
    return "; ".join(parts) + ". " + verdict
