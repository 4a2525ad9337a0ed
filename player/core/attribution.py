"""Evidence -> Verdict: which network segment a stall is to blame on.

Pure and table-driven. :func:`analyse` turns raw evidence into
:class:`Findings` (per-hop statistics, the onset of RTT inflation along the
path, slow first byte, device trouble); :data:`RULES` is an explicit list of
rows ``condition -> segment, base confidence, message key``; :func:`attribute`
evaluates every row, resolves conflicts, scales the confidence by sample counts
and margins, and writes the evidence lines.

How the path is read (DESIGN.md, "Segments and verdicts")
---------------------------------------------------------
A queue on the link hop k-1 -> hop k delays the replies of hop k and of every
hop after it, so the *first* hop whose RTT is inflated names the link, and the
hop's segment names the verdict. Two kinds of inflation are looked for:

* **Under load (self-induced, "too slow")**: the low quartile of the RTTs
  measured while our download runs, over the idle median, by more than
  ``max(INFLATION_ABS_MS, INFLATION_REL x idle median, INFLATION_JITTER_K x idle
  jitter)``. The relative and jitter terms scale with the hop's own baseline,
  so a BBR sender's +15-30 ms over a 1 ms home hop counts while a far hop's
  natural wobble does not; a loss-based sender's hundreds of ms count anywhere.
  The low quartile (not the mean) ignores a router's occasional slow reply.
* **While idle (external, "crowded")**: someone else's traffic keeps a queue on
  the link even when we are not downloading. Idle samples are taken in the gaps
  between our downloads, so our own flow is not in them. A hop is judged
  already inflated while idle when its idle *median* sits far above its *floor*
  (the lowest RTT ever seen at that hop: idle, loaded, or a baseline measured
  before playback / in an earlier session): ``median - floor >=
  max(CROWD_ABS_MS, CROWD_REL x floor)``. The floor is propagation plus an
  empty queue; a crowded link's queue comes and goes, so its median rides well
  above the floor while a quiet link's median hugs it. A queue that never
  drains is invisible this way unless a pre-playback baseline is supplied.

An onset is accepted only if the rise is *carried forward*: most later
answering hops must show at least ``CARRY_FRACTION`` of it. A hop that is
inflated while later hops are not is a router answering slowly from its
control plane, not a queue; it is reported and lowers confidence. If the hops
between the last flat hop and the onset span two segments (e.g. the home
router did not answer), the queue cannot be placed and the verdict is unknown.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from player.core import thresholds as T
from player.core.model import Evidence, Hop, ProbeSample, Segment, Stall, Verdict
from player.core.wording import is_address_literal, notice_text

log = logging.getLogger(__name__)

HOME_ORG = "home"  # model.Hop.org value for the LAN


# =========================================================================== inputs


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
    private: bool = False  # RFC 1918 / link-local / ULA address
    idle_rtt_ms: list[float] = field(default_factory=list)
    loaded_rtt_ms: list[float] = field(default_factory=list)
    answered: bool | None = None  # None: derived from the samples
    baseline_rtt_ms: float | None = None  # lowest RTT from before playback / history
    is_destination: bool = False  # the media server itself

    @property
    def has_answers(self) -> bool:
        """True when the hop answered at least once."""
        if self.answered is not None:
            return self.answered and bool(self.idle_rtt_ms or self.loaded_rtt_ms)
        return bool(self.idle_rtt_ms or self.loaded_rtt_ms)


@dataclass(slots=True)
class TtfbSample:
    """Time to first byte of one request and the TCP connect RTT (None if reused)."""

    ttfb_ms: float
    connect_rtt_ms: float | None = None


@dataclass(slots=True)
class FetchEvidence:
    """What the gateway's fetches say."""

    ttfb: list[TtfbSample] = field(default_factory=list)
    throughput_bps: list[float] = field(default_factory=list)
    needed_bitrate_bps: float | None = None  # bitrate of the rendition being played
    server_org: str | None = None
    server_host: str | None = None


@dataclass(slots=True)
class DeviceEvidence:
    """What this computer says."""

    frames_dropped_healthy: int = 0  # dropped/late pictures while the buffer was healthy
    frames_displayed: int = 0
    process_cpu_pct: float | None = None  # psutil style: 100 = one core
    system_cpu_pct: float | None = None  # 0..100 of the whole machine
    cpu_count: int = 1


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


# =========================================================================== helpers


def _percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in 0..1 (values need not be sorted)."""
    xs = sorted(values)
    if not xs:
        raise ValueError("no values")
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _robust_sigma(values: Sequence[float]) -> float:
    """Median absolute deviation scaled to a normal sigma."""
    if len(values) < 2:
        return 0.0
    med = statistics.median(values)
    return 1.4826 * statistics.median(abs(v - med) for v in values)


def fmt_ms(value: float) -> str:
    """'310 ms', '1 ms', '0.4 ms'."""
    if abs(value) >= 10 or float(value).is_integer():
        return f"{value:.0f} ms"
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text} ms"


def fmt_mbps(bps: float) -> str:
    """'0.6 Mbit/s', '2.5 Mbit/s', '12 Mbit/s'."""
    mbps = bps / 1e6
    if mbps >= 10:
        return f"{mbps:.0f} Mbit/s"
    if mbps >= 0.1:
        return f"{mbps:.1f} Mbit/s"
    return f"{bps / 1e3:.0f} kbit/s"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st."""
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _is_home_org(org: str | None) -> bool:
    return org is not None and org.strip().lower() == HOME_ORG


