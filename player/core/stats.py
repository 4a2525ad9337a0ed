"""The one copy of the small statistics every layer uses: percentile, median, robust sigma."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

MAD_TO_SIGMA = 1.4826  # median absolute deviation -> standard deviation of a normal law


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear-interpolated percentile, ``q`` in 0..1 (clamped); values need not be sorted.

    None for no values.
    """
    xs = sorted(float(v) for v in values)
    if not xs:
        return None
    pos = (len(xs) - 1) * min(1.0, max(0.0, q))
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(values: Iterable[float]) -> float | None:
    """Median, or None for no values."""
    xs = list(values)
    return float(statistics.median(xs)) if xs else None


def robust_sigma(values: Iterable[float]) -> float:
    """Median absolute deviation scaled to a normal sigma (0 for fewer than two values)."""
    xs = list(values)
    if len(xs) < 2:
        return 0.0
    med = statistics.median(xs)
    return MAD_TO_SIGMA * statistics.median(abs(v - med) for v in xs)


def harmonic_mean(values: Iterable[float]) -> float | None:
    """Harmonic mean of positive values (throughputs), None when there are none."""
    xs = [v for v in values if v > 0]
    return len(xs) / sum(1.0 / v for v in xs) if xs else None
