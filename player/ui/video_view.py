"""The video area: libVLC pictures painted by Qt, with notices drawn over them.

libVLC decodes into a buffer we own (playback/vlc.py); this widget polls for a
newer picture on a timer and paints it scaled to fit, aspect kept, letterboxed.
Notices and messages are painted in the same widget so that ``grab()`` and
screenshots capture video and notice together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PyQt6.QtCore import QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

from player.playback.vlc import Frame

FRAME_POLL_MS = 15  # ~66 Hz: never more than one display interval late at 60 fps
OVERLAY_MARGIN = 16
OVERLAY_MAX_WIDTH = 560


@dataclass(slots=True)
class Overlay:
    """Text painted over the video: a stall notice or an error/info message."""

    title: str
    detail: str = ""
    kind: str = "info"  # info | error | notice | busy


KIND_COLOURS = {
    "info": QColor(30, 40, 60, 215),
    "busy": QColor(30, 40, 60, 215),
    "error": QColor(120, 20, 24, 225),
    "notice": QColor(20, 20, 20, 215),
}


class VideoView(QWidget):
    """Paints the newest frame from ``frame_source`` plus optional overlays."""

    frame_painted = pyqtSignal(int)  # sequence number of the picture just shown
    mouse_moved = pyqtSignal()
    double_clicked = pyqtSignal()

    def __init__(self, frame_source: Callable[[int], Frame | None], parent: QWidget | None = None):
        super().__init__(parent)
        self._frame_source = frame_source
        self._image: QImage | None = None
        self._image_bytes: bytes | None = None  # keeps the QImage's memory alive
        self._seq = 0
        self.message: Overlay | None = None  # centre: errors, "opening…"
        self.notice: Overlay | None = None  # top-left: the stall notice
        self.toast: Overlay | None = None  # bottom: short-lived stream notes
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setAcceptDrops(False)  # the main window handles drops
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._poll_frame)
        self._timer.start(FRAME_POLL_MS)

    # -- state ------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop polling for pictures (before the player is released)."""
        self._timer.stop()

    def clear_picture(self) -> None:
        self._image = None
        self._image_bytes = None
        self._seq = 0
        self.update()

    def set_message(self, overlay: Overlay | None) -> None:
        self.message = overlay
        self.update()

    def set_notice(self, overlay: Overlay | None) -> None:
        self.notice = overlay
        self.update()

    def set_toast(self, overlay: Overlay | None) -> None:
        self.toast = overlay
        self.update()

    def has_picture(self) -> bool:
        return self._image is not None

    def current_image(self) -> QImage | None:
        """The last picture received (unscaled), for tests and the stats panel."""
        return self._image

    def video_rect(self) -> QRectF:
        """Where the picture is painted: scaled to fit, aspect kept, centred."""
        if self._image is None or self._image.width() == 0 or self._image.height() == 0:
            return QRectF(self.rect())
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    # -- frames -----------------------------------------------------------------------
    def _poll_frame(self) -> None:
        frame = self._frame_source(self._seq)
        if frame is None:
            return
        self._seq = frame.seq
        if len(frame.data) < frame.pitch * frame.height or frame.pitch < frame.width * 4:
            return  # never let QImage read past the picture's memory
        self._image_bytes = frame.data
        self._image = QImage(
            frame.data, frame.width, frame.height, frame.pitch, QImage.Format.Format_RGB32
        )
        self.update()
        self.frame_painted.emit(frame.seq)

    # -- painting -----------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt name
        p = QPainter(self)
        p.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(self.video_rect(), self._image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self.notice is not None:
            self._paint_box(p, self.notice, where="top")
        if self.toast is not None:
            self._paint_box(p, self.toast, where="bottom")
        if self.message is not None:
            self._paint_box(p, self.message, where="centre")
        p.end()

    def _paint_box(self, p: QPainter, ov: Overlay, where: str) -> None:
        width = min(OVERLAY_MAX_WIDTH, self.width() - 2 * OVERLAY_MARGIN)
        if width <= 40:
            return
        title_font = QFont(self.font())
        title_font.setPointSizeF(max(10.0, self.font().pointSizeF() * 1.25))
        title_font.setBold(True)
        detail_font = QFont(self.font())
        pad = 12
        inner = width - 2 * pad
        flags = int(Qt.TextFlag.TextWordWrap)
        p.setFont(title_font)
        t_rect = p.boundingRect(QRectF(0, 0, inner, 1000), flags, ov.title)
        d_rect = QRectF()
        if ov.detail:
            p.setFont(detail_font)
            d_rect = p.boundingRect(QRectF(0, 0, inner, 1000), flags, ov.detail)
        height = t_rect.height() + (d_rect.height() + 6 if ov.detail else 0) + 2 * pad
        box_w = max(t_rect.width(), d_rect.width()) + 2 * pad
        if where == "centre":
            x = (self.width() - box_w) / 2
            y = (self.height() - height) / 2
        elif where == "bottom":
            x = (self.width() - box_w) / 2
            y = self.height() - height - OVERLAY_MARGIN
        else:
            x = OVERLAY_MARGIN
            y = OVERLAY_MARGIN
        box = QRectF(x, y, box_w, height)
        path = QPainterPath()
        path.addRoundedRect(box, 8, 8)
        p.fillPath(path, KIND_COLOURS.get(ov.kind, KIND_COLOURS["info"]))
        if ov.kind == "notice":
            p.setPen(QPen(QColor(255, 176, 32), 3))
            p.drawLine(int(box.left() + 1), int(box.top() + 8), int(box.left() + 1), int(box.bottom() - 8))
        p.setPen(QColor(255, 255, 255))
        p.setFont(title_font)
        p.drawText(QRectF(x + pad, y + pad, inner, t_rect.height()), flags, ov.title)
        if ov.detail:
            p.setFont(detail_font)
            p.setPen(QColor(225, 228, 235))
            p.drawText(
                QRectF(x + pad, y + pad + t_rect.height() + 6, inner, d_rect.height()), flags, ov.detail
            )

    # -- input ----------------------------------------------------------------------------
    def mouseMoveEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt name
        self.mouse_moved.emit()
        super().mouseMoveEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt name
        self.double_clicked.emit()
