"""Playback state transitions: what the pictures, playhead and buffer say -> the next state.

Startup ends with the first pictures; while playing, a picture frozen longer than the
freeze threshold opens a glitch (buffer healthy, or the media clock still running) or a
stall; a stall ends when pictures come again. Pause, seek and end override it all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from player.core import thresholds as T
from player.core.buffer_health.events import Event, StartupComplete, StateChanged
from player.core.buffer_health.freezes import FreezeTracker
from player.core.buffer_health.signals import PlaybackSignals
from player.core.model import PlaybackState

log = logging.getLogger(__name__)

EPS = 1e-9  # float slack when comparing sample times


class StateMachine:
    """The playback state and its transitions; ``rel`` maps monotonic to session time."""

    def __init__(
        self, signals: PlaybackSignals, freezes: FreezeTracker, rel: Callable[[float], float]
    ) -> None:
        self.sig = signals
        self.freezes = freezes
        self.rel = rel
        self.state = PlaybackState.IDLE
        self.startup_s: float | None = None  # session start -> playback started

    def set_state(self, new: PlaybackState, at: float, reason: str) -> StateChanged:
        old = self.state
        self.state = new
        log.debug("state %s -> %s at %.3f (%s)", old.value, new.value, self.rel(at), reason)
        return StateChanged(old, new, self.rel(at), reason)

    def _begin_stall(self, start_at: float, at: float, why: str) -> list[Event]:
        events, playhead_ref = self.freezes.promote_glitch(at)
        events.append(self.set_state(PlaybackState.STALLED, at, why))
        events.append(self.freezes.open_stall(start_at, at, playhead_ref))
        return events

    def step(
        self, at: float, new_frames: int, *, paused: bool, seeking: bool, ended: bool
    ) -> list[Event]:
        state = self.state
        if ended:
            if state is PlaybackState.ENDED:
                return []
            events = self.freezes.close(at, "ended")
            events.append(self.set_state(PlaybackState.ENDED, at, "end of media"))
            return events
        if seeking:
            if state is PlaybackState.SEEKING:
                return []
            events = self.freezes.close(at, "seeking")
            events.append(self.set_state(PlaybackState.SEEKING, at, "seek"))
            return events
        if paused:
            if state is PlaybackState.PAUSED:
                return []
            events = self.freezes.close(at, "paused")
            events.append(self.set_state(PlaybackState.PAUSED, at, "paused"))
            return events

        events: list[Event] = []
        if state in (PlaybackState.SEEKING, PlaybackState.PAUSED, PlaybackState.ENDED):
            self.sig.reset_freeze_clock(at)
            target = PlaybackState.PLAYING if self.startup_s is not None else PlaybackState.STARTUP
            events.append(self.set_state(target, at, f"{state.value} over"))
            if target is PlaybackState.PLAYING and new_frames > 0:
                self.sig.interval_valid = True
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
        first_picture = self.sig.frames_seen and self.sig.frames >= T.STARTUP_PICTURES
        playhead_moved = (
            not self.sig.frames_seen
            and self.sig.playhead is not None
            and self.sig.startup_playhead is not None
            and self.sig.playhead - self.sig.startup_playhead >= T.PLAYHEAD_MIN_ADVANCE_S
        )
        if not (first_picture or playhead_moved):
            return []
        self.startup_s = self.rel(at)
        self.sig.reset_freeze_clock(at)
        self.sig.interval_valid = first_picture
        why = "first picture" if first_picture else "playhead moved (no frame counter)"
        return [self.set_state(PlaybackState.PLAYING, at, why), StartupComplete(self.startup_s)]

    def _step_playing(self, at: float, new_frames: int) -> list[Event]:
        freeze = self.freezes.freeze
        if self.sig.frames_seen:
            if new_frames > 0:
                return self.freezes.end_glitch(at) if freeze is not None else []
            sig = self.sig
            assert sig.last_frame_change_at is not None and sig.freeze_ref_at is not None
            frozen_for = at - sig.freeze_ref_at
            if freeze is None:
                if frozen_for + EPS < self.sig.freeze_threshold_s:
                    return []
                start_at = self.sig.last_frame_change_at
                if self.freezes.clock_running(self.sig.playhead_at_last_frame) or (
                    self.sig.healthy_for_glitch()
                ):
                    return self.freezes.begin_glitch(start_at)
                return self._begin_stall(start_at, at, "no new picture and buffer not healthy")
            # an ongoing glitch: promote it when the buffer runs low
            if (
                self.sig.buffer_ahead is not None
                and self.sig.buffer_ahead < T.GLITCH_PROMOTE_BUFFER_S
                and not self.freezes.clock_running()
            ):
                return self._begin_stall(freeze.start_at, at, "buffer ran low during a freeze")
            return []

        # no frame counter: the coarse playhead is all we have
        if self.sig.playhead_changed_at is None:
            return []
        if at - self.sig.playhead_changed_at < T.PLAYHEAD_FREEZE_S:
            return self.freezes.end_glitch(at) if freeze is not None else []
        if freeze is None:
            start_at = self.sig.playhead_changed_at
            if self.sig.healthy_for_glitch():
                return self.freezes.begin_glitch(start_at, self.sig.playhead)
            return self._begin_stall(start_at, at, "playhead stopped and buffer not healthy")
        ahead = self.sig.buffer_ahead
        if ahead is not None and ahead < T.GLITCH_PROMOTE_BUFFER_S:
            return self._begin_stall(freeze.start_at, at, "buffer ran low during a freeze")
        return []

    def _step_stalled(self, at: float, new_frames: int) -> list[Event]:
        if self.sig.frames_seen:
            if self.freezes.clock_running():
                # the media clock runs although the picture is frozen: not a stall
                events = self.freezes.end_stall(at, "clock_running")
                events.append(self.set_state(PlaybackState.PLAYING, at, "media clock running"))
                events += self.freezes.begin_glitch(at, self.sig.playhead)
                return events
            end_at = self.freezes.exit_pictures(
                at,
                new_frames,
                window_s=self.sig.freeze_threshold_s,
                needed=self.sig.exit_frames_needed(),
            )
            if end_at is None:
                return []
        else:
            if self.sig.playhead_changed_at is None or self.sig.playhead_changed_at < at - EPS:
                return []
            end_at = at
        events = self.freezes.end_stall(end_at, "resumed")
        events.append(self.set_state(PlaybackState.PLAYING, at, "pictures again"))
        self.sig.interval_valid = self.sig.frames_seen
        return events
