"""The one copy of the small statistics every layer uses: percentile, median, robust sigma."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

MAD_TO_SIGMA = 1.4826  # median absolute deviation -> standard deviation of a normal law
# RunningMedian: a session's first EXACT_MEDIAN_VALUES values are kept, so the median of a
# short session is exact; past that the values are only counted in log-spaced buckets
# MEDIAN_BUCKET_RATIO wide (the median is its bucket's centre, within 0.5 % of the middle
# value: finer than anyone reads a median TTFB or throughput). Values are clamped to
# MEDIAN_RANGE (milliseconds and bits per second both fit), so at most ~4 200 buckets
# exist however long the session.
EXACT_MEDIAN_VALUES = 1024
MEDIAN_BUCKET_RATIO = 1.01
MEDIAN_RANGE = (1e-6, 1e12)


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


class RunningMedian:
    """The median of a stream of values in bounded memory (see EXACT_MEDIAN_VALUES).

    Values <= 0 count as 0 (they have no bucket on a log scale)."""

    __slots__ = ("_buckets", "_exact", "_zeros", "count")

    def __init__(self) -> None:
        self.count = 0
        self._exact: list[float] | None = []  # None once the values are only bucketed
        self._buckets: dict[int, int] = {}  # bucket index -> values in it
        self._zeros = 0

    def add(self, value: float) -> None:
        self.count += 1
        if self._exact is None:
            self._bucket(value)
            return
        self._exact.append(float(value))
        if len(self._exact) > EXACT_MEDIAN_VALUES:
            for v in self._exact:
                self._bucket(v)
            self._exact = None

    def median(self) -> float | None:
        """The exact median of the first EXACT_MEDIAN_VALUES values, then an estimate."""
        if self._exact is not None:
            return median(self._exact)
        rank = self.count // 2  # 0-based rank of the (upper) middle value
        seen = self._zeros
        if rank < seen:
            return 0.0
        for k in sorted(self._buckets):
            seen += self._buckets[k]
            if rank < seen:
                return MEDIAN_BUCKET_RATIO ** (k + 0.5)
        return None  # not reached: the buckets hold every value

    def _bucket(self, value: float) -> None:
        if value <= 0:
            self._zeros += 1
            return
        v = min(max(value, MEDIAN_RANGE[0]), MEDIAN_RANGE[1])
        k = math.floor(math.log(v) / math.log(MEDIAN_BUCKET_RATIO))
        self._buckets[k] = self._buckets.get(k, 0) + 1
