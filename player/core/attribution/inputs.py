"""What attribution is given: the evidence about one stall, as plain dataclasses.

:func:`hop_evidence_from` builds the hop evidence from the shared model types (no address
leaves it); :func:`classify_path` gives hops without a segment theirs, with the one path
classifier (:mod:`player.core.path_segments`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from player.core.host_traffic import HostTraffic
from player.core.model import Hop, ProbeSample, Segment
from player.core.path_segments import (
    HOME_ORG,
    HopFacts,
    classify_segments,
    is_home_address,
    is_loopback_host,
)

__all__ = [
    "HOME_ORG",
    "AttributionInput",
    "DeviceEvidence",
    "FetchEvidence",
    "FlowSample",
    "HopEvidence",
    "ProbeStatus",
    "TtfbSample",
    "classify_path",
    "hop_evidence_from",
]


class ProbeStatus(StrEnum):
    """Whether hop probing produced evidence."""

    OK = "ok"
    NOT_PERMITTED = "not_permitted"
    SILENT = "silent"  # probes sent, no hop answered
    NOT_RUN = "not_run"


@dataclass(slots=True)
class HopEvidence:
    """Probe results of one hop on the path to the media host."""

    hop: int  # 1-based TTL
    org: str | None = None  # organisation display name, "home" for the LAN, None unknown
    segment: Segment | None = None  # None: derived by classify_path()
    private: bool = False  # a home address (path_segments.is_home_address)
    idle_rtt_ms: list[float] = field(default_factory=list)
    loaded_rtt_ms: list[float] = field(default_factory=list)
    # probes that got no answer (within the prober's late-answer horizon), idle / loaded
    idle_lost: int = 0
    loaded_lost: int = 0
    answered: bool | None = None  # None: derived from the samples
    baseline_rtt_ms: float | None = None  # lowest RTT from before playback / history
    is_destination: bool = False  # the media server itself
    kind: str | None = None  # the names table's kind of ``org`` (isp, transit, ixp, vpn, ...)
    loopback: bool = False  # a loopback address: this computer itself, no network

    @property
    def has_answers(self) -> bool:
        """True when the hop answered at least once."""
        if self.answered is not None:
            return self.answered and bool(self.idle_rtt_ms or self.loaded_rtt_ms)
        return bool(self.idle_rtt_ms or self.loaded_rtt_ms)

    def facts(self) -> HopFacts:
        """This hop as the path classifier's input."""
        return HopFacts(
            hop=self.hop,
            org=self.org,
            answered=self.answered if self.answered is not None else self.has_answers,
            home_address=self.private,
            is_destination=self.is_destination,
            segment=self.segment,
            org_kind=self.kind,
        )


@dataclass(slots=True)
class TtfbSample:
    """Time to first byte of one request and the TCP connect RTT (None if reused)."""

    ttfb_ms: float
    connect_rtt_ms: float | None = None


@dataclass(frozen=True, slots=True)
class FlowSample:
    """One recent video fetch's own TCP signals (model.FlowSignals), as attribution reads
    them: None where not measured."""

    rcv_rtt_ms: float | None  # receiver RTT estimate at the end of the body
    low_ms: float | None = None  # the lowest RTT this fetch showed (min_rtt, receiver RTTs)
    floor_ms: float | None = None  # the lowest RTT to the same host in this open's fetches
    rttvar_ms: float | None = None
    ooo_packets: int | None = None  # out-of-order packets during the body (a hole: a loss)
    retransmits: int | None = None  # our own retransmissions
    pause_share: float | None = None  # share of the body spent in pauses (>= 50 ms waits)
    wait_share: float | None = None  # share of the body spent waiting for data at all
    throughput_bps: float | None = None
    transfer_ms: float | None = None
    ttfb_ms: float | None = None  # the wait for the body's first byte


