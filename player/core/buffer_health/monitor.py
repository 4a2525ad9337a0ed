"""The buffer-health monitor: playback samples -> states, stalls, glitches and QoE.

The monitor is fed :class:`~player.core.model.BufferSample` objects at roughly
10-20 Hz plus explicit pause/resume/seek/end calls, and turns them into plain
event objects. It never reads a clock: every time comes from ``sample.at`` (or
the ``at`` argument of the explicit calls), so tests can drive synthetic
timelines in milliseconds.

Signals, strongest first:

* ``frames_displayed`` - distinct decoded pictures. When it stops increasing
  the picture is frozen. The freeze threshold scales with the observed frame
  interval so that 1-5 fps stills are not mistaken for stalls while 24-60 fps
  video is judged within 0.5 s.
* ``delivered_media_s - playhead_s`` (buffer ahead) - tells a rebuffering
  stall (buffer empty) from a player glitch (picture frozen with a full buffer,
  e.g. while VLC recreates its video output on a rendition switch).
* ``playhead_s`` - libVLC's ``get_time`` moves in coarse 0.26-1.1 s steps. It is
  only used when no frame counter is available, and to notice that the media
  clock keeps running while the picture is frozen (then it is not a stall).

All event times are seconds since the session start (``session_start``), the
same clock as :attr:`player.core.model.Stall.start_s`.
"""

from __future__ import annotations

import logging

from player.core.buffer_health.accounting import Accounting
from player.core.buffer_health.events import Event, Glitch
from player.core.buffer_health.freezes import FreezeTracker
from player.core.buffer_health.machine import EPS, StateMachine
from player.core.buffer_health.signals import PlaybackSignals
from player.core.model import BufferSample, PlaybackState, QoE, Stall

log = logging.getLogger(__name__)


