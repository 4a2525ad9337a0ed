"""The JSON emitter: a :class:`~player.core.model.SessionReport` as ``diagnose --json``.

``to_json`` follows DESIGN.md's contract (fields may be added, never renamed); the
``*_json`` helpers are the one serialisation of each part (a hop is listed the same way
in the report and in a path snapshot). Pure: no I/O.
"""

from __future__ import annotations

from player.core.model import Hop, QoE, Segment, SessionReport, Stall, Verdict


def verdict_json(v: Verdict | None) -> dict | None:
    if v is None:
        return None
    return {
        "segment": v.segment.value,
        "culprit": v.culprit,
        "confidence": round(float(v.confidence), 3),
        "message": v.message,
        "rule": getattr(v, "rule", None),
        "evidence": [{"kind": e.kind, "text": e.text, "value": e.value} for e in v.evidence],
        # where the rise starts, as facts (segment, kind, mode, hop, org): an added field
        "onset": v.onset.to_json() if v.onset is not None else None,
    }


def qoe_json(q: QoE) -> dict:
    return {
        "startup_s": None if q.startup_s is None else round(q.startup_s, 3),
        "stall_count": q.stall_count,
        "stall_s": round(q.stall_s, 3),
        "rebuffer_ratio": round(q.rebuffer_ratio, 4),
        "avg_bitrate_kbps": None if q.avg_bitrate_kbps is None else round(q.avg_bitrate_kbps, 1),
        "switches": q.switches,
        "frames_displayed": q.frames_displayed,
        "frames_dropped": q.frames_dropped,
        "glitches": getattr(q, "glitch_count", 0),
    }


def stall_json(s: Stall) -> dict:
    return {
        "start_s": round(s.start_s, 3),
        "duration_s": None if s.duration_s is None else round(s.duration_s, 3),
        "playhead_s": None if s.playhead_s is None else round(s.playhead_s, 3),
        "verdict_after_s": s.verdict_after_s,
        "named_after_s": s.named_after_s,
        "verdict": verdict_json(s.verdict) or verdict_json(Verdict(Segment.UNKNOWN)),
    }


def hop_json(h: Hop) -> dict:
    seg = h.segment.value if isinstance(h.segment, Segment) else h.segment
    return {
        "hop": h.hop,
        "address": h.address,
        "name": h.name,
        "org": h.org,
        "segment": seg,
        "rtt_idle_ms": None if h.rtt_idle_ms is None else round(h.rtt_idle_ms, 2),
        "rtt_loaded_ms": None if h.rtt_loaded_ms is None else round(h.rtt_loaded_ms, 2),
    }


def to_json(r: SessionReport) -> dict:
    return {
        "url": r.url,
        "played_s": round(r.played_s, 2),
        "qoe": qoe_json(r.qoe),
        "stalls": [stall_json(s) for s in r.stalls],
        "verdict": verdict_json(r.verdict),
        "path": [hop_json(h) for h in r.path],
        "fetches": r.fetches,
        "probe": r.probe,
        # origins whose certificate was NOT verified (the viewer's exception); [] normally
        "tls_unverified": list(r.tls_unverified),
    }
