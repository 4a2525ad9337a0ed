"""Rendition choice: buffer-based with a throughput safety margin.

In the spirit of BBA (Huang et al., SIGCOMM 2014) and BOLA: the buffer is the
primary signal and throughput is only trusted with a margin.

* **Startup** (buffer never yet above the reservoir): the first segment is the
  lowest rendition; afterwards the highest rendition that is comfortably
  (``ABR_STARTUP_MARGIN``x) under the measured throughput, climbing at most one
  step per segment.
* **Step down before the buffer runs dry**: when the conservative throughput
  estimate falls below the current bitrate, project the buffer over the next
  few segments; if it would fall under the reservoir, drop to the highest
  rendition the throughput sustains. With a deep buffer a short dip is
  absorbed instead (the buffer is the cushion, that is what it is for).
* **Panic**: a buffer nearly empty means the estimate is stale: lowest rendition.
* **Step up** one rendition at a time, only when throughput is at least
  ``ABR_UP_MARGIN`` x the next bitrate, the buffer is above the reservoir and
  deep enough to survive the throughput halving during that bigger download,
  and the current rendition has been kept for a minimum dwell time. That
  dead band between "can't sustain" and "margin above next" is the hysteresis
  that stops oscillation; fewer switches also mean fewer VLC output glitches.

The throughput estimate is the total bits over the total transfer time of the
last few segments (a size-weighted harmonic mean), and never more than the
last sample, so a collapse is acted on at once while a single fast burst is not
trusted.

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
        up_margin: float = T.ABR_UP_MARGIN,
        min_dwell_s: float = T.ABR_MIN_DWELL_S,
    ) -> None:
        if not bitrates_bps:
            raise ValueError("at least one rendition is needed")
        if segment_s <= 0:
            raise ValueError("segment_s must be positive")
        self.bitrates: tuple[int, ...] = tuple(sorted(int(b) for b in bitrates_bps))
        self.segment_s = float(segment_s)
        self.reservoir_s = (
            reservoir_s
            if reservoir_s is not None
            else max(T.ABR_RESERVOIR_MIN_S, T.ABR_RESERVOIR_SEGMENTS * self.segment_s)
        )
        self.up_margin = up_margin
        self.dwell_segments = max(1, math.ceil(min_dwell_s / self.segment_s))
        self._samples: deque[ThroughputSample] = deque(maxlen=T.ABR_LONG_WINDOW)
        self._current: int | None = None
        self._pinned: int | None = None
        self._startup = True
        self._since_switch = 0

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
        """Record one finished segment download."""
        if not math.isfinite(sample.bps) or sample.bps <= 0:
            log.debug("ignoring unusable throughput sample %r", sample)
            return
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
        """Conservative throughput: short-window harmonic mean, capped by the last sample."""
        if not self._samples:
            return None
        samples = list(self._samples)[-T.ABR_WINDOW :]
        if all(s.size_bytes and s.duration_s for s in samples):
            bits = sum(s.size_bytes * 8 for s in samples)  # type: ignore[operator]
            secs = sum(s.duration_s for s in samples)  # type: ignore[misc]
            window = bits / secs
        else:
            window = harmonic_mean(s.bps for s in samples)
            assert window is not None  # samples are positive (add_sample)
        return min(window, samples[-1].bps)

    def sustained_bps(self) -> float | None:
        """Throughput for stepping up: also the harmonic mean over the long window.

        A rendition is only climbed to when the last ~40 s (not just the last
        burst) carried it, which is what keeps a sawtooth from oscillating.
        """
        short = self.estimate_bps()
        if short is None:
            return None
        long_hm = harmonic_mean(s.bps for s in self._samples)
        assert long_hm is not None  # estimate_bps found samples
        return min(short, long_hm)

    # ------------------------------------------------------------------ decision

    def _sustainable(self, bps: float, fraction: float) -> int:
        """Highest index whose bitrate is <= bps * fraction (0 if none)."""
        best = 0
        for i, rate in enumerate(self.bitrates):
            if rate <= bps * fraction:
                best = i
        return best

    def choose(self, buffer_s: float) -> AbrDecision:
        """Pick the rendition of the next segment given the buffer ahead (seconds)."""
        prev = self._current
        est = self.estimate_bps()
        index, reason = self._decide(max(0.0, buffer_s), est)
        switched = prev is not None and index != prev
        self._since_switch = 0 if (switched or prev is None) else self._since_switch + 1
        self._current = index
        if switched:
            log.debug("ABR switch %d -> %d (%s)", prev, index, reason)
        return AbrDecision(index, self.bitrates[index], reason, switched, est)

    def _decide(self, buffer_s: float, est: float | None) -> tuple[int, str]:
        if self._startup and buffer_s >= self.reservoir_s:
            self._startup = False
        if self._pinned is not None:
            return self._pinned, "pinned by the viewer"
        cur = self._current
        top = len(self.bitrates) - 1
        if est is None:
            if cur is None:
                return 0, "no throughput measured yet: lowest rendition"
            return cur, "no throughput measured yet: keep rendition"
        if cur is None:
            cur = 0

        if self._startup:
            safe = self._sustainable(est, 1.0 / T.ABR_STARTUP_MARGIN)
            if safe > cur:
                return cur + 1, f"startup: {fmt_bitrate(est)} measured, stepping up"
            if safe < cur:
                return safe, f"startup: {fmt_bitrate(est)} measured, stepping down"
            return cur, "startup: keep rendition"

        rate = self.bitrates[cur]
        if buffer_s < T.ABR_PANIC_BUFFER_S and cur > 0:
            return 0, f"buffer nearly empty ({buffer_s:.1f} s): lowest rendition"
        if est < rate:
            lookahead = T.ABR_LOOKAHEAD_SEGMENTS * self.segment_s
            projected = buffer_s - lookahead * (rate / est - 1.0)
            if projected < self.reservoir_s and cur > 0:
                target = min(cur - 1, self._sustainable(est, T.ABR_DOWN_FRACTION))
                return target, (
                    f"throughput {fmt_bitrate(est)} below {fmt_bitrate(rate)}; "
                    f"buffer {buffer_s:.1f} s would fall to {max(projected, 0):.1f} s"
                )
            return cur, f"throughput dip absorbed by a {buffer_s:.1f} s buffer"
        if cur < top:
            nxt = self.bitrates[cur + 1]
            est = self.sustained_bps() or est
            # the bigger segment must not drain the buffer under the panic level
            # even if throughput halves while it downloads
            needed_buffer = max(
                self.reservoir_s,
                T.ABR_PANIC_BUFFER_S + self.segment_s * nxt / (est * T.ABR_UP_DROP_TOLERANCE),
            )
            if (
                est >= nxt * self.up_margin
                and buffer_s >= needed_buffer
                and self._since_switch + 1 >= self.dwell_segments
            ):
                return cur + 1, f"throughput {fmt_bitrate(est)} safely above {fmt_bitrate(nxt)}"
        return cur, "steady"


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
