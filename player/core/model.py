"""Plain measurement and verdict types shared by every layer.

Pure Python: no Qt, VLC or network imports. Times are seconds on the monotonic
clock unless a field name says otherwise (``*_ms`` milliseconds, ``*_s`` seconds
of media or wall time as documented).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Segment(str, Enum):  # noqa: UP042 - str() semantics kept for other layers
    """The fixed vocabulary of network segments (DESIGN.md)."""

    NONE = "none"
    DEVICE = "device"
    HOME_NETWORK = "home_network"
    ISP = "isp"
    INTERCONNECT = "interconnect"
    SERVER = "server"
    UNKNOWN = "unknown"


class FetchKind(str, Enum):  # noqa: UP042 - str() semantics kept for other layers
    PLAYLIST = "playlist"
    INIT = "init"
    SEGMENT = "segment"
    PROGRESSIVE = "progressive"


class PlaybackState(str, Enum):  # noqa: UP042 - str() semantics kept for other layers
    IDLE = "idle"
    STARTUP = "startup"
    PLAYING = "playing"
    STALLED = "stalled"
    SEEKING = "seeking"
    PAUSED = "paused"
    ENDED = "ended"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class FlowSignals:
    """What this computer's TCP stack saw of one fetch's flow (Linux ``TCP_INFO`` read when
    the first body byte arrived and at the end: player.net.tcp_info). Every field is None
    where it was not measured (another OS, an older kernel, a resumed transfer's counts)."""

    rcv_rtt_start_ms: float | None = None  # receiver RTT estimate after the first byte
    rcv_rtt_end_ms: float | None = None  # ... at the end of the body (under our load)
    min_rtt_ms: float | None = None  # the connection's lowest RTT (handshake, requests)
    rtt_ms: float | None = None  # smoothed RTT of our own sent data, at the end
    rttvar_ms: float | None = None  # the kernel's mean deviation of those RTT samples
    ooo_packets: int | None = None  # out-of-order packets received during the body
    retransmits: int | None = None  # our own retransmissions during the body
    bytes_received: int | None = None  # TCP payload that arrived after the start sample
    # share of the body's time spent in pauses between arrivals (the sender pausing, or a
    # loss being repaired): a receiver RTT taken across such a pause includes the pause
    pause_share: float | None = None
    # share of the body's time spent waiting for data at all: high when the sender or the
    # network set the pace, low when the data waited for this player to read it
    wait_share: float | None = None


@dataclass(slots=True)
class Fetch:
    """One HTTP fetch made on the player's behalf (playlist, segment, file range)."""

    url: str
    kind: FetchKind
    started_at: float  # monotonic seconds
    host: str = ""
    rendition_bitrate_bps: int | None = None
    media_sequence: int | None = None
    media_duration_s: float | None = None  # media time this fetch carries (segments)
    status: int | None = None
    bytes: int = 0
    dns_ms: float | None = None
    connect_ms: float | None = None
    tls_ms: float | None = None
    ttfb_ms: float | None = None  # request sent -> first body byte
    transfer_ms: float | None = None  # first byte -> last byte
    retries: int = 0
    resumed: int = 0  # Range resumes after a cut
    reused_connection: bool = False
    error: str | None = None
    finished_at: float | None = None
    flow: FlowSignals | None = None  # the flow's TCP signals, where the OS gives them

    @property
    def throughput_bps(self) -> float | None:
        """Bits per second over the body transfer, None when not measurable."""
        if self.transfer_ms is None or self.transfer_ms <= 0 or self.bytes <= 0:
            return None
        return self.bytes * 8 / (self.transfer_ms / 1000.0)


@dataclass(slots=True)
class Hop:
    """One router (or the server) on the path to the media host."""

    hop: int  # 1-based TTL
    address: str | None  # None for a silent hop
    name: str | None = None  # reverse DNS
    org: str | None = None  # display name of the organisation, "home" for the LAN
    segment: Segment = Segment.UNKNOWN
    rtt_idle_ms: float | None = None
    rtt_loaded_ms: float | None = None


@dataclass(slots=True)
class ProbeSample:
    hop: int
    at: float  # monotonic seconds
    rtt_ms: float | None  # None = no answer
    loaded: bool  # True when our own download was in flight
    method: str = "udp"  # udp | icmp | tcp


@dataclass(slots=True)
class BufferSample:
    """What the player knows at one instant, fed to the buffer-health model."""

    at: float  # monotonic seconds
    playhead_s: float | None  # media position, None if unknown
    delivered_media_s: float | None = None  # media time the gateway has handed to VLC
    frames_displayed: int = 0  # count of distinct decoded pictures shown
    paused: bool = False
    seeking: bool = False
    ended: bool = False
    bytes_delivered: int = 0  # total bytes handed to the decoder so far
    frames_dropped: int = 0  # cumulative pictures dropped/late (libVLC lost_pictures)
    starving: bool | None = None  # the gateway: the player waits on a request with no bytes


@dataclass(slots=True)
class Evidence:
    kind: str  # hop_rtt | throughput | ttfb | frames | cpu | probe | path | note
    text: str
    value: float | None = None


@dataclass(frozen=True, slots=True)
class OnsetFacts:
    """Where a verdict's queue starts along the path, as measured facts (never wording):
    what a later stall compares to tell whether it sees the same queue."""

    segment: Segment | None  # the one segment the queue is in; None: it cannot be placed
    kind: str  # "crowded" (already there while idle) | "loaded" (under our download)
    mode: str  # "idle" (against idle RTTs) | "spread" (no idle samples: the loaded spread)
    hop: int  # 1-based TTL of the first hop showing it
    org: str | None  # the network that hop is in (its own name, else the ISP's); None unknown
    isp_deep: bool  # inside the ISP past its access link (a flat ISP hop answered before it)

    def to_json(self) -> dict:
        d = asdict(self)
        d["segment"] = self.segment.value if self.segment is not None else None
        return d


@dataclass(slots=True)
class Verdict:
    segment: Segment
    culprit: str | None = None  # display name: "Verizon", "your Wi-Fi / home network", ...
    confidence: float = 0.0  # 0..1
    message: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    rule: str = ""  # key of the attribution rule that produced it (also the wording key)
    onset: OnsetFacts | None = None  # where the queue starts (None: no queue located)

    def to_json(self) -> dict:
        d = asdict(self)
        d["segment"] = self.segment.value
        d["onset"] = self.onset.to_json() if self.onset is not None else None
        return d


@dataclass(slots=True)
class Stall:
    start_s: float  # wall seconds since session start
    duration_s: float | None = None  # None while ongoing
    playhead_s: float | None = None
    verdict: Verdict | None = None
    verdict_after_s: float | None = None  # stall start -> first verdict
    named_after_s: float | None = None  # stall start -> first verdict naming a segment


@dataclass(slots=True)
class QoE:
    startup_s: float | None = None
    stall_count: int = 0
    stall_s: float = 0.0
    rebuffer_ratio: float = 0.0
    avg_bitrate_kbps: float | None = None
    switches: int = 0
    frames_displayed: int = 0
    frames_dropped: int = 0
    glitch_count: int = 0  # picture freezes with a healthy buffer (not stalls)


@dataclass(slots=True)
class SessionReport:
    url: str
    played_s: float = 0.0
    qoe: QoE = field(default_factory=QoE)
    stalls: list[Stall] = field(default_factory=list)
    verdict: Verdict = field(default_factory=lambda: Verdict(Segment.NONE))
    path: list[Hop] = field(default_factory=list)
    fetches: dict = field(default_factory=dict)  # summary, see session.fetch_summary
    probe: dict = field(default_factory=dict)  # path probing: status, method, reason, bytes
    tls_unverified: list[str] = field(default_factory=list)  # host:port opened unverified
