"""Raw evidence -> :class:`Findings`: everything the rule table looks at (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from player.core import thresholds as T
from player.core.attribution.flow import FlowFindings, flow_findings
from player.core.attribution.hop_stats import (
    HopStats,
    Onset,
    dominant_onset,
    find_onset,
    hop_stats,
    spread_path,
)
from player.core.attribution.inputs import AttributionInput, ProbeStatus, classify_path
from player.core.host_traffic import HostLoad, HostTraffic
from player.core.model import OnsetFacts, Segment
from player.core.path_segments import is_loopback_host
from player.core.stats import median
from player.core.wording import is_address_literal


@dataclass(frozen=True, slots=True)
class Findings:
    """Everything the rule table looks at."""

    stalling: bool
    probe_status: ProbeStatus
    probe_reason: str
    hops: tuple[HopStats, ...]
    isp_org: str | None
    hop_evidence: bool  # probes ran and >= 1 hop has enough samples to judge
    onset: Onset | None  # the decisive (earliest) onset
    loaded_onset: Onset | None
    crowded_onset: Onset | None
    isolated: tuple[int, ...]  # positions of inflation not carried forward
    ttfb_ms: float | None
    ttfb_rtt_ms: float | None
    ttfb_excess_ms: float | None  # unexplained by RTT and path queues
    n_ttfb: int
    server_slow: bool
    server_margin: float
    throughput_bps: float | None
    needed_bps: float | None
    n_throughput: int
    device_drops: bool
    cpu_saturated: bool
    frames_dropped: int
    frames_displayed: int
    system_cpu_pct: float | None  # 0..100 of the whole machine
    player_cpu_pct: float | None  # the player's share of the whole machine, 0..100
    server_name: str | None
    playback_rate: float = 1.0
    # the video comes from this computer itself (a loopback server or path): no network
    # lies between, so hop delays name no network segment
    local_path: bool = False
    crowding_persisted: bool = False  # AttributionInput.crowding_persisted
    host: HostTraffic | None = None  # this computer's other traffic (DeviceEvidence)
    flow: FlowFindings = FlowFindings()  # the video flow's own TCP signals (attribution.flow)

    @property
    def host_busy(self) -> bool:
        """This computer received much besides the video before the stall."""
        return self.host is not None and self.host.load is HostLoad.BUSY

    @property
    def host_quiet(self) -> bool:
        """This computer received little besides the video before the stall."""
        return self.host is not None and self.host.load is HostLoad.QUIET

    @property
    def isp_deep(self) -> bool:
        """The onset is inside the ISP past its access link: the last flat answering hop
        before it is itself an ISP hop (so the link from home to the ISP is not the queue)."""
        o = self.onset
        if o is None or o.segment is not Segment.ISP or o.prev_pos is None:
            return False
        return self.hops[o.prev_pos].segment is Segment.ISP

    @property
    def isp_unplaced(self) -> bool:
        """The onset is in the ISP, not shown past its access link, and an ISP hop that
        could not be judged (silent, too few answers) lies between the last flat hop and it:
        the queue may be on the access link or on a link inside the ISP behind that hop."""
        o = self.onset
        if o is None or o.segment is not Segment.ISP or self.isp_deep:
            return False
        start = o.prev_pos + 1 if o.prev_pos is not None else 0
        return any(self.hops[k].segment is Segment.ISP for k in range(start, o.pos))

    @property
    def isp_access(self) -> bool:
        """The onset is on the ISP's access link: its first ISP hop, with nothing but flat
        answering hops (or none) before it, none of the ISP's unjudged."""
        return self.onset_segment is Segment.ISP and not self.isp_deep and not self.isp_unplaced

    def onset_facts(self) -> OnsetFacts | None:
        """The onset as facts for the verdict (what a later stall compares), None without."""
        o = self.onset
        if o is None:
            return None
        here = self.hops[o.pos]
        org = here.org or (self.isp_org if here.segment is Segment.ISP else None)
        return OnsetFacts(o.segment, o.kind, here.mode, here.hop, org, self.isp_deep)

    @property
    def isp_crowded_shown(self) -> bool:
        """Everything the "crowded" sentence needs except its confidence bar: a queue inside
        the ISP past its access link, seen while idle, persisting across stalls."""
        o = self.onset
        return (
            self.isp_deep
            and o is not None
            and o.kind == "crowded"
            and self.hops[o.pos].mode == "idle"
            and self.crowding_persisted
            # gaps between our video's downloads are not idle while this computer
            # downloads something else: the queue may be its own
            and not self.host_busy
        )

    @property
    def fast(self) -> bool:
        """Playing faster than normal speed (beyond RATE_NORMAL_TOLERANCE)."""
        return self.playback_rate > 1.0 + T.RATE_NORMAL_TOLERANCE

    @property
    def normal_shortfall(self) -> bool | None:
        """Throughput below the video's bitrate at normal speed (None: not measured)."""
        if self.throughput_bps is None or self.needed_bps is None:
            return None
        return self.throughput_bps < self.needed_bps / max(self.playback_rate, 1e-9)

    @property
    def speed_limited(self) -> bool:
        """A stall while playing fast that the network cannot be blamed for: it was not
        shown to fall short of even the normal-speed bitrate."""
        return self.stalling and self.fast and self.normal_shortfall is not True

    @property
    def onset_segment(self) -> Segment | None:
        return self.onset.segment if self.onset else None

    @property
    def onset_kind(self) -> str | None:
        return self.onset.kind if self.onset else None

    @property
    def shortfall(self) -> bool | None:
        """Throughput below the needed bitrate (None: not measured)."""
        if self.throughput_bps is None or self.needed_bps is None:
            return None
        return self.throughput_bps < self.needed_bps

    @property
    def flat_route(self) -> bool:
        """Probes ran, hops answered and none inflated, not even alone (not on loopback)."""
        return (
            self.hop_evidence and self.onset is None and not self.isolated and not self.local_path
        )

    @property
    def server_sends_slowly(self) -> bool:
        """The flow shows a server that sends slowly into an empty network: below need, no
        loss, its RTT at the floor; or, with the route's probes flat, pausing between bursts
        (an RTT taken across pauses shows no queue). Never on loopback (server_local), nor
        with the processor saturated (the player itself may have read the data late)."""
        fl = self.flow
        if self.local_path or self.onset is not None or self.shortfall is not True:
            return False
        if self.cpu_saturated:
            return False
        return fl.sends_slowly or (fl.sends_in_bursts and self.flat_route)

    @property
    def network_cause(self) -> bool:
        return self.onset is not None or self.server_slow


