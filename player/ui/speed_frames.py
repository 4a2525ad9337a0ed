"""Playback speed ([ slower, ] faster, Backspace normal) and frame stepping (. next, , previous).

The speed steps are VLC's and mpv's habits in one list; the speed shows in a toast and, while
it is not 1×, in the status bar. Frame stepping pauses: "." shows the next picture (libVLC's
own frame step); "," seeks back by one frame duration, since libVLC 3 has no previous-frame
step (player/playback/frame_step.py says how exact that is).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PyQt6.QtWidgets import QLabel, QMenu

from player.ui.actions import ANNOUNCE_MS, add_action, announce

if TYPE_CHECKING:
    from player.ui.main_window import MainWindow

log = logging.getLogger(__name__)

# The speeds [ and ] step through: VLC's and mpv's usual stops, fine around 1× (0.9, 1.1,
# where one follows a talk a bit faster or slower) and coarse beyond; 0.25 and 4 are the
# limits of libVLC's time-stretched audio (playback/vlc.py MIN_RATE, MAX_RATE).
SPEED_STEPS = (0.25, 0.5, 0.67, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0)
RATE_EPSILON = 0.01  # libVLC hands the rate back as a float: 0.67 may come back 0.6699


def step_speed(current: float, direction: int) -> float:
    """The stop after (``direction`` 1) or before (-1) ``current`` in :data:`SPEED_STEPS`;
    a speed between two stops goes to the nearer stop in that direction."""
    if direction > 0:
        return next((s for s in SPEED_STEPS if s > current + RATE_EPSILON), SPEED_STEPS[-1])
    return next((s for s in reversed(SPEED_STEPS) if s < current - RATE_EPSILON), SPEED_STEPS[0])


def speed_text(rate: float) -> str:
    return f"{rate:g}×"


class SpeedAndFrames:
    """Owns the speed actions and the frame-step actions of one window."""

    def __init__(self, window: MainWindow, playback: QMenu) -> None:
        self._w = window
        speed = playback.addMenu("S&peed")
        self.act_faster = add_action(window, speed, "&Faster", lambda: self.change_speed(1), "]")
        self.act_slower = add_action(window, speed, "&Slower", lambda: self.change_speed(-1), "[")
        self.act_normal_speed = add_action(
            window, speed, "&Normal Speed", self.reset_speed, "Backspace"
        )
        self.speed_menu = speed
        self.act_next_frame = add_action(window, playback, "Next Frame", self.next_frame, ".")
        self.act_previous_frame = add_action(
            window, playback, "Previous Frame", self.previous_frame, ","
        )
        self.speed_label = QLabel()  # in the status bar while the speed is not 1×
        self.speed_label.setObjectName("speedLabel")
        window.statusBar().addPermanentWidget(self.speed_label)
        self.speed_label.hide()

    @property
    def _player(self):  # noqa: ANN202 - the session's VlcPlayer
        return self._w.session.player

    # -- speed ------------------------------------------------------------------------------
    def change_speed(self, direction: int) -> None:
        self.set_speed(step_speed(self._player.rate(), direction))

    def reset_speed(self) -> None:
        self.set_speed(1.0)

    def set_speed(self, rate: float) -> None:
        if not self._player.set_rate(rate):
            self._say("This media cannot change its speed")
            return
        # What the player plays at now, not what was asked: set_rate clamps to 0.25-4×.
        actual = round(self._player.rate(), 2)
        log.info("speed %s (asked %s)", speed_text(actual), speed_text(rate))
        self.speed_label.setText(f"Speed {speed_text(actual)}")
        self.speed_label.setVisible(abs(actual - 1.0) > RATE_EPSILON)
        self._say(f"Speed {speed_text(actual)}")

    # -- frames -----------------------------------------------------------------------------
    def next_frame(self) -> None:
        """ ".": pause (if playing) and show the next picture."""
        self._step(1, "Paused: next frame")

    def previous_frame(self) -> None:
        """ ",": pause (if playing) and show the picture before (a seek one frame back)."""
        self._step(-1, "Paused: previous frame")

    def _step(self, direction: int, message: str) -> None:
        session = self._w.session
        if session.source is None:
            return
        if direction < 0 and not session.seekable:
            self._say("This stream cannot step back")
            return
        seek_to = self._player.step_frame(direction)
        if seek_to is not None:
            session.seek_s(seek_to)  # a seek like any other (the buffer model is told)
        self._w.statusBar().showMessage(message, ANNOUNCE_MS)

    def _say(self, text: str) -> None:
        announce(self._w, text)