def is_private_address(address: str | None) -> bool:
    """RFC 1918, link-local, ULA, loopback and CGNAT shared space."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_private or ip.is_link_local or ip.is_loopback


# =========================================================================== path classification


def classify_path(
    hops: Sequence[HopEvidence], isp_org: str | None = None, server_org: str | None = None
) -> tuple[list[Segment], str | None]:
    """Segment of every hop (explicit ``hop.segment`` wins) and the ISP's org name.

    * Hop 1 is the default gateway: home network. Private hops (or hops whose
      org is "home") right after it are home too.
    * The first hop past home is the ISP's access router whatever its name; the
      ISP's org is ``isp_org`` or the first named hop past home.
    * Unnamed hops between home and the last hop of the ISP's org are the ISP's.
    * The first named hop whose org differs from the ISP's is the interconnect
      side; hops after it are interconnect (transit) until the server's org.
    * Hops of the server's org after the boundary, and the destination, are the
      server's. Unnamed hops that cannot be placed are ``unknown``.
    """
    n = len(hops)
    segs: list[Segment | None] = [None] * n
    i = 0
    # home run
    while i < n:
        h = hops[i]
        if h.hop == 1 or (
            i > 0
            and segs[i - 1] is Segment.HOME_NETWORK
            and (_is_home_org(h.org) or (h.private and h.org is None))
        ):
            segs[i] = Segment.HOME_NETWORK
            i += 1
            continue
        break
    first_outside = i
    if isp_org is None:
        for h in hops[first_outside:]:
            if h.org and not _is_home_org(h.org):
                isp_org = h.org
                break
    last_isp = -1
    for j in range(first_outside, n):
        if isp_org is not None and hops[j].org == isp_org:
            last_isp = j
    boundary: int | None = None
    for j in range(first_outside, n):
        org = hops[j].org
        if org and not _is_home_org(org) and org != isp_org:
            boundary = j
            break
    for j in range(first_outside, n):
        h = hops[j]
        if j == first_outside and (boundary is None or j < boundary):
            segs[j] = Segment.ISP
        elif boundary is None or j < boundary:
            if h.org == isp_org and isp_org is not None:
                segs[j] = Segment.ISP
            elif j < last_isp:
                segs[j] = Segment.ISP  # unnamed, sandwiched inside the ISP
            else:
                segs[j] = Segment.UNKNOWN
        elif j == boundary:
            segs[j] = Segment.INTERCONNECT
        elif server_org is not None and h.org == server_org:
            segs[j] = Segment.SERVER
        elif h.org is None and j > 0 and segs[j - 1] is Segment.SERVER:
            segs[j] = Segment.SERVER
        else:
            segs[j] = Segment.INTERCONNECT
        if h.is_destination:
            segs[j] = Segment.SERVER
    out = [h.segment if h.segment is not None else s for h, s in zip(hops, segs, strict=True)]
    return [s if s is not None else Segment.UNKNOWN for s in out], isp_org


def hop_evidence_from(
    hops: Sequence[Hop], samples: Iterable[ProbeSample], destination: str | None = None
) -> list[HopEvidence]:
    """Build :class:`HopEvidence` from the shared model types (no IPs leave this function)."""
    idle: dict[int, list[float]] = {}
    loaded: dict[int, list[float]] = {}
    for s in samples:
        if s.rtt_ms is None:
            continue
        (loaded if s.loaded else idle).setdefault(s.hop, []).append(s.rtt_ms)
    out = []
    for h in sorted(hops, key=lambda x: x.hop):
        out.append(
            HopEvidence(
                hop=h.hop,
                org=h.org,
                segment=None if h.segment is Segment.UNKNOWN else h.segment,
                private=is_private_address(h.address),
                idle_rtt_ms=idle.get(h.hop, []),
                loaded_rtt_ms=loaded.get(h.hop, []),
                answered=h.address is not None,
                is_destination=destination is not None and h.address == destination,
            )
        )
    return out


# =========================================================================== analysis


@dataclass(frozen=True, slots=True)
class HopStats:
    """Per-hop statistics used by the rules."""

    hop: int
    label: str  # "2nd hop (Verizon)": never an address
    org: str | None
    segment: Segment
    answered: bool
    n_idle: int
    n_loaded: int
    floor_ms: float | None = None
    idle_p50: float | None = None
    idle_lo: float | None = None  # 10th percentile
    idle_hi: float | None = None  # 90th percentile
    loaded_p25: float | None = None
    loaded_p50: float | None = None
    delta_ms: float | None = None  # loaded_p25 - idle_p50 (None: too few samples)
    threshold_ms: float | None = None
    excess_ms: float | None = None  # idle_p50 - floor (None: too few idle samples)
    crowd_threshold_ms: float | None = None
    loaded_p10: float | None = None
    loaded_p90: float | None = None
    # "idle": delta_ms compares loaded with idle RTTs; "spread": no idle reference, delta_ms
    # is the spread of the loaded RTTs (see spread_stats)
    mode: str = "idle"

    @property
    def inflated(self) -> bool:
        return self.delta_ms is not None and self.delta_ms >= (self.threshold_ms or 0.0)

    @property
    def crowded(self) -> bool:
        return self.excess_ms is not None and self.excess_ms >= (self.crowd_threshold_ms or 0.0)


def _label(h: HopEvidence, segment: Segment) -> str:
    base = f"{ordinal(h.hop)} hop"
    if segment is Segment.HOME_NETWORK or _is_home_org(h.org):
        return f"{base} (home router)" if h.hop == 1 else f"{base} (home network)"
    if h.org:
        return f"{base} ({h.org})"
    return base


def hop_stats(h: HopEvidence, segment: Segment) -> HopStats:
    """Statistics and inflation thresholds of one hop."""
    idle = [x for x in h.idle_rtt_ms if x is not None and math.isfinite(x) and x >= 0]
    loaded = [x for x in h.loaded_rtt_ms if x is not None and math.isfinite(x) and x >= 0]
    if not h.has_answers:  # marked silent: stray samples are not trusted
        idle, loaded = [], []
    answered = bool(idle or loaded)
    kw: dict = {}
    if answered:
        everything = idle + loaded + ([h.baseline_rtt_ms] if h.baseline_rtt_ms is not None else [])
        kw["floor_ms"] = min(everything)
    if idle:
        kw["idle_p50"] = statistics.median(idle)
        kw["idle_lo"] = _percentile(idle, 0.1)
        kw["idle_hi"] = _percentile(idle, 0.9)
    if loaded:
        kw["loaded_p25"] = _percentile(loaded, T.LOADED_QUANTILE)
        kw["loaded_p50"] = statistics.median(loaded)
    if len(idle) >= T.MIN_IDLE_SAMPLES and len(loaded) >= T.MIN_LOADED_SAMPLES:
        base = kw["idle_p50"]
        kw["delta_ms"] = kw["loaded_p25"] - base
        kw["threshold_ms"] = max(
            T.INFLATION_ABS_MS,
            T.INFLATION_REL * base,
            T.INFLATION_JITTER_K * _robust_sigma(idle),
        )
    if len(idle) >= T.MIN_IDLE_SAMPLES_CROWD:
        floor = kw["floor_ms"]
        kw["excess_ms"] = kw["idle_p50"] - floor
        kw["crowd_threshold_ms"] = max(T.CROWD_ABS_MS, T.CROWD_REL * floor)
    return HopStats(
        hop=h.hop,
        label=_label(h, segment),
        org=None if _is_home_org(h.org) else h.org,
        segment=segment,
        answered=answered,
        n_idle=len(idle),
        n_loaded=len(loaded),
        **kw,
    )


def spread_stats(h: HopEvidence, segment: Segment, ref_floor_ms: float) -> HopStats:
    """Statistics of one hop judged by the *spread* of its loaded RTTs (fallback).

    When our download never pauses (the buffer cannot fill: exactly when a link is too
    slow or crowded), there are no idle samples to compare with. A queue still shows:
    its occupancy swings with the senders' windows, so every hop behind it sees RTTs
    that vary by tens to hundreds of ms, while propagation adds none. ``delta_ms`` is
    the loaded p90 - p10 and the threshold is ``max(SPREAD_ABS_MS, INFLATION_REL x
    ref_floor_ms, INFLATION_JITTER_K x idle jitter)``; ``ref_floor_ms`` is the floor of the
    previous answering hop (0 for the first: the client itself), i.e. the path before
    the link under test, so a standing queue on this very link does not raise its own
    threshold. A queue that never varies stays invisible (a baseline is needed).
    """
    base = hop_stats(h, segment)
    idle = [x for x in h.idle_rtt_ms if x is not None and math.isfinite(x) and x >= 0]
    loaded = [x for x in h.loaded_rtt_ms if x is not None and math.isfinite(x) and x >= 0]
    if not h.has_answers:
        idle, loaded = [], []
    kw: dict = {}
    if loaded:
        kw["loaded_p10"] = _percentile(loaded, 0.1)
        kw["loaded_p90"] = _percentile(loaded, 0.9)
    delta = threshold = None
    if len(loaded) >= T.MIN_SPREAD_SAMPLES:
        delta = kw["loaded_p90"] - kw["loaded_p10"]
        threshold = max(
            T.SPREAD_ABS_MS,
            T.INFLATION_REL * max(0.0, ref_floor_ms),
            T.INFLATION_JITTER_K * _robust_sigma(idle) if len(idle) >= T.MIN_IDLE_SAMPLES else 0.0,
        )
    return HopStats(
        hop=base.hop, label=base.label, org=base.org, segment=base.segment,
        answered=base.answered, n_idle=base.n_idle, n_loaded=base.n_loaded,
        floor_ms=base.floor_ms, idle_p50=base.idle_p50, idle_lo=base.idle_lo,
        idle_hi=base.idle_hi, loaded_p25=base.loaded_p25, loaded_p50=base.loaded_p50,
        delta_ms=delta, threshold_ms=threshold, mode="spread", **kw,
    )


def _spread_path(
    hops: Sequence[HopEvidence], segments: Sequence[Segment]
) -> tuple[HopStats, ...]:
    out = []
    ref = 0.0  # the client itself
    for h, seg in zip(hops, segments, strict=True):
        st = spread_stats(h, seg, ref)
        out.append(st)
        if st.floor_ms is not None:
            ref = st.floor_ms
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Onset:
    """Where RTT inflation begins along the path."""

    kind: str  # "loaded" (self-induced) | "crowded" (already there while idle)
    pos: int  # index into Findings.hops
    prev_pos: int | None  # index of the last flat answering hop before it
    value_ms: float  # delta (loaded) or excess (crowded) at the onset
    threshold_ms: float
    step_ms: float  # rise over the previous flat hop
    confirmed: int  # later answering hops carrying the rise
    contradicted: int  # later answering hops not carrying it
    segments: tuple[Segment, ...]  # segments of the hops the queue may sit before

    @property
    def margin(self) -> float:
        return self.value_ms / self.threshold_ms if self.threshold_ms > 0 else 1.0

    @property
    def gradual(self) -> bool:
        """The rise is spread over hops rather than a step at the onset."""
        return self.step_ms < self.threshold_ms

    @property
    def segment(self) -> Segment | None:
        """The one segment the queue is in, None when it cannot be placed."""
        return self.segments[0] if len(set(self.segments)) == 1 else None


def _metric(s: HopStats, kind: str) -> float | None:
    return s.delta_ms if kind == "loaded" else s.excess_ms


def _flagged(s: HopStats, kind: str) -> bool:
    return s.inflated if kind == "loaded" else s.crowded


def _threshold(s: HopStats, kind: str) -> float:
    value = s.threshold_ms if kind == "loaded" else s.crowd_threshold_ms
    return value or 0.0


def find_onset(stats: Sequence[HopStats], kind: str) -> tuple[Onset | None, list[int]]:
    """First carried-forward inflation of ``kind`` and the positions of isolated ones."""
    valid = [i for i, s in enumerate(stats) if _metric(s, kind) is not None]
    isolated: list[int] = []
    prev_flat: int | None = None
    for n, i in enumerate(valid):
        s = stats[i]
        value = _metric(s, kind)
        assert value is not None
        if not _flagged(s, kind):
            prev_flat = i
            continue
        later = valid[n + 1 :]
        carried = sum(
            1
            for j in later
            if (_metric(stats[j], kind) or 0.0) >= T.CARRY_FRACTION * value
            or _flagged(stats[j], kind)
        )
        not_carried = len(later) - carried
        next_carries = not later or (
            (_metric(stats[later[0]], kind) or 0.0) >= T.CARRY_FRACTION * value
            or _flagged(stats[later[0]], kind)
        )
        if later and (carried / len(later) < T.CARRY_MIN_FRACTION or not next_carries):
            # the very next answering hop must show a queue on this link; if it does
            # not, a later rise is a different (downstream) queue
            isolated.append(i)
            continue
        prev_value = _metric(stats[prev_flat], kind) if prev_flat is not None else 0.0
        step = value - max(0.0, prev_value or 0.0)
        start = prev_flat + 1 if prev_flat is not None else 0
        segments = tuple(stats[k].segment for k in range(start, i + 1))
        if prev_flat is None and stats[0].hop != 1:
            segments = (Segment.HOME_NETWORK, *segments)  # hop 1 missing from the list
        return (
            Onset(
                kind, i, prev_flat, value, _threshold(s, kind), step, carried, not_carried, segments
            ),
            isolated,
        )
    return None, isolated


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
    cpu_text: str
    server_name: str | None

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
    def network_cause(self) -> bool:
        return self.onset is not None or self.server_slow


def _server_evidence(
    inp: AttributionInput, stats: Sequence[HopStats]
) -> tuple[float | None, float | None, float | None, int, bool, float]:
    samples = [s for s in inp.fetch.ttfb if s.ttfb_ms is not None and s.ttfb_ms >= 0]
    if not samples:
        return None, None, None, 0, False, 0.0
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
    ttfb = statistics.median(s.ttfb_ms for s in samples)
    rtt = statistics.median(rtts)
    queue = max([max(s.delta_ms or 0.0, s.excess_ms or 0.0) for s in stats if s.answered] or [0.0])
    excess = statistics.median(s.ttfb_ms - r for s, r in zip(samples, rtts, strict=True)) - queue
    threshold = max(T.SERVER_TTFB_EXCESS_MS, T.SERVER_TTFB_RTT_FACTOR * rtt)
    if not rtt_known:  # nothing tells how far the server is: demand much more
        threshold = max(threshold, T.SERVER_TTFB_NO_RTT_MS)
    rtt_out = rtt if rtt_known else None
    slow = ttfb >= T.SERVER_TTFB_MIN_MS and excess >= threshold
    margin = excess / threshold if threshold > 0 else 0.0
    return ttfb, rtt_out, excess, len(samples), slow, margin


def analyse(inp: AttributionInput) -> Findings:
    """Reduce raw evidence to :class:`Findings` (pure)."""
    hops = sorted(inp.hops, key=lambda h: h.hop)
    segments, isp_org = classify_path(hops, inp.isp_org, inp.fetch.server_org)
    probes_ran = inp.probe_status is ProbeStatus.OK
    stats = (
        tuple(hop_stats(h, s) for h, s in zip(hops, segments, strict=True)) if probes_ran else ()
    )
    judgeable = any(s.delta_ms is not None or s.excess_ms is not None for s in stats)

    loaded, iso_l = find_onset(stats, "loaded") if judgeable else (None, [])
    crowded, iso_c = find_onset(stats, "crowded") if judgeable else (None, [])
    onset = None
    for cand in (crowded, loaded):  # earliest wins; at a tie "crowded" (external) wins
        if cand is not None and (onset is None or cand.pos < onset.pos):
            onset = cand
    isolated = tuple(sorted(set(iso_l) | set(iso_c)))
    if onset is None and probes_ran:
        # nothing found against idle RTTs (too few idle samples, or a standing queue that
        # the idle samples share): fall back to the spread of the loaded RTTs
        spread = _spread_path(hops, segments)
        s_onset, s_iso = find_onset(spread, "loaded")
        if s_onset is not None:  # else the idle-based findings stand (flat / too few)
            stats, loaded, onset, isolated = spread, s_onset, s_onset, tuple(s_iso)
            judgeable = True
    if onset is not None:
        isolated = tuple(i for i in isolated if i < onset.pos or i > onset.pos)

    ttfb, rtt, excess, n_ttfb, slow, server_margin = _server_evidence(inp, stats)

    thr = [b for b in inp.fetch.throughput_bps if b is not None and b > 0 and math.isfinite(b)]
    dev = inp.device
    drop_floor = max(T.DEVICE_MIN_DROPPED, T.DEVICE_DROP_FRACTION * max(0, dev.frames_displayed))
    device_drops = dev.frames_dropped_healthy >= drop_floor
    cpu_parts = []
    saturated = False
    if dev.system_cpu_pct is not None:
        cpu_parts.append(f"system CPU {dev.system_cpu_pct:.0f} %")
        saturated |= dev.system_cpu_pct >= T.CPU_SATURATED_PCT
    if dev.process_cpu_pct is not None:
        per_machine = dev.process_cpu_pct / max(1, dev.cpu_count)
        cpu_parts.append(f"player CPU {per_machine:.0f} % of the machine")
        saturated |= per_machine >= T.CPU_SATURATED_PCT
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
        ttfb_ms=ttfb,
        ttfb_rtt_ms=rtt,
        ttfb_excess_ms=excess,
        n_ttfb=n_ttfb,
        server_slow=slow,
        server_margin=server_margin,
        throughput_bps=statistics.median(thr) if thr else None,
        needed_bps=inp.fetch.needed_bitrate_bps,
        n_throughput=len(thr),
        device_drops=device_drops,
        cpu_saturated=saturated,
        frames_dropped=dev.frames_dropped_healthy,
        frames_displayed=dev.frames_displayed,
        cpu_text=", ".join(cpu_parts),
        server_name=inp.fetch.server_org or _host_name(inp.fetch.server_host),
    )


def _host_name(host: str | None) -> str | None:
    """A host name for display; an address literal is not a name (None)."""
    if not host:
        return None
    return None if is_address_literal(host) else host


# =========================================================================== the rule table


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table: when ``condition`` holds, blame ``segment``."""

    key: str  # also the wording template key
    segment: Segment
    base: float  # confidence before sample-count / margin scaling
    condition: Callable[[Findings], bool]
    doc: str


