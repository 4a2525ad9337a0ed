"""The one place where the session's results reach the GUI.

Worker threads and libVLC never touch widgets: they put plain events on queues
that the Session drains in ``tick``. This bridge calls ``tick`` on a GUI-thread
timer and re-emits each session event as a Qt signal.
"""

from __future__ import annotations

import logging
import queue

from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal

from player.session import Session, SessionEvent

log = logging.getLogger(__name__)

TICK_MS = 50  # 20 Hz: stall detection needs < 0.5 s, the UI needs smooth time labels


class SessionBridge(QObject):
    session_event = pyqtSignal(object)  # a player.session.SessionEvent
    ticked = pyqtSignal()

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._timer.start(TICK_MS)

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        try:
            self.session.tick()
        except Exception:  # never let one bad tick kill the event loop
            log.exception("session tick failed")
        while True:
            try:
                ev: SessionEvent = self.session.events.get_nowait()
            except queue.Empty:
                break
            self.session_event.emit(ev)
        self.ticked.emit()
