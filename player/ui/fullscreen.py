"""Fullscreen for the main window: hides menus and status bar, and the controls when idle."""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, Qt, QTimer
from PyQt6.QtWidgets import QApplication, QMainWindow, QWidget

CONTROLS_HIDE_MS = 2000  # fullscreen: hide controls after this long without mouse movement


class FullscreenController(QObject):
    """Enters and leaves fullscreen; in fullscreen any mouse movement in the application
    brings the controls (and the cursor over ``video``) back for :data:`CONTROLS_HIDE_MS`."""

    def __init__(self, window: QMainWindow, controls: QWidget, video: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.controls = controls
        self.video = video
        self._hide_timer = QTimer(self)
        self._hide_timer.setTimerType(Qt.TimerType.PreciseTimer)  # never early (coarse: 5 %)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.setInterval(CONTROLS_HIDE_MS)
        self._hide_timer.timeout.connect(self._hide_controls_if_fullscreen)
        QApplication.instance().installEventFilter(self)

    def toggle(self) -> None:
        if self.window.isFullScreen():
            self.leave()
        else:
            self.window.menuBar().hide()
            self.window.statusBar().hide()
            self.window.showFullScreen()
            self._show_controls()

    def leave(self) -> None:
        if not self.window.isFullScreen():
            return
        self.window.showNormal()
        self.window.menuBar().show()
        self.window.statusBar().show()
        self._show_controls()
        self._hide_timer.stop()

    def hide_pending(self) -> bool:
        """Whether the controls are due to hide (fullscreen, no recent mouse movement)."""
        return self._hide_timer.isActive()

    def stop(self) -> None:
        """The window is closing: no more events, no more timers."""
        QApplication.instance().removeEventFilter(self)
        self._hide_timer.stop()

    def _show_controls(self) -> None:
        self.controls.show()
        self.window.unsetCursor()
        self.video.unsetCursor()
        if self.window.isFullScreen():
            self._hide_timer.start()

    def _hide_controls_if_fullscreen(self) -> None:
        if self.window.isFullScreen():
            self.controls.hide()
            self.video.setCursor(Qt.CursorShape.BlankCursor)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.MouseMove and self.window.isFullScreen():
            self._show_controls()
        return False
