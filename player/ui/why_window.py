"""The "Why?" window: the evidence behind the notice, as a person reads it.

The route drawn from this computer to the server with each part marked fine / suspect /
not measured, the hop table, throughput against the bitrate needed, the first byte, what
was ruled out and the confidence in words; "Copy details" puts the JSON report on the
clipboard. Like mpv's stats pages it only reads: ``refresh`` takes a
:class:`~player.core.explain.Explanation` built from the session's state, nothing here
touches the network. Remote text (host names) is shown as plain text, never rich text.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from player.core.explain import Explanation, PartView
from player.core.wording import explain as say

STATUS_COLOURS = {  # fill, border: readable on light and dark themes, not only by hue
    say.FINE: ("#2e7d32", "#66bb6a"),
    say.SUSPECT: ("#c62828", "#ff8a80"),
    say.NOT_MEASURED: ("#546e7a", "#90a4ae"),
}
# A part whose rule leaves its cause open ("not settled") is drawn amber, not the red of a
# suspect: the same colour as its row under "What was ruled out".
DISPLAY_COLOURS = {say.NOT_SETTLED: ("#ef6c00", "#ffb74d")}
STATUS_MARKS = {say.FINE: "✓", say.SUSPECT: "!", say.NOT_MEASURED: "?"}  # colour-blind safe
HOP_COLUMNS = ("#", "Name", "Network", "Part", "Quiet", "While downloading")
BOX_GAP = 22  # room for the arrow between two parts
PATH_HEIGHT = 96
LEGEND_HEIGHT = 24
COPIED_TEXT = "Copied to the clipboard"
HOP_ROWS_SHOWN = 12  # a longer route scrolls inside the table


def plain_label(text: str = "", *, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # host names and URIs are never markup
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class PathDiagram(QWidget):
    """The five parts of the route as boxes joined by arrows, and a legend."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.parts: list[PartView] = []
        self.setMinimumSize(560, PATH_HEIGHT + LEGEND_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_parts(self, parts: list[PartView]) -> None:
        if parts != self.parts:
            self.parts = list(parts)
            self.update()

    def box_rects(self) -> list[QRectF]:
        n = max(1, len(self.parts))
        width = (self.width() - 2 - BOX_GAP * (n - 1)) / n
        return [QRectF(1 + i * (width + BOX_GAP), 6, width, PATH_HEIGHT - 12) for i in range(n)]

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rects = self.box_rects()
        text_colour = QColor("#ffffff")
        for i, (part, r) in enumerate(zip(self.parts, rects, strict=False)):
            fill, border = _box_colours(part.status, part.display)
            p.setPen(QPen(QColor(border), 2))
            p.setBrush(QColor(fill))
            p.drawRoundedRect(r, 8, 8)
            p.setPen(text_colour)
            f = QFont(self.font())
            f.setBold(True)
            p.setFont(f)
            top = QRectF(r.x() + 4, r.y() + 6, r.width() - 8, r.height() / 2 - 4)
            p.drawText(top, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, part.label)
            f.setBold(False)
            p.setFont(f)
            bottom = QRectF(r.x() + 4, r.center().y(), r.width() - 8, r.height() / 2 - 6)
            p.drawText(bottom, Qt.AlignmentFlag.AlignCenter, f"{STATUS_MARKS[part.status]} {part.display}")
            if i + 1 < len(rects):
                y = r.center().y()
                x0, x1 = r.right() + 3, rects[i + 1].left() - 3
                p.setPen(QPen(self.palette().text().color(), 2))
                p.drawLine(int(x0), int(y), int(x1), int(y))
                p.drawLine(int(x1) - 6, int(y) - 5, int(x1), int(y))
                p.drawLine(int(x1) - 6, int(y) + 5, int(x1), int(y))
        x = 2.0
        y = PATH_HEIGHT + 4.0
        p.setFont(self.font())
        for status, words, (fill, border) in legend_entries(self.parts):
            p.setPen(QPen(QColor(border), 1))
            p.setBrush(QColor(fill))
            p.drawRoundedRect(QRectF(x, y + 2, 14, 14), 3, 3)
            p.setPen(self.palette().text().color())
            label = f"{STATUS_MARKS[status]} {words}"
            p.drawText(QRectF(x + 20, y, 150, 18), Qt.AlignmentFlag.AlignVCenter, label)
            x += 20 + p.fontMetrics().horizontalAdvance(label) + 24
        p.end()


class WhyWindow(QDialog):
    """Non-modal; ``refresh`` shows an Explanation, ``report_json`` gives the clipboard's JSON."""

    def __init__(self, report_json: Callable[[], dict], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Why? — Stallwatch")
        self.setObjectName("why")
        self.setModal(False)
        self.resize(760, 640)
        self._report_json = report_json
        self.explanation: Explanation | None = None
        outer = QVBoxLayout(self)
        self.headline = plain_label()
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 1.35)
        big.setBold(True)
        self.headline.setFont(big)
        self.detail = plain_label()
        self.confidence = plain_label()
        outer.addWidget(self.headline)
        outer.addWidget(self.detail)
        outer.addWidget(self.confidence)

        route = QGroupBox("The route from this computer to the video's server")
        rl = QVBoxLayout(route)
        self.diagram = PathDiagram()
        rl.addWidget(self.diagram)
        outer.addWidget(route)

        ruled = QGroupBox("What was ruled out")
        self.ruled_grid = QGridLayout(ruled)
        self.ruled_grid.setColumnStretch(2, 1)
        self.ruled_labels: list[tuple[QLabel, QLabel, QLabel]] = []
        for row in range(5):
            cells = (plain_label(wrap=False), plain_label(wrap=False), plain_label())
            bold = QFont(self.font())
            bold.setBold(True)
            cells[0].setFont(bold)
            for col, cell in enumerate(cells):
                self.ruled_grid.addWidget(cell, row, col, Qt.AlignmentFlag.AlignTop)
            self.ruled_labels.append(cells)
        outer.addWidget(ruled)

        numbers = QGroupBox("Downloads")
        nl = QVBoxLayout(numbers)
        self.throughput = plain_label()
        self.ttfb = plain_label()
        nl.addWidget(self.throughput)
        nl.addWidget(self.ttfb)
        outer.addWidget(numbers)

        hops = QGroupBox("Routers on the route")
        hl = QVBoxLayout(hops)
        self.hop_table = QTableWidget(0, len(HOP_COLUMNS))
        self.hop_table.setHorizontalHeaderLabels(HOP_COLUMNS)
        self.hop_table.verticalHeader().setVisible(False)
        self.hop_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.hop_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.hop_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.no_hops = plain_label("No router on the route has been timed.")
        hl.addWidget(self.hop_table)
        hl.addWidget(self.no_hops)
        outer.addWidget(hops)
        outer.addStretch(1)

        buttons = QHBoxLayout()
        self.copied = plain_label(wrap=False)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Put the full report (JSON) on the clipboard")
        self.copy_button.clicked.connect(self.copy_details)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(self.copied, 1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(close)
        outer.addLayout(buttons)

    def refresh(self, e: Explanation) -> None:
        if e == self.explanation:
            return
        self.explanation = e
        self.headline.setText(e.headline)
        self.detail.setText(e.detail)
        self.detail.setVisible(bool(e.detail))
        self.confidence.setText(e.confidence_sentence)
        self.diagram.set_parts(e.parts)
        for (label, status, reason), item in zip(self.ruled_labels, e.ruled_out, strict=False):
            label.setText(item.label)
            status.setText(item.status)
            status.setStyleSheet(f"color: {_status_colour(item.status)}; font-weight: bold;")
            reason.setText(item.reason[:1].upper() + item.reason[1:] + ".")
        self.throughput.setText(e.throughput)
        self.ttfb.setText(e.ttfb)
        self.hop_table.setRowCount(len(e.hops))
        for row, h in enumerate(e.hops):
            for col, text in enumerate((str(h.hop), h.name, h.network, h.part, h.idle, h.loaded)):
                item = self.hop_table.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    self.hop_table.setItem(row, col, item)
                item.setText(text)
        self.hop_table.setVisible(bool(e.hops))
        rows = min(len(e.hops), HOP_ROWS_SHOWN)
        header_h = self.hop_table.horizontalHeader().height()
        self.hop_table.setFixedHeight(header_h + rows * self.hop_table.verticalHeader().defaultSectionSize() + 6)
        self.no_hops.setVisible(not e.hops)

    def copy_details(self) -> None:
        text = json.dumps(self._report_json(), indent=2, ensure_ascii=False)
        QApplication.clipboard().setText(text)
        self.copied.setText(COPIED_TEXT)

    def all_text(self) -> str:
        """Every piece of text the window shows (labels, buttons, group titles, table cells)."""
        out = [self.windowTitle()]
        for w in self.findChildren(QWidget):
            for attr in ("text", "title", "toolTip"):
                fn = getattr(w, attr, None)
                if callable(fn):
                    value = fn()
                    if isinstance(value, str):
                        out.append(value)
        t = self.hop_table
        for row in range(t.rowCount()):
            for col in range(t.columnCount()):
                item = t.item(row, col)
                if item is not None:
                    out.append(item.text())
        out += [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
        for part in self.diagram.parts:  # what the diagram paints
            out += [part.label, part.display]
        return "\n".join(out)


def _box_colours(status: str, display: str) -> tuple[str, str]:
    return DISPLAY_COLOURS.get(display) or STATUS_COLOURS[status]


def legend_entries(parts: list) -> list[tuple[str, str, tuple[str, str]]]:
    """(status, words, colours) per colour drawn: the words the boxes of that colour show
    ("fine / no queue here", "full", "not settled"), else the status's own name."""
    out: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for status in (say.FINE, say.SUSPECT, say.NOT_MEASURED):
        out[STATUS_COLOURS[status]] = (status, [])
    for part in parts:
        colours = _box_colours(part.status, part.display)
        entry = out.setdefault(colours, (part.status, []))
        if part.display not in entry[1]:
            entry[1].append(part.display)
    order = [STATUS_COLOURS[say.FINE], STATUS_COLOURS[say.SUSPECT], *DISPLAY_COLOURS.values()]
    order.append(STATUS_COLOURS[say.NOT_MEASURED])
    shown = [c for c in order if c in out] + [c for c in out if c not in order]
    return [(out[c][0], " / ".join(out[c][1]) or out[c][0], c) for c in shown]


RULED_COLOURS = {  # a ruled-out row's status; the rule's own words share their meaning's colour
    "ruled out": "#43a047",
    say.NO_QUEUE: "#43a047",
    "suspected": "#e53935",
    say.FULL: "#e53935",
    say.FULL_SOFT: "#e53935",
    say.NOT_SETTLED: "#ef6c00",
    "not checked": "#78909c",
}


def _status_colour(ruled_status: str) -> str:
    return RULED_COLOURS.get(ruled_status, "")


WHY_REFRESH_TICKS = 10  # refresh the open window every 10 bridge ticks (2 Hz): reading, not polling


class WhyController:
    """Opens the one "Why?" window on demand and refreshes it on the bridge's tick while shown."""

    def __init__(
        self,
        parent: QWidget,
        explain: Callable[[], Explanation],
        report_json: Callable[[], dict],
        ticked,  # noqa: ANN001 - the bridge's ``ticked`` signal
    ) -> None:
        self._parent = parent
        self._explain = explain
        self._report_json = report_json
        self.window: WhyWindow | None = None
        self._ticks = 0
        ticked.connect(self._on_tick)

    def show(self) -> None:
        if self.window is None:
            self.window = WhyWindow(self._report_json, self._parent)
        self.window.refresh(self._explain())
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()

    def _on_tick(self) -> None:
        if self.window is None or not self.window.isVisible():
            return
        self._ticks += 1
        if self._ticks % WHY_REFRESH_TICKS == 0:
            self.window.refresh(self._explain())

    def close(self) -> None:
        if self.window is not None:
            self.window.close()