def _path(seg: Segment, kind: str) -> Callable[[Findings], bool]:
    def cond(f: Findings) -> bool:
        return f.stalling and f.onset_segment is seg and f.onset_kind == kind

    return cond


def _row(key: str, segment: Segment, condition: Callable[[Findings], bool], doc: str) -> Rule:
    """A table row whose base confidence lives in thresholds.RULE_BASE_CONFIDENCE."""
    return Rule(key, segment, T.RULE_BASE_CONFIDENCE[key], condition, doc)


def _device_ok(f: Findings) -> bool:
    # during a stall a located network cause is the better explanation of an empty
    # buffer; device trouble is then only mentioned in the evidence
    return not (f.stalling and f.network_cause)


RULES: tuple[Rule, ...] = (
    _row(
        "device_drops_cpu",
        Segment.DEVICE,
        lambda f: f.device_drops and f.cpu_saturated and _device_ok(f),
        "pictures dropped with a healthy buffer and the CPU saturated",
    ),
    _row(
        "device_drops",
        Segment.DEVICE,
        lambda f: f.device_drops and not f.cpu_saturated and _device_ok(f),
        "pictures dropped with a healthy buffer",
    ),
    _row(
        "home_crowded",
        Segment.HOME_NETWORK,
        _path(Segment.HOME_NETWORK, "crowded"),
        "first hop (home router) already inflated while idle",
    ),
    _row(
        "home_slow",
        Segment.HOME_NETWORK,
        _path(Segment.HOME_NETWORK, "loaded"),
        "first hop (home router) inflates under our load",
    ),
    _row(
        "isp_crowded",
        Segment.ISP,
        _path(Segment.ISP, "crowded"),
        "first inflated hop is the ISP's, inflated while idle",
    ),
    _row(
        "isp_slow",
        Segment.ISP,
        _path(Segment.ISP, "loaded"),
        "first inflated hop is the ISP's, inflated only under our load",
    ),
    _row(
        "interconnect_crowded",
        Segment.INTERCONNECT,
        _path(Segment.INTERCONNECT, "crowded"),
        "first inflated hop is past the ISP's border, inflated while idle",
    ),
    _row(
        "interconnect_slow",
        Segment.INTERCONNECT,
        _path(Segment.INTERCONNECT, "loaded"),
        "first inflated hop is past the ISP's border, inflated under our load",
    ),
    _row(
        "server_path",
        Segment.SERVER,
        lambda f: f.stalling and f.onset_segment is Segment.SERVER,
        "inflation confined to the server's own hops",
    ),
    _row(
        "server_ttfb",
        Segment.SERVER,
        lambda f: f.stalling and f.server_slow,
        "slow first byte, far above the connect RTT and any path queue",
    ),
    _row(
        "device_cpu",
        Segment.DEVICE,
        lambda f: f.stalling and f.cpu_saturated and not f.device_drops and not f.network_cause,
        "CPU saturated during the stall, no network cause found",
    ),
    # ---- fallbacks: only when no row above matched
    _row(
        "unknown_conflict",
        Segment.UNKNOWN,
        lambda f: False,
        "two segments explain the stall about equally well (chosen by conflict resolution)",
    ),
    _row(
        "unknown_ambiguous",
        Segment.UNKNOWN,
        lambda f: f.stalling and f.onset is not None and f.onset_segment is None,
        "inflation starts behind a silent hop that separates two segments",
    ),
    _row(
        "unknown_inconsistent",
        Segment.UNKNOWN,
        lambda f: f.stalling and f.onset is None and bool(f.isolated),
        "inflation at a hop that later hops do not show",
    ),
    _row(
        "unknown_no_probes",
        Segment.UNKNOWN,
        lambda f: f.stalling and not f.hop_evidence,
        "no hop evidence (probes not permitted, silent or not run)",
    ),
    _row(
        "unknown_flat",
        Segment.UNKNOWN,
        lambda f: f.stalling and f.hop_evidence and not f.network_cause,
        "hops answered but none inflated, first byte not slow",
    ),
    _row("none", Segment.NONE, lambda f: not f.stalling, "no stall: nothing to blame"),
)
RULES_BY_KEY = {r.key: r for r in RULES}
_NAMED = (Segment.DEVICE, Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT, Segment.SERVER)