@dataclass(frozen=True, slots=True)
class _ServerEvidence:
    ttfb_ms: float | None = None
    rtt_ms: float | None = None
    excess_ms: float | None = None
    n: int = 0
    slow: bool = False
    margin: float = 0.0


def _server_evidence(inp: AttributionInput, stats: Sequence[HopStats]) -> _ServerEvidence:
    samples = [s for s in inp.fetch.ttfb if s.ttfb_ms is not None and s.ttfb_ms >= 0]
    if not samples:
        return _ServerEvidence()
    answering = [s for s in stats if s.answered and (s.idle_p50 or s.floor_ms) is not None]
    if answering:  # idle median, or the floor when every sample was taken under load
        last = answering[-1]
        path_rtt = last.idle_p50 if last.idle_p50 is not None else last.floor_ms
    else:
        path_rtt = None
    known = [s.connect_rtt_ms for s in samples if s.connect_rtt_ms is not None]
    rtt_known = bool(known) or path_rtt is not None
    rtts = [
        s.connect_rtt_ms if s.connect_rtt_ms is not None else (path_rtt or 0.0) for s in samples
    ]
    ttfb = median(s.ttfb_ms for s in samples)
    rtt = median(rtts)
    assert ttfb is not None and rtt is not None
    queue = max([max(s.delta_ms or 0.0, s.excess_ms or 0.0) for s in stats if s.answered] or [0.0])
    unexplained = median(s.ttfb_ms - r for s, r in zip(samples, rtts, strict=True))
    assert unexplained is not None
    excess = unexplained - queue
    threshold = max(T.SERVER_TTFB_EXCESS_MS, T.SERVER_TTFB_RTT_FACTOR * rtt)
    if not rtt_known:  # nothing tells how far the server is: demand much more
        threshold = max(threshold, T.SERVER_TTFB_NO_RTT_MS)
    return _ServerEvidence(
        ttfb_ms=ttfb,
        rtt_ms=rtt if rtt_known else None,
        excess_ms=excess,
        n=len(samples),
        slow=ttfb >= T.SERVER_TTFB_MIN_MS and excess >= threshold,
        margin=excess / threshold if threshold > 0 else 0.0,
    )


