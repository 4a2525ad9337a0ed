"""The "Open URL" dialog: an editable list of recent URLs with validation."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from PyQt6.QtCore import QMimeData, Qt, QUrl
from PyQt6.QtGui import QGuiApplication
from PyQt6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QVBoxLayout,
    QWidget,
)

SCHEMES = ("http", "https", "rtsp", "rtmp", "file")
VIDEO_FILTER = (
    "Media (*.mp4 *.m4v *.mkv *.webm *.mov *.avi *.ts *.m2ts *.mpg *.mpeg *.flv *.ogv *.wmv "
    "*.m3u8 *.mpd *.mp3 *.m4a *.ogg *.opus *.flac *.wav);;All files (*)"
)


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
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)  # may quote the typed address
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


def source_from_mime(md: QMimeData) -> str | None:
    """What a drop onto the window opens: a local file, an http(s) URL, or a pasted one."""
    if md.hasUrls():
        for url in md.urls():
            url: QUrl
            if url.isLocalFile():
                return url.toLocalFile()
            if url.scheme() in ("http", "https"):
                return url.toString()
    if md.hasText():
        text = md.text().strip().splitlines()[0] if md.text().strip() else ""
        if text.startswith(("http://", "https://", "/", "file://")):
            return QUrl(text).toLocalFile() if text.startswith("file://") else text
    return None


def ask_for_file(parent: QWidget) -> str:
    """File → Open File… (Ctrl+O): the chosen media file's path, or "" if cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open a video", str(Path.home()), VIDEO_FILTER)
    return path
