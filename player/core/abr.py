"""Rendition choice: a short look-ahead plan (RobustMPC) with buffer safety rules.

The rule of Yin et al., "A Control-Theoretic Approach for Dynamic Adaptive Video
Streaming over HTTP" (SIGCOMM 2015), scored with the same linear QoE that paper (and
``benchmarks/web/qoe.py``) measures playback by:

* **Predict** the throughput as the harmonic mean of the last few segment downloads
  (total bits over total time), divided by ``1 +`` the largest recent *over*-estimate of
  that prediction (RobustMPC's discount, one-sided: a prediction that came in low did
  not endanger the buffer, so it does not make the next one more careful), counted up to
  ``ABR_MAX_OVERSHOOT`` (a collapse would otherwise divide the prediction by five on top
  of the slow samples the window already holds; a collapse *during* a download is the
  abandon rule's, :mod:`player.core.abandon`).
* **Plan** the next ``ABR_HORIZON_SEGMENTS`` segments: every plan "rendition a for k
  segments, then rendition b" is played through a buffer model (download time = size /
  prediction, the buffer drains meanwhile and gains one segment per download) and scored
  ``sum Mbit/s - mu x rebuffer s - sum |switch| Mbit/s``, with ``mu`` the top rendition's
  Mbit/s (the paper's choice) and the buffer under ``ABR_PANIC_BUFFER_S`` counted as
  empty. The first rendition of the best plan is fetched; the plan is made again for the
  next segment. The switch term is the hysteresis (a switch must pay for itself over the
  horizon, and a plan that ends above the rendition the prediction carries pays for the
  switch down it implies); the rebuffer term makes it step down before the buffer runs
  dry and lets a deep buffer absorb a short dip.
* **Safety**: the first segment is the lowest rendition (nothing measured yet); an
  up-step must download within the buffer above the panic level even if throughput
  halves meanwhile (``ABR_UP_DROP_TOLERANCE``; or falls as deep as the deepest collapse
  among the last ``ABR_VOLATILITY_WINDOW`` samples, when deeper), which at startup's
  shallow buffer is
  what keeps the first climbs careful (at 4 s of buffer a rendition must fit twice into
  the prediction); a plan that leaves the buffer under the reservoir at its horizon pays
  for it (``ABR_TERMINAL_WEIGHT``); once past startup, a buffer nearly empty means the
  prediction is stale: lowest rendition.

:func:`simulate` is a tiny pure buffer simulator used by the tests and the
benchmark: download time = size / throughput, the buffer drains in real time.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from player.core import thresholds as T
from player.core.abandon import AbandonDecision, InFlight, abandon_choice
from player.core.model import Fetch
from player.core.stats import harmonic_mean
from player.core.units import fmt_bitrate

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ThroughputSample:
    """One segment download: bits/s with, when known, its size and duration."""

    bps: float
    size_bytes: int | None = None
    duration_s: float | None = None

    @classmethod
    def from_transfer(cls, size_bytes: int, duration_s: float) -> ThroughputSample:
        """Build a sample from a payload size and the wall time it took."""
        if duration_s <= 0:
            raise ValueError("duration_s must be positive")
        return cls(size_bytes * 8 / duration_s, size_bytes, duration_s)


@dataclass(frozen=True, slots=True)
class AbrDecision:
    """The rendition for the next segment and why."""

    index: int  # into AbrController.bitrates (ascending)
    bitrate_bps: int
    reason: str
    switched: bool = False
    estimate_bps: float | None = None


def _window_bps(samples: Sequence[ThroughputSample]) -> float:
    """Total bits over total time when sizes are known (a size-weighted harmonic mean),
    else the harmonic mean of the rates. ``samples`` is not empty."""
    if all(s.size_bytes and s.duration_s for s in samples):
        bits = sum(s.size_bytes * 8 for s in samples)  # type: ignore[operator]
        secs = sum(s.duration_s for s in samples)  # type: ignore[misc]
        return bits / secs
    window = harmonic_mean(s.bps for s in samples)
    assert window is not None  # samples are positive (add_sample)
    return window


def plans(renditions: int, horizon: int) -> tuple[tuple[int, ...], ...]:
    """Every "rendition a for k segments, then rendition b" over ``horizon`` segments:
    at most n x n x horizon plans instead of n ** horizon (6 renditions: 126, not 7776);
    in simulate() on the benchmark's traces and 24 others the QoE came within 2 % of
    planning over all of them (a plan worth three levels in five segments is rare)."""
    out = {
        (a,) * k + (b,) * (horizon - k)
        for a in range(renditions)
        for b in range(renditions)
        for k in range(1, horizon + 1)
    }
    return tuple(sorted(out))


class AbrController:
    """Chooses the rendition of each next segment.

    ``bitrates_bps`` may come in any order; :attr:`bitrates` is sorted ascending
    and every index (decisions, :meth:`pin`) refers to that sorted list.
    """

    def __init__(
        self,
        bitrates_bps: Sequence[float],
        segment_s: float,
        *,
        reservoir_s: float | None = None,
        horizon: int = T.ABR_HORIZON_SEGMENTS,
    ) -> None:
        if not bitrates_bps:
            raise ValueError("at least one rendition is needed")
        if segment_s <= 0:
            raise ValueError("segment_s must be positive")
        if horizon < 1:
            raise ValueError("horizon must be at least one segment")
        self.bitrates: tuple[int, ...] = tuple(sorted(int(b) for b in bitrates_bps))
        self.segment_s = float(segment_s)
        self.reservoir_s = (
            reservoir_s
            if reservoir_s is not None
            else max(T.ABR_RESERVOIR_MIN_S, T.ABR_RESERVOIR_SEGMENTS * self.segment_s)
        )
        self._plans = plans(len(self.bitrates), horizon)
        self._samples: deque[ThroughputSample] = deque(maxlen=T.ABR_WINDOW)
        self._overshoots: deque[float] = deque(maxlen=T.ABR_ERROR_WINDOW)
        self._volatility: deque[float] = deque(maxlen=T.ABR_VOLATILITY_WINDOW)
        self._current: int | None = None
        self._pinned: int | None = None
        self._startup = True

    # ------------------------------------------------------------------ inputs

    @property
    def pinned(self) -> int | None:
        """The rendition the viewer pinned, None for Auto."""
        return self._pinned

    @property
    def current(self) -> int | None:
        """Index of the last decision, None before the first."""
        return self._current

    def pin(self, index: int | None) -> None:
        """Pin a rendition (index into :attr:`bitrates`) or return to Auto with None."""
        if index is not None and not 0 <= index < len(self.bitrates):
            raise ValueError(f"no rendition {index} (have {len(self.bitrates)})")
        self._pinned = index

    def add_sample(self, sample: ThroughputSample) -> None:
        """Record one finished segment download (and how far the prediction overshot it)."""
        if not math.isfinite(sample.bps) or sample.bps <= 0:
            log.debug("ignoring unusable throughput sample %r", sample)
            return
        if self._samples:
            predicted = _window_bps(self._samples)
            over = max(0.0, predicted / sample.bps - 1.0)
            self._overshoots.append(over)
            self._volatility.append(over)
        self._samples.append(sample)

    def add_throughput(
        self, bps: float, size_bytes: int | None = None, duration_s: float | None = None
    ) -> None:
        """Shorthand for :meth:`add_sample`."""
        self.add_sample(ThroughputSample(bps, size_bytes, duration_s))

    def add_fetch(self, fetch: Fetch) -> None:
        """Record a finished segment fetch; time includes the wait for the first byte."""
        ms = (fetch.ttfb_ms or 0.0) + (fetch.transfer_ms or 0.0)
        if fetch.bytes > 0 and ms > 0:
            self.add_sample(ThroughputSample.from_transfer(fetch.bytes, ms / 1000.0))

    def on_seek(self) -> None:
        """The buffer was flushed: ramp up again as at startup."""
        self._startup = True

    def index_for_bitrate(self, bitrate_bps: float) -> int:
        """The rendition whose bitrate is closest to ``bitrate_bps``."""
        return min(range(len(self.bitrates)), key=lambda i: abs(self.bitrates[i] - bitrate_bps))

    def estimate_bps(self) -> float | None:
        """Conservative throughput (shown to the viewer): the window's harmonic mean,
        capped by the last sample."""
        if not self._samples:
            return None
        return min(_window_bps(self._samples), self._samples[-1].bps)

    def predicted_bps(self) -> float | None:
        """The planning throughput: the window's harmonic mean over ``1 +`` the largest
        recent overshoot."""
        if not self._samples:
            return None
        worst = min(max(self._overshoots, default=0.0), T.ABR_MAX_OVERSHOOT)
        return _window_bps(self._samples) / (1.0 + worst)

    def drop_tolerance(self) -> float:
        """The throughput fraction an up-step must survive while it downloads: half the
        prediction (``ABR_UP_DROP_TOLERANCE``), or less after a deeper recent collapse
        (``1 / (1 +`` the largest overshoot of the last ``ABR_VOLATILITY_WINDOW``
        samples)): a link that just fell to a fifth of its prediction may do it again."""
        worst = max(self._volatility, default=0.0)
        return min(T.ABR_UP_DROP_TOLERANCE, 1.0 / (1.0 + worst))

    # ------------------------------------------------------------------ decision

    def choose(self, buffer_s: float) -> AbrDecision:
        """Pick the rendition of the next segment given the buffer ahead (seconds)."""
        prev = self._current
        est = self.predicted_bps()
        index, reason = self._decide(max(0.0, buffer_s), est)
        switched = prev is not None and index != prev
        self._current = index
        if switched:
            log.debug("ABR switch %d -> %d (%s)", prev, index, reason)
        return AbrDecision(index, self.bitrates[index], reason, switched, est)

    def abandon(self, index: int, flight: InFlight, buffer_s: float) -> AbandonDecision | None:
        """Whether the download of a segment from rendition ``index`` should be abandoned
        for the same segment from a lower one (:func:`~player.core.abandon.abandon_choice`),
        ``buffer_s`` being the media ahead of that segment. Never while pinned. When it is,
        the lower rendition becomes the current one (the next plan's switch costs start
        there); the abandoned part is a throughput sample like any fetch (add_fetch)."""
        if self._pinned is not None or not 0 <= index < len(self.bitrates):
            return None
        decision = abandon_choice(self.bitrates, index, flight, max(0.0, buffer_s))
        if decision is not None:
            self._current = decision.index
            log.debug("ABR abandon %d -> %d (%s)", index, decision.index, decision.reason)
        return decision

    def _decide(self, buffer_s: float, est: float | None) -> tuple[int, str]:
        if self._startup and buffer_s >= self.reservoir_s:
            self._startup = False
        if self._pinned is not None:
            return self._pinned, "pinned by the viewer"
        cur = self._current
        if est is None:
            if cur is None:
                return 0, "no throughput measured yet: lowest rendition"
            return cur, "no throughput measured yet: keep rendition"
        if cur is None:
            cur = 0
        if buffer_s < T.ABR_PANIC_BUFFER_S and cur > 0 and not self._startup:
            return 0, f"buffer nearly empty ({buffer_s:.1f} s): lowest rendition"
        best = self._plan(buffer_s, est, cur)
        if best == cur:
            return cur, f"steady: {fmt_bitrate(est)} predicted, buffer {buffer_s:.1f} s"
        way = "up" if best > cur else "down"
        return best, f"step {way}: {fmt_bitrate(est)} predicted, buffer {buffer_s:.1f} s"

    def _plan(self, buffer_s: float, bps: float, cur: int) -> int:
        """The first rendition of the best-scoring plan (see the module doc)."""
        seg = self.segment_s
        mbps = [b / 1e6 for b in self.bitrates]
        mu = mbps[-1] * T.ABR_REBUFFER_WEIGHT
        dl = [b * seg / bps for b in self.bitrates]
        floor = T.ABR_PANIC_BUFFER_S
        sustained = max([i for i, r in enumerate(self.bitrates) if r <= bps], default=0)
        drop = self.drop_tolerance()
        best, best_score = 0, -math.inf
        for plan in self._plans:
            first = plan[0]
            # an up-step must survive the throughput dropping while it downloads
            if first > cur and dl[first] / drop > buffer_s - floor:
                continue
            buf, score, last = buffer_s, 0.0, cur
            for i in plan:
                score += mbps[i] - mu * max(0.0, dl[i] - (buf - floor)) - abs(mbps[i] - mbps[last])
                buf = max(buf - dl[i], 0.0) + seg
                last = i
            # the buffer a plan leaves under the reservoir is a stall deferred past the horizon
            score -= mu * T.ABR_TERMINAL_WEIGHT * max(0.0, min(buffer_s, self.reservoir_s) - buf)
            # a plan ending above what the link carries implies a switch down after it
            score -= max(0.0, mbps[last] - mbps[sustained])
            if score > best_score + 1e-9:
                best, best_score = first, score
        return best


# ---------------------------------------------------------------------- simulator


@dataclass(frozen=True, slots=True)
class SimResult:
    """Outcome of :func:`simulate`."""

    stall_s: float
    stall_count: int
    avg_bitrate_bps: float
    switches: int
    startup_s: float
    indices: tuple[int, ...] = field(default=())  # chosen rendition per segment
    buffers: tuple[float, ...] = field(default=())  # buffer (s) when each was chosen
    stall_segments: tuple[int, ...] = field(default=())  # segments whose download stalled


def _download_time(trace: Sequence[tuple[float, float]], start: float, bits: float) -> float:
    """Wall seconds to move ``bits`` starting at ``start`` through a piecewise trace.

    ``trace`` is ``[(duration_s, bps), ...]``; the last piece lasts forever.
    """
    t = start
    offset = 0.0
    remaining = bits
    for i, (dur, bps) in enumerate(trace):
        last = i == len(trace) - 1
        end = math.inf if last else offset + dur
        if t < end:
            if bps > 0:
                span = end - t
                can = bps * span
                if can >= remaining:
                    return t + remaining / bps - start
                remaining -= can
            elif last:
                raise ValueError("the trace ends with zero throughput")
            t = end
        offset += dur
    raise AssertionError("unreachable")  # pragma: no cover


def simulate(
    trace: Sequence[tuple[float, float]],
    bitrates_bps: Sequence[float],
    segment_s: float,
    controller: AbrController,
    *,
    media_s: float | None = None,
    max_buffer_s: float = T.SIM_MAX_BUFFER_S,
    startup_buffer_s: float | None = None,
) -> SimResult:
    """Play ``media_s`` seconds of media through ``trace`` with ``controller``.

    ``trace`` is a list of ``(duration_s, throughput_bps)`` pieces (the last one
    lasts forever). Segments download one after another; a download takes
    size / throughput; the buffer drains in real time once playback has
    started (after ``startup_buffer_s``, default one segment); the player waits
    while the buffer is full. Stalls before the first picture are startup,
    not stalls. ``bitrates_bps`` must be the controller's renditions.
    """
    if not trace:
        raise ValueError("empty trace")
    ladder = sorted(bitrates_bps)
    if tuple(int(b) for b in ladder) != controller.bitrates:
        raise ValueError("bitrates_bps differ from the controller's renditions")
    if media_s is None:
        media_s = sum(d for d, _ in trace)
    n_segments = max(1, math.ceil(media_s / segment_s - 1e-9))
    startup_level = segment_s if startup_buffer_s is None else startup_buffer_s

    t = 0.0
    buffer = 0.0
    playing = False
    startup_s = 0.0
    stall_s = 0.0
    stall_count = 0
    indices: list[int] = []
    buffers: list[float] = []
    stalled_segments: list[int] = []
    for seg in range(n_segments):
        if playing and buffer + segment_s > max_buffer_s:
            wait = buffer + segment_s - max_buffer_s
            t += wait
            buffer -= wait
        decision = controller.choose(buffer)
        indices.append(decision.index)
        buffers.append(buffer)
        bits = controller.bitrates[decision.index] * segment_s
        dl = _download_time(trace, t, bits)
        if playing:
            if dl > buffer + 1e-9:
                stall_s += dl - buffer
                stall_count += 1
                stalled_segments.append(seg)
                buffer = 0.0
            else:
                buffer -= dl
        t += dl
        buffer += segment_s
        if not playing and buffer >= startup_level - 1e-9:
            playing = True
            startup_s = t
        controller.add_sample(ThroughputSample.from_transfer(int(bits / 8), dl))
    switches = sum(1 for a, b in zip(indices, indices[1:], strict=False) if a != b)
    avg = sum(controller.bitrates[i] for i in indices) / len(indices)
    return SimResult(
        stall_s=stall_s,
        stall_count=stall_count,
        avg_bitrate_bps=avg,
        switches=switches,
        startup_s=startup_s,
        indices=tuple(indices),
        buffers=tuple(buffers),
        stall_segments=tuple(stalled_segments),
    )
