"""Per-hop RTT statistics, the spread fallback, and where inflation begins along the path.

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

Losses under load support an onset, never make one. A queue that overflows on the
link into hop k drops probes of every hop from k on, so hops behind it may keep too few
loaded RTTs to be judged. When every judged hop from some hop on loses probes under load
(far more than it loses idle) and the hop before it does not (:func:`loss_run_start`),
and that run starts where an RTT onset may sit, the run's hops that have no RTT verdict
count as carrying that onset. A hop that only drops probes (a router rate-limiting its
answers, a policer dropping without queueing) has no RTT rise, so it is never an onset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from player.core import thresholds as T
from player.core.attribution.inputs import HopEvidence
from player.core.model import Segment
from player.core.path_segments import is_home_org
from player.core.stats import median, percentile, robust_sigma
from player.core.wording.evidence import hop_label


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
    # share of the probes unanswered, loaded / idle (None: fewer than LOSS_MIN_PROBES sent)
    loaded_loss: float | None = None
    idle_loss: float | None = None
    # "idle": delta_ms compares loaded with idle RTTs; "spread": no idle reference, delta_ms
    # is the spread of the loaded RTTs (see spread_stats)
    mode: str = "idle"

    @property
    def inflated(self) -> bool:
        return self.delta_ms is not None and self.delta_ms >= (self.threshold_ms or 0.0)

    @property
    def crowded(self) -> bool:
        return self.excess_ms is not None and self.excess_ms >= (self.crowd_threshold_ms or 0.0)

    @property
    def lossy(self) -> bool:
        """Loses many probes under load, far more than idle (thresholds: LOSS_*)."""
        if self.loaded_loss is None or self.loaded_loss < T.LOSS_LOADED_MIN:
            return False
        return self.idle_loss is None or self.loaded_loss - self.idle_loss >= T.LOSS_RISE_MIN


def _loss(answered: int, lost: int) -> float | None:
    sent = answered + max(0, lost)
    return max(0, lost) / sent if sent >= T.LOSS_MIN_PROBES else None


def _samples(h: HopEvidence) -> tuple[list[float], list[float]]:
    """The usable idle and loaded RTTs (none when the hop is marked silent)."""
    if not h.has_answers:  # marked silent: stray samples are not trusted
        return [], []
    idle = [x for x in h.idle_rtt_ms if x is not None and math.isfinite(x) and x >= 0]
    loaded = [x for x in h.loaded_rtt_ms if x is not None and math.isfinite(x) and x >= 0]
    return idle, loaded


def hop_stats(h: HopEvidence, segment: Segment) -> HopStats:
    """Statistics and inflation thresholds of one hop."""
    idle, loaded = _samples(h)
    answered = bool(idle or loaded)
    kw: dict = {}
    if answered:
        everything = idle + loaded + ([h.baseline_rtt_ms] if h.baseline_rtt_ms is not None else [])
        kw["floor_ms"] = min(everything)
    if idle:
        kw["idle_p50"] = median(idle)
        kw["idle_lo"] = percentile(idle, 0.1)
        kw["idle_hi"] = percentile(idle, 0.9)
    if loaded:
        kw["loaded_p25"] = percentile(loaded, T.LOADED_QUANTILE)
        kw["loaded_p50"] = median(loaded)
    if len(idle) >= T.MIN_IDLE_SAMPLES and len(loaded) >= T.MIN_LOADED_SAMPLES:
        base = kw["idle_p50"]
        kw["delta_ms"] = kw["loaded_p25"] - base
        kw["threshold_ms"] = max(
            T.INFLATION_ABS_MS,
            T.INFLATION_REL * base,
            T.INFLATION_JITTER_K * robust_sigma(idle),
        )
    if len(idle) >= T.MIN_IDLE_SAMPLES_CROWD:
        floor = kw["floor_ms"]
        kw["excess_ms"] = kw["idle_p50"] - floor
        kw["crowd_threshold_ms"] = max(T.CROWD_ABS_MS, T.CROWD_REL * floor)
    if answered:  # a silent hop's losses say nothing
        kw["loaded_loss"] = _loss(len(loaded), h.loaded_lost)
        kw["idle_loss"] = _loss(len(idle), h.idle_lost)
    home = segment is Segment.HOME_NETWORK or is_home_org(h.org)
    return HopStats(
        hop=h.hop,
        label=hop_label(h.hop, h.org, home=home),
        org=None if is_home_org(h.org) else h.org,
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
    idle, loaded = _samples(h)
    kw: dict = {}
    if loaded:
        kw["loaded_p10"] = percentile(loaded, 0.1)
        kw["loaded_p90"] = percentile(loaded, 0.9)
    delta = threshold = None
    if len(loaded) >= T.MIN_SPREAD_SAMPLES:
        delta = kw["loaded_p90"] - kw["loaded_p10"]
        threshold = max(
            T.SPREAD_ABS_MS,
            T.INFLATION_REL * max(0.0, ref_floor_ms),
            T.INFLATION_JITTER_K * robust_sigma(idle) if len(idle) >= T.MIN_IDLE_SAMPLES else 0.0,
        )
    return HopStats(
        hop=base.hop, label=base.label, org=base.org, segment=base.segment,
        answered=base.answered, n_idle=base.n_idle, n_loaded=base.n_loaded,
        floor_ms=base.floor_ms, idle_p50=base.idle_p50, idle_lo=base.idle_lo,
        idle_hi=base.idle_hi, loaded_p25=base.loaded_p25, loaded_p50=base.loaded_p50,
        delta_ms=delta, threshold_ms=threshold, mode="spread",
        loaded_loss=base.loaded_loss, idle_loss=base.idle_loss, **kw,
    )  # fmt: skip


def spread_path(hops: Sequence[HopEvidence], segments: Sequence[Segment]) -> tuple[HopStats, ...]:
    """:func:`spread_stats` of every hop, each against the previous answering hop's floor."""
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
    confirmed: int  # later answering hops carrying the rise (by_loss included)
    contradicted: int  # later answering hops not carrying it
    segments: tuple[Segment, ...]  # segments of the hops the queue may sit before
    by_loss: int = 0  # of ``confirmed``: hops with no RTT verdict that lose probes under load

    @property
    def margin(self) -> float:
        return self.value_ms / self.threshold_ms if self.threshold_ms > 0 else 1.0

    @property
    def gradual(self) -> bool:
        """The rise is spread over hops rather than a step at the onset."""
        return self.step_ms < self.threshold_ms

    @property
    def segment(self) -> Segment | None:
        """The one segment the queue is in, None when it cannot be placed.

        None when the hops it may sit before span more than one segment, or when any of
        them is ``unknown`` (an unplaceable hop cannot name the queue's segment either).
        """
        kinds = set(self.segments)
        if len(kinds) != 1 or Segment.UNKNOWN in kinds:
            return None
        return self.segments[0]