# =========================================================================== confidence


def _sample_factor(n: int, full: int) -> float:
    return T.CONF_SAMPLE_FLOOR + (1 - T.CONF_SAMPLE_FLOOR) * min(1.0, n / full)


def _margin_factor(margin: float) -> float:
    # margin 1 (just over the threshold) -> CONF_MARGIN_FLOOR; >= CONF_FULL_MARGIN -> 1
    if margin <= 1:
        return T.CONF_MARGIN_FLOOR
    frac = min(1.0, (margin - 1) / (T.CONF_FULL_MARGIN - 1))
    return T.CONF_MARGIN_FLOOR + (1 - T.CONF_MARGIN_FLOOR) * frac


def _path_quality(f: Findings, onset: Onset) -> float:
    here = f.hops[onset.pos]
    prev = f.hops[onset.prev_pos] if onset.prev_pos is not None else None
    if here.mode == "spread":
        n = here.n_loaded if prev is None else min(here.n_loaded, prev.n_loaded)
    else:
        n = min(here.n_idle, here.n_loaded if onset.kind == "loaded" else here.n_idle)
        if prev is not None:
            n = min(n, prev.n_idle)
    q = _sample_factor(n, T.CONF_FULL_SAMPLES) * _margin_factor(onset.margin)
    if here.mode == "spread":
        q *= T.CONF_SPREAD_FACTOR  # no idle reference: crowded or too slow cannot be told
    later = onset.confirmed + onset.contradicted
    q *= onset.confirmed / later if later else T.CONF_UNCONFIRMED_FACTOR
    if onset.gradual:
        q *= T.CONF_GRADUAL_FACTOR
    if f.isolated:
        q *= T.CONF_ISOLATED_FACTOR
    if onset.kind == "loaded" and f.shortfall is False:
        q *= T.CONF_NO_SHORTFALL_FACTOR  # throughput was enough: why the stall?
    return q


