"""The text emitter: a :class:`~player.core.model.SessionReport` as the human summary.

What ``stallwatch diagnose`` prints without ``--json``. Pure: no I/O.
"""

from __future__ import annotations

from player.core.model import Segment, SessionReport
from player.core.units import NO_VALUE, fmt_bitrate, fmt_ms
from player.core.wording.tls import report_line


def to_text(r: SessionReport) -> str:
    """The multi-line summary: QoE, each stall, the verdict with its evidence, path, fetches."""
    q = r.qoe
    lines = [f"Stallwatch diagnosis of {r.url}", f"  played {r.played_s:.1f} s"]
    if r.tls_unverified:
        lines.append(f"  {report_line(r.tls_unverified)}")
    if q.startup_s is not None:
        lines.append(f"  startup {q.startup_s:.2f} s")
    lines.append(
        f"  stalls: {q.stall_count} ({q.stall_s:.1f} s, rebuffer ratio {q.rebuffer_ratio:.1%}); "
        f"switches: {q.switches}; frames shown/dropped: {q.frames_displayed}/{q.frames_dropped}"
    )
    if q.avg_bitrate_kbps is not None:
        lines.append(f"  average bitrate {fmt_bitrate(q.avg_bitrate_kbps * 1000)}")
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
            idle = NO_VALUE if h.rtt_idle_ms is None else fmt_ms(h.rtt_idle_ms)
            loaded = NO_VALUE if h.rtt_loaded_ms is None else fmt_ms(h.rtt_loaded_ms)
            seg = h.segment.value if isinstance(h.segment, Segment) else h.segment
            where = h.name or h.address or "*"
            lines.append(
                f"  {h.hop:2d}  {where:40.40s} {h.org or '':18.18s} {seg:13s} "
                f"idle {idle:>9s}  loaded {loaded:>9s}"
            )
    f = r.fetches or {}
    if f:
        lines.append("")
        lines.append(
            f"Fetches: {f.get('count', 0)} ({f.get('bytes', 0) / 1e6:.1f} MB), "
            f"retries {f.get('retries', 0)}, resumed {f.get('resumed', 0)}, "
            f"errors {f.get('errors', 0)}"
        )
        if not f.get("per_segment_data", True):
            lines.append("  per-segment data unavailable (VLC fetched this stream directly)")
    return "\n".join(lines)
