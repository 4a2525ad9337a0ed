"""Statistics for nerds: a dock that only reads the session's state.

Numbers (rendition, bitrate, throughput, buffer ahead, host, connection reuse,
time to first byte, frames) and live graphs of buffer level, throughput and
bitrate over the last two minutes, drawn with pyqtgraph.
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDockWidget, QFormLayout, QLabel, QVBoxLayout, QWidget

from player.core.units import NO_VALUE, fmt_bitrate, fmt_value
from player.session import StatsView

GRAPH_WINDOW_S = 120.0  # two minutes: a stall and what led to it fit on screen
GRAPH_HEIGHT = 110
PANEL_MAX_WIDTH = 380

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
        ("note", "Note"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Statistics", parent)
        self.setObjectName("stats")
        self.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)
        body = QWidget()
        outer = QVBoxLayout(body)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.values: dict[str, QLabel] = {}
        for key, label in self.FIELDS:
            value = QLabel(NO_VALUE)
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
        outer.addStretch(1)
        self.setWidget(body)
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
        reuse = NO_VALUE if s.connection_reused is None else "reused" if s.connection_reused else "new"
        v["reuse"].setText(reuse)
        v["ttfb"].setText(fmt_value(s.ttfb_ms, "ms", 0))
        v["frames"].setText(f"{s.frames_displayed} / {s.frames_dropped}")
        v["stalls"].setText(f"{s.stall_count} ({s.stall_s:.1f} s)")
        v["fetches"].setText(str(s.fetch_count))
        v["note"].setText(s.note or "")
        if s.history:
            now = s.history[-1][0]
            xs = [t - now for t, *_ in s.history]
            self.plots["buffer"].setData(xs, [b if b is not None else float("nan") for _, b, _, _ in s.history])
            self.plots["throughput"].setData(
                xs, [x / 1e6 if x is not None else float("nan") for _, _, x, _ in s.history]
            )
            self.plots["bitrate"].setData(xs, [x / 1e6 if x is not None else float("nan") for _, _, _, x in s.history])
