"""What the samples say: new pictures and their rate, the coarse playhead, the buffer ahead.

:class:`PlaybackSignals` keeps the running picture count, the times the last new picture
could have appeared, the observed frame interval (for the freeze threshold), the
playhead and the delivered media ahead of it. It holds no playback state of its own:
the monitor tells it whether it is playing and whether a freeze is ongoing.
"""

from __future__ import annotations

import logging
from collections import deque

from player.core import thresholds as T
from player.core.model import BufferSample
from player.core.stats import median

log = logging.getLogger(__name__)


class PlaybackSignals:
    """Pictures, playhead and buffer, updated sample by sample."""

    def __init__(self) -> None:
        # pictures
        self.frames = 0
        self.frames_seen = False
        self.last_frame_change_at: float | None = None  # sample that saw the last new picture
        self.freeze_ref_at: float | None = None  # earliest the last new picture could be
        self.playhead_at_last_frame: float | None = None
        self.intervals: deque[float] = deque(maxlen=T.FRAME_INTERVAL_WINDOW)
        self.interval_valid = False  # the next new picture's gap is a frame interval
        self.frames_dropped = 0
        self.dropped_healthy = 0
        # playhead
        self.playhead: float | None = None
        self.playhead_changed_at: float | None = None
        self.startup_playhead: float | None = None
        # buffer
        self.buffer_ahead: float | None = None
        self.starving = False  # the gateway says the player waits on bytes (sample flag)

    # ------------------------------------------------------------------ derived

    @property
    def frame_interval_s(self) -> float | None:
        """Median observed time between new pictures, None until enough were seen."""
        if len(self.intervals) < T.FRAME_INTERVAL_MIN_OBS:
            return None
        return median(self.intervals)

    @property
    def freeze_threshold_s(self) -> float:
        """How long without a new picture counts as a freeze right now."""
        interval = self.frame_interval_s
        starved = self.starving or (
            self.buffer_ahead is not None and self.buffer_ahead <= T.STARVED_BUFFER_S
        )
        if interval is None:
            base = T.FREEZE_MIN_S if starved else T.FREEZE_UNKNOWN_RATE_S
        else:
            factor = T.STARVED_FREEZE_FACTOR if starved else T.FREEZE_FRAME_INTERVAL_FACTOR
            base = max(T.FREEZE_MIN_S, factor * interval)
        return min(base, T.FREEZE_MAX_S)

    def exit_frames_needed(self) -> int:
        """New pictures that end a stall (or a seek): one at a low frame rate."""
        interval = self.frame_interval_s
        if interval is not None and interval >= T.LOW_FPS_INTERVAL_S:
            return 1
        return T.STALL_EXIT_FRAMES

    def buffer_healthy(self, *, playing: bool, frozen: bool) -> bool:
        """Enough media ahead; without a buffer level, playing without a freeze."""
        if self.buffer_ahead is not None:
            return self.buffer_ahead >= T.HEALTHY_BUFFER_S
        return playing and not frozen

    def healthy_for_glitch(self) -> bool:
        """A freeze now is the player's glitch, not a stall: bytes flow and media is ahead."""
        if self.starving:  # the player is waiting for bytes that do not come
            return False
        return self.buffer_ahead is not None and self.buffer_ahead >= T.HEALTHY_BUFFER_S

    def clock_running(self, ref: float | None) -> bool:
        """The playhead moved by more than one coarse step since ``ref``.

        ``ref`` is the playhead when the picture froze. libVLC's clock keeps running
        through a video-output glitch but stops when the input starves, so a running
        clock rules a stall out.
        """
        if ref is None or self.playhead is None:
            return False
        return self.playhead - ref >= T.PLAYHEAD_RUNNING_ADVANCE_S

    # ------------------------------------------------------------------ updates

    def update_frames(
        self, sample: BufferSample, prev_at: float | None, *, playing: bool, frozen: bool
    ) -> int:
        """Take the sample's picture counters; returns the number of new pictures."""
        count = sample.frames_displayed
        if count < self.frames:
            log.debug("frame counter went back (%d -> %d); re-basing", self.frames, count)
            self.frames = count
            return 0
        new = count - self.frames
        self.frames = count
        if count > 0:
            self.frames_seen = True
        if new > 0:
            at = sample.at
            if (
                self.interval_valid
                and playing
                and not frozen
                and self.last_frame_change_at is not None
            ):
                self.intervals.append((at - self.last_frame_change_at) / new)
            self.last_frame_change_at = at
            # The new picture appeared somewhere after the previous sample. Measuring the
            # freeze from that earliest moment keeps the 0.5 s bound whatever the phase
            # of the sampling; a gap in sampling is not taken for a frozen picture.
            earliest = at - T.FRAME_TIME_UNCERTAINTY_S
            self.freeze_ref_at = max(prev_at, earliest) if prev_at is not None else at
            self.playhead_at_last_frame = sample.playhead_s
            self.interval_valid = playing
        dropped = sample.frames_dropped
        if dropped > self.frames_dropped:
            if self.buffer_healthy(playing=playing, frozen=frozen):
                self.dropped_healthy += dropped - self.frames_dropped
            self.frames_dropped = dropped
        return new

    def update_playhead(self, playhead: float | None, at: float) -> None:
        if playhead is None:
            return
        if self.startup_playhead is None:
            self.startup_playhead = playhead
        if self.playhead is None or abs(playhead - self.playhead) >= T.PLAYHEAD_MIN_ADVANCE_S:
            self.playhead_changed_at = at
        self.playhead = playhead

    def update_buffer(self, sample: BufferSample) -> None:
        self.starving = bool(sample.starving)
        if sample.delivered_media_s is None or self.playhead is None:
            self.buffer_ahead = None
        else:
            self.buffer_ahead = max(0.0, sample.delivered_media_s - self.playhead)

    def reset_freeze_clock(self, at: float) -> None:
        """After startup/pause/seek the freeze timers start afresh."""
        self.last_frame_change_at = at
        self.freeze_ref_at = at
        self.playhead_at_last_frame = self.playhead
        self.playhead_changed_at = at
        self.interval_valid = False
