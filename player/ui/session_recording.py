"""The main window's history hooks: its session recorded into the history (when the window
has one), each recording finished before another video opens and when the window closes,
and View → History (H)."""

from __future__ import annotations

from PyQt6.QtCore import QObject
from PyQt6.QtWidgets import QMainWindow

from player.session import Session
from player.store.history import HistoryStore
from player.ui.history_window import HistoryController

NOT_RECORDED = "History is not recorded in this window."


class SessionRecording:
    def __init__(self, window: QMainWindow, store: HistoryStore | None, session: Session, bridge: QObject) -> None:
        """``store`` None: nothing is recorded (tests, tools) and History says so."""
        self.window = window
        self.controller = HistoryController(window, store, session, bridge) if store is not None else None

    def finish(self) -> None:
        """The current session ends (before another open, and when the window closes)."""
        if self.controller is not None:
            self.controller.finish()

    def show(self) -> None:
        if self.controller is None:
            self.window.statusBar().showMessage(NOT_RECORDED)
            return
        self.controller.show()
