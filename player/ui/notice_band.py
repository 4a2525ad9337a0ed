"""The stall notice as a translucent band across the top of the video, painted by the view.

Layout and painting only (the view owns state, fade and input): a small status line
("Buffering…" / "Playing again"), the verdict's sentence in large type, one plain evidence
line, the "Adjusting video …" line when the player stepped down, and three painted
controls: "Why?", "Screenshot" and a close "×". Painted rather than child widgets so that
``grab()`` and screenshots show exactly what the viewer sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen

from player.core.wording import Notice

BAND_COLOUR = QColor(8, 10, 14, 196)  # dark and translucent: the picture shows through
ACCENT_BUFFERING = QColor(255, 184, 48)  # amber while stalled
ACCENT_RECOVERED = QColor(96, 210, 120)  # green once playing again
TITLE_COLOUR = QColor(255, 255, 255)
DETAIL_COLOUR = QColor(222, 226, 234)
ADJUST_COLOUR = QColor(190, 200, 215)
# Title size follows the video's size (readable from the sofa in fullscreen, not shouting
# in a small or narrow window): 4.5 % of the height or 4 % of the width, whichever is
# smaller, within 18-40 px (18 px: the smallest a headline reads at a glance).
TITLE_HEIGHT_FRACTION = 0.045
TITLE_WIDTH_FRACTION = 0.04
TITLE_MIN_PX, TITLE_MAX_PX = 18, 40
# The band covers at most this much of the view (the picture stays the main thing): past it
# the evidence and "Adjusting video" lines are cut to one line each ("…"), then the type
# shrinks, down to TITLE_FLOOR_PX (still legible), then those lines are left out, the
# "Adjusting" line first (the Why? window has them whole). The headline is never cut.
BAND_MAX_FRACTION = 0.35
TITLE_FLOOR_PX = 14
SHRINK_STEP = 0.9
DETAIL_SCALE = 0.62  # evidence line relative to the title
BUTTON_LABELS = {"why": "Why?", "screenshot": "Screenshot", "close": "\u00d7"}


@dataclass(slots=True)
class BandLayout:
    band: QRectF
    header: QRectF | None = None
    title: QRectF | None = None
    detail: QRectF | None = None
    adjusting: QRectF | None = None
    buttons: dict[str, QRectF] = field(default_factory=dict)
    fonts: dict[str, QFont] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # what is painted (elided lines cut)


def _font(base: QFont, px: float, *, bold: bool = False, italic: bool = False) -> QFont:
    f = QFont(base)
    f.setPixelSize(max(1, round(px)))
    f.setBold(bold)
    f.setItalic(italic)
    return f


def layout(n: Notice, width: float, height: float, base: QFont) -> BandLayout:
    """Where each part of the band goes in a ``width`` x ``height`` view (at most
    BAND_MAX_FRACTION of its height when the type can shrink or the evidence be cut)."""
    title_px = min(TITLE_MAX_PX, max(TITLE_MIN_PX, min(height * TITLE_HEIGHT_FRACTION, width * TITLE_WIDTH_FRACTION)))
    cap = height * BAND_MAX_FRACTION
    lay = _layout_at(n, width, title_px, base, elide=False)
    if lay.band.height() > cap:  # first the evidence lines go to one line each ...
        lay = _layout_at(n, width, title_px, base, elide=True)
    while lay.band.height() > cap and title_px > TITLE_FLOOR_PX:  # ... then the type shrinks
        title_px = max(TITLE_FLOOR_PX, title_px * SHRINK_STEP)
        lay = _layout_at(n, width, title_px, base, elide=True)
    for drop in (("adjusting",), ("adjusting", "detail")):  # the headline is never cut
        if lay.band.height() <= cap:
            break
        lay = _layout_at(n, width, title_px, base, elide=True, drop=drop)
    return lay


def _layout_at(
    n: Notice, width: float, title_px: float, base: QFont, *, elide: bool, drop: tuple[str, ...] = ()
) -> BandLayout:
    detail_px = max(13.0, title_px * DETAIL_SCALE)
    fonts = {
        "header": _font(base, detail_px, bold=True),
        "title": _font(base, title_px, bold=True),
        "detail": _font(base, detail_px),
        "adjusting": _font(base, detail_px * 0.95, italic=True),
        "button": _font(base, max(12.0, detail_px * 0.9), bold=True),
    }
    pad_x = max(16.0, width * 0.03)
    pad_y = max(10.0, title_px * 0.5)
    gap = max(4.0, title_px * 0.25)
    # the controls, right-aligned on the first line
    bfm = QFontMetricsF(fonts["button"])
    bh = bfm.height() + 10
    x = width - pad_x
    buttons: dict[str, QRectF] = {}
    for key in ("close", "screenshot", "why"):
        bw = bh if key == "close" else bfm.horizontalAdvance(BUTTON_LABELS[key]) + 22
        x -= bw
        buttons[key] = QRectF(x, pad_y, bw, bh)
        x -= 8
    if width < 520:  # a small window: keep only the close control
        buttons = {"close": buttons["close"]}
    text_right = min(buttons.values(), key=lambda r: r.left()).left() - 16
    beside_w = max(80.0, text_right - pad_x)  # lines beside the controls
    full_w = max(80.0, width - 2 * pad_x)  # lines below them
    buttons_bottom = max(b.bottom() for b in buttons.values())
    flags = int(Qt.TextFlag.TextWordWrap)
    y = pad_y
    out = BandLayout(QRectF(), buttons=buttons, fonts=fonts)
    for part, text in (("header", n.header), ("title", n.title), ("detail", n.detail), ("adjusting", n.adjusting)):
        if not text or part in drop:
            continue
        text_w = full_w if y >= buttons_bottom - 4 else beside_w
        fm = QFontMetricsF(fonts[part])
        if elide and part in ("detail", "adjusting"):
            text = fm.elidedText(text, Qt.TextElideMode.ElideRight, text_w)
            h = fm.height()
        else:
            h = fm.boundingRect(QRectF(0, 0, text_w, 10_000), flags, text).height()
            if text_w != full_w:  # beside the controls, or below them at full width if that ends higher
                below_h = fm.boundingRect(QRectF(0, 0, full_w, 10_000), flags, text).height()
                if buttons_bottom + gap + below_h < y + h:
                    y, text_w, h = buttons_bottom + gap, full_w, below_h
        setattr(out, part, QRectF(pad_x, y, text_w, h))
        out.texts[part] = text
        y += h + gap
    bottom = max(y - gap, buttons_bottom) + pad_y
    out.band = QRectF(0, 0, width, bottom)
    return out


def paint(p: QPainter, n: Notice, lay: BandLayout, *, hover: str | None = None) -> list[str]:
    """Paint the band (the painter's opacity is the fade); returns the texts it drew."""
    p.fillRect(lay.band, BAND_COLOUR)
    accent = ACCENT_RECOVERED if n.status == "recovered" else ACCENT_BUFFERING
    p.fillRect(QRectF(lay.band.left(), lay.band.bottom() - 3, lay.band.width(), 3), accent)
    flags = int(Qt.TextFlag.TextWordWrap)
    colours = {"header": accent, "title": TITLE_COLOUR, "detail": DETAIL_COLOUR, "adjusting": ADJUST_COLOUR}
    texts = lay.texts
    drawn: list[str] = []
    for part in ("header", "title", "detail", "adjusting"):
        rect = getattr(lay, part)
        if rect is None:
            continue
        p.setFont(lay.fonts[part])
        if part == "title":  # a soft shadow keeps white type legible over bright video
            p.setPen(QColor(0, 0, 0, 160))
            p.drawText(rect.translated(1.5, 1.5), flags, texts[part])
        p.setPen(colours[part])
        p.drawText(rect, flags, texts[part])
        drawn.append(texts[part])
    p.setFont(lay.fonts["button"])
    for key, rect in lay.buttons.items():
        path = QPainterPath()
        path.addRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        fill = QColor(255, 255, 255, 70 if hover == key else 34)
        p.fillPath(path, fill)
        p.setPen(QPen(QColor(255, 255, 255, 150), 1.2))
        p.drawPath(path)
        p.setPen(TITLE_COLOUR)
        p.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), BUTTON_LABELS[key])
        drawn.append(BUTTON_LABELS[key])
    return drawn


def hit(lay: BandLayout | None, pos: QPointF) -> str | None:
    """Which control is at ``pos`` ("why", "screenshot", "close"), if any."""
    if lay is None:
        return None
    for key, rect in lay.buttons.items():
        if rect.adjusted(-4, -4, 4, 4).contains(pos):
            return key
    return None