def _metric(s: HopStats, kind: str) -> float | None:
    return s.delta_ms if kind == "loaded" else s.excess_ms


def _flagged(s: HopStats, kind: str) -> bool:
    return s.inflated if kind == "loaded" else s.crowded


def _threshold(s: HopStats, kind: str) -> float:
    value = s.threshold_ms if kind == "loaded" else s.crowd_threshold_ms
    return value or 0.0


def _carries(s: HopStats, kind: str, value: float) -> bool:
    """Whether a later hop shows (most of) a rise of ``value``."""
    return (_metric(s, kind) or 0.0) >= T.CARRY_FRACTION * value or _flagged(s, kind)


def _slow_alone(nxt: HopStats, kind: str, value: float) -> bool:
    """The next hop carries less than SLOW_ALONE_FRACTION of a rise of ``value``."""
    return (_metric(nxt, kind) or 0.0) < T.SLOW_ALONE_FRACTION * value


def loss_run_start(stats: Sequence[HopStats]) -> int | None:
    """Where losses under load begin: the position of the first hop of the longest run of
    lossy hops that lasts to the end of the path (hops whose loss was not judged are
    skipped), at least LOSS_RUN_MIN_HOPS long, with a judged hop before it that is not
    lossy (or the run starts at the first hop). None: no such run."""
    judged = [i for i, s in enumerate(stats) if s.answered and s.loaded_loss is not None]
    start = None
    for i in reversed(judged):
        if not stats[i].lossy:
            break
        start = i
    if start is None or sum(1 for i in judged if i >= start) < T.LOSS_RUN_MIN_HOPS:
        return None
    if start == judged[0] and stats[start].hop != 1:
        return None  # nothing shows the link before it clean
    return start


