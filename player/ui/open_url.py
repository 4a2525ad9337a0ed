"""The "Open URL" dialog: an editable list of recent URLs with validation."""

from __future__ import annotations

from urllib.parse import urlparse

from PyQt6.QtGui import QGuiApplication
from PyQt6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

SCHEMES = ("http", "https", "rtsp", "rtmp", "file")


def validate_url(text: str) -> str | None:
    """An error message for ``text``, or None when it is a URL we can try."""
    text = text.strip()
    if not text:
        return "Enter the address of a video or stream."
    parsed = urlparse(text)
    if parsed.scheme not in SCHEMES:
        return "The address must start with http://, https:// (or rtsp://, rtmp://, file://)."
    if parsed.scheme != "file" and not parsed.netloc:
        return "The address has no server name."
    return None


class OpenUrlDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, recent: list[str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open URL")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Address of a video file, HLS (.m3u8) or DASH (.mpd) stream:"))
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.addItems(recent or [])
        self.combo.setCurrentText("")
        clip = QGuiApplication.clipboard().text().strip() if QGuiApplication.clipboard() else ""
        if clip and validate_url(clip) is None:
            self.combo.setCurrentText(clip)
        layout.addWidget(self.combo)
        self.error_label = QLabel("")
        self.error_label.setStyleSheet("color: #c0392b;")
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._try_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def url(self) -> str:
        return self.combo.currentText().strip()

    def _try_accept(self) -> None:
        error = validate_url(self.url())
        if error:
            self.error_label.setText(error)
            return
        self.accept()
