"""The main window's notice band and what hangs off it: the band's "Why?", "Screenshot" and
"×" controls (also W, S / Ctrl+Shift+S and D), the auto-screenshot preference, the
confirmation toast, and the short-lived stream notes at the bottom of the video."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt6.QtCore import QTimer

from player.report.json import to_json
from player.session import NoticeChanged, Session
from player.session.metrics import explanation
from player.ui.screenshots import SETTLE_MS, Screenshotter
from player.ui.toast import Toast
from player.ui.video_view import Overlay
from player.ui.why_window import WhyController

if TYPE_CHECKING:
    from player.ui.main_window import MainWindow

NOTE_MS = 5000  # stream notes (retries, missing segments) stay this long


class NoticeController:
    """Shows the session's notices on the window's video view (``window.notice_shown`` when a
    new one appears), takes screenshots of it and opens the "Why?" window behind it."""

    def __init__(self, window: MainWindow, session: Session, ticked) -> None:  # noqa: ANN001 - the bridge's signal
        self.window = window
        self.video = window.video
        self.prefs = window.prefs
        self.toast = Toast(window, anchor=self.video)  # not in screenshots: a child of the window
        self.screenshots = Screenshotter(self.video, session, self.prefs, self.toast)
        self.video.screenshot_requested.connect(self.take_screenshot)
        self.why = WhyController(window, lambda: explanation(session), lambda: to_json(session.report()), ticked)
        self.video.why_requested.connect(self.why.show)  # the notice's "Why?" control
        self._auto_shot_serial = 0  # the last notice auto-screenshotted (prefs.auto_screenshot)
        self._note_timer = QTimer(window)
        self._note_timer.setSingleShot(True)
        self._note_timer.timeout.connect(lambda: self.video.set_toast(None))

    def show_notice(self, ev: NoticeChanged) -> None:
        if ev.notice is None or not self.prefs.show_notices:
            self.video.set_notice(None)
            return
        shown = self.video.notice
        self.video.set_notice(ev.notice)
        if shown is None or shown.title != ev.notice.title:  # refinements of the same notice: no new shot
            self.window.notice_shown.emit(ev.notice.title)
        n = ev.notice
        if getattr(self.prefs, "auto_screenshot", False) and n.segment and n.serial != self._auto_shot_serial:
            self._auto_shot_serial = n.serial  # one shot per notice, once it names the culprit
            QTimer.singleShot(SETTLE_MS, self.window.take_screenshot)  # dropped if the window is gone

    def show_note(self, message: str) -> None:
        """A stream note (a retry, a missing segment) at the bottom of the video, for a while."""
        self.video.set_toast(Overlay(message, kind="info"))
        self._note_timer.start(NOTE_MS)

    def take_screenshot(self) -> None:
        self.screenshots.take()

    def dismiss(self) -> None:
        self.video.dismiss_notice()

    def stop(self) -> None:
        self._note_timer.stop()
