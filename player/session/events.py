"""What the session tells its owner: plain event records, the snapshot and the stats view.

The UI bridge turns events into signals; ``diagnose`` collects them. :class:`EventSink` is the
one place events are stamped with the session's clock and the playback state changes.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from player.core.model import PlaybackState, Verdict
from player.core.wording import Notice


@dataclass(slots=True)
class SessionEvent:
    at: float = field(default_factory=time.monotonic, kw_only=True)


@dataclass(slots=True)
class Opening(SessionEvent):
    source: str
    title: str


@dataclass(slots=True)
class StateChanged(SessionEvent):
    state: PlaybackState


@dataclass(slots=True)
class MediaInfo(SessionEvent):
    length_s: float | None
    seekable: bool
    live: bool


@dataclass(slots=True)
class PlaybackFailed(SessionEvent):
    """Bad input or a broken stream: ``message`` is shown to the viewer as is.

    ``tls_origin``: ``https://host:port`` when the certificate of that origin failed
    verification (the viewer may then exempt exactly it and open the source again)."""

    message: str
    source: str
    tls_origin: str | None = None


@dataclass(slots=True)
class EndedEarly(SessionEvent):
    message: str
    at_s: float
    length_s: float | None


@dataclass(slots=True)
class Ended(SessionEvent):
    pass


@dataclass(slots=True)
class StreamNote(SessionEvent):
    """Something the viewer should know that is not fatal (a missing segment, a retry)."""

    message: str


@dataclass(slots=True)
class CertificateUnverified(SessionEvent):
    """The current open fetched from ``origin`` (``host:port``) without verifying its
    certificate, as the viewer chose: show a persistent warning while it plays."""

    origin: str


@dataclass(slots=True)
class NoticeChanged(SessionEvent):
    """The stall notice to overlay (None: hide it)."""

    notice: Notice | None
    verdict: Verdict | None = None


@dataclass(slots=True)
class StallBegan(SessionEvent):
    start_s: float


@dataclass(slots=True)
class StallFinished(SessionEvent):
    start_s: float
    duration_s: float


@dataclass(slots=True)
class RenditionsKnown(SessionEvent):
    labels: list[str]  # index = gateway rendition index


@dataclass(slots=True)
class Snapshot:
    """What the UI shows at one instant; read-only for the UI."""

    state: PlaybackState
    source: str | None
    title: str
    position_s: float | None
    length_s: float | None
    seekable: bool
    volume: int
    muted: bool
    frames_distinct: int


@dataclass(slots=True)
class StatsView:
    """Everything the statistics panel shows (read-only)."""

    state: str = "idle"
    rendition: str | None = None
    resolution: str | None = None
    bitrate_bps: float | None = None
    throughput_bps: float | None = None
    buffer_ahead_s: float | None = None
    host: str | None = None
    connection_reused: bool | None = None
    ttfb_ms: float | None = None
    frames_displayed: int = 0
    frames_dropped: int = 0
    stall_count: int = 0
    stall_s: float = 0.0
    fetch_count: int = 0
    note: str = ""
    history: list[tuple[float, float | None, float | None, float | None]] = field(default_factory=list)
    # the details (metrics.detailed_stats): core.explain rows, libVLC's codecs, CPU, verdict
    hops: list = field(default_factory=list)  # core.explain.HopRow
    last_fetches: list = field(default_factory=list)  # core.explain.FetchRow
    codecs: list[tuple[str, str]] = field(default_factory=list)  # (kind, fourcc)
    cpu_player_pct: float | None = None  # psutil style: 100 = one core
    cpu_system_pct: float | None = None  # 0..100 of the whole machine
    verdict: str = ""  # the current verdict's sentence ('' before any stall)
    confidence: str = ""  # its confidence in words
    stall_marks: list[float] = field(default_factory=list)  # stall starts, the history's clock
    switch_marks: list[float] = field(default_factory=list)  # rendition switches, same clock


class EventSink:
    """The session's outward face: the playback state and the queue of events (owner thread)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.events: queue.Queue[SessionEvent] = queue.Queue()
        self.state = PlaybackState.IDLE

    def emit(self, event: SessionEvent) -> None:
        event.at = self.clock()  # the session's clock (a fake one in tests)
        self.events.put(event)

    def set_state(self, state: PlaybackState) -> None:
        if state is not self.state:
            self.state = state
            self.emit(StateChanged(state=state))
