"""Server-side bandwidth traces shared by the ABR benchmarks (``bench_abr.py``,
``bench_web_players.py``).

A trace is ``[(t_s, bits_per_s), ...]`` for :meth:`player.demo.origin.ThrottledOrigin.
set_rate_trace`: the rate of the origin's one shared bottleneck from ``t_s`` on. The
numbers are written for a ladder whose top rendition is about 2 Mbit/s (``bench_abr``:
0.3 / 0.7 / 2 Mbit/s) and multiplied by ``scale`` for another ladder (``bench_web_players``
uses 3 for its 1 / 3 / 6 Mbit/s ladder), so every trace keeps its meaning: which
renditions fit, and when.

* ``step_down``: plenty (2x the top) for 8 s, then a link that carries only the middle
  rendition: does the player come down in time?
* ``sawtooth``: 6 s of 1.5x the top, 6 s of 0.3x, repeated: a player that follows the
  last sample oscillates; one that is too careful stays low.
* ``bursty``: a seeded random rate from 0.17x to 2.5x the top, changing every 1-4 s.
* ``slow_ramp``: from below the lowest rendition (0.2 Mbit/s) up to 2.5x the top over
  40 s in 2 s steps: how soon does the player climb, without stalling at the start?
* ``lte_like``: **synthetic** 4G-like throughput (no public throughput dataset ships in a
  package that can be installed here, so none is replayed): a seeded log-normal AR(1)
  process sampled every second (the multi-second fades of published LTE drive traces),
  with occasional 1-3 s handover dips to 10-25 % of the current rate.
"""

from __future__ import annotations

import math
import random

Trace = list[tuple[float, float]]

SEED = 7  # every run plays the same "random" traces
TRACE_S = 120.0  # generated traces cover this much time (longer than any run)

# lte_like: the process's median (bits/s at scale 1, about the middle of the 0.3-2 Mbit/s
# ladder's range), AR(1) memory per 1 s step, the step noise (log units), clamps, and the
# per-second chance of a handover dip.
LTE_MEDIAN_BPS = 1_200_000
LTE_PHI = 0.85
LTE_SIGMA = 0.35
LTE_MIN_BPS, LTE_MAX_BPS = 150_000, 5_000_000
LTE_DIP_P = 0.04


def _bursty(rng: random.Random) -> Trace:
    out, t = [], 0.0
    while t < TRACE_S:
        out.append((t, rng.choice([350_000, 600_000, 900_000, 1_500_000, 3_000_000, 5_000_000])))
        t += rng.uniform(1.0, 4.0)
    return out


def _slow_ramp() -> Trace:
    lo, hi, ramp_s, step_s = 200_000, 5_000_000, 40.0, 2.0
    n = int(ramp_s / step_s)
    return [(i * step_s, lo + (hi - lo) * i / n) for i in range(n + 1)]


def _lte_like(rng: random.Random) -> Trace:
    out: Trace = []
    x = math.log(LTE_MEDIAN_BPS)
    mu = x
    dip_left = 0
    for t in range(int(TRACE_S)):
        x = mu + LTE_PHI * (x - mu) + rng.gauss(0.0, LTE_SIGMA)
        bps = min(LTE_MAX_BPS, max(LTE_MIN_BPS, math.exp(x)))
        if dip_left == 0 and rng.random() < LTE_DIP_P:
            dip_left = rng.randint(1, 3)
        if dip_left:
            bps = max(LTE_MIN_BPS / 2, bps * rng.uniform(0.10, 0.25))
            dip_left -= 1
        out.append((float(t), round(bps)))
    return out


def traces(seed: int = SEED, scale: float = 1.0) -> dict[str, Trace]:
    """The five named traces (in benchmark order), rates multiplied by ``scale``."""
    rng = random.Random(seed)
    base: dict[str, Trace] = {
        "step_down": [(0.0, 4_000_000), (8.0, 700_000)],
        "sawtooth": [(0.0, 3_000_000), (6.0, 600_000), (12.0, 3_000_000), (18.0, 600_000),
                     (24.0, 3_000_000), (30.0, 600_000), (36.0, 3_000_000)],
        "bursty": _bursty(rng),
        "slow_ramp": _slow_ramp(),
        "lte_like": _lte_like(random.Random(seed + 1)),
    }  # fmt: skip
    return {name: [(t, bps * scale) for t, bps in tr] for name, tr in base.items()}


def mean_bps(trace: Trace, until_s: float) -> float:
    """The trace's time-averaged rate over ``[0, until_s)`` (for the report)."""
    total = 0.0
    pts = sorted(trace)
    for i, (t, bps) in enumerate(pts):
        if t >= until_s:
            break
        end = min(until_s, pts[i + 1][0] if i + 1 < len(pts) else until_s)
        total += bps * (end - t)
    return total / until_s if until_s > 0 else 0.0
