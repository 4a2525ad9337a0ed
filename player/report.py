"""Emitters for a :class:`~player.core.model.SessionReport`: one function per format.

``to_json`` follows DESIGN.md's ``diagnose --json`` contract (fields may be added,
never renamed); ``to_text`` is the human summary. Pure: no I/O.
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
    }


def to_text(r: SessionReport) -> str:
    q = r.qoe
    lines = [f"Stallwatch diagnosis of {r.url}", f"  played {r.played_s:.1f} s"]
    if q.startup_s is not None:
        lines.append(f"  startup {q.startup_s:.2f} s")
    lines.append(
        f"  stalls: {q.stall_count} ({q.stall_s:.1f} s, rebuffer ratio {q.rebuffer_ratio:.1%}); "
        f"switches: {q.switches}; frames shown/dropped: {q.frames_displayed}/{q.frames_dropped}"
    )
    if q.avg_bitrate_kbps is not None:
        lines.append(f"  average bitrate {q.avg_bitrate_kbps:.0f} kbit/s")
    for i, s in enumerate(r.stalls, 1):
        v = s.verdict
        what = f"{v.segment.value} ({v.confidence:.0%})" if v else "unknown"
        dur = "ongoing" if s.duration_s is None else f"{s.duration_s:.1f} s"
        lines.append(f"  stall {i}: at {s.start_s:.1f} s for {dur} -> {what}")
    v = r.verdict
    lines.append("")
    if v.segment is Segment.NONE:
        lines.append("Verdict: no stall; nothing to blame.")
    else:
        culprit = f" — {v.culprit}" if v.culprit else ""
        lines.append(f"Verdict: {v.segment.value}{culprit} (confidence {v.confidence:.0%})")
        if v.message:
            lines.append(f"  {v.message}")
        for e in v.evidence:
            lines.append(f"  · {e.text}")
    if r.path:
        lines.append("")
        lines.append("Path:")
        for h in r.path:
            idle = "—" if h.rtt_idle_ms is None else f"{h.rtt_idle_ms:.1f} ms"
            loaded = "—" if h.rtt_loaded_ms is None else f"{h.rtt_loaded_ms:.1f} ms"
            seg = h.segment.value if isinstance(h.segment, Segment) else h.segment
            lines.append(f"  {h.hop:2d}  {h.name or h.address or '*':40.40s} {h.org or '':18.18s} {seg:13s} idle {idle:>9s}  loaded {loaded:>9s}")
    f = r.fetches or {}
    if f:
        lines.append("")
        lines.append(
            f"Fetches: {f.get('count', 0)} ({f.get('bytes', 0) / 1e6:.1f} MB), retries {f.get('retries', 0)}, "
            f"resumed {f.get('resumed', 0)}, errors {f.get('errors', 0)}"
        )
        if not f.get("per_segment_data", True):
            lines.append("  per-segment data unavailable (VLC fetched this stream directly)")
    return "\n".join(lines)
