"""Buffer-health model: playback samples -> states, stalls, glitches and QoE.

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
import statistics
from collections import deque
from dataclasses import dataclass

from player.core import thresholds as T
from player.core.model import BufferSample, PlaybackState, QoE, Stall

log = logging.getLogger(__name__)

_EPS = 1e-9


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The playback state changed at ``at_s`` (seconds since session start)."""

    old: PlaybackState
    new: PlaybackState
    at_s: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StartupComplete:
    """The first picture appeared ``startup_s`` seconds after the session start."""

    startup_s: float


@dataclass(frozen=True, slots=True)
class StallStarted:
    """A rebuffering stall began at ``start_s`` (back-dated to the last new picture)."""

    start_s: float
    detected_s: float  # when the monitor decided (start_s + detection delay)
    playhead_s: float | None = None
    buffer_ahead_s: float | None = None


@dataclass(frozen=True, slots=True)
class StallEnded:
    """A stall ended; ``reason`` is resumed | paused | seeking | ended | clock_running."""

    start_s: float
    duration_s: float
    reason: str = "resumed"


@dataclass(frozen=True, slots=True)
class GlitchStarted:
    """The picture froze while the buffer was healthy (a player glitch, not a stall)."""

    start_s: float
    buffer_ahead_s: float | None = None


@dataclass(frozen=True, slots=True)
class GlitchEnded:
    """A glitch is over. ``promoted`` means it turned into a stall (then not counted)."""

    start_s: float
    duration_s: float
    promoted: bool = False


Event = StateChanged | StartupComplete | StallStarted | StallEnded | GlitchStarted | GlitchEnded


@dataclass(slots=True)
class Glitch:
    """A picture freeze with a healthy buffer: counted apart from stalls."""

    start_s: float
    duration_s: float | None = None
    buffer_ahead_s: float | None = None


# --------------------------------------------------------------------------- monitor


@dataclass(slots=True)
class _Freeze:
    kind: str  # "glitch" | "stall"
    start_at: float  # monotonic
    playhead_at_start: float | None


