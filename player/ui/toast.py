"""A small, short-lived confirmation over the bottom-right of the window ("Saved · Open folder").

A child of the main window, not of the video view, so it never appears in screenshots.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

TOAST_MS = 4000  # long enough to reach "Open folder", short enough not to linger
ERROR_TOAST_MS = 7000  # a failure needs reading
MARGIN = 16


class Toast(QFrame):
    def __init__(self, parent: QWidget, anchor: QWidget | None = None) -> None:
        super().__init__(parent)
        self._anchor = anchor or parent
        self.setObjectName("stallwatchToast")
        self.setStyleSheet(
            "#stallwatchToast { background: rgba(24, 28, 36, 235); border-radius: 8px;"
            " border: 1px solid rgba(255, 255, 255, 60); }"
            "#stallwatchToast QLabel { color: white; font-size: 13px; }"
            "#stallwatchToast QPushButton { color: white; background: rgba(255,255,255,40);"
            " border: 1px solid rgba(255,255,255,110); border-radius: 5px; padding: 3px 10px; }"
            "#stallwatchToast[error=\"true\"] { background: rgba(120, 20, 24, 240); }"
        )
        lay = QHBoxLayout(self)
        lay.setContentsMargins(14, 8, 8, 8)
        lay.setSpacing(10)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.button = QPushButton(self)
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.clicked.connect(self._clicked)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.button)
        self._action: Callable[[], None] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_message(
        self,
        text: str,
        action_text: str = "",
        action: Callable[[], None] | None = None,
        *,
        error: bool = False,
    ) -> None:
        self.label.setText(text)
        self._action = action
        self.button.setText(action_text)
        self.button.setVisible(bool(action_text and action))
        self.setProperty("error", "true" if error else "false")
        self.style().unpolish(self)
        self.style().polish(self)
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()
        self._timer.start(ERROR_TOAST_MS if error else TOAST_MS)

    def _place(self) -> None:
        a = self._anchor
        bottom_right = a.mapTo(self.parentWidget(), a.rect().bottomRight())
        self.move(bottom_right.x() - self.width() - MARGIN, bottom_right.y() - self.height() - MARGIN)

    def _clicked(self) -> None:
        if self._action is not None:
            self._action()
        self.hide()
