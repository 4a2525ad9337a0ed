"""Stalls as the viewer lives them: state, verdict refresh cadence, latencies, the notice.

Fed the buffer-health monitor's events; while a stall lasts the verdict is re-made every
``VERDICT_REFRESH_S`` from fresh evidence, and the notice stays up ``NOTICE_LINGER_S`` after
the stall ends. How long the first verdict (and the first one naming a segment) took is
recorded on the stall itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from player.core import buffer_health as bh
from player.core.attribution import AttributionInput, attribute
from player.core.model import PlaybackState, Segment, Stall, Verdict
from player.core.wording import Notice, notice
from player.session.events import EventSink, NoticeChanged, StallBegan, StallFinished
from player.session.media import OpenMedia

log = logging.getLogger(__name__)

VERDICT_REFRESH_S = 1.0  # re-run attribution this often while stalled
NOTICE_LINGER_S = 4.0  # keep the notice this long after a stall ends


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

    def reset(self, media: OpenMedia) -> None:
        """A new open: no stall in progress, no notice."""
        self._media = media
        self._track = None
        self._notice_until = None
        self.set_notice(None, None)

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
        """Hide the notice once it has lingered long enough after a stall."""
        if self._notice_until is not None and now >= self._notice_until:
            self._notice_until = None
            self.set_notice(None, None)

    def refresh(self, now: float) -> None:
        """Re-make the verdict of the stall in progress (at most every VERDICT_REFRESH_S)."""
        track = self._track
        if track is None:
            return
        if track.last_verdict_at is not None and now - track.last_verdict_at < VERDICT_REFRESH_S:
            return
        adjusting = self._adjusting()
        verdict = attribute(self._evidence(track.started_at), adjusting=adjusting)
        track.last_verdict_at = now
        if track.first_verdict_at is None:
            track.first_verdict_at = now
        _record(track.stall, verdict, now - track.started_at)
        self.current_verdict = verdict
        if verdict.segment is not Segment.NONE:
            self.set_notice(notice(verdict, adjusting=adjusting), verdict)

    def stalls_as_of(self, now: float) -> list[Stall]:
        """The open's stalls for a report at ``now``: the one in progress (a copy) with a
        verdict re-made from the evidence at ``now``. Changes nothing."""
        stalls = list(self._media.monitor.stalls)
        track = self._track
        if track is None:
            return stalls
        fresh = replace(track.stall)
        _record(fresh, attribute(self._evidence(track.started_at), adjusting=self._adjusting()), now - track.started_at)
        return [fresh if s is track.stall else s for s in stalls]

    def set_notice(self, n: Notice | None, verdict: Verdict | None) -> None:
        if n == self.current_notice:
            return
        self.current_notice = n
        if n is not None:
            self._notice_until = None
        if self.show_notices or n is None:
            self._sink.emit(NoticeChanged(notice=n, verdict=verdict))

    # -- internals ----------------------------------------------------------------------
    def _on_stall_started(self, ev: bh.StallStarted) -> None:
        monitor = self._media.monitor
        stall = monitor.stalls[-1] if monitor.stalls else Stall(start_s=ev.start_s)
        self._track = _StallTrack(stall=stall, started_at=(self._media.opened_at or 0.0) + ev.start_s)
        log.info("stall started at %.2f s (buffer %s)", ev.start_s, ev.buffer_ahead_s)
        self._sink.set_state(PlaybackState.STALLED)
        self._sink.emit(StallBegan(start_s=ev.start_s))
        self.refresh(self._sink.clock())

    def _on_stall_ended(self, ev: bh.StallEnded) -> None:
        log.info("stall ended after %.2f s (%s)", ev.duration_s, ev.reason)
        # The verdict stands as made during the stall: evidence gathered after
        # the recovery describes a healthy network, not the stall.
        self._track = None
        if self._sink.state is PlaybackState.STALLED:
            self._sink.set_state(PlaybackState.PLAYING)
        self._notice_until = self._sink.clock() + NOTICE_LINGER_S
        self._sink.emit(StallFinished(start_s=ev.start_s, duration_s=ev.duration_s))


def _record(stall: Stall, verdict: Verdict, after_s: float) -> None:
    """Put ``verdict`` on ``stall``; note how long after its start the first verdict and
    the first verdict naming a segment came."""
    if stall.verdict_after_s is None:
        stall.verdict_after_s = round(after_s, 3)
    if stall.named_after_s is None and verdict.segment not in (Segment.UNKNOWN, Segment.NONE):
        stall.named_after_s = round(after_s, 3)
    stall.verdict = verdict
