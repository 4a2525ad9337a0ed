"""Frame stepping on a paused libVLC 3 player: next frame, and previous frame by seeking.

libVLC 3 steps forward only (``next_frame``), does not update its time while it steps, and
updates its time only a few times a second while playing. This module keeps track of which
frame is on screen so that steps go one frame at a time both ways. It drives the
``vlc.MediaPlayer`` handed in by :mod:`player.playback.vlc` and does not import ``vlc``
itself. Owner thread only, except :attr:`FrameStepper.clock`, which libVLC's event thread
sets with one assignment.
"""

from __future__ import annotations

from typing import Any, Protocol

# Frame rate assumed when libVLC does not know the video's (live streams).
FALLBACK_FPS = 25.0


class PictureClock(Protocol):
    last_distinct_at: float | None  # time.monotonic() of the newest new picture


class FrameStepper:
    """Where frame stepping stands, and the next step's target."""

    def __init__(self, mp: Any, pictures: PictureClock) -> None:
        self._mp = mp
        self._pictures = pictures
        # (libVLC's time in ms, time.monotonic() when it changed): set by libVLC's event thread
        self.clock: tuple[int, float] | None = None
        self._cursor_ms: int | None = None  # the media time of the picture on screen, once known
        self._stepping = False  # paused by a frame step: seeks then keep the cursor
        self._after_seek = False  # the picture on screen came from a paused seek

    def reset(self) -> None:
        """Playback goes on (or a new media starts): the next step starts afresh."""
        self._stepping = False
        self._cursor_ms = None
        self._after_seek = False

    def on_seek(self, ms: int, paused: bool) -> None:
        """A seek to ``ms``: paused, libVLC shows the frame whose interval holds ``ms``."""
        paused = paused or self._stepping
        self._cursor_ms = ms if paused else None
        self._after_seek = paused

    def fps(self) -> float:
        fps = float(self._mp.get_fps() or 0.0)
        return fps if fps > 0 else FALLBACK_FPS

    def step(self, direction: int) -> float | None:
        """Pause and show the next (``direction`` 1) or previous (-1) picture.

        Forward, libVLC steps itself (it pauses a playing player first) and this returns
        None. libVLC 3 cannot step backwards, and right after a paused seek its own step
        shows the sought picture again; then this returns the time the caller seeks to: the
        middle of the wanted frame's interval, where a paused libVLC shows exactly that
        frame. Steps go one frame at a time; only the first one after a pause starts from an
        estimate of the picture on screen (:meth:`shown_ms`), so a first step back may go
        two frames."""
        base = self.shown_ms()
        frame_ms = 1000.0 / self.fps()
        if direction > 0 and not self._after_seek:
            self._stepping = True
            self._cursor_ms = int(base + frame_ms)
            self._mp.next_frame()
            return None
        if not self._stepping:
            self._mp.set_pause(1)
        self._stepping = True
        index = int(base // frame_ms) + (1 if direction > 0 else -1)  # the frame to show
        return max(0.0, (index + 0.5) * frame_ms) / 1000.0

    def shown_ms(self) -> float:
        """The media time of the picture on screen (ms).

        After a step or a paused seek it is known. Otherwise it is libVLC's time advanced by
        the play time from its last update to the newest picture; on screen that lands on
        the picture or the one before (never after: a step back always moves)."""
        if self._cursor_ms is not None:
            return float(self._cursor_ms)
        clock, shown_at = self.clock, self._pictures.last_distinct_at
        if clock is None:
            return float(max(0, self._mp.get_time() or 0))
        ms, at = clock
        rate = float(self._mp.get_rate() or 1.0)
        ahead = (shown_at - at) * 1000.0 * rate if shown_at is not None and shown_at > at else 0.0
        return max(0.0, ms + ahead)
