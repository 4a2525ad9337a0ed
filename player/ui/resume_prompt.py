"""Resume where you left off: positions remembered per item, offered (never forced) on reopen.

An item's position is remembered when the viewer switches to another item, pauses, quits,
and every :data:`SAVE_EVERY_MS` while it plays (so a crash loses little), by the rule in
:mod:`player.core.resume` (files and VOD streams only, not live, not the demo). On the next
open of the same source, once it plays, a small non-modal prompt over the window asks
"Resume from 12:34?" with Resume / Start over, and goes away by itself after
:data:`OFFER_MS`: playback starts at 0 unless the viewer accepts. Start over forgets the
position; playing to the end forgets it too. The store (player/store/resume.py) keys
positions by a hash of the source and writes on its own thread.
"""

from __future__ import annotations

import logging

from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMainWindow, QPushButton, QWidget

from player.core.model import PlaybackState
from player.core.resume import ResumeAction, resume_action
from player.core.wording import queue as say
from player.session import (
    Ended,
    EndedEarly,
    MediaInfo,
    Opening,
    Session,
    SessionEvent,
    StateChanged,
)
from player.store.resume import ResumePoint, ResumeStore

log = logging.getLogger(__name__)

OFFER_MS = 10_000  # long enough to notice and reach the button, short enough not to nag
SAVE_EVERY_MS = 15_000  # while playing: a crash or a kill loses at most this much
MARGIN = 16


class ResumeOffer(QFrame):
    """The prompt: a question and two buttons, over the bottom-left of the video (a child of
    the window, not of the video view, so it never appears in screenshots)."""

    def __init__(self, parent: QWidget, anchor: QWidget) -> None:
        super().__init__(parent)
        self._anchor = anchor
        self.setObjectName("stallwatchResume")
        self.setStyleSheet(
            "#stallwatchResume { background: rgba(24, 28, 36, 235); border-radius: 8px;"
            " border: 1px solid rgba(255, 255, 255, 60); }"
            "#stallwatchResume QLabel { color: white; font-size: 13px; }"
            "#stallwatchResume QPushButton { color: white; background: rgba(255,255,255,40);"
            " border: 1px solid rgba(255,255,255,110); border-radius: 5px; padding: 3px 10px; }"
        )
        lay = QHBoxLayout(self)
        lay.setContentsMargins(14, 8, 8, 8)
        lay.setSpacing(10)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.resume_button = QPushButton(say.RESUME, self)
        self.start_over_button = QPushButton(say.START_OVER, self)
        for w in (self.resume_button, self.start_over_button):
            w.setCursor(Qt.CursorShape.PointingHandCursor)
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space and the arrows stay the player's
        lay.addWidget(self.label, 1)
        lay.addWidget(self.resume_button)
        lay.addWidget(self.start_over_button)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.hide)
        self.hide()

    def offer(self, position_s: float) -> None:
        self.label.setText(say.resume_question(position_s))
        self.adjustSize()
        a = self._anchor
        bottom_left = a.mapTo(self.parentWidget(), a.rect().bottomLeft())
        self.move(bottom_left.x() + MARGIN, bottom_left.y() - self.height() - MARGIN)
        self.show()
        self.raise_()
        self.timer.start(OFFER_MS)

    def withdraw(self) -> None:
        self.timer.stop()
        self.hide()