def _quality(rule: Rule, f: Findings) -> float:
    if rule.segment in (Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT) or (
        rule.key == "server_path"
    ):
        assert f.onset is not None
        return _path_quality(f, f.onset)
    if rule.key == "server_ttfb":
        q = _sample_factor(f.n_ttfb, T.CONF_FULL_TTFB_SAMPLES) * _margin_factor(f.server_margin)
        if f.isolated:
            q *= T.CONF_ISOLATED_FACTOR
        return q
    if rule.key in ("device_drops", "device_drops_cpu"):
        floor = max(T.DEVICE_MIN_DROPPED, T.DEVICE_DROP_FRACTION * max(0, f.frames_displayed))
        return _margin_factor(f.frames_dropped / floor if floor else 1.0)
    return 1.0


def _cap(rule: Rule, f: Findings, conf: float) -> float:
    """Missing evidence never yields confidence >= 0.5."""
    if rule.segment is Segment.SERVER and not f.hop_evidence:
        conf = min(conf, T.MISSING_EVIDENCE_CAP)  # "flat RTTs" could not be checked
    if rule.segment is Segment.DEVICE and rule.key == "device_cpu":
        conf = min(conf, T.MISSING_EVIDENCE_CAP)
    return max(0.0, min(1.0, conf))


# =========================================================================== evidence lines


