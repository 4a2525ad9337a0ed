"""The fetches of one open: a bounded window of the newest records plus whole-session totals.

A day of a live stream (2 s segments, video and audio, and their playlists) makes about
86 000 ``Fetch`` records. Keeping them all would grow memory without bound, and every
refresh that walks them would cost more the longer the session runs. :class:`FetchLog`
keeps the newest :data:`FETCH_WINDOW` records, what every reader of single records needs,
and :class:`FetchTotals`, the running sums the report and the history rows need for the
whole session. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from player.core.model import Fetch, FetchKind
from player.core.stats import RunningMedian

# The newest fetches kept. The readers of single records need far fewer: the verdict's
# evidence the last 8 video downloads (evidence.RECENT_FETCHES, those of the last
# EVIDENCE_WINDOW_S = 10 s), the statistics and Why? rows the last 6 (EXPLAIN_LAST_FETCHES),
# the throughput history the last 8 records; ABR gets its samples from the gateway's
# thread, not from here. 1024 records are ~8 minutes of a live stream with separate audio
# (2 s segments and their playlists: ~2 fetches a second) and ~85 s of low-latency parts
# (~12 a second), so those readers see what they would see with every record even with
# playlists, audio and failed attempts in between; at ~430 bytes a record, ~0.45 MB.
FETCH_WINDOW = 1024

MEDIA_KINDS = (FetchKind.SEGMENT, FetchKind.PROGRESSIVE)  # fetches that carry video


@dataclass(slots=True)
class FetchTotals:
    """Running aggregates of every fetch of the open, in constant memory."""

    count: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)  # FetchKind value -> fetches
    bytes: int = 0
    errors: int = 0
    retries: int = 0
    resumed: int = 0
    reused_connections: int = 0
    ttfb_ms: RunningMedian = field(default_factory=RunningMedian)  # every fetch with one
    segment_throughput_bps: RunningMedian = field(default_factory=RunningMedian)  # segments
    rendition_bitrate_sum_bps: int = 0  # over the fetches that name their rendition's bitrate
    rendition_bitrate_fetches: int = 0
    last_rendition_bitrate_bps: int | None = None
    first_media_started_at: float | None = None  # the first video download's start
    last_media: Fetch | None = None  # the newest video download
    largest_progressive_bytes: int = 0  # a progressive file's size: its largest download

    def add(self, f: Fetch) -> None:
        self.count += 1
        self.by_kind[f.kind.value] = self.by_kind.get(f.kind.value, 0) + 1
        self.bytes += f.bytes
        self.errors += 1 if f.error else 0
        self.retries += f.retries
        self.resumed += f.resumed
        self.reused_connections += 1 if f.reused_connection else 0
        if f.ttfb_ms is not None:
            self.ttfb_ms.add(f.ttfb_ms)
        if f.kind is FetchKind.SEGMENT:
            tput = f.throughput_bps
            if tput:
                self.segment_throughput_bps.add(tput)
        if f.rendition_bitrate_bps:
            self.rendition_bitrate_sum_bps += f.rendition_bitrate_bps
            self.rendition_bitrate_fetches += 1
            self.last_rendition_bitrate_bps = f.rendition_bitrate_bps
        if f.kind in MEDIA_KINDS:
            if self.first_media_started_at is None:
                self.first_media_started_at = f.started_at
            self.last_media = f
        if f.kind is FetchKind.PROGRESSIVE:
            self.largest_progressive_bytes = max(self.largest_progressive_bytes, f.bytes)

    @property
    def mean_rendition_bitrate_bps(self) -> float | None:
        """The mean bitrate named by the fetches that name one (None: none did)."""
        if not self.rendition_bitrate_fetches:
            return None
        return self.rendition_bitrate_sum_bps / self.rendition_bitrate_fetches


class FetchLog:
    """The newest ``window`` fetches of one open (iteration: oldest first) and the totals
    of all of them. Owned by one thread (the session's), like the open it belongs to."""

    __slots__ = ("_recent", "totals")

    def __init__(self, window: int = FETCH_WINDOW) -> None:
        self._recent: deque[Fetch] = deque(maxlen=window)
        self.totals = FetchTotals()

    def append(self, f: Fetch) -> None:
        self._recent.append(f)
        self.totals.add(f)

    @property
    def window(self) -> int:
        return self._recent.maxlen or 0

    def recent(self) -> list[Fetch]:
        """A copy of the records kept, oldest first."""
        return list(self._recent)

    def latest(self, n: int) -> list[Fetch]:
        """The newest ``n`` records kept, oldest first (O(n), not O(window))."""
        out = list(islice(reversed(self._recent), max(n, 0)))
        out.reverse()
        return out

    @property
    def last(self) -> Fetch | None:
        return self._recent[-1] if self._recent else None

    def __iter__(self) -> Iterator[Fetch]:
        return iter(self._recent)

    def __reversed__(self) -> Iterator[Fetch]:
        return reversed(self._recent)

    def __repr__(self) -> str:
        return f"FetchLog(kept={len(self._recent)}/{self.window}, count={self.totals.count})"


# What the readers of fetches take: a session's log, or plain records (tests, one-offs).
Fetches = Sequence[Fetch] | FetchLog


def records(fetches: Fetches) -> Sequence[Fetch]:
    """The records themselves: a log's window (a copy), or the sequence as it is."""
    return fetches.recent() if isinstance(fetches, FetchLog) else fetches
