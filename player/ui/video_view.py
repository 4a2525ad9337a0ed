"""The video area: libVLC pictures painted by Qt, with notices drawn over them.

libVLC decodes into a buffer we own (playback/vlc.py); this widget polls for a
newer picture on a timer and paints it scaled to fit, aspect kept, letterboxed.
Notices and messages are painted in the same widget so that ``grab()`` and
screenshots capture video and notice together. The stall notice is a band across the top
(ui/notice_band): it fades out when the session hides it, can be dismissed with its "×" or
the D key, and its "Why?" / "Screenshot" controls emit :attr:`VideoView.why_requested` /
:attr:`VideoView.screenshot_requested`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from PyQt6.QtCore import (
    QEasingCurve,
    QPropertyAnimation,
    QRectF,
    Qt,
    QTimer,
    pyqtProperty,
    pyqtSignal,
)
from PyQt6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

from player.core import thresholds as T
from player.core.wording import Notice
from player.playback.vlc import Frame
from player.ui import notice_band

FRAME_POLL_MS = 15  # ~66 Hz: never more than one display interval late at 60 fps
OVERLAY_MARGIN = 16
OVERLAY_MAX_WIDTH = 560
NOTICE_FADE_MS = round(T.NOTICE_FADE_S * 1000)  # the band fades out this fast once hidden


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
    why_requested = pyqtSignal()  # the band's "Why?" control
    screenshot_requested = pyqtSignal()  # the band's "Screenshot" control
    notice_dismissed = pyqtSignal()
    notice_hidden = pyqtSignal()  # the band has faded out (or was dismissed)

    def __init__(self, frame_source: Callable[[int], Frame | None], parent: QWidget | None = None):
        super().__init__(parent)
        self._frame_source = frame_source
        self._image: QImage | None = None
        self._image_bytes: bytes | None = None  # keeps the QImage's memory alive
        self._seq = 0
        self.message: Overlay | None = None  # centre: errors, "opening…"
        self.notice: Notice | None = None  # the stall notice band (top)
        self.toast: Overlay | None = None  # bottom: short-lived stream notes
        self.notice_shown_at: float | None = None  # time.monotonic() the band appeared
        self.notice_hidden_at: float | None = None  # ... and was gone (faded or dismissed)
        self._band: notice_band.BandLayout | None = None
        self.painted_texts: list[str] = []  # every text the last paint drew (tests, redaction)
        self._hover: str | None = None
        self._dismissed_serial: int | None = None
        self._opacity = 1.0
        self._fade = QPropertyAnimation(self, b"noticeOpacity", self)
        self._fade.setDuration(NOTICE_FADE_MS)
        self._fade.setEasingCurve(QEasingCurve.Type.OutCubic)
        self._fade.finished.connect(self._fade_done)
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

    def set_notice(self, notice: Notice | Overlay | None) -> None:
        """Show (or re-word) the band; None fades it out. A dismissed band stays hidden
        until a new one (another ``serial``) comes."""
        if isinstance(notice, Overlay):
            notice = Notice(notice.title, notice.detail)
        if notice is None:
            self._fade_out()
            return
        if notice.serial and notice.serial == self._dismissed_serial:
            return
        if self.notice is None or self._fade.state() is QPropertyAnimation.State.Running:
            self._fade.stop()
            if self.notice is None:
                self.notice_shown_at = time.monotonic()
                self.notice_hidden_at = None
        self._opacity = 1.0
        self.notice = notice
        self._relayout()
        self.update()

    def dismiss_notice(self) -> None:
        """The viewer closed the band ("×" or D): hide it now, keep it hidden for this notice."""
        if self.notice is None:
            return
        self._dismissed_serial = self.notice.serial or None
        self._fade.stop()
        self._clear_notice()
        self.notice_dismissed.emit()

    def notice_band_rect(self) -> QRectF | None:
        """Where the band is painted (None when no band is up)."""
        return QRectF(self._band.band) if self.notice is not None and self._band is not None else None

    def band_button_rect(self, key: str) -> QRectF | None:
        """The rectangle of a band control ("why", "screenshot", "close")."""
        if self.notice is None or self._band is None:
            return None
        return self._band.buttons.get(key)

    def _get_opacity(self) -> float:
        return self._opacity

    def _set_opacity(self, value: float) -> None:
        self._opacity = float(value)
        self.update()

    noticeOpacity = pyqtProperty(float, fget=_get_opacity, fset=_set_opacity)  # noqa: N815 - Qt property

    def _fade_out(self) -> None:
        if self.notice is None or self._fade.state() is QPropertyAnimation.State.Running:
            return
        self._fade.setStartValue(self._opacity)
        self._fade.setEndValue(0.0)
        self._fade.start()

    def _fade_done(self) -> None:
        if self._opacity <= 0.0:
            self._clear_notice()

    def _clear_notice(self) -> None:
        self.notice = None
        self._band = None
        self._opacity = 1.0
        self.notice_hidden_at = time.monotonic()
        self.setCursor(Qt.CursorShape.ArrowCursor)
        self.update()
        self.notice_hidden.emit()

    def _relayout(self) -> None:
        if self.notice is not None:
            self._band = notice_band.layout(self.notice, self.width(), self.height(), self.font())

    def grab_redacted(self, redact: Callable[[str], str] | None) -> QImage:
        """The view as a picture with every text it paints passed through ``redact`` (None:
        as it is). The band, message and toast texts are swapped for redacted copies, the
        view grabbed, and the originals put back: synchronous on the GUI thread with no event
        processing in between, so the viewer never sees the swap (no flicker)."""
        if redact is None:
            return self.grab().toImage()
        kept = (self.notice, self._band, self.message, self.toast)
        try:
            if self.notice is not None:
                n = self.notice
                self.notice = dataclasses.replace(
                    n, title=redact(n.title), detail=redact(n.detail), adjusting=redact(n.adjusting)
                )
                self._relayout()  # redacted lines may wrap differently
            for name in ("message", "toast"):
                ov = getattr(self, name)
                if ov is not None:
                    setattr(self, name, Overlay(redact(ov.title), redact(ov.detail), ov.kind))
            return self.grab().toImage()
        finally:
            self.notice, self._band, self.message, self.toast = kept

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
        texts: list[str] = []
        if self.notice is not None and self._band is not None:
            p.setOpacity(self._opacity)
            texts += notice_band.paint(p, self.notice, self._band, hover=self._hover)
            p.setOpacity(1.0)
        if self.toast is not None:
            texts += self._paint_box(p, self.toast, where="bottom")
        if self.message is not None:
            texts += self._paint_box(p, self.message, where="centre")
        p.end()
        self.painted_texts = texts

    def _paint_box(self, p: QPainter, ov: Overlay, where: str) -> list[str]:
        """Paint a message box; returns the texts it drew."""
        width = min(OVERLAY_MAX_WIDTH, self.width() - 2 * OVERLAY_MARGIN)
        if width <= 40:
            return []
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
        return [ov.title, ov.detail] if ov.detail else [ov.title]

    # -- input ----------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt name
        self._relayout()
        super().resizeEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt name
        if event.key() == Qt.Key.Key_D and self.notice is not None:
            self.dismiss_notice()
            return
        super().keyPressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt name
        hover = notice_band.hit(self._band if self.notice is not None else None, event.position())
        if hover != self._hover:
            self._hover = hover
            self.setCursor(Qt.CursorShape.PointingHandCursor if hover else Qt.CursorShape.ArrowCursor)
            self.update()
        self.mouse_moved.emit()
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt name
        key = notice_band.hit(self._band if self.notice is not None else None, event.position())
        if key is None or event.button() is not Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        if key == "close":
            self.dismiss_notice()
        elif key == "why":
            self.why_requested.emit()
        elif key == "screenshot":
            self.screenshot_requested.emit()
        event.accept()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt name
        self.double_clicked.emit()