def _hop_lines(f: Findings) -> list[Evidence]:
    out: list[Evidence] = []
    o = f.onset
    if o is not None:
        here = f.hops[o.pos]
        prev = f.hops[o.prev_pos] if o.prev_pos is not None else None
        if here.mode == "spread":
            text = (
                f"RTT to {here.label} swung {fmt_ms(here.loaded_p10 or 0).removesuffix(' ms')}-"
                f"{fmt_ms(here.loaded_p90 or 0)} under load (a queue; no idle time to compare)"
            )
        elif o.kind == "loaded":
            text = (
                f"RTT to {here.label} rose {fmt_ms(here.idle_p50 or 0)} -> "
                f"{fmt_ms(here.loaded_p50 or 0)} under load"
            )
        else:
            text = (
                f"RTT to {here.label} already {fmt_ms(here.idle_p50 or 0)} while idle, over a "
                f"{fmt_ms(here.floor_ms or 0)} floor (ranging "
                f"{fmt_ms(here.idle_lo or 0).removesuffix(' ms')}-{fmt_ms(here.idle_hi or 0)})"
            )
        if prev is not None and prev.mode == "spread" and prev.loaded_p50 is not None:
            text += f"; {prev.label} steady at {fmt_ms(prev.loaded_p50)}"
        elif prev is not None and prev.idle_p50 is not None:
            text += f"; {prev.label} steady at {fmt_ms(prev.idle_p50)}"
        out.append(Evidence("hop_rtt", text, o.value_ms))
        later = o.confirmed + o.contradicted
        if later:
            out.append(
                Evidence(
                    "path",
                    f"{o.confirmed} of {later} later answering hops show the same rise",
                    float(o.confirmed),
                )
            )
        if o.segment is None:
            silent = ", ".join(
                f.hops[k].label
                for k in range((o.prev_pos or -1) + 1, o.pos)
                if not (f.hops[k].delta_ms is not None or f.hops[k].excess_ms is not None)
            )
            names = " or ".join(sorted({_segment_words(s) for s in o.segments}))
            out.append(
                Evidence(
                    "path",
                    f"the rise starts behind {silent or 'hops without enough answers'}: "
                    f"the queue may be in {names}",
                )
            )
    for pos in f.isolated:
        s = f.hops[pos]
        out.append(
            Evidence(
                "hop_rtt",
                f"RTT to {s.label} rose {fmt_ms(s.idle_p50 or 0)} -> {fmt_ms(s.loaded_p50 or 0)}"
                " but later hops did not: a router slow to answer, not a queue",
                s.delta_ms,
            )
        )
    return out