class ResumeController(QObject):
    # the store's thread says its file is loaded; a queued connection brings it here
    _store_loaded = pyqtSignal()

    def __init__(self, window: QMainWindow, session: Session, anchor: QWidget) -> None:
        super().__init__(window)
        self.session = session
        self.store: ResumeStore | None = None  # set by the composition root; None: off
        self.offer = ResumeOffer(window, anchor)
        self.offer.resume_button.clicked.connect(self.accept)
        self.offer.start_over_button.clicked.connect(self.decline)
        self._tracked: str | None = None  # the queue item being opened / played (not the demo)
        self._source: str | None = None  # the tracked item, once its Opening arrived
        self._offer_due = False  # the tracked item opened: look for a point once it plays
        self._offered: ResumePoint | None = None
        self._saver = QTimer(self)
        self._saver.timeout.connect(self.remember)
        self._saver.start(SAVE_EVERY_MS)
        self._store_loaded.connect(self._maybe_offer)

    def set_store(self, store: ResumeStore | None) -> None:
        self.store = store
        if store is not None:
            store.on_loaded(self._store_loaded.emit)

    # -- the queue's calls ----------------------------------------------------------------
    def track(self, source: str) -> None:
        """``source`` is about to open as a queue item (only those are remembered)."""
        self._tracked = source

    def remember(self) -> None:
        """Keep (or forget) the current item's position by the resume rule."""
        if self.store is None or self._source is None:
            return
        snap = self.session.snapshot()
        if snap.source != self._source or snap.state in (PlaybackState.IDLE, PlaybackState.STARTUP):
            return
        self._apply(
            resume_action(snap.position_s, snap.length_s, snap.seekable),
            snap.position_s,
            snap.length_s,
        )

    def stop(self) -> None:
        self._saver.stop()
        self.offer.withdraw()

    # -- the prompt -----------------------------------------------------------------------
    def accept(self) -> None:
        point = self._offered
        self.offer.withdraw()
        self._offered = None
        if point is not None and self.session.source == self._source:
            log.info("resuming at %.1f s", point.position_s)
            self.session.seek_s(point.position_s)

    def decline(self) -> None:
        self.offer.withdraw()
        self._offered = None
        if self.store is not None and self._source is not None:
            self.store.forget(self._source)

    @property
    def offered_at(self) -> float | None:
        """The position on offer right now (None: no prompt)."""
        return (
            self._offered.position_s
            if self._offered is not None and self.offer.isVisible()
            else None
        )

    # -- session events -------------------------------------------------------------------
    def on_event(self, ev: SessionEvent) -> None:
        if isinstance(ev, Opening):
            self.offer.withdraw()
            self._offered = None
            self._source = ev.source if ev.source == self._tracked else None
            # Looked up when it plays, not now: the store may still be loading at start-up.
            self._offer_due = self._source is not None
        elif isinstance(ev, StateChanged):
            if ev.state is PlaybackState.PAUSED:
                self.remember()
            self._maybe_offer()
        elif isinstance(ev, MediaInfo):
            self._maybe_offer()
        elif isinstance(ev, Ended) and self._source is not None and self.store is not None:
            self.offer.withdraw()
            self.store.forget(self._source)  # played to the end
        elif isinstance(ev, EndedEarly) and self._source is not None:
            self.offer.withdraw()
            self._apply(resume_action(ev.at_s, ev.length_s, True), ev.at_s, ev.length_s)

    def _maybe_offer(self) -> None:
        if (
            not self._offer_due
            or self.store is None
            or self.session.state is not PlaybackState.PLAYING
        ):
            return
        snap = self.session.snapshot()
        if not snap.seekable or not snap.length_s:
            return  # the offer waits for libVLC to say the input can seek
        if not self.store.wait_loaded(0):
            return  # still due: the store's loaded signal brings us back
        self._offer_due = False
        point = self.store.get(self._source) if self._source is not None else None
        if point is None:
            return
        if resume_action(point.position_s, snap.length_s, True) is not ResumeAction.REMEMBER:
            return  # the file changed (shorter now): nothing sensible to offer
        self._offered = point
        self.offer.offer(point.position_s)

    def _apply(
        self, action: ResumeAction, position_s: float | None, length_s: float | None
    ) -> None:
        if self.store is None or self._source is None:
            return
        if action is ResumeAction.REMEMBER and position_s is not None and length_s:
            self.store.put(self._source, position_s, length_s)
        elif action is ResumeAction.FORGET:
            self.store.forget(self._source)