def _host_name(host: str | None) -> str | None:
    """A host name for display; an address literal is not a name (None)."""
    if not host:
        return None
    return None if is_address_literal(host) else host


def _onset(stats: Sequence[HopStats], kind: str) -> tuple[Onset | None, list[int]]:
    """The first carried rise of ``kind``, moved to a dominant later one (hop_stats)."""
    onset, isolated = find_onset(stats, kind)
    onset, replaced = dominant_onset(stats, onset, kind)
    return onset, isolated + replaced


def analyse(inp: AttributionInput) -> Findings:
    """Reduce raw evidence to :class:`Findings` (pure)."""
    hops = sorted(inp.hops, key=lambda h: h.hop)
    segments, isp_org = classify_path(hops, inp.isp_org, inp.fetch.server_org)
    probes_ran = inp.probe_status is ProbeStatus.OK
    stats = (
        tuple(hop_stats(h, s) for h, s in zip(hops, segments, strict=True)) if probes_ran else ()
    )
    judgeable = any(s.delta_ms is not None or s.excess_ms is not None for s in stats)
    local = _local_path(inp)
    locate = judgeable and not local  # on loopback a delay is this computer's, not a queue

    flow = flow_findings(inp.fetch)
    loaded, iso_l = _onset(stats, "loaded") if locate else (None, [])
    crowded, iso_c = _onset(stats, "crowded") if locate else (None, [])
    onset = None
    for cand in (crowded, loaded):  # earliest wins; at a tie "crowded" (external) wins
        if cand is not None and (onset is None or cand.pos < onset.pos):
            onset = cand
    isolated = tuple(sorted(set(iso_l) | set(iso_c)))
    if onset is None and probes_ran and not local:
        # nothing found against idle RTTs (too few idle samples, or a standing queue that
        # the idle samples share): fall back to the spread of the loaded RTTs
        spread = spread_path(hops, segments)
        s_onset, s_iso = _onset(spread, "loaded")
        if s_onset is not None:  # else the idle-based findings stand (flat / too few)
            stats, loaded, onset, isolated = spread, s_onset, s_onset, tuple(s_iso)
            judgeable = True
    if onset is not None:
        isolated = tuple(i for i in isolated if i < onset.pos or i > onset.pos)

    server = _server_evidence(inp, stats)

    thr = [b for b in inp.fetch.throughput_bps if b is not None and b > 0 and math.isfinite(b)]
    dev = inp.device
    drop_floor = max(T.DEVICE_MIN_DROPPED, T.DEVICE_DROP_FRACTION * max(0, dev.frames_displayed))
    player_cpu = (
        dev.process_cpu_pct / max(1, dev.cpu_count) if dev.process_cpu_pct is not None else None
    )
    saturated = any(
        pct is not None and pct >= T.CPU_SATURATED_PCT for pct in (dev.system_cpu_pct, player_cpu)
    )
    return Findings(
        stalling=inp.stalling,
        probe_status=inp.probe_status,
        probe_reason=inp.probe_reason,
        hops=stats,
        isp_org=isp_org,
        hop_evidence=probes_ran and judgeable,
        onset=onset,
        loaded_onset=loaded,
        crowded_onset=crowded,
        isolated=isolated,
        ttfb_ms=server.ttfb_ms,
        ttfb_rtt_ms=server.rtt_ms,
        ttfb_excess_ms=server.excess_ms,
        n_ttfb=server.n,
        server_slow=server.slow,
        server_margin=server.margin,
        throughput_bps=median(thr),
        needed_bps=inp.fetch.needed_bitrate_bps,
        n_throughput=len(thr),
        device_drops=dev.frames_dropped_healthy >= drop_floor,
        cpu_saturated=saturated,
        frames_dropped=dev.frames_dropped_healthy,
        frames_displayed=dev.frames_displayed,
        system_cpu_pct=dev.system_cpu_pct,
        player_cpu_pct=player_cpu,
        server_name=inp.fetch.server_org or _host_name(inp.fetch.server_host),
        playback_rate=inp.playback_rate,
        local_path=local,
        crowding_persisted=inp.crowding_persisted,
        host=dev.host_traffic,
        flow=flow,
    )


def _local_path(inp: AttributionInput) -> bool:
    """The video comes from this computer: a loopback media host, or every answering hop
    is a loopback address (the demo's path)."""
    if is_loopback_host(inp.fetch.server_host):
        return True
    answering = [h for h in inp.hops if h.has_answers or h.answered]
    return bool(answering) and all(h.loopback for h in answering)