def _segment_words(seg: Segment) -> str:
    return {
        Segment.HOME_NETWORK: "your home network",
        Segment.ISP: "your provider's network",
        Segment.INTERCONNECT: "the link between networks",
        Segment.SERVER: "the server's network",
    }.get(seg, "an unidentified network")


def _other_lines(f: Findings) -> list[Evidence]:
    out: list[Evidence] = []
    if f.throughput_bps is not None:
        if f.needed_bps:
            text = f"throughput {fmt_mbps(f.throughput_bps)} vs {fmt_mbps(f.needed_bps)} needed"
        else:
            text = f"throughput {fmt_mbps(f.throughput_bps)}"
        out.append(Evidence("throughput", text, f.throughput_bps))
    if f.ttfb_ms is not None:
        rtt = f"connect RTT {fmt_ms(f.ttfb_rtt_ms)}" if f.ttfb_rtt_ms else "no RTT measured"
        out.append(
            Evidence("ttfb", f"time to first byte {fmt_ms(f.ttfb_ms)} with {rtt}", f.ttfb_ms)
        )
    if f.frames_dropped:
        out.append(
            Evidence(
                "frames",
                f"{f.frames_dropped} pictures dropped while the buffer was healthy",
                float(f.frames_dropped),
            )
        )
    if f.cpu_text:
        out.append(Evidence("cpu", f.cpu_text))
    if f.probe_status is not ProbeStatus.OK:
        what = {
            ProbeStatus.NOT_PERMITTED: "hop probes not permitted",
            ProbeStatus.SILENT: "no hop answered the probes",
            ProbeStatus.NOT_RUN: "hop probes did not run",
        }[f.probe_status]
        out.append(Evidence("probe", f"{what}: {f.probe_reason}" if f.probe_reason else what))
    elif f.probe_reason:  # probes ran, but by a fallback method: say which and why
        out.append(Evidence("probe", f"hop probes degraded: {f.probe_reason}"))
    if f.probe_status is not ProbeStatus.OK:
        pass
    elif not f.hop_evidence:
        out.append(Evidence("probe", "too few hop answers to judge RTT inflation"))
    elif f.onset is None and not f.isolated and f.stalling:
        out.append(Evidence("hop_rtt", "RTTs along the path stayed flat under load"))
    return out


def _order(lines: list[Evidence], first_kinds: Sequence[str]) -> list[Evidence]:
    rank = {k: i for i, k in enumerate(first_kinds)}
    return sorted(lines, key=lambda e: rank.get(e.kind, len(rank)))


_LEAD_KINDS = {
    Segment.HOME_NETWORK: ("hop_rtt", "path", "throughput"),
    Segment.ISP: ("hop_rtt", "path", "throughput"),
    Segment.INTERCONNECT: ("hop_rtt", "path", "throughput"),
    Segment.SERVER: ("ttfb", "hop_rtt", "path"),
    Segment.DEVICE: ("frames", "cpu"),
    Segment.UNKNOWN: ("hop_rtt", "probe", "path", "ttfb", "throughput"),
    Segment.NONE: (),
}


