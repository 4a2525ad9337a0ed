"""Evidence assembly: fetches + in-flight downloads + path snapshot + device -> AttributionInput.

Pure: every input is plain data (``Fetch`` records, in-flight transfers, the hops and probe
samples of a path snapshot, device numbers) and every time is a number the caller read from
its clock, so a verdict's input can be built and tested without a network or a player.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from player.core.attribution import (
    AttributionInput,
    DeviceEvidence,
    FetchEvidence,
    ProbeStatus,
    TtfbSample,
    hop_evidence_from,
)
from player.core.attribution.inputs import FlowSample
from player.core.fetch_log import MEDIA_KINDS, Fetches, FetchLog, records
from player.core.model import Fetch, FetchKind, Hop, ProbeSample, Segment
from player.core.stats import harmonic_mean
from player.core.wording import playback as say

LOADED_WINDOW_S = 30.0  # probe samples this recent count for a stall's verdict
RECENT_FETCHES = 8  # segment fetches this recent count for throughput / TTFB
RECENT_MIN = 3  # ... and at least this many, however old
EVIDENCE_WINDOW_S = 10.0  # fetches finished this long before a stall describe its causes
INFLIGHT_MIN_S = 1.0  # an unfinished download this old counts as evidence


class PathView(Protocol):
    """What evidence needs of a path snapshot (``player.net``'s PathSnapshot has it)."""

    status: ProbeStatus
    reason: str
    ready: bool
    hops: list[Hop]
    samples: list[ProbeSample]
    destination: str | None


class InFlightView(Protocol):
    """A download the player waits on now (the gateway's InFlight has these fields)."""

    started_at: float
    first_byte_at: float | None
    received: int


@dataclass(frozen=True, slots=True)
class InFlightTransfer:
    """A plain in-flight download: asked at ``started_at``, first byte (if any), bytes so far."""

    started_at: float
    first_byte_at: float | None
    received: int = 0


def attribution_input(
    *,
    now: float,
    fetches: Fetches,
    inflight: Sequence[InFlightView] = (),
    path: PathView | None = None,
    device: DeviceEvidence | None = None,
    stall_started_at: float | None = None,
    window_end: float | None = None,
    rendition_bitrate_bps: float | None = None,
    length_s: float | None = None,
    via_gateway: bool = True,
    playback_rate: float = 1.0,
    crowding_persisted: bool = False,
) -> AttributionInput:
    """All evidence for a verdict at ``now``.

    ``stall_started_at``: when the stall in progress began (None: no stall, the session
    so far). ``window_end``: the fetch evidence describes the ``EVIDENCE_WINDOW_S`` before
    it (the stall's start, default ``now``). ``rendition_bitrate_bps``: the bitrate of the
    rendition playing, if known; else a progressive file's size over ``length_s`` is the
    bitrate it needs. ``via_gateway``: False when no gateway carries the stream (local
    media, or VLC fetches it itself): no in-flight downloads, no size-based bitrate.
    ``playback_rate``: libVLC's playback rate; at 2x playback needs twice the bitrate.
    ``crowding_persisted``: the caller saw the same queue inside the ISP while idle at an
    earlier stall on this path (the per-stall evidence cannot show persistence); False, the
    cautious default, keeps "The {ISP} network is crowded" from being said.
    """
    rate = playback_rate if playback_rate > 0 else 1.0
    inp = AttributionInput(
        stalling=stall_started_at is not None,
        playback_rate=rate,
        crowding_persisted=crowding_persisted,
    )
    if path is None:
        inp.probe_status = ProbeStatus.NOT_RUN
        inp.probe_reason = say.PROBE_OFF if via_gateway else say.PROBE_LOCAL_MEDIA
    else:
        _add_path_evidence(inp, path, now, first_segment_at(fetches))
    inp.fetch = fetch_evidence(
        now=now,
        fetches=fetches,
        inflight=inflight if via_gateway else (),
        path=path,
        window_end=now if window_end is None else window_end,
        rendition_bitrate_bps=rendition_bitrate_bps,
        length_s=length_s if via_gateway else None,
        playback_rate=rate,
    )
    inp.device = device if device is not None else DeviceEvidence()
    return inp


def _add_path_evidence(
    inp: AttributionInput, path: PathView, now: float, started: float | None
) -> None:
    inp.probe_status = path.status
    inp.probe_reason = path.reason
    if path.status is ProbeStatus.OK and not path.ready:
        inp.probe_status = ProbeStatus.NOT_RUN
        inp.probe_reason = say.PROBE_DISCOVERING
    samples = [s for s in path.samples if not s.loaded or s.at >= now - LOADED_WINDOW_S]
    inp.hops = hop_evidence_from(path.hops, samples, path.destination)
    if started is None:
        return
    # Each hop's quietest round trip before our first download: its baseline.
    base: dict[int, float] = {}
    for s in path.samples:
        if s.rtt_ms is not None and not s.loaded and s.at < started:
            base[s.hop] = min(base.get(s.hop, s.rtt_ms), s.rtt_ms)
    for h in inp.hops:
        h.baseline_rtt_ms = base.get(h.hop)


def fetch_evidence(
    *,
    now: float,
    fetches: Fetches,
    inflight: Sequence[InFlightView] = (),
    path: PathView | None = None,
    window_end: float,
    rendition_bitrate_bps: float | None = None,
    length_s: float | None = None,
    playback_rate: float = 1.0,
) -> FetchEvidence:
    """What the recent downloads say (TTFB, throughput, the bitrate needed, the server).

    The bitrate needed is the video's at ``playback_rate``: at 2x, twice its bitrate."""
    segs = [f for f in records(fetches) if f.kind in MEDIA_KINDS and not f.error]
    # What happened around the stall matters, not the fast start an hour ago: the
    # fetches that finished in the last EVIDENCE_WINDOW_S (at least the last few).
    since = window_end - EVIDENCE_WINDOW_S
    recent = [f for f in segs if (f.finished_at or f.started_at) >= since] or segs[-RECENT_MIN:]
    recent = recent[-RECENT_FETCHES:]
    fe = FetchEvidence()
    for f in recent:
        if f.ttfb_ms is not None:
            fe.ttfb.append(TtfbSample(f.ttfb_ms, None if f.reused_connection else f.connect_ms))
        if f.throughput_bps:
            fe.throughput_bps.append(f.throughput_bps)
    floors = flow_floors_ms(segs)
    for f in recent:
        if f.flow is not None:
            fe.flow.append(flow_sample(f, floors.get(f.host)))
    add_inflight_evidence(fe, inflight, recent, now)
    if rendition_bitrate_bps is not None:
        fe.needed_bitrate_bps = float(rendition_bitrate_bps)
    elif length_s:
        total = content_length(fetches)
        if total:
            fe.needed_bitrate_bps = total * 8 / length_s
    if fe.needed_bitrate_bps is not None and playback_rate > 0:
        fe.needed_bitrate_bps *= playback_rate
    if recent:
        fe.server_host = recent[-1].host or None
    if path is not None and path.hops:
        last = path.hops[-1]
        if last.segment is Segment.SERVER or (
            path.destination and last.address == path.destination
        ):
            fe.server_org = last.org
    return fe


def _lowest_rtt(f: Fetch) -> float | None:
    fl = f.flow
    if fl is None:
        return None
    rtts = [x for x in (fl.min_rtt_ms, fl.rcv_rtt_start_ms, fl.rcv_rtt_end_ms) if x is not None]
    return min(rtts) if rtts else None


def flow_sample(f: Fetch, floor_ms: float | None = None) -> FlowSample:
    """A fetch's TCP signals as attribution reads them (``f.flow`` must be set);
    ``floor_ms``: the lowest RTT to its host (:func:`flow_floors_ms`)."""
    fl = f.flow
    assert fl is not None
    return FlowSample(
        rcv_rtt_ms=fl.rcv_rtt_end_ms,
        low_ms=_lowest_rtt(f),
        floor_ms=floor_ms,
        rttvar_ms=fl.rttvar_ms,
        ooo_packets=fl.ooo_packets,
        retransmits=fl.retransmits,
        pause_share=fl.pause_share,
        wait_share=fl.wait_share,
        throughput_bps=f.throughput_bps,
        transfer_ms=f.transfer_ms,
        ttfb_ms=f.ttfb_ms,
    )


def flow_floors_ms(fetches: Sequence[Fetch]) -> dict[str, float]:
    """The lowest RTT the video flow showed per host in these fetches (the log's window of
    the open): each connection's min_rtt and the receiver RTT estimates. Per host: another
    server (a second CDN) is another path with its own distance."""
    floors: dict[str, float] = {}
    for f in fetches:
        x = _lowest_rtt(f)
        if x is not None:
            floors[f.host] = min(floors.get(f.host, x), x)
    return floors


def add_inflight_evidence(
    fe: FetchEvidence, inflight: Sequence[InFlightView], recent: Sequence[Fetch], now: float
) -> None:
    """A stalled download has not finished, so no Fetch record exists for it yet:
    what it shows so far (a first byte still awaited, a slow body) is evidence too."""
    connect = next((f.connect_ms for f in reversed(recent) if f.connect_ms is not None), None)
    for fl in inflight:
        age = now - fl.started_at
        if fl.first_byte_at is None and age >= INFLIGHT_MIN_S:
            # A lower bound on this request's time to first byte.
            fe.ttfb.append(TtfbSample(age * 1000.0, connect))
        elif fl.first_byte_at is not None:
            fe.ttfb.append(TtfbSample((fl.first_byte_at - fl.started_at) * 1000.0, connect))
            if now - fl.first_byte_at >= INFLIGHT_MIN_S:
                fe.throughput_bps.append(fl.received * 8 / (now - fl.first_byte_at))


def first_segment_at(fetches: Fetches) -> float | None:
    """When the first video download started (probe samples before it are the baseline)."""
    if isinstance(fetches, FetchLog):
        return fetches.totals.first_media_started_at
    for f in fetches:
        if f.kind in MEDIA_KINDS:
            return f.started_at
    return None


def recent_throughput(fetches: Fetches) -> float | None:
    """Harmonic mean throughput of the video downloads among the last ``RECENT_FETCHES``
    fetches (O(RECENT_FETCHES) on a log: it runs on every refresh)."""
    if isinstance(fetches, FetchLog):
        last = fetches.latest(RECENT_FETCHES)
    else:
        last = fetches[-RECENT_FETCHES:]
    return harmonic_mean(
        f.throughput_bps for f in last if f.kind in MEDIA_KINDS and f.throughput_bps
    )


def last_rendition_bitrate(fetches: Fetches) -> float | None:
    """The bitrate the newest fetch that names its rendition's bitrate names."""
    if isinstance(fetches, FetchLog):
        bps = fetches.totals.last_rendition_bitrate_bps
        return float(bps) if bps else None
    named = (f.rendition_bitrate_bps for f in reversed(fetches) if f.rendition_bitrate_bps)
    return next((float(bps) for bps in named), None)


def content_length(fetches: Fetches) -> int | None:
    """A progressive file's size: the largest progressive download seen."""
    if isinstance(fetches, FetchLog):
        return fetches.totals.largest_progressive_bytes or None
    prog = [f for f in fetches if f.kind is FetchKind.PROGRESSIVE]
    return max((f.bytes for f in prog), default=None) or None