def find_onset(stats: Sequence[HopStats], kind: str) -> tuple[Onset | None, list[int]]:
    """First carried-forward inflation of ``kind`` and the positions of isolated ones."""
    valid = [i for i, s in enumerate(stats) if _metric(s, kind) is not None]
    loss_at = loss_run_start(stats) if kind == "loaded" else None
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
        carried = sum(1 for j in later if _carries(stats[j], kind, value))
        next_carries = not later or _carries(stats[later[0]], kind, value)
        if later and s.mode != "spread" and _slow_alone(stats[later[0]], kind, value):
            # the next hop shows a queue of its own but far less than this hop's rise: this
            # router answers slowly (control plane) in front of a queue, which it cannot be
            # moved onto; the queue may be on either side of it (no flat hop between)
            next_carries = False
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
        elif prev_flat is None and segments[0] is Segment.SERVER:
            # the server is the first hop (one-hop path): nothing answered flat between
            # this computer and it, so the queue may be on the wire to it (the home LAN)
            segments = (Segment.HOME_NETWORK, *segments)
        # losses under load starting where this queue may sit: the run's hops with no RTT
        # verdict (their answers dropped) carry it too (supporting evidence only)
        by_loss = 0
        if loss_at is not None and start <= loss_at <= i:
            by_loss = sum(1 for j in range(i + 1, len(stats)) if j not in valid and stats[j].lossy)
        onset = Onset(
            kind, i, prev_flat, value, _threshold(s, kind), step, carried + by_loss,
            len(later) - carried, segments, by_loss,
        )  # fmt: skip
        return onset, isolated
    return None, isolated


def dominant_onset(
    stats: Sequence[HopStats], onset: Onset | None, kind: str
) -> tuple[Onset | None, list[int]]:
    """The onset moved to a much larger rise later on the path, if there is one.

    Queues add up along the path, so a later hop whose rise exceeds everything before it
    by ``DOMINANT_STEP_K`` x the onset's own rise sits behind a second, larger queue; that
    queue is where the video's data waits (one flow has one bottleneck), while the small
    first rise is a lesser queue or the wobble of a busy path (seen: 17 ms of swing at an
    ISP hop in front of a server network's 180 ms queue, on a client at 96 % CPU). The
    later rise must be carried by the hops after it like any onset (none after it: the
    destination). Returns the onset to use and the position it replaced (reported as an
    isolated rise, which lowers confidence), or the onset unchanged and no position.
    """
    if onset is None:
        return onset, []
    valid = [i for i, s in enumerate(stats) if _metric(s, kind) is not None]
    after = [i for i in valid if i > onset.pos]
    highest = onset.value_ms
    prev = onset.pos
    for n, j in enumerate(after):
        value = _metric(stats[j], kind)
        assert value is not None
        step = value - highest
        if _flagged(stats[j], kind) and step >= T.DOMINANT_STEP_K * onset.value_ms:
            later = after[n + 1 :]
            carried = sum(1 for k in later if _carries(stats[k], kind, value))
            if not later or carried / len(later) >= T.CARRY_MIN_FRACTION:
                segments = tuple(stats[k].segment for k in range(prev + 1, j + 1))
                moved = Onset(
                    kind, j, prev, value, _threshold(stats[j], kind), step, carried,
                    len(later) - carried, segments,
                )  # fmt: skip
                return moved, [onset.pos]
        highest = max(highest, value)
        prev = j
    return onset, []
