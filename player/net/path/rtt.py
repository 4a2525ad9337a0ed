"""RTT summaries of probe samples: median, p10, p90 and loss per hop, idle and loaded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from player.core.model import ProbeSample
from player.core.stats import percentile


@dataclass(frozen=True, slots=True)
class RttStats:
    """Summary of the answered samples in a set (ms); ``loss`` over the settled samples:
    ``pending`` unanswered ones whose late answer may still come (a probe behind a deep
    queue, :mod:`player.net.path.prober`) count neither as answered nor as lost."""

    count: int
    median_ms: float | None
    p10_ms: float | None
    p90_ms: float | None
    loss: float  # 0..1, unanswered / sent, the pending ones left out of both
    sent: int = 0
    pending: int = 0

    def to_json(self) -> dict:
        return {
            "count": self.count,
            "median_ms": self.median_ms,
            "p10_ms": self.p10_ms,
            "p90_ms": self.p90_ms,
            "loss": self.loss,
            "sent": self.sent,
            "pending": self.pending,
        }


@dataclass(frozen=True, slots=True)
class HopStats:
    hop: int
    address: str | None
    idle: RttStats
    loaded: RttStats

    @property
    def inflation_ms(self) -> float | None:
        """Loaded median minus idle median, when both exist."""
        if self.idle.median_ms is None or self.loaded.median_ms is None:
            return None
        return self.loaded.median_ms - self.idle.median_ms

    def to_json(self) -> dict:
        return {
            "hop": self.hop,
            "address": self.address,
            "idle": self.idle.to_json(),
            "loaded": self.loaded.to_json(),
            "inflation_ms": self.inflation_ms,
        }


def rtt_stats(samples: Sequence[ProbeSample], pending: int = 0) -> RttStats:
    """Median, p10, p90 and loss of a set of samples; ``pending`` of its unanswered samples
    may still be answered late (left out of the loss)."""
    rtts = [s.rtt_ms for s in samples if s.rtt_ms is not None]
    sent = len(samples)
    pending = max(0, min(pending, sent - len(rtts)))
    settled = sent - pending
    loss = (settled - len(rtts)) / settled if settled else 0.0
    return RttStats(
        len(rtts),
        percentile(rtts, 0.5),
        percentile(rtts, 0.1),
        percentile(rtts, 0.9),
        loss,
        sent,
        pending,
    )
