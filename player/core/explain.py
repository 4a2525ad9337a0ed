"""The evidence behind a verdict as a person reads it: the model of the "Why?" window.

From the session's verdict, the path's hops, the fetch records and the device's numbers,
:func:`explain` builds the route as five parts (this computer, home network, provider,
between networks, server), each fine / suspect / not measured with the reason; the hop
table (names redacted: no address ever leaves this module); throughput against the
bitrate needed; the time to first byte; what was ruled out; the confidence in words.
Pure: plain data in, plain data out. The sentences are :mod:`player.core.wording.explain`'s.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from player.core import thresholds as T
from player.core.attribution import DeviceEvidence, FetchEvidence
from player.core.crowded_bar import apply_crowded_bar
from player.core.evidence import (
    MEDIA_KINDS,
    RECENT_FETCHES,
    last_rendition_bitrate,
    recent_throughput,
)
from player.core.fetch_log import Fetches
from player.core.model import Fetch, Hop, Segment, Verdict
from player.core.path_segments import HOME_ORG
from player.core.stats import harmonic_mean, median
from player.core.units import NO_VALUE
from player.core.wording import evidence as evidence_words
from player.core.wording import explain as say
from player.core.wording import flow as flow_words
from player.core.wording.notices import (
    evidence_summary,
    is_address_literal,
    is_soft,
    notice_text,
    scrub_addresses,
)

PARTS = (Segment.DEVICE, Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT, Segment.SERVER)
ROUTE_PARTS = (Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT)
# the order of Verizon's letter: Wi-Fi and home network, this computer, ISP, interconnect, server
RULED_OUT_ORDER = (Segment.HOME_NETWORK, Segment.DEVICE, Segment.ISP, Segment.INTERCONNECT, Segment.SERVER)
# An address written into a reverse-DNS name: pool-198-51-100-7.example.net, 10_0_0_1.lan.
_EMBEDDED_V4 = re.compile(r"(?<![0-9])[0-9]{1,3}([-._x])[0-9]{1,3}\1[0-9]{1,3}\1[0-9]{1,3}(?![0-9])")


@dataclass(frozen=True, slots=True)
class PartView:
    """One box of the drawing: a part of the route and what the evidence says of it."""

    segment: Segment
    label: str
    status: str  # wording.explain.FINE | SUSPECT | NOT_MEASURED (the box's colour)
    reason: str
    hops: int = 0  # routers of this part seen on the route
    shown: str = ""  # the box's word when the rule says more precisely ("full"); else status

    @property
    def display(self) -> str:
        return self.shown or self.status


@dataclass(frozen=True, slots=True)
class HopRow:
    """One line of the hop table, every cell already text (no address in any of them)."""

    hop: int
    name: str
    network: str
    part: str
    idle: str
    loaded: str
    idle_ms: float | None = None
    loaded_ms: float | None = None


@dataclass(frozen=True, slots=True)
class RuledOut:
    label: str
    status: str  # "ruled out" | "suspected" | "not checked" | wording.explain FULL, ...
    reason: str


@dataclass(slots=True)
class Explanation:
    headline: str
    detail: str
    segment: Segment
    confidence: float
    confidence_words: str
    confidence_sentence: str
    parts: list[PartView] = field(default_factory=list)
    hops: list[HopRow] = field(default_factory=list)
    throughput_bps: float | None = None
    needed_bps: float | None = None
    throughput: str = ""
    ttfb: str = ""
    ruled_out: list[RuledOut] = field(default_factory=list)

    def part(self, segment: Segment) -> PartView:
        return next(p for p in self.parts if p.segment is segment)

    def texts(self) -> list[str]:
        """Every string the window shows (tests check that none holds an address)."""
        out = [self.headline, self.detail, self.confidence_words, self.confidence_sentence]
        out += [self.throughput, self.ttfb]
        for p in self.parts:
            out += [p.label, p.display, p.reason]
        for h in self.hops:
            out += [h.name, h.network, h.part, h.idle, h.loaded]
        for r in self.ruled_out:
            out += [r.label, r.status, r.reason]
        return out


def _scrub(text: str, replacement: str = "a host") -> str:
    """Addresses out of a sentence: literals (also the short IPv6 ones such as "::" the
    notice scrubber's pattern does not see) and IPv4 spelled with dashes."""
    text = scrub_addresses(text, replacement)
    text = _EMBEDDED_V4.sub(replacement, text)
    return " ".join(replacement if is_address_literal(t.strip("()[],;")) else t for t in text.split(" "))


def _has_address(text: str) -> bool:
    return _scrub(text, "") != text


def redacted_name(h: Hop) -> str:
    """A hop's name without its address: home devices by role, names holding an address
    (as a literal or spelled with dashes) replaced by the network's name or "a router"."""
    if h.address is None and not h.name:
        return say.SILENT_ROUTER
    if h.segment is Segment.HOME_NETWORK or h.org == HOME_ORG:
        return say.HOME_ROUTER if h.hop == 1 else say.HOME_DEVICE
    name = (h.name or "").strip()
    if name and not _has_address(name):
        return name
    org = _clean(h.org)
    return f"a router of {org}" if org else say.UNNAMED_ROUTER


def _clean(text: str | None) -> str | None:
    if not text:
        return None
    text = _scrub(text.strip(), "").strip(" -.,()")
    return text or None


def _network(h: Hop) -> str:
    if h.org == HOME_ORG or h.segment is Segment.HOME_NETWORK:
        return "your home network"
    return _clean(h.org) or say.UNKNOWN_NETWORK


def hop_rows(hops: Sequence[Hop]) -> list[HopRow]:
    rows = []
    for h in list(hops)[: T.EXPLAIN_MAX_HOPS]:
        seg = h.segment if isinstance(h.segment, Segment) else Segment(h.segment)
        rows.append(
            HopRow(
                hop=h.hop,
                name=redacted_name(h),
                network=_network(h),
                part=say.PART_LABELS.get(seg, "unknown part"),
                idle=_ms(h.rtt_idle_ms),
                loaded=_ms(h.rtt_loaded_ms),
                idle_ms=h.rtt_idle_ms,
                loaded_ms=h.rtt_loaded_ms,
            )
        )
    return rows


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def _rose(idle: float, loaded: float) -> bool:
    """The attribution's own inflation thresholds (thresholds.INFLATION_ABS_MS/REL)."""
    return loaded - idle > max(T.INFLATION_ABS_MS, T.INFLATION_REL * idle)


@dataclass(frozen=True, slots=True)
class Named:
    """How the named part is worded, by the verdict's rule: never firmer than its notice."""

    head: str  # what the evidence says of the part ("the slowdown starts here")
    tail: str = ""  # what it leaves open, after the measured rise
    label: str = ""  # the box's label instead of PART_LABELS' ("" for that one)
    shown: str = ""  # the box's word instead of "suspect"
    row_label: str = ""  # the ruled-out row's label instead of RULED_OUT_LABELS'
    row_status: str = ""  # the ruled-out row's status instead of "suspected"
    home_traffic: bool = False  # the cause may be traffic from home, which was not measured


def _isp_name(culprit: str | None) -> str | None:
    name = _clean(culprit)
    return None if name is None or name == evidence_words.GENERIC_ISP else name


def named_words(v: Verdict, soft: bool) -> Named:
    """The named part's words for ``v.rule`` (isp_access: the connection is full, its cause
    not measured; isp_core: a queue inside the ISP, its cause not settled; interconnect:
    at or just past the link; server_local: the server here or whatever it relays from)."""
    rule, _conf = apply_crowded_bar(v.rule, v.confidence)  # below the bar: what was measured
    if rule == "isp_access":
        isp = _isp_name(v.culprit)
        full = say.FULL_SOFT if soft else say.FULL
        return Named(say.access_full(isp, soft), say.ACCESS_CAUSES, say.ACCESS_BOX, full,
                     say.access_label(isp), full, home_traffic=True)  # fmt: skip
    if rule == "isp_core":
        head = say.CORE_HEAD_SOFT if soft else say.CORE_HEAD
        return Named(head, say.CORE_TAIL, shown=say.NOT_SETTLED, row_status=say.NOT_SETTLED)
    if v.segment is Segment.INTERCONNECT:
        return Named(say.LINK_BLAMED_SOFT if soft else say.LINK_BLAMED)
    if rule == "server_local":
        return Named(say.SERVER_LOCAL_SOFT if soft else say.SERVER_LOCAL)
    if rule == "server_sends_slowly":  # slow data, no queue, no loss: not a slow answer
        return Named(flow_words.SENDS_SLOWLY_HEAD)
    return Named(say.BLAMED_SOFT if soft else say.BLAMED)


def _route_part(
    seg: Segment, hops: Sequence[Hop], named: Segment | None, words: Named, earlier_suspect: bool, why_not: str | None
) -> PartView:
    mine = [h for h in hops if h.segment is seg]
    answered = [h for h in mine if h.rtt_idle_ms is not None or h.rtt_loaded_ms is not None]
    label = say.PART_LABELS[seg]
    if named is seg:
        # the first router whose delay rose is where the queue starts (later ones carry it)
        timed = [(h.rtt_idle_ms, h.rtt_loaded_ms) for h in answered]
        rise = next(((i, lo) for i, lo in timed if i is not None and lo is not None and _rose(i, lo)), None)
        reason = words.head if rise is None else f"{words.head}: {say.rose_reason(*rise)}"
        reason = f"{reason}; {words.tail}" if words.tail else reason
        return PartView(seg, words.label or label, say.SUSPECT, reason, len(mine), words.shown)
    if why_not is not None:
        return PartView(seg, label, say.NOT_MEASURED, why_not, len(mine))
    if not mine:
        local = any(_is_loopback(h.address) for h in hops)
        return PartView(seg, label, say.NOT_MEASURED, say.SAME_COMPUTER if local else say.NOT_ON_ROUTE, 0)
    if not answered:
        return PartView(seg, label, say.NOT_MEASURED, say.PART_SILENT, len(mine))
    both = [h for h in answered if h.rtt_idle_ms is not None and h.rtt_loaded_ms is not None]
    risen = [h for h in both if _rose(h.rtt_idle_ms, h.rtt_loaded_ms)]
    if risen:
        h = risen[0]
        if earlier_suspect:  # a queue earlier on the route lifts every later router's delay
            return PartView(seg, label, say.FINE, say.carried_reason(h.rtt_idle_ms, h.rtt_loaded_ms), len(mine))
        return PartView(seg, label, say.SUSPECT, say.UNSURE_RISE, len(mine))
    h = both[-1] if both else answered[-1]
    return PartView(seg, label, say.FINE, say.steady_reason(h.rtt_idle_ms, h.rtt_loaded_ms), len(mine))


def _device_part(named: Segment | None, device: DeviceEvidence | None) -> PartView:
    label = say.PART_LABELS[Segment.DEVICE]
    if device is None or (device.frames_displayed <= 0 and device.system_cpu_pct is None):
        status = say.SUSPECT if named is Segment.DEVICE else say.NOT_MEASURED
        return PartView(Segment.DEVICE, label, status, say.NO_DEVICE_NUMBERS)
    dropped, cpu = device.frames_dropped_healthy, device.system_cpu_pct
    if named is Segment.DEVICE:
        return PartView(Segment.DEVICE, label, say.SUSPECT, say.device_suspect(dropped, cpu))
    return PartView(Segment.DEVICE, label, say.FINE, say.device_fine(dropped, cpu))


def _newest(fetches: Fetches, count: int, *, with_errors: bool) -> list[Fetch]:
    """The newest ``count`` video downloads, oldest first: a walk back from the newest that
    stops there, so a refresh costs O(count), not O(the records kept)."""
    out: list[Fetch] = []
    for f in reversed(fetches):
        if len(out) >= count:
            break
        if f.kind in MEDIA_KINDS and (with_errors or not f.error):
            out.append(f)
    out.reverse()
    return out


def _recent_media(fetches: Fetches) -> list[Fetch]:
    return _newest(fetches, RECENT_FETCHES, with_errors=False)


def _ttfb(fetches: Fetches, fe: FetchEvidence | None) -> tuple[float | None, float | None, bool]:
    """Median first byte, median connect time of new connections (None if all were reused).
    With the attribution's fetch evidence (downloads still waiting included) its samples count."""
    recent = [f for f in _recent_media(fetches) if f.ttfb_ms is not None]
    all_reused = bool(recent) and all(f.reused_connection for f in recent)
    if fe is not None and fe.ttfb:
        connects = [s.connect_rtt_ms for s in fe.ttfb if s.connect_rtt_ms]
        return median(s.ttfb_ms for s in fe.ttfb), median(connects), not connects
    connects = [f.connect_ms for f in recent if not f.reused_connection and f.connect_ms]
    return median(f.ttfb_ms for f in recent), median(connects), all_reused


def _detail(v: Verdict) -> str:
    """The notice's plain evidence line (wording.evidence.overlay_line where it exists)."""
    line = getattr(evidence_words, "overlay_line", None)
    return (line(v) if line is not None else "") or evidence_summary(v)


def _server_part(
    named: Segment | None, words: Named, rule: str, ttfb_ms: float | None, hops: Sequence[Hop]
) -> PartView:
    label = say.PART_LABELS[Segment.SERVER]
    n = sum(1 for h in hops if h.segment is Segment.SERVER)
    if named is Segment.SERVER:
        # server_local rests on too little data, not on the first byte: its own words
        slow = ttfb_ms is not None and rule not in ("server_local", "server_sends_slowly")
        reason = say.server_slow(ttfb_ms) if slow and ttfb_ms is not None else words.head
        return PartView(Segment.SERVER, label, say.SUSPECT, reason, n)
    if ttfb_ms is None:
        return PartView(Segment.SERVER, label, say.NOT_MEASURED, say.NO_DOWNLOAD, n)
    if ttfb_ms >= T.SERVER_TTFB_NO_RTT_MS and named is None:
        return PartView(Segment.SERVER, label, say.SUSPECT, say.server_slow(ttfb_ms), n)
    return PartView(Segment.SERVER, label, say.FINE, say.server_fine(ttfb_ms), n)


def explain(
    verdict: Verdict | None,
    hops: Sequence[Hop],
    fetches: Fetches,
    *,
    probe_status: str = "not_run",
    probe_reason: str = "",
    needed_bitrate_bps: float | None = None,
    device: DeviceEvidence | None = None,
    fetch_evidence: FetchEvidence | None = None,
) -> Explanation:
    """The "Why?" window's model. ``probe_status``/``probe_reason``: the probe layer's
    (``SessionReport.probe``); ``needed_bitrate_bps``: the playing rendition's bitrate,
    else the last video download's. ``fetch_evidence``: what the verdict saw of the
    downloads (a stalled download has no Fetch record yet): its first bytes and
    throughputs are the ones shown, so the window and the verdict agree."""
    fe = fetch_evidence
    v = verdict if verdict is not None else Verdict(Segment.NONE, confidence=1.0)
    named = v.segment if v.segment in PARTS and v.confidence > 0 else None
    words = named_words(v, is_soft(v))  # as soft as the notice's sentence
    why_not = None if probe_status == "ok" else say.not_measured_reason(probe_status, probe_reason)
    hops = list(hops)
    parts = [_device_part(named, device)]
    suspect_seen = False  # a suspect part of the route so far (this computer adds no queue)
    for seg in ROUTE_PARTS:
        p = _route_part(seg, hops, named, words, suspect_seen, why_not)
        suspect_seen = suspect_seen or p.status == say.SUSPECT
        if words.home_traffic and seg is Segment.HOME_NETWORK and p.status == say.FINE:
            p = replace(p, reason=say.home_no_queue(p.reason), shown=say.NO_QUEUE)
        parts.append(p)
    ttfb, connect, all_reused = _ttfb(fetches, fe)
    parts.append(_server_part(named, words, v.rule, ttfb, hops))
    if needed_bitrate_bps is None and fe is not None:
        needed_bitrate_bps = fe.needed_bitrate_bps
    if needed_bitrate_bps is None:
        needed_bitrate_bps = last_rendition_bitrate(fetches)
    tput = harmonic_mean(fe.throughput_bps) if fe is not None and fe.throughput_bps else None
    tput = tput if tput is not None else recent_throughput(fetches)
    by_seg = {p.segment: p for p in parts}
    if v.segment is Segment.NONE:
        headline, detail = say.NO_STALL, ""
    else:
        headline = notice_text(v) or say.NOTHING_NAMED
        detail = _detail(v)
    return Explanation(
        headline=_scrub(headline),
        detail=_scrub(detail),
        segment=v.segment,
        confidence=v.confidence,
        confidence_words=say.confidence_words(v.segment, v.confidence),
        confidence_sentence=say.confidence_sentence(v.segment, v.confidence),
        parts=parts,
        hops=hop_rows(hops),
        throughput_bps=tput,
        needed_bps=needed_bitrate_bps,
        throughput=say.throughput_sentence(tput, needed_bitrate_bps),
        ttfb=say.ttfb_sentence(ttfb, connect, all_reused),
        ruled_out=[_ruled_out_row(by_seg[s], named, words) for s in RULED_OUT_ORDER],
    )


def _ruled_out_row(p: PartView, named: Segment | None, words: Named) -> RuledOut:
    """A part as a row of "What was ruled out": the named part in its rule's words ("full",
    "not settled"), a part with no queue but unmeasured traffic as just that."""
    label, status = say.RULED_OUT_LABELS[p.segment], say.RULED_OUT_STATUS[p.status]
    if p.segment is named and p.status == say.SUSPECT:
        label, status = words.row_label or label, words.row_status or status
    elif p.shown == say.NO_QUEUE:
        status = say.NO_QUEUE
    return RuledOut(label, status, p.reason)


@dataclass(frozen=True, slots=True)
class FetchRow:
    """One recent download in the statistics panel, every cell text ("reused", not "0 ms")."""

    what: str
    dns: str
    connect: str
    tls: str
    first_byte: str
    download: str
    media: str
    retries: int
    resumes: int
    status: str
    slow: bool  # the download took longer than the media it carries


def _ms(value: float | None) -> str:
    return NO_VALUE if value is None else say.ms(value)


def fetch_rows(fetches: Fetches, count: int = T.EXPLAIN_LAST_FETCHES) -> list[FetchRow]:
    """The last ``count`` video downloads, newest last."""
    rows = []
    for f in _newest(fetches, count, with_errors=True):
        what = f"#{f.media_sequence}" if f.media_sequence is not None else f.kind.value
        took = None if f.ttfb_ms is None or f.transfer_ms is None else f.ttfb_ms + f.transfer_ms
        media_ms = None if f.media_duration_s is None else f.media_duration_s * 1000.0
        reused = f.reused_connection
        rows.append(
            FetchRow(
                what=what,
                dns="reused" if reused else _ms(f.dns_ms),
                connect="reused" if reused else _ms(f.connect_ms),
                tls="reused" if reused else _ms(f.tls_ms),
                first_byte=_ms(f.ttfb_ms),
                download=_ms(f.transfer_ms),
                media=_ms(media_ms),
                retries=f.retries,
                resumes=f.resumed,
                status=_scrub(f.error) if f.error else (str(f.status) if f.status is not None else NO_VALUE),
                slow=took is not None and media_ms is not None and took > media_ms,
            )
        )
    return rows
