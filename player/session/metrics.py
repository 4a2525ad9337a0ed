"""The session's numbers for the viewer and the report: QoE, the stats view, the fetch summary.

Pure functions of what the session knows; none of them changes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from player.core import evidence
from player.core import explain as why
from player.core.attribution import overall_from_stalls
from player.core.model import PlaybackState, QoE, Segment, SessionReport, Stall, Verdict
from player.core.stats import median
from player.core.wording import explain as why_say
from player.core.wording import notice_text
from player.core.wording import playback as say
from player.session.events import StatsView
from player.session.factories import PathSnapshotLike
from player.session.media import OpenMedia

if TYPE_CHECKING:
    from player.session.facade import Session


def qoe(media: OpenMedia, frames_displayed: int, frames_dropped: int) -> QoE:
    """The monitor's QoE with libVLC's own picture counts (and a bitrate from fetches)."""
    q = media.monitor.qoe()
    q.frames_displayed = frames_displayed
    q.frames_dropped = max(q.frames_dropped, frames_dropped)
    if q.avg_bitrate_kbps is None:
        mean_bps = media.fetches.totals.mean_rendition_bitrate_bps  # every fetch, O(1)
        if mean_bps is not None:
            q.avg_bitrate_kbps = round(mean_bps / 1000.0, 1)
    return q


def stats_view(
    media: OpenMedia,
    *,
    state: PlaybackState,
    q: QoE,
    history: Iterable[tuple[float, float | None, float | None, float | None]],
    pinned: bool,
    video_size: tuple[int, int],
) -> StatsView:
    """Everything the statistics panel shows (``video_size``: libVLC's, (0, 0) if none)."""
    fetches = media.fetches
    last = fetches.totals.last_media or fetches.last  # O(1): this runs on every refresh
    rend = media.playing_rendition
    view = StatsView(
        state=state.value,
        buffer_ahead_s=media.monitor.buffer_ahead_s,
        frames_displayed=q.frames_displayed,
        frames_dropped=q.frames_dropped,
        stall_count=q.stall_count,
        stall_s=q.stall_s,
        fetch_count=fetches.totals.count,
        history=list(history),
    )
    if rend is not None:
        view.rendition = say.rendition_position(rend.index, len(media.renditions), pinned)
        view.bitrate_bps = float(rend.bandwidth)
        if rend.resolution:
            view.resolution = f"{rend.resolution[0]}x{rend.resolution[1]}"
    if view.resolution is None:
        w, h = video_size
        view.resolution = f"{w}x{h}" if w and h else None
    if last is not None:
        view.host = last.host or None
        view.connection_reused = last.reused_connection
        view.ttfb_ms = last.ttfb_ms
    view.throughput_bps = evidence.recent_throughput(fetches)
    notes = []
    if not media.per_segment_data:
        notes.append(say.NO_SEGMENT_DATA)
    if media.mode_note:
        notes.append(media.mode_note)
    if media.notes:
        notes.append(media.notes[-1])
    view.note = " ".join(notes)
    return view


def fetch_summary(media: OpenMedia, snap: PathSnapshotLike | None) -> dict:
    """The report's ``fetches`` object (DESIGN.md), from the log's running totals of every
    fetch of the open (constant time and memory however long it runs). The medians are
    exact up to stats.EXACT_MEDIAN_VALUES values, then within 0.5 % (stats.RunningMedian)."""
    t = media.fetches.totals
    video_bytes = t.bytes
    probe_bytes = snap.probe_bytes if snap else 0
    ttfb_median = t.ttfb_ms.median()
    tput_median = t.segment_throughput_bps.median()
    return {
        "count": t.count,
        "by_kind": dict(t.by_kind),
        "bytes": video_bytes,
        "errors": t.errors,
        "retries": t.retries,
        "resumed": t.resumed,
        "reused_connections": t.reused_connections,
        "ttfb_ms_median": None if ttfb_median is None else round(ttfb_median, 1),
        "throughput_kbps_median": None if tput_median is None else round(tput_median / 1000.0, 1),
        **flow_summary(media),
        "per_segment_data": media.per_segment_data,
        "probe_bytes": probe_bytes,
        "probe_ratio": round(probe_bytes / video_bytes, 5) if video_bytes else None,
        "notes": list(media.notes),
    }


def flow_summary(media: OpenMedia) -> dict:
    """The video flow's own TCP signals over the fetch log's window (FETCH_WINDOW records):
    the receiver RTT at the end of each video download, its lowest and median, and the
    out-of-order packets (losses on the way) seen; None where the OS gave no TCP_INFO."""
    rtts: list[float] = []
    ooo: int | None = None
    for f in media.fetches:
        fl = f.flow
        if fl is None or f.kind not in evidence.MEDIA_KINDS:
            continue
        if fl.rcv_rtt_end_ms is not None:
            rtts.append(fl.rcv_rtt_end_ms)
        if fl.ooo_packets is not None:
            ooo = (ooo or 0) + fl.ooo_packets
    mid = median(rtts)
    return {
        "rcv_rtt_ms_min": round(min(rtts), 2) if rtts else None,
        "rcv_rtt_ms_median": None if mid is None else round(mid, 2),
        "ooo_packets": ooo,
    }


def session_report(
    media: OpenMedia,
    *,
    state: PlaybackState,
    q: QoE,
    stalls: Sequence[Stall],
    snap: PathSnapshotLike | None,
) -> SessionReport:
    """The session so far, in the shape of DESIGN.md's ``diagnose --json``."""
    stalls = list(stalls)
    overall = overall_from_stalls(stalls) if stalls else Verdict(Segment.NONE, confidence=1.0)
    played = 0.0
    if media.opened_at is not None:
        played = (media.last_position_s or 0.0) if state is PlaybackState.ENDED else 0.0
        played = max(played, media.monitor.time_in(PlaybackState.PLAYING))
    probe = {"status": "not_run", "method": "none", "reason": "", "probe_bytes": 0}
    if snap is not None:
        probe = {
            "status": snap.status.value,
            "method": snap.method,
            "reason": snap.reason,
            "probe_bytes": snap.probe_bytes,
        }
    return SessionReport(
        probe=probe,
        url=media.source or "",
        played_s=round(played, 2),
        qoe=q,
        stalls=stalls,
        verdict=overall,
        path=snap.hops if snap else [],
        fetches=fetch_summary(media, snap),
        tls_unverified=list(media.tls_unverified),
    )


def switch_marks(history: Sequence[tuple[float, float | None, float | None, float | None]]) -> list[float]:
    """When the playing rendition's bitrate changed, on the history's clock."""
    marks = []
    prev = None
    for t, _buf, _tput, bitrate in history:
        if bitrate is not None:
            if prev is not None and bitrate != prev:
                marks.append(t)
            prev = bitrate
    return marks


def latest_verdict(session: Session) -> Verdict | None:
    """The stall in progress' verdict, else the last finished stall's."""
    if session.current_verdict is not None:
        return session.current_verdict
    return next((s.verdict for s in reversed(session.monitor.stalls) if s.verdict is not None), None)


def detailed_stats(session: Session) -> StatsView:
    """The statistics panel's view: ``Session.stats`` plus the path, the last downloads,
    the codecs, CPU, the verdict and the stall/switch markers. Reads only."""
    view = session.stats()
    media = session.media
    snap = session.path_snapshot()
    view.hops = why.hop_rows(snap.hops) if snap is not None else []
    view.last_fetches = why.fetch_rows(media.fetches)
    plays = session.lifecycle.plays(session.opening.gen)
    view.codecs = session.player.track_codecs() if plays else []
    view.cpu_player_pct = session.sampler.proc_cpu
    view.cpu_system_pct = session.sampler.sys_cpu
    v = latest_verdict(session)
    if v is not None and v.segment is not Segment.NONE:
        view.verdict = notice_text(v)
        view.confidence = why_say.confidence_words(v.segment, v.confidence)
    if media.opened_at is not None:
        view.stall_marks = [media.opened_at + s.start_s for s in media.monitor.stalls]
    view.switch_marks = switch_marks(view.history)
    return view


def explanation(session: Session) -> why.Explanation:
    """The "Why?" window's model for the session so far (reads only, no network)."""
    report = session.report()
    inp = session.attribution_input()
    # during a stall its own verdict (made from the evidence now), else the session's overall
    stalling = session.tracker.stall_started_at is not None and report.stalls
    v = report.stalls[-1].verdict if stalling else report.verdict
    return why.explain(
        v,
        report.path,
        session.media.fetches,
        probe_status=str(report.probe.get("status", "not_run")),
        probe_reason=str(report.probe.get("reason", "")),
        needed_bitrate_bps=inp.fetch.needed_bitrate_bps,
        device=inp.device,
        fetch_evidence=inp.fetch,
    )