class BufferHealthMonitor:
    """Turns playback samples into states, stall/glitch events and QoE.

    Feed it with :meth:`feed`; every public method returns the list of events it
    caused (possibly empty). ``session_start`` is the monotonic time the viewer
    asked to play; when omitted the first sample's time is used.
    """

    def __init__(self, session_start: float | None = None) -> None:
        self._t0: float | None = session_start
        self._state = PlaybackState.IDLE
        self._last_at: float | None = None

        # frames
        self._frames = 0
        self._frames_seen = False
        self._last_frame_change_at: float | None = None  # sample that saw the last new picture
        self._freeze_ref_at: float | None = None  # earliest the last new picture could be
        self._playhead_at_last_frame: float | None = None
        self._intervals: deque[float] = deque(maxlen=T.FRAME_INTERVAL_WINDOW)
        self._interval_valid = False
        # playhead
        self._playhead: float | None = None
        self._playhead_changed_at: float | None = None
        self._startup_playhead: float | None = None
        # buffer
        self._delivered: float | None = None
        self._buffer_ahead: float | None = None
        self._starving = False  # the gateway says the player waits on bytes (sample flag)
        # freeze / stall bookkeeping
        self._freeze: _Freeze | None = None
        self._stall: Stall | None = None
        self._exit_frames = 0
        self._exit_first_at: float | None = None
        self.stalls: list[Stall] = []
        self.glitches: list[Glitch] = []
        # explicit (edge-triggered) controls; sample flags are level-triggered
        self._explicit_pause = False
        self._explicit_seek = False
        self._seek_frames = 0  # new pictures since on_seek
        self._ended = False
        # QoE accounting
        self._startup_s: float | None = None
        self._time_in: dict[PlaybackState, float] = {s: 0.0 for s in PlaybackState}
        self._bitrate: float | None = None
        self._bitrate_integral = 0.0  # bit-seconds/second * seconds while playing
        self._bitrate_time = 0.0
        self._switches = 0
        self._frames_dropped = 0
        self._dropped_healthy = 0

    # ------------------------------------------------------------------ properties

    @property
    def state(self) -> PlaybackState:
        """Current playback state."""
        return self._state

    @property
    def session_start(self) -> float | None:
        """Monotonic time of the session start (None before the first input)."""
        return self._t0

    @property
    def startup_s(self) -> float | None:
        """Session start -> first picture, None until it appeared."""
        return self._startup_s

    @property
    def buffer_ahead_s(self) -> float | None:
        """Media delivered by the gateway minus the playhead; None when unknown."""
        return self._buffer_ahead

    @property
    def frames_dropped_while_healthy(self) -> int:
        """Dropped/late pictures counted while the buffer was healthy (device evidence)."""
        return self._dropped_healthy

    @property
    def frame_interval_s(self) -> float | None:
        """Median observed time between new pictures, None until enough were seen."""
        if len(self._intervals) < T.FRAME_INTERVAL_MIN_OBS:
            return None
        return statistics.median(self._intervals)

    @property
    def freeze_threshold_s(self) -> float:
        """How long without a new picture counts as a freeze right now."""
        interval = self.frame_interval_s
        starved = self._starving or (
            self._buffer_ahead is not None and self._buffer_ahead <= T.STARVED_BUFFER_S
        )
        if interval is None:
            base = T.FREEZE_MIN_S if starved else T.FREEZE_UNKNOWN_RATE_S
        else:
            factor = T.STARVED_FREEZE_FACTOR if starved else T.FREEZE_FRAME_INTERVAL_FACTOR
            base = max(T.FREEZE_MIN_S, factor * interval)
        return min(base, T.FREEZE_MAX_S)

    @property
    def glitch_count(self) -> int:
        """Finished glitches (picture freezes with a healthy buffer)."""
        return sum(1 for g in self.glitches if g.duration_s is not None)

    def qoe(self) -> QoE:
        """Quality-of-experience summary up to the last input."""
        stall_s = 0.0
        for s in self.stalls:
            if s.duration_s is not None:
                stall_s += s.duration_s
            elif self._last_at is not None and self._t0 is not None:
                stall_s += max(0.0, self._last_at - self._t0 - s.start_s)
        watch_s = self._time_in[PlaybackState.PLAYING] + self._time_in[PlaybackState.STALLED]
        ratio = min(1.0, stall_s / watch_s) if watch_s > 0 else 0.0
        if self._bitrate_time > 0:
            avg_kbps: float | None = self._bitrate_integral / self._bitrate_time / 1000.0
        elif self._bitrate is not None:
            avg_kbps = self._bitrate / 1000.0
        else:
            avg_kbps = None
        return QoE(
            startup_s=self._startup_s,
            stall_count=len(self.stalls),
            stall_s=stall_s,
            rebuffer_ratio=ratio,
            avg_bitrate_kbps=avg_kbps,
            switches=self._switches,
            frames_displayed=self._frames,
            frames_dropped=self._frames_dropped,
            glitch_count=self.glitch_count,
        )

    def time_in(self, state: PlaybackState) -> float:
        """Seconds spent in ``state`` so far."""
        return self._time_in[state]

    # ------------------------------------------------------------------ explicit inputs

    def start(self, at: float) -> list[Event]:
        """The viewer asked to play at ``at``: enter STARTUP."""
        if self._t0 is None:
            self._t0 = at
        if self._last_at is None:
            self._last_at = at
        if self._state is PlaybackState.IDLE:
            return [self._set_state(PlaybackState.STARTUP, at, "session started")]
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
        if self._bitrate is not None and bitrate_bps != self._bitrate:
            self._switches += 1
        self._bitrate = float(bitrate_bps)

    # ------------------------------------------------------------------ samples

    def feed(self, sample: BufferSample) -> list[Event]:
        """Consume one sample; returns the events it caused."""
        at = sample.at
        if self._last_at is not None and at < self._last_at - _EPS:
            log.debug("ignoring sample going back in time (%.3f < %.3f)", at, self._last_at)
            return []
        events: list[Event] = []
        if self._state is PlaybackState.IDLE:
            events += self.start(at)
        self._account(at)
        prev_at = self._last_at
        self._last_at = at

        new_frames = self._update_frames(sample, prev_at)
        self._update_playhead(sample.playhead_s, at)
        self._update_buffer(sample)
        if new_frames > 0 and self._explicit_seek and self._state is PlaybackState.SEEKING:
            # same hysteresis as a stall's end: a picture or two decoded before the seek
            # took effect does not end it
            self._seek_frames += new_frames
            if self._seek_frames >= self._exit_frames_needed():
                self._explicit_seek = False

        paused = self._explicit_pause or sample.paused
        seeking = self._explicit_seek or sample.seeking
        ended = self._ended or sample.ended
        events += self._step(at, new_frames, paused=paused, seeking=seeking, ended=ended)
        return events

    # ------------------------------------------------------------------ internals

    def _explicit_step(self, at: float) -> list[Event]:
        if self._last_at is not None and at < self._last_at:
            at = self._last_at  # explicit calls never go back in time
        events: list[Event] = []
        if self._state is PlaybackState.IDLE:
            events += self.start(at)
        self._account(at)
        self._last_at = at
        events += self._step(
            at, 0, paused=self._explicit_pause, seeking=self._explicit_seek, ended=self._ended
        )
        return events

    def _rel(self, at: float) -> float:
        return at - (self._t0 if self._t0 is not None else at)

    def _account(self, at: float) -> None:
        if self._last_at is None:
            return
        dt = max(0.0, at - self._last_at)
        self._time_in[self._state] += dt
        if self._state is PlaybackState.PLAYING and self._bitrate is not None:
            self._bitrate_integral += self._bitrate * dt
            self._bitrate_time += dt

    def _update_frames(self, sample: BufferSample, prev_at: float | None) -> int:
        count = sample.frames_displayed
        if count < self._frames:
            log.debug("frame counter went back (%d -> %d); re-basing", self._frames, count)
            self._frames = count
            return 0
        new = count - self._frames
        self._frames = count
        if count > 0:
            self._frames_seen = True
        if new > 0:
            at = sample.at
            if (
                self._interval_valid
                and self._state is PlaybackState.PLAYING
                and self._freeze is None
                and self._last_frame_change_at is not None
            ):
                self._intervals.append((at - self._last_frame_change_at) / new)
            self._last_frame_change_at = at
            # The new picture appeared somewhere after the previous sample. Measuring the
            # freeze from that earliest moment keeps the 0.5 s bound whatever the phase
            # of the sampling; a gap in sampling is not taken for a frozen picture.
            earliest = at - T.FRAME_TIME_UNCERTAINTY_S
            self._freeze_ref_at = max(prev_at, earliest) if prev_at is not None else at
            self._playhead_at_last_frame = sample.playhead_s
            self._interval_valid = self._state is PlaybackState.PLAYING
        dropped = sample.frames_dropped
        if dropped > self._frames_dropped:
            if self._buffer_healthy():
                self._dropped_healthy += dropped - self._frames_dropped
            self._frames_dropped = dropped
        return new

    def _update_playhead(self, playhead: float | None, at: float) -> None:
        if playhead is None:
            return
        if self._startup_playhead is None:
            self._startup_playhead = playhead
        if self._playhead is None or abs(playhead - self._playhead) >= T.PLAYHEAD_MIN_ADVANCE_S:
            self._playhead_changed_at = at
        self._playhead = playhead

    def _update_buffer(self, sample: BufferSample) -> None:
        self._starving = bool(sample.starving)
        self._delivered = sample.delivered_media_s
        if sample.delivered_media_s is None or self._playhead is None:
            self._buffer_ahead = None
        else:
            self._buffer_ahead = max(0.0, sample.delivered_media_s - self._playhead)

    def _buffer_healthy(self) -> bool:
        if self._buffer_ahead is not None:
            return self._buffer_ahead >= T.HEALTHY_BUFFER_S
        return self._state is PlaybackState.PLAYING and self._freeze is None

    def _clock_running(self, ref: float | None = None) -> bool:
        """The playhead moved by more than one coarse step since the freeze began.

        ``ref`` is the playhead when the picture froze (defaults to the ongoing
        freeze's). libVLC's clock keeps running through a video-output glitch but
        stops when the input starves, so a running clock rules a stall out.
        """
        if ref is None and self._freeze is not None:
            ref = self._freeze.playhead_at_start
        if ref is None or self._playhead is None:
            return False
        return self._playhead - ref >= T.PLAYHEAD_RUNNING_ADVANCE_S

    def _set_state(self, new: PlaybackState, at: float, reason: str) -> StateChanged:
        old = self._state
        self._state = new
        log.debug("state %s -> %s at %.3f (%s)", old.value, new.value, self._rel(at), reason)
        return StateChanged(old, new, self._rel(at), reason)

    def _reset_freeze_clock(self, at: float) -> None:
        """After startup/pause/seek the freeze timers start afresh."""
        self._last_frame_change_at = at
        self._freeze_ref_at = at
        self._playhead_at_last_frame = self._playhead
        self._playhead_changed_at = at
        self._interval_valid = False

    # --- freeze / stall lifecycle

    def _begin_glitch(self, start_at: float, playhead_ref: float | None = None) -> list[Event]:
        if playhead_ref is None:
            playhead_ref = self._playhead_at_last_frame
        self._freeze = _Freeze("glitch", start_at, playhead_ref)
        self.glitches.append(Glitch(self._rel(start_at), None, self._buffer_ahead))
        return [GlitchStarted(self._rel(start_at), self._buffer_ahead)]

    def _end_glitch(self, at: float, promoted: bool = False) -> list[Event]:
        assert self._freeze is not None and self._freeze.kind == "glitch"
        glitch = self.glitches[-1]
        duration = max(0.0, self._rel(at) - glitch.start_s)
        if promoted:
            self.glitches.pop()
        else:
            glitch.duration_s = duration
        self._freeze = None
        self._interval_valid = False
        return [GlitchEnded(glitch.start_s, duration, promoted)]

    def _begin_stall(self, start_at: float, at: float, why: str) -> list[Event]:
        events: list[Event] = []
        playhead_ref = self._playhead_at_last_frame
        if self._freeze is not None and self._freeze.kind == "glitch":
            playhead_ref = self._freeze.playhead_at_start
            events += self._end_glitch(at, promoted=True)
        self._freeze = _Freeze("stall", start_at, playhead_ref)
        self._stall = Stall(start_s=self._rel(start_at), playhead_s=self._playhead)
        self.stalls.append(self._stall)
        self._exit_frames = 0
        self._exit_first_at = None
        events.append(self._set_state(PlaybackState.STALLED, at, why))
        events.append(
            StallStarted(self._stall.start_s, self._rel(at), self._playhead, self._buffer_ahead)
        )
        return events

    def _end_stall(self, end_at: float, at: float, reason: str) -> list[Event]:
        assert self._stall is not None
        stall = self._stall
        stall.duration_s = max(0.0, self._rel(end_at) - stall.start_s)
        self._stall = None
        self._freeze = None
        self._interval_valid = False
        return [StallEnded(stall.start_s, stall.duration_s, reason)]

    def _close_freeze(self, at: float, reason: str) -> list[Event]:
        """End any ongoing stall or glitch because playback left the playing states."""
        if self._stall is not None:
            return self._end_stall(at, at, reason)
        if self._freeze is not None:
            return self._end_glitch(at)
        return []

    # --- the state machine

    def _step(
        self, at: float, new_frames: int, *, paused: bool, seeking: bool, ended: bool
    ) -> list[Event]:
        state = self._state
        if ended:
            if state is PlaybackState.ENDED:
                return []
            events = self._close_freeze(at, "ended")
            events.append(self._set_state(PlaybackState.ENDED, at, "end of media"))
            return events
        if seeking:
            if state is PlaybackState.SEEKING:
                return []
            events = self._close_freeze(at, "seeking")
            events.append(self._set_state(PlaybackState.SEEKING, at, "seek"))
            return events
        if paused:
            if state is PlaybackState.PAUSED:
                return []
            events = self._close_freeze(at, "paused")
            events.append(self._set_state(PlaybackState.PAUSED, at, "paused"))
            return events

        events: list[Event] = []
        if state in (PlaybackState.SEEKING, PlaybackState.PAUSED, PlaybackState.ENDED):
            self._reset_freeze_clock(at)
            target = PlaybackState.PLAYING if self._startup_s is not None else PlaybackState.STARTUP
            events.append(self._set_state(target, at, f"{state.value} over"))
            if target is PlaybackState.PLAYING and new_frames > 0:
                self._interval_valid = True
            return events
        if state is PlaybackState.STARTUP:
            return self._step_startup(at)
        if state is PlaybackState.PLAYING:
            return self._step_playing(at, new_frames)
        if state is PlaybackState.STALLED:
            return self._step_stalled(at, new_frames)
        return events

    def _step_startup(self, at: float) -> list[Event]:
        # libVLC shows the first picture as soon as it is decoded, then may wait for its
        # cache to fill: playback has started only once a further picture follows.
        first_picture = self._frames_seen and self._frames >= T.STARTUP_PICTURES
        playhead_moved = (
            not self._frames_seen
            and self._playhead is not None
            and self._startup_playhead is not None
            and self._playhead - self._startup_playhead >= T.PLAYHEAD_MIN_ADVANCE_S
        )
        if not (first_picture or playhead_moved):
            return []
        self._startup_s = self._rel(at)
        self._reset_freeze_clock(at)
        self._interval_valid = first_picture
        why = "first picture" if first_picture else "playhead moved (no frame counter)"
        return [self._set_state(PlaybackState.PLAYING, at, why), StartupComplete(self._startup_s)]

    def _step_playing(self, at: float, new_frames: int) -> list[Event]:
        freeze = self._freeze
        if self._frames_seen:
            if new_frames > 0:
                return self._end_glitch(at) if freeze is not None else []
            assert self._last_frame_change_at is not None and self._freeze_ref_at is not None
            frozen_for = at - self._freeze_ref_at
            if freeze is None:
                if frozen_for + _EPS < self.freeze_threshold_s:
                    return []
                start_at = self._last_frame_change_at
                if self._clock_running(self._playhead_at_last_frame) or (
                    self._buffer_healthy_for_glitch()
                ):
                    return self._begin_glitch(start_at)
                return self._begin_stall(start_at, at, "no new picture and buffer not healthy")
            # an ongoing glitch: promote it when the buffer runs low
            if (
                self._buffer_ahead is not None
                and self._buffer_ahead < T.GLITCH_PROMOTE_BUFFER_S
                and not self._clock_running()
            ):
                return self._begin_stall(freeze.start_at, at, "buffer ran low during a freeze")
            return []

        # no frame counter: the coarse playhead is all we have
        if self._playhead_changed_at is None:
            return []
        if at - self._playhead_changed_at < T.PLAYHEAD_FREEZE_S:
            return self._end_glitch(at) if freeze is not None else []
        if freeze is None:
            start_at = self._playhead_changed_at
            if self._buffer_healthy_for_glitch():
                return self._begin_glitch(start_at, self._playhead)
            return self._begin_stall(start_at, at, "playhead stopped and buffer not healthy")
        if self._buffer_ahead is not None and self._buffer_ahead < T.GLITCH_PROMOTE_BUFFER_S:
            return self._begin_stall(freeze.start_at, at, "buffer ran low during a freeze")
        return []

    def _exit_frames_needed(self) -> int:
        interval = self.frame_interval_s
        if interval is not None and interval >= T.LOW_FPS_INTERVAL_S:
            return 1
        return T.STALL_EXIT_FRAMES

    def _buffer_healthy_for_glitch(self) -> bool:
        if self._starving:  # the player is waiting for bytes that do not come
            return False
        return self._buffer_ahead is not None and self._buffer_ahead >= T.HEALTHY_BUFFER_S

    def _step_stalled(self, at: float, new_frames: int) -> list[Event]:
        if self._frames_seen:
            if self._clock_running():
                # the media clock runs although the picture is frozen: not a stall
                events = self._end_stall(at, at, "clock_running")
                events.append(self._set_state(PlaybackState.PLAYING, at, "media clock running"))
                events += self._begin_glitch(at, self._playhead)
                return events
            threshold = self.freeze_threshold_s
            if self._exit_first_at is not None and at - self._exit_first_at > threshold:
                # a lone picture long ago does not end the stall (hysteresis)
                self._exit_frames = 0
                self._exit_first_at = None
            if new_frames <= 0:
                return []
            if self._exit_first_at is None:
                self._exit_first_at = at
            self._exit_frames += new_frames
            if self._exit_frames < self._exit_frames_needed():
                return []
            end_at = self._exit_first_at
        else:
            if self._playhead_changed_at is None or self._playhead_changed_at < at - _EPS:
                return []
            end_at = at
        events = self._end_stall(end_at, at, "resumed")
        events.append(self._set_state(PlaybackState.PLAYING, at, "pictures again"))
        self._interval_valid = self._frames_seen
        return events
