"""Stalls as the viewer lives them: state, verdict refresh cadence, latencies, the notice.

Fed the buffer-health monitor's events; a stall shows "Buffering…" at once, the verdict is
re-made every ``VERDICT_REFRESH_S`` from fresh evidence, and the notice stays up
``NOTICE_LINGER_S`` after the stall ends, then always goes. Repeated stalls merge into one
notice (core/notice_merge: at most two notices a minute; a stall beyond that budget opens
no band, only StallBegan for the status line, and is counted in the next band). How long the first verdict (and the first
one naming a segment) took is recorded on the stall itself; when each notice appeared and
went is in :attr:`StallTracker.notice_log`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from player.core import buffer_health as bh
from player.core import thresholds as T
from player.core.attribution import AttributionInput, attribute, crowding_persisted
from player.core.model import PlaybackState, Segment, Stall, Verdict
from player.core.notice_merge import NoticeBudget, RecentStalls, recently_stepped_down
from player.core.wording import Notice, overlay_notice
from player.session.events import EventSink, NoticeChanged, StallBegan, StallFinished
from player.session.media import OpenMedia

log = logging.getLogger(__name__)

VERDICT_REFRESH_S = 1.0  # re-run attribution this often while stalled
NOTICE_LINGER_S = T.NOTICE_LINGER_S  # keep the notice this long after a stall ends
# Earlier stalls' verdicts kept for the "crowded" bar (a queue seen at an earlier stall too):
# the last few are enough to show persistence, and a long live stream must not grow a list.
PAST_VERDICTS_KEPT = 20


@dataclass(slots=True)
class NoticeRecord:
    """One appearance of the band (session clock): for tests and the report."""

    serial: int
    stall_started_at: float
    shown_at: float  # "Buffering…" appeared
    verdict_at: float | None = None  # the verdict's sentence replaced it
    hidden_at: float | None = None
    recovered_at: float | None = None  # the last merged stall ended
    stalls: int = 1  # stalls in the last NOTICE_WINDOW_S when the latest one joined


@dataclass(slots=True)
class _StallTrack:
    """Attribution bookkeeping for the stall in progress."""

    stall: Stall
    started_at: float  # session clock
    first_verdict_at: float | None = None
    last_verdict_at: float | None = None


class StallTracker:
    """Owner thread only. ``evidence(stall_started_at)`` gathers a verdict's input;
    ``adjusting()`` says whether the player adapts its rendition (Auto)."""

    def __init__(
        self,
        sink: EventSink,
        evidence: Callable[[float | None], AttributionInput],
        adjusting: Callable[[], bool],
        *,
        show_notices: bool = True,
    ) -> None:
        self._sink = sink
        self._evidence = evidence
        self._adjusting = adjusting
        self.show_notices = show_notices
        self._media = OpenMedia()
        self._track: _StallTrack | None = None
        self._notice_until: float | None = None
        self.current_notice: Notice | None = None
        self.current_verdict: Verdict | None = None
        self.budget = NoticeBudget()
        self.recent = RecentStalls()
        self.notice_log: list[NoticeRecord] = []
        self._open: NoticeRecord | None = None  # the band up now
        self._notice_verdict: Verdict | None = None
        self._serial = 0
        # this open's ended stalls' last verdicts, newest last
        self._past_verdicts: deque[Verdict] = deque(maxlen=PAST_VERDICTS_KEPT)

    def reset(self, media: OpenMedia) -> None:
        """A new open: no stall in progress, no notice."""
        self._media = media
        self._track = None
        self._notice_until = None
        self.set_notice(None, None)
        self._open = None
        self._past_verdicts.clear()
        self.budget.reset()
        self.recent.reset()

    @property
    def stall_started_at(self) -> float | None:
        """When the stall in progress began (session clock), None when not stalled."""
        return self._track.started_at if self._track is not None else None

    def feed(self, events: list) -> None:
        """Consume the buffer-health monitor's events."""
        for ev in events:
            if isinstance(ev, bh.StallStarted):
                self._on_stall_started(ev)
            elif isinstance(ev, bh.StallEnded):
                self._on_stall_ended(ev)

    def expire_notice(self, now: float) -> None:
        """Hide the notice once it has lingered ``NOTICE_LINGER_S`` after a stall, always:
        the budget limits how often a band opens, never how long one stays."""
        if self._notice_until is not None and now >= self._notice_until:
            self._notice_until = None
            self.set_notice(None, None)
            if self._open is not None:
                self._open.hidden_at = now
                self._open = None

    def refresh(self, now: float) -> None:
        """Re-make the verdict of the stall in progress (at most every VERDICT_REFRESH_S)."""
        track = self._track
        if track is None:
            return
        if track.last_verdict_at is not None and now - track.last_verdict_at < VERDICT_REFRESH_S:
            return
        adjusting = self._adjusting()
        verdict = self._attribute(track, adjusting)
        track.last_verdict_at = now
        if track.first_verdict_at is None:
            track.first_verdict_at = now
        _record(track.stall, verdict, now - track.started_at)
        self.current_verdict = verdict
        self._show(verdict, now, stalled=True)

    def stalls_as_of(self, now: float) -> list[Stall]:
        """The open's stalls for a report at ``now``: the one in progress (a copy) with a
        verdict re-made from the evidence at ``now``. Changes nothing."""
        stalls = list(self._media.monitor.stalls)
        track = self._track
        if track is None:
            return stalls
        fresh = replace(track.stall)
        _record(fresh, self._attribute(track, self._adjusting()), now - track.started_at)
        return [fresh if s is track.stall else s for s in stalls]

    def _attribute(self, track: _StallTrack, adjusting: bool) -> Verdict:
        """The verdict for the stall in progress. A queue inside the ISP past the access
        link becomes "crowded" only if an earlier stall of this open showed the same queue
        (same ISP, same or a neighbouring hop) while idle too (core's bar:
        :func:`crowding_persisted`), so that verdict is made again with the flag."""
        inp = self._evidence(track.started_at)
        verdict = attribute(inp, adjusting=adjusting)
        if verdict.rule == "isp_core" and crowding_persisted(self._past_verdicts, verdict.onset):
            verdict = attribute(replace(inp, crowding_persisted=True), adjusting=adjusting)
        return verdict

    def _show(self, verdict: Verdict | None, now: float, *, stalled: bool) -> None:
        """(Re)word the band of the stall in progress / just ended."""
        rec = self._open
        if rec is None:
            return
        track = self._track
        started = track.started_at if track is not None else rec.stall_started_at
        stepped_down = self._adjusting() and recently_stepped_down(
            self._media.step_downs, started, now
        )
        n = overlay_notice(
            verdict,
            stalled=stalled,
            stall_age_s=now - started,
            stepped_down=stepped_down,
            stalls=rec.stalls,
            serial=rec.serial,
        )
        if n.segment and rec.verdict_at is None:
            rec.verdict_at = now
        self.set_notice(n, verdict)

    def set_notice(self, n: Notice | None, verdict: Verdict | None) -> None:
        if n == self.current_notice and verdict is self._notice_verdict:
            return
        self.current_notice = n
        self._notice_verdict = verdict
        if n is not None:
            self._notice_until = None
        if self.show_notices or n is None:
            self._sink.emit(NoticeChanged(notice=n, verdict=verdict))

    # -- internals ----------------------------------------------------------------------
    def _on_stall_started(self, ev: bh.StallStarted) -> None:
        monitor = self._media.monitor
        stall = monitor.stalls[-1] if monitor.stalls else Stall(start_s=ev.start_s)
        self._track = _StallTrack(
            stall=stall, started_at=(self._media.opened_at or 0.0) + ev.start_s
        )
        log.info("stall started at %.2f s (buffer %s)", ev.start_s, ev.buffer_ahead_s)
        self._sink.set_state(PlaybackState.STALLED)
        self._sink.emit(StallBegan(start_s=ev.start_s))
        now = self._sink.clock()
        self._open_notice(self._track.started_at, now)
        self._show(None, now, stalled=True)  # "Buffering…" at once, the verdict next
        self.refresh(now)

    def _open_notice(self, stall_started_at: float, now: float) -> None:
        """A stall began: join the band that is up, or open one if the budget allows.
        Either way the stall counts in the band's "Stalled N times in the last minute"."""
        self.recent.began(stall_started_at)
        stalls = self.recent.count(now)
        if self._open is not None:
            self._open.stalls = stalls
            self._open.recovered_at = None
            self._notice_until = None
            return
        if not self.budget.has_room(now):
            # No band: StallBegan still puts "Buffering…" in the status line.
            log.info("notice suppressed: %d notices in the last minute", self.budget.max_per_window)
            return
        self.budget.opened(now)
        self._serial += 1  # never reset: a serial names one band across opens too
        self._open = NoticeRecord(self._serial, stall_started_at, now, stalls=stalls)
        self.notice_log.append(self._open)

    def _on_stall_ended(self, ev: bh.StallEnded) -> None:
        log.info("stall ended after %.2f s (%s)", ev.duration_s, ev.reason)
        # The verdict stands as made during the stall: evidence gathered after
        # the recovery describes a healthy network, not the stall.
        if self._track is not None and self._track.stall.verdict is not None:
            self._past_verdicts.append(self._track.stall.verdict)
        self._track = None
        if self._sink.state is PlaybackState.STALLED:
            self._sink.set_state(PlaybackState.PLAYING)
        now = self._sink.clock()
        if self._open is not None:
            self._open.recovered_at = now
            self._show(self.current_verdict, now, stalled=False)
        self._notice_until = now + NOTICE_LINGER_S
        self._sink.emit(StallFinished(start_s=ev.start_s, duration_s=ev.duration_s))


def _record(stall: Stall, verdict: Verdict, after_s: float) -> None:
    """Put ``verdict`` on ``stall``; note how long after its start the first verdict and
    the first verdict naming a segment came."""
    if stall.verdict_after_s is None:
        stall.verdict_after_s = round(after_s, 3)
    if stall.named_after_s is None and verdict.segment not in (Segment.UNKNOWN, Segment.NONE):
        stall.named_after_s = round(after_s, 3)
    stall.verdict = verdict
