"""How sure a verdict is: a row's base confidence scaled by sample counts and margins."""

from __future__ import annotations

from player.core import thresholds as T
from player.core.attribution.findings import Findings
from player.core.attribution.hop_stats import Onset
from player.core.attribution.rules import Rule
from player.core.model import Segment


def _sample_factor(n: int, full: int) -> float:
    return T.CONF_SAMPLE_FLOOR + (1 - T.CONF_SAMPLE_FLOOR) * min(1.0, n / full)


def _margin_factor(margin: float) -> float:
    # margin 1 (just over the threshold) -> CONF_MARGIN_FLOOR; >= CONF_FULL_MARGIN -> 1
    if margin <= 1:
        return T.CONF_MARGIN_FLOOR
    frac = min(1.0, (margin - 1) / (T.CONF_FULL_MARGIN - 1))
    return T.CONF_MARGIN_FLOOR + (1 - T.CONF_MARGIN_FLOOR) * frac


def _path_quality(f: Findings, onset: Onset) -> float:
    here = f.hops[onset.pos]
    prev = f.hops[onset.prev_pos] if onset.prev_pos is not None else None
    if here.mode == "spread":
        n = here.n_loaded if prev is None else min(here.n_loaded, prev.n_loaded)
    else:
        n = min(here.n_idle, here.n_loaded if onset.kind == "loaded" else here.n_idle)
        if prev is not None:
            n = min(n, prev.n_idle)
    q = _sample_factor(n, T.CONF_FULL_SAMPLES) * _margin_factor(onset.margin)
    if here.mode == "spread":
        q *= T.CONF_SPREAD_FACTOR  # no idle reference: crowded or too slow cannot be told
    later = onset.confirmed + onset.contradicted
    q *= onset.confirmed / later if later else T.CONF_UNCONFIRMED_FACTOR
    if onset.gradual:
        q *= T.CONF_GRADUAL_FACTOR
    if f.isolated:
        q *= T.CONF_ISOLATED_FACTOR
    if onset.kind == "loaded" and f.shortfall is False:
        q *= T.CONF_NO_SHORTFALL_FACTOR  # throughput was enough: why the stall?
    return q


def _quality(rule: Rule, f: Findings) -> float:
    if rule.segment in (Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT) or (
        rule.key == "server_path"
    ):
        assert f.onset is not None
        return _path_quality(f, f.onset)
    if rule.key == "server_ttfb":
        q = _sample_factor(f.n_ttfb, T.CONF_FULL_TTFB_SAMPLES) * _margin_factor(f.server_margin)
        if f.isolated:
            q *= T.CONF_ISOLATED_FACTOR
        return q
    if rule.key == "server_local":
        return _sample_factor(f.n_throughput, T.CONF_FULL_TTFB_SAMPLES)
    if rule.key in ("device_drops", "device_drops_cpu"):
        floor = max(T.DEVICE_MIN_DROPPED, T.DEVICE_DROP_FRACTION * max(0, f.frames_displayed))
        return _margin_factor(f.frames_dropped / floor if floor else 1.0)
    return 1.0


def cap(rule: Rule, f: Findings, conf: float) -> float:
    """``conf`` within 0..1; missing evidence never yields confidence >= 0.5."""
    if rule.segment is Segment.SERVER and not f.hop_evidence and not f.local_path:
        conf = min(conf, T.MISSING_EVIDENCE_CAP)  # "flat RTTs" could not be checked
    if rule.key == "server_local" and not f.hop_evidence:
        # a loopback host alone is also a port-forward, a local proxy or VPN client: only
        # answering hops, all loopback (local_path), show that no router lies between
        conf = min(conf, T.MISSING_EVIDENCE_CAP)
    if rule.segment is Segment.DEVICE and rule.key == "device_cpu":
        conf = min(conf, T.MISSING_EVIDENCE_CAP)
    return max(0.0, min(1.0, conf))


def score(rule: Rule, f: Findings) -> float:
    """The confidence of ``rule`` on ``f`` (0..1)."""
    return cap(rule, f, rule.base * _quality(rule, f))