class BufferHealthMonitor:
    """Turns playback samples into states, stall/glitch events and QoE.

    Feed it with :meth:`feed`; every public method returns the list of events it
    caused (possibly empty). ``session_start`` is the monotonic time the viewer
    asked to play; when omitted the first sample's time is used.
    """

    def __init__(self, session_start: float | None = None) -> None:
        self._t0: float | None = session_start
        self._last_at: float | None = None
        self._sig = PlaybackSignals()
        self._freezes = FreezeTracker(self._sig, self._rel)
        self._machine = StateMachine(self._sig, self._freezes, self._rel)
        self._acct = Accounting()
        # explicit (edge-triggered) controls; sample flags are level-triggered
        self._explicit_pause = False
        self._explicit_seek = False
        self._seek_frames = 0  # new pictures since on_seek
        self._ended = False

    # ------------------------------------------------------------------ properties

    @property
    def state(self) -> PlaybackState:
        """Current playback state."""
        return self._machine.state

    @property
    def session_start(self) -> float | None:
        """Monotonic time of the session start (None before the first input)."""
        return self._t0

    @property
    def startup_s(self) -> float | None:
        """Session start -> first picture, None until it appeared."""
        return self._machine.startup_s

    @property
    def buffer_ahead_s(self) -> float | None:
        """Media delivered by the gateway minus the playhead; None when unknown."""
        return self._sig.buffer_ahead

    @property
    def frames_dropped_while_healthy(self) -> int:
        """Dropped/late pictures counted while the buffer was healthy (device evidence)."""
        return self._sig.dropped_healthy

    @property
    def frame_interval_s(self) -> float | None:
        """Median observed time between new pictures, None until enough were seen."""
        return self._sig.frame_interval_s

    @property
    def freeze_threshold_s(self) -> float:
        """How long without a new picture counts as a freeze right now."""
        return self._sig.freeze_threshold_s

    @property
    def stalls(self) -> list[Stall]:
        """Every stall so far (the last one may be ongoing: ``duration_s`` None)."""
        return self._freezes.stalls

    @property
    def glitches(self) -> list[Glitch]:
        """Every glitch so far (the last one may be ongoing)."""
        return self._freezes.glitches

    @property
    def glitch_count(self) -> int:
        """Finished glitches (picture freezes with a healthy buffer)."""
        return self._freezes.glitch_count

    def qoe(self) -> QoE:
        """Quality-of-experience summary up to the last input."""
        now_s = (
            self._last_at - self._t0 if self._last_at is not None and self._t0 is not None else None
        )
        stall_s = self._freezes.stall_seconds(now_s)
        watch_s = self._acct.watch_s
        return QoE(
            startup_s=self._machine.startup_s,
            stall_count=len(self.stalls),
            stall_s=stall_s,
            rebuffer_ratio=min(1.0, stall_s / watch_s) if watch_s > 0 else 0.0,
            avg_bitrate_kbps=self._acct.avg_kbps(),
            switches=self._acct.switches,
            frames_displayed=self._sig.frames,
            frames_dropped=self._sig.frames_dropped,
            glitch_count=self.glitch_count,
        )

    def time_in(self, state: PlaybackState) -> float:
        """Seconds spent in ``state`` so far."""
        return self._acct.time_in[state]

    # ------------------------------------------------------------------ explicit inputs

    def start(self, at: float) -> list[Event]:
        """The viewer asked to play at ``at``: enter STARTUP."""
        if self._t0 is None:
            self._t0 = at
        if self._last_at is None:
            self._last_at = at
        if self._machine.state is PlaybackState.IDLE:
            return [self._machine.set_state(PlaybackState.STARTUP, at, "session started")]
        return []

    def on_pause(self, at: float) -> list[Event]:
        """The viewer paused."""
        self._explicit_pause = True
        return self._explicit_step(at)

    def on_resume(self, at: float) -> list[Event]:
        """The viewer resumed after a pause."""
        self._explicit_pause = False
        return self._explicit_step(at)

    def on_seek(self, at: float) -> list[Event]:
        """The viewer seeked; seeking lasts until new pictures appear (two at >10 fps).

        A feeder that knows better when the seek completed can instead set
        ``BufferSample.seeking`` for as long as it lasts.
        """
        self._explicit_seek = True
        self._seek_frames = 0
        self._ended = False
        return self._explicit_step(at)

    def on_end(self, at: float) -> list[Event]:
        """Playback reached the end of the media (or the stream was cut)."""
        self._ended = True
        return self._explicit_step(at)

    def on_rendition(self, bitrate_bps: float, at: float) -> None:
        """The rendition being played changed to ``bitrate_bps`` at ``at``."""
        if self._last_at is not None and at >= self._last_at:
            self._account(at)
            self._last_at = at
        self._acct.rendition(bitrate_bps)

    # ------------------------------------------------------------------ samples

    def feed(self, sample: BufferSample) -> list[Event]:
        """Consume one sample; returns the events it caused."""
        at = sample.at
        if self._last_at is not None and at < self._last_at - EPS:
            log.debug("ignoring sample going back in time (%.3f < %.3f)", at, self._last_at)
            return []
        events: list[Event] = []
        if self._machine.state is PlaybackState.IDLE:
            events += self.start(at)
        self._account(at)
        prev_at = self._last_at
        self._last_at = at

        playing = self._machine.state is PlaybackState.PLAYING
        new_frames = self._sig.update_frames(sample, prev_at, playing=playing, frozen=self._frozen)
        self._sig.update_playhead(sample.playhead_s, at)
        self._sig.update_buffer(sample)
        if new_frames > 0 and self._explicit_seek and self._machine.state is PlaybackState.SEEKING:
            # same hysteresis as a stall's end: a picture or two decoded before the seek
            # took effect does not end it
            self._seek_frames += new_frames
            if self._seek_frames >= self._sig.exit_frames_needed():
                self._explicit_seek = False

        paused = self._explicit_pause or sample.paused
        seeking = self._explicit_seek or sample.seeking
        ended = self._ended or sample.ended
        events += self._machine.step(at, new_frames, paused=paused, seeking=seeking, ended=ended)
        return events

    # ------------------------------------------------------------------ internals

    def _explicit_step(self, at: float) -> list[Event]:
        if self._last_at is not None and at < self._last_at:
            at = self._last_at  # explicit calls never go back in time
        events: list[Event] = []
        if self._machine.state is PlaybackState.IDLE:
            events += self.start(at)
        self._account(at)
        self._last_at = at
        events += self._machine.step(
            at, 0, paused=self._explicit_pause, seeking=self._explicit_seek, ended=self._ended
        )
        return events

    def _rel(self, at: float) -> float:
        return at - (self._t0 if self._t0 is not None else at)

    def _account(self, at: float) -> None:
        if self._last_at is not None:
            self._acct.add(self._machine.state, max(0.0, at - self._last_at))

    @property
    def _frozen(self) -> bool:
        """A glitch or a stall is in progress."""
        return self._freezes.freeze is not None
