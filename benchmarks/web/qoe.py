"""Scoring one playback from the origin's served-segment log (pure: no I/O).

The same measure for every player: which representation of each segment the origin
delivered in full (the last complete delivery of a segment number wins, so a segment a
player fetched again at another quality counts as the one it kept), over the segments that
cover the media the player actually played.

Linear QoE, as in the ABR literature (Yin et al., "A Control-Theoretic Approach for
Dynamic Adaptive Video Streaming over HTTP", SIGCOMM 2015, QoE_lin; also Pensieve and
others): ``sum_k R_k - 4.3 * rebuffer_s - sum_k |R_{k+1} - R_k|`` with ``R_k`` the chosen
bitrate of segment ``k`` in Mbit/s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Penalty per second of rebuffering, in Mbit/s-segments: the paper's mu = 4.3 (its top
#: rendition in Mbit/s), kept as is so numbers compare with the literature.
REBUFFER_PENALTY = 4.3
#: A segment counts as played once at least this much of it (s) was played.
PLAYED_MIN_S = 0.05


@dataclass(frozen=True)
class ServedSegment:
    """One delivery of a video segment by the origin."""

    number: int  # the segment number in the manifest (1-based here)
    rendition: int  # index into the ladder's bitrates
    finished_s: float  # when the body finished (or broke), origin clock
    completed: bool


@dataclass(frozen=True)
class Score:
    segments: tuple[int, ...]  # the rendition of each played segment, in order
    avg_bitrate_kbps: float | None
    switches: int
    qoe: float


def played_renditions(
    served: Sequence[ServedSegment], played_s: float, segment_s: float, first_number: int = 1
) -> tuple[int, ...]:
    """The rendition each played segment was delivered in (segments never delivered in
    full are left out)."""
    count = max(0, math.ceil((played_s - PLAYED_MIN_S) / segment_s))
    last: dict[int, tuple[float, int]] = {}
    for s in served:
        if s.completed and (s.number not in last or s.finished_s >= last[s.number][0]):
            last[s.number] = (s.finished_s, s.rendition)
    numbers = range(first_number, first_number + count)
    return tuple(last[n][1] for n in numbers if n in last)


def switch_count(renditions: Sequence[int]) -> int:
    return sum(1 for a, b in zip(renditions, renditions[1:], strict=False) if a != b)


def linear_qoe(bitrates_mbps: Sequence[float], rebuffer_s: float) -> float:
    """``sum R_k - 4.3 * rebuffer_s - sum |R_{k+1} - R_k|`` (bitrates in Mbit/s)."""
    quality = sum(bitrates_mbps)
    smoothness = sum(abs(b - a) for a, b in zip(bitrates_mbps, bitrates_mbps[1:], strict=False))
    return quality - REBUFFER_PENALTY * rebuffer_s - smoothness


def score(
    served: Sequence[ServedSegment],
    bitrates_bps: Sequence[int],
    played_s: float,
    segment_s: float,
    rebuffer_s: float,
) -> Score:
    """Average bitrate, switches and linear QoE of one playback."""
    reps = played_renditions(served, played_s, segment_s)
    mbps = [bitrates_bps[r] / 1e6 for r in reps]
    avg = sum(bitrates_bps[r] for r in reps) / len(reps) / 1000 if reps else None
    return Score(reps, avg, switch_count(reps), linear_qoe(mbps, rebuffer_s))


def ratio_to_best(ours: float, peers: Sequence[float]) -> float | None:
    """``ours / best peer`` when the best peer's QoE is positive (a ratio of negative
    scores means nothing), else None."""
    if not peers:
        return None
    best = max(peers)
    return ours / best if best > 0 else None
