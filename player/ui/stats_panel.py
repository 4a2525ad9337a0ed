"""Statistics for nerds: a dock that only reads the session's state.

Numbers (rendition, bitrate, throughput, buffer ahead, host, connection reuse, time to
first byte, frames, codecs, CPU, the current verdict and its confidence), live graphs of
buffer level, throughput and bitrate over the last two minutes with markers for stalls
and rendition switches, the path (hop table and a bar chart of quiet vs loaded round
trips) and the last downloads, drawn with pyqtgraph.
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFormLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from player.core.units import NO_VALUE, fmt_bitrate, fmt_value
from player.session import StatsView

GRAPH_WINDOW_S = 120.0  # two minutes: a stall and what led to it fit on screen
GRAPH_HEIGHT = 110
PANEL_MAX_WIDTH = 620  # the downloads table has ten narrow columns
STALL_COLOUR = "#ef5350"
SWITCH_COLOUR = "#ffd54f"
HOP_COLUMNS = ("Hop", "Name", "Network", "Part", "Quiet", "Loaded")
FETCH_COLUMNS = (
    "Segment",
    "DNS",
    "Connect",
    "TLS",
    "1st byte",
    "Download",
    "Media",
    "Retries",
    "Resumes",
    "Status",
)
TABLE_ROW_HEIGHT = 20

pg.setConfigOptions(antialias=True, background="#111418", foreground="#c8ccd4")


class StatsPanel(QDockWidget):
    """Dock with the numbers and three live graphs; ``refresh`` takes a StatsView."""

    FIELDS = (
        ("state", "State"),
        ("rendition", "Rendition"),
        ("resolution", "Resolution"),
        ("bitrate", "Bitrate"),
        ("throughput", "Throughput"),
        ("buffer", "Buffer ahead"),
        ("host", "Host"),
        ("reuse", "Connection"),
        ("ttfb", "Time to first byte"),
        ("frames", "Frames shown / dropped"),
        ("stalls", "Stalls"),
        ("fetches", "Fetches"),
        ("codecs", "Codecs"),
        ("cpu", "CPU (player / system)"),
        ("verdict", "Verdict"),
        ("confidence", "Confidence"),
        ("note", "Note"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Statistics", parent)
        self.setObjectName("stats")
        self.setAllowedAreas(
            Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
        )
        body = QWidget()
        outer = QVBoxLayout(body)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.values: dict[str, QLabel] = {}
        for key, label in self.FIELDS:
            value = QLabel(NO_VALUE)
            value.setTextFormat(Qt.TextFormat.PlainText)  # host names are remote text
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            self.values[key] = value
            form.addRow(f"{label}:", value)
        outer.addLayout(form)
        self.plots: dict[str, pg.PlotDataItem] = {}
        self.plot_widgets: dict[str, pg.PlotWidget] = {}
        for key, title, colour in (
            ("buffer", "Buffer ahead (s)", "#4fc3f7"),
            ("throughput", "Throughput (Mbit/s)", "#81c784"),
            ("bitrate", "Bitrate (Mbit/s)", "#ffb74d"),
        ):
            w = pg.PlotWidget(title=title)
            w.setFixedHeight(GRAPH_HEIGHT)
            w.setMouseEnabled(x=False, y=False)
            w.hideButtons()
            w.showGrid(x=True, y=True, alpha=0.2)
            w.setXRange(-GRAPH_WINDOW_S, 0, padding=0)
            w.getPlotItem().setLabel("bottom", "seconds ago")
            self.plots[key] = w.plot([], [], pen=pg.mkPen(colour, width=2))
            self.plot_widgets[key] = w
            outer.addWidget(w)
        self.markers: dict[str, list[pg.InfiniteLine]] = {k: [] for k in self.plot_widgets}
        self._marks: tuple = ()
        legend = QLabel("Red lines: stalls. Yellow dashes: quality switches.")
        legend.setStyleSheet(f"color: {STALL_COLOUR};")
        outer.addWidget(legend)
        outer.addWidget(_heading("Path to the server"))
        self.hop_table = _table(HOP_COLUMNS)
        outer.addWidget(self.hop_table)
        self.rtt_plot = pg.PlotWidget(title="Round trip per hop: quiet (blue) vs loaded (red), ms")
        self.rtt_plot.setFixedHeight(GRAPH_HEIGHT + 10)
        self.rtt_plot.setMouseEnabled(x=False, y=False)
        self.rtt_plot.hideButtons()
        self.rtt_plot.getPlotItem().setLabel("bottom", "hop")
        self.rtt_bars: list[pg.BarGraphItem] = []
        outer.addWidget(self.rtt_plot)
        outer.addWidget(_heading("Last downloads"))
        self.fetch_table = _table(FETCH_COLUMNS)
        outer.addWidget(self.fetch_table)
        outer.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self.setMinimumWidth(300)
        self.setMaximumWidth(PANEL_MAX_WIDTH)

    def refresh(self, s: StatsView) -> None:
        v = self.values
        v["state"].setText(s.state)
        v["rendition"].setText(s.rendition or NO_VALUE)
        v["resolution"].setText(s.resolution or NO_VALUE)
        v["bitrate"].setText(fmt_bitrate(s.bitrate_bps))
        v["throughput"].setText(fmt_bitrate(s.throughput_bps))
        v["buffer"].setText(fmt_value(s.buffer_ahead_s, "s"))
        v["host"].setText(s.host or NO_VALUE)
        reuse = (
            NO_VALUE if s.connection_reused is None else "reused" if s.connection_reused else "new"
        )
        v["reuse"].setText(reuse)
        v["ttfb"].setText(fmt_value(s.ttfb_ms, "ms", 0))
        v["frames"].setText(f"{s.frames_displayed} / {s.frames_dropped}")
        v["stalls"].setText(f"{s.stall_count} ({s.stall_s:.1f} s)")
        v["fetches"].setText(str(s.fetch_count))
        v["note"].setText(s.note or "")
        if s.history:
            now = s.history[-1][0]
            xs = [t - now for t, *_ in s.history]
            self.plots["buffer"].setData(
                xs, [b if b is not None else float("nan") for _, b, _, _ in s.history]
            )
            self.plots["throughput"].setData(
                xs, [x / 1e6 if x is not None else float("nan") for _, _, x, _ in s.history]
            )
            self.plots["bitrate"].setData(
                xs, [x / 1e6 if x is not None else float("nan") for _, _, _, x in s.history]
            )

        v["codecs"].setText(", ".join(f"{kind} {fourcc}" for kind, fourcc in s.codecs) or NO_VALUE)
        player = NO_VALUE if s.cpu_player_pct is None else f"{s.cpu_player_pct:.0f} %"
        system = NO_VALUE if s.cpu_system_pct is None else f"{s.cpu_system_pct:.0f} %"
        v["cpu"].setText(f"{player} / {system}")
        v["verdict"].setText(s.verdict or "no stall so far")
        v["confidence"].setText(s.confidence or NO_VALUE)
        self._show_marks(s)
        _fill(
            self.hop_table,
            [(str(h.hop), h.name, h.network, h.part, h.idle, h.loaded) for h in s.hops],
        )
        self._show_rtt_bars(s.hops)
        _fill(
            self.fetch_table,
            [
                (f.what, f.dns, f.connect, f.tls, f.first_byte, f.download, f.media, str(f.retries),
                 str(f.resumes), f.status)
                for f in s.last_fetches
            ],
        )  # fmt: skip
        for row, f in enumerate(s.last_fetches):
            if f.slow:  # took longer than the media it carries: the buffer drained
                for col in (5, 6):
                    self.fetch_table.item(row, col).setForeground(pg.mkColor(STALL_COLOUR))

    def _show_marks(self, s: StatsView) -> None:
        """Vertical lines at stalls and rendition switches, in "seconds ago" like the curves."""
        now = s.history[-1][0] if s.history else None
        marks = (now, tuple(s.stall_marks), tuple(s.switch_marks))
        if marks == self._marks:
            return
        self._marks = marks
        for key, widget in self.plot_widgets.items():
            for line in self.markers[key]:
                widget.removeItem(line)
            self.markers[key] = []
            if now is None:
                continue
            for at, colour, style in [
                (t, STALL_COLOUR, Qt.PenStyle.SolidLine) for t in s.stall_marks
            ] + [(t, SWITCH_COLOUR, Qt.PenStyle.DashLine) for t in s.switch_marks]:
                if -GRAPH_WINDOW_S <= at - now <= 0:
                    line = pg.InfiniteLine(
                        pos=at - now, angle=90, pen=pg.mkPen(colour, width=1.5, style=style)
                    )
                    widget.addItem(line)
                    self.markers[key].append(line)

    def _show_rtt_bars(self, hops: list) -> None:
        for bar in self.rtt_bars:
            self.rtt_plot.removeItem(bar)
        self.rtt_bars = []
        xs = [h.hop for h in hops]
        self.rtt_plot.getAxis("bottom").setTicks([[(x, str(x)) for x in xs]])
        if xs:  # one slot per hop, however few: a lone bar must not fill the chart
            self.rtt_plot.setXRange(min(xs) - 0.6, max(xs) + 0.6, padding=0)
        for offset, attr, colour in ((-0.2, "idle_ms", "#4fc3f7"), (0.2, "loaded_ms", "#ef5350")):
            pts = [
                (x + offset, getattr(h, attr))
                for x, h in zip(xs, hops, strict=True)
                if getattr(h, attr) is not None
            ]
            if pts:
                bar = pg.BarGraphItem(
                    x=[p[0] for p in pts], height=[p[1] for p in pts], width=0.38, brush=colour
                )
                self.rtt_plot.addItem(bar)
                self.rtt_bars.append(bar)


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("font-weight: bold; margin-top: 6px;")
    return label


def _table(columns: tuple[str, ...]) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(columns)
    t.verticalHeader().setVisible(False)
    t.verticalHeader().setDefaultSectionSize(TABLE_ROW_HEIGHT)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.setMinimumHeight(TABLE_ROW_HEIGHT * 4)
    return t


def _fill(table: QTableWidget, rows: list[tuple[str, ...]]) -> None:
    """Set the cells' text (plain text: QTableWidgetItem never renders markup)."""
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            item = table.item(r, c)
            if item is None:
                item = QTableWidgetItem()
                table.setItem(r, c, item)
            item.setText(text)
    table.setFixedHeight(TABLE_ROW_HEIGHT * (max(len(rows), 2) + 1) + 8)