@dataclass(slots=True)
class FetchEvidence:
    """What the gateway's fetches say."""

    ttfb: list[TtfbSample] = field(default_factory=list)
    throughput_bps: list[float] = field(default_factory=list)
    # what playback needs: the playing rendition's bitrate x the playback rate
    needed_bitrate_bps: float | None = None
    server_org: str | None = None
    server_host: str | None = None
    # the recent video fetches' own TCP signals (empty where the OS gives none)
    flow: list[FlowSample] = field(default_factory=list)


@dataclass(slots=True)
class DeviceEvidence:
    """What this computer says."""

    frames_dropped_healthy: int = 0  # dropped/late pictures while the buffer was healthy
    frames_displayed: int = 0
    process_cpu_pct: float | None = None  # psutil style: 100 = one core
    system_cpu_pct: float | None = None  # 0..100 of the whole machine
    cpu_count: int = 1
    # this computer's other traffic over the seconds before the stall (None: not measured,
    # e.g. libVLC fetched the video itself, so the player's own bytes are unknown)
    host_traffic: HostTraffic | None = None


@dataclass(slots=True)
class AttributionInput:
    """All the evidence about one stall (or the session so far)."""

    hops: list[HopEvidence] = field(default_factory=list)
    probe_status: ProbeStatus = ProbeStatus.NOT_RUN
    probe_reason: str = ""
    fetch: FetchEvidence = field(default_factory=FetchEvidence)
    device: DeviceEvidence = field(default_factory=DeviceEvidence)
    stalling: bool = True
    isp_org: str | None = None  # override (settings); else the first named ISP hop
    playback_rate: float = 1.0  # libVLC's rate when measured (2.0: twice normal speed)
    # The same queue inside the ISP (same org, same or a neighbouring hop) was already seen
    # while idle at an earlier stall of this open (verdict.crowding_persisted compares the
    # verdicts' onset facts; no stored history is consulted). Nothing in the per-stall
    # evidence shows persistence, so the caller must say so; the default is the cautious
    # side: without it the notice never says "The {ISP} network is crowded" (thresholds:
    # ISP crowded bar).
    crowding_persisted: bool = False


def classify_path(
    hops: Sequence[HopEvidence], isp_org: str | None = None, server_org: str | None = None
) -> tuple[list[Segment], str | None]:
    """Segment of every hop (an explicit ``hop.segment`` wins) and the ISP's org name.

    The rules are :func:`player.core.path_segments.classify_segments`'s; evidence carries
    no addresses, so the home network is the first hop when it is private or "home".
    """
    result = classify_segments([h.facts() for h in hops], server_org=server_org, isp_org=isp_org)
    return result.segments, result.isp_org


def hop_evidence_from(
    hops: Sequence[Hop], samples: Iterable[ProbeSample], destination: str | None = None
) -> list[HopEvidence]:
    """Build :class:`HopEvidence` from the shared model types (no IPs leave this function).

    The hops' segments are the path discovery's (the same classifier, with the addresses
    and the default gateway it knew): they are kept as they are, ``unknown`` included.
    """
    idle: dict[int, list[float]] = {}
    loaded: dict[int, list[float]] = {}
    lost: dict[tuple[int, bool], int] = {}
    for s in samples:
        if s.rtt_ms is None:
            lost[(s.hop, s.loaded)] = lost.get((s.hop, s.loaded), 0) + 1
            continue
        (loaded if s.loaded else idle).setdefault(s.hop, []).append(s.rtt_ms)
    return [
        HopEvidence(
            hop=h.hop,
            org=h.org,
            segment=h.segment,
            private=is_home_address(h.address),
            idle_rtt_ms=idle.get(h.hop, []),
            loaded_rtt_ms=loaded.get(h.hop, []),
            idle_lost=lost.get((h.hop, False), 0),
            loaded_lost=lost.get((h.hop, True), 0),
            answered=h.address is not None,
            is_destination=destination is not None and h.address == destination,
            loopback=is_loopback_host(h.address),
        )
        for h in sorted(hops, key=lambda x: x.hop)
    ]