# =========================================================================== culprit & verdict


def _culprit(rule: Rule, f: Findings) -> str | None:
    seg = rule.segment
    if seg is Segment.HOME_NETWORK:
        return "your home network"
    if seg is Segment.DEVICE:
        return "this computer"
    if seg is Segment.ISP:
        return f.isp_org or "your internet provider"
    if seg is Segment.INTERCONNECT:
        assert f.onset is not None
        other = f.hops[f.onset.pos].org or f.server_name or "the video's network"
        return f"the link between {f.isp_org or 'your internet provider'} and {other}"
    if seg is Segment.SERVER:
        return f.server_name or "the video's server"
    return None


def _score(rule: Rule, f: Findings) -> float:
    return _cap(rule, f, rule.base * _quality(rule, f))


def attribute(inp: AttributionInput, *, adjusting: bool = True) -> Verdict:
    """Evaluate the rule table on ``inp`` and return the verdict with evidence lines.

    ``adjusting`` tells the wording whether the player is adapting its rendition
    (Auto) so that "Adjusting video ..." is only said when true.
    """
    f = analyse(inp)
    matches = [r for r in RULES if r.segment in _NAMED and r.condition(f)]
    scored = sorted(((_score(r, f), r) for r in matches), key=lambda x: -x[0])
    lines = _hop_lines(f) + _other_lines(f)
    extra: list[Evidence] = []

    if scored:
        conf, rule = scored[0]
        rivals = [(c, r) for c, r in scored[1:] if r.segment is not rule.segment]
        if rivals:
            rival_conf, rival = rivals[0]
            extra.append(
                Evidence(
                    "note",
                    f"conflicting evidence: also {rival.doc} ({_segment_words(rival.segment)})",
                )
            )
            if rival_conf >= conf - T.CONFLICT_TIE_MARGIN:
                rule = RULES_BY_KEY["unknown_conflict"]
                conf = 0.0
            else:
                conf *= T.CONFLICT_FACTOR
    else:
        rule = next((r for r in RULES if r.segment not in _NAMED and r.condition(f)), None)
        if rule is None:  # stalling, evidence present, nothing matched
            rule = RULES_BY_KEY["unknown_flat"]
        conf = _cap(rule, f, rule.base)

    lead = _LEAD_KINDS.get(rule.segment, ())
    evidence = (
        extra + _order(lines, lead)
        if rule.segment is Segment.UNKNOWN
        else (_order(lines, lead) + extra)
    )
    if rule.segment is Segment.NONE:
        evidence = [e for e in evidence if e.kind in ("frames", "cpu")]
    verdict = Verdict(
        segment=rule.segment,
        culprit=_culprit(rule, f),
        confidence=round(conf, 3),
        evidence=evidence,
        rule=rule.key,
    )
    verdict.message = notice_text(verdict, adjusting=adjusting)
    log.debug("verdict %s (%s) conf %.2f", rule.segment.value, rule.key, conf)
    return verdict


# =========================================================================== session level


def overall_verdict(
    stall_verdicts: Sequence[Verdict], weights: Sequence[float] | None = None
) -> Verdict:
    """The dominant cause across a session's stalls; ``none`` without stalls.

    Each verdict votes with ``weight x max(confidence, UNKNOWN_VOTE)`` for its
    (segment, culprit) (weights default to 1; use stall durations to let long
    stalls count more). The winner's confidence is its best instance's,
    scaled by its share of the votes, so a split session reads as less sure.
    """
    pairs = [
        (v, 1.0 if weights is None else max(0.0, float(w)))
        for v, w in zip(stall_verdicts, weights or [1.0] * len(stall_verdicts), strict=True)
        if v.segment is not Segment.NONE
    ]
    if not pairs:
        return Verdict(Segment.NONE, None, 1.0, "", [], rule="none")
    votes: dict[tuple[Segment, str | None], float] = {}
    best: dict[tuple[Segment, str | None], Verdict] = {}
    for v, w in pairs:
        key = (v.segment, v.culprit)
        votes[key] = votes.get(key, 0.0) + w * max(v.confidence, T.UNKNOWN_VOTE)
        if key not in best or v.confidence > best[key].confidence:
            best[key] = v
    total = sum(votes.values())
    key = max(votes, key=lambda k: (votes[k], k[0] is not Segment.UNKNOWN))
    top = best[key]
    share = votes[key] / total if total > 0 else 0.0
    count = sum(1 for v, _ in pairs if (v.segment, v.culprit) == key)
    evidence = list(top.evidence)
    if len(pairs) > 1:
        evidence.insert(
            0, Evidence("note", f"{count} of {len(pairs)} stalls point here", float(count))
        )
    verdict = Verdict(
        segment=top.segment,
        culprit=top.culprit,
        confidence=round(top.confidence * share, 3),
        evidence=evidence,
        rule=top.rule,
    )
    verdict.message = notice_text(verdict)
    return verdict


def overall_from_stalls(stalls: Sequence[Stall]) -> Verdict:
    """:func:`overall_verdict` over stalls that carry a verdict, weighted by duration."""
    with_verdict = [s for s in stalls if s.verdict is not None]
    return overall_verdict(
        [s.verdict for s in with_verdict],  # type: ignore[misc]
        [max(s.duration_s or 0.0, T.MIN_STALL_WEIGHT_S) for s in with_verdict],
    )
