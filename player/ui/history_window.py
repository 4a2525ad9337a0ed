"""The History window (View → History, H): your sessions and your own ISP index.

The sessions tab lists every session; the index tab shows, for one ISP or video network,
the stall rate, median throughput and verdicts by hour of day, and prime time (19-23 h)
against the rest. All reads, exports and the delete run on the history's writer thread;
their results come back here through a queued signal.
"""

from __future__ import annotations

import logging
import math
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from player.core import isp_index as ix
from player.core.units import fmt_bitrate, fmt_clock
from player.store.history import HistoryStore, index_rows
from player.store.recorder import HistoryRecorder, ReportSource

log = logging.getLogger(__name__)

COLUMNS = ("Started", "Host", "Internet provider", "Video network", "Watched", "Stalls", "Stalled", "Throughput", "Verdict")
SEGMENT_COLOURS = {
    "device": "#9b59b6",
    "home_network": "#3498db",
    "isp": "#e74c3c",
    "interconnect": "#e67e22",
    "server": "#f1c40f",
    "unknown": "#7f8c8d",
}
PRIME_BRUSH = (231, 76, 60, 60)  # the prime-time band behind the hour plots
BAR_WIDTH = 0.8  # of one hour
HOURS = list(range(ix.HOURS))
ERROR_SHOWN_MS = 15000  # a history write error stays in the status bar this long


def _hour_plot(title: str, left: str) -> pg.PlotWidget:
    w = pg.PlotWidget(title=title)
    w.setLabel("left", left)
    w.setLabel("bottom", "hour of day")
    w.setXRange(-0.5, 23.5, padding=0)
    w.setMouseEnabled(x=False, y=False)
    w.getAxis("bottom").setTicks([[(h, str(h)) for h in range(0, 24, 3)]])
    band = pg.LinearRegionItem((ix.PRIME_START_H - 0.5, ix.PRIME_END_H - 0.5), movable=False, brush=PRIME_BRUSH)
    band.setZValue(-10)
    w.addItem(band)
    return w


def _emit(signal: Any, value: object) -> None:
    """Emit from the writer thread (queued to the GUI); the window may be gone by then."""
    try:
        signal.emit(value)
    except RuntimeError:
        log.debug("history window closed before a result arrived")


class HistoryWindow(QWidget):
    loaded = pyqtSignal(object)  # the store's data dict (from the writer thread, queued)
    finished = pyqtSignal(str)  # an export or delete finished: its message

    def __init__(self, store: HistoryStore, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Stallwatch History")
        self.resize(1100, 720)
        self.store = store
        self.data: dict[str, list[dict[str, Any]]] = {"sessions": [], "stalls": []}
        self.groups: list[ix.GroupIndex] = []
        self.loaded.connect(self.show_data)
        self.finished.connect(self._finished)

        self.tabs = QTabWidget()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.tabs.addTab(self._index_tab(), "Your ISP index")
        self.tabs.addTab(self.table, "Sessions")

        buttons = QHBoxLayout()
        self.status = QLabel("")
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # error messages and file paths
        buttons.addWidget(self.status, 1)
        for text, slot in (
            ("Refresh", self.refresh),
            ("Export CSV…", lambda: self.export("csv")),
            ("Export JSON…", lambda: self.export("json")),
            ("Delete history…", self.delete_history),
        ):
            b = QPushButton(text)
            b.clicked.connect(lambda _c=False, s=slot: s())
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)

    def _index_tab(self) -> QWidget:
        tab = QWidget()
        v = QVBoxLayout(tab)
        top = QHBoxLayout()
        top.addWidget(QLabel("Network:"))
        self.group_box = QComboBox()
        self.group_box.currentIndexChanged.connect(self._show_group)
        top.addWidget(self.group_box, 1)
        v.addLayout(top)
        self.summary = QLabel("No sessions yet: the index fills in as you watch.")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # network names may come from RDAP
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("font-size: 14px; padding: 4px;")
        v.addWidget(self.summary)
        self.rate_plot = _hour_plot("Stalls per hour watched", "stalls / h")
        self.rate_bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush="#e74c3c")
        self.rate_plot.addItem(self.rate_bars)
        self.tput_plot = _hour_plot("Median throughput", "Mbit/s")
        self.tput_curve = self.tput_plot.plot([], [], pen=pg.mkPen("#2ecc71", width=2), symbol="o", symbolSize=6)
        self.verdict_plot = _hour_plot("Verdicts of the stalls", "stalls")
        self.verdict_plot.addLegend(offset=(10, 5), labelTextSize="8pt")
        self.verdict_bars: dict[str, pg.BarGraphItem] = {}
        for seg in ix.SEGMENTS:
            bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=SEGMENT_COLOURS[seg], name=ix.SEGMENT_LABELS[seg])
            self.verdict_plot.addItem(bars)
            self.verdict_bars[seg] = bars
        plots = QHBoxLayout()
        for w in (self.rate_plot, self.tput_plot, self.verdict_plot):
            plots.addWidget(w)
        v.addLayout(plots, 1)
        self.prime_label = QLabel("")
        self.prime_label.setTextFormat(Qt.TextFormat.RichText)
        v.addWidget(self.prime_label)
        return tab

    # -- loading ---------------------------------------------------------------------------
    def refresh(self) -> None:
        self.status.setText("Loading…")
        self.store.load().add_done_callback(self._loaded_in_writer)

    def _loaded_in_writer(self, fut: Future) -> None:  # the writer thread
        exc = fut.exception()
        if exc is not None:
            _emit(self.finished, f"Could not read the history: {exc}")
        else:
            _emit(self.loaded, fut.result())

    def show_data(self, data: dict[str, list[dict[str, Any]]]) -> None:
        self.data = data
        self.status.setText(f"{len(data['sessions'])} sessions")
        self._fill_table(data)
        self.groups = ix.build_index(index_rows(data))
        current = self.group_box.currentText()
        self.group_box.blockSignals(True)
        self.group_box.clear()
        for g in self.groups:
            kind = "Internet provider" if g.kind == "isp" else "Video network"
            self.group_box.addItem(f"{kind}: {g.name} ({g.total.sessions} sessions)")
        self.group_box.blockSignals(False)
        idx = self.group_box.findText(current)
        self.group_box.setCurrentIndex(max(0, idx))
        self._show_group(self.group_box.currentIndex())

    def _fill_table(self, data: dict[str, list[dict[str, Any]]]) -> None:
        self.table.setRowCount(len(data["sessions"]))
        for r, s in enumerate(data["sessions"]):
            tput = s.get("throughput_kbps")
            values = (
                datetime.fromtimestamp(s["started_at"]).strftime("%Y-%m-%d %H:%M"),
                s.get("host") or s.get("source") or "",
                s.get("isp") or ix.NOT_MEASURED,
                s.get("video_network") or ix.NOT_MEASURED,
                fmt_clock(s.get("duration_s") or 0.0),
                str(s.get("stall_count") or 0),
                f"{s.get('stall_s') or 0.0:.1f} s",
                fmt_bitrate(tput * 1000 if tput else None),
                ix.SEGMENT_LABELS.get(s.get("verdict") or "", "—"),
            )
            for c, text in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def _show_group(self, index: int) -> None:
        if not 0 <= index < len(self.groups):
            self._plot(None)
            return
        self._plot(self.groups[index])

    def _plot(self, g: ix.GroupIndex | None) -> None:
        if g is None:
            self.rate_bars.setOpts(x=[], height=[])
            self.tput_curve.setData([], [])
            self.tput_plot.setYRange(0, 1)
            for bars in self.verdict_bars.values():
                bars.setOpts(x=[], height=[], y0=0)
            self.summary.setText("No sessions yet: the index fills in as you watch.")
            self.prime_label.setText("")
            return
        self.summary.setText(ix.summary_line(g))
        rates = [(h, b.stall_rate) for h, b in zip(HOURS, g.by_hour, strict=True) if b.stall_rate is not None]
        self.rate_bars.setOpts(x=[h for h, _ in rates], height=[r for _, r in rates])
        # NaN for hours without viewing: the line joins neighbouring hours only
        mbps = [math.nan if b.median_throughput_kbps is None else b.median_throughput_kbps / 1000 for b in g.by_hour]
        finite = [v for v in mbps if not math.isnan(v)]
        if finite:
            self.tput_curve.setData(HOURS, mbps, connect="finite")
        else:
            self.tput_curve.setData([], [])
        self.tput_plot.setYRange(0, max(finite, default=1.0) * 1.1, padding=0)
        base = [0] * ix.HOURS
        for seg, counts in ix.verdicts_by_hour(g).items():
            hours = [h for h in HOURS if counts[h]]  # no zero-height bars (they draw as dashes)
            self.verdict_bars[seg].setOpts(x=hours, height=[counts[h] for h in hours], y0=[base[h] for h in hours])
            base = [a + b for a, b in zip(base, counts, strict=True)]
        self.prime_label.setText(self._prime_text(g))

    @staticmethod
    def _prime_text(g: ix.GroupIndex) -> str:
        def cell(b: ix.Bucket) -> str:
            rate = "—" if b.stall_rate is None else f"{b.stall_rate:.1f} stalls/h"
            tput = b.median_throughput_kbps
            return f"{b.sessions} sessions, {b.watched_s / 3600:.1f} h watched, {rate}, {fmt_bitrate(tput * 1000 if tput else None)}"

        return f"<b>Prime time (19-23 h):</b> {cell(g.prime)} &nbsp; · &nbsp; <b>Rest of the day:</b> {cell(g.rest)}"

    # -- export and delete -----------------------------------------------------------------
    def export(self, fmt: str, path: str | None = None) -> Future | None:
        if path is None:
            name = f"stallwatch-history.{fmt}"
            path, _ = QFileDialog.getSaveFileName(self, f"Export {fmt.upper()}", str(Path.home() / name))
            if not path:
                return None
        fut = self.store.export(Path(path), fmt)
        fut.add_done_callback(lambda f: self._done(f, f"Exported to {path}"))
        return fut

    def delete_history(self, confirm: bool = True) -> Future | None:
        if confirm:
            answer = QMessageBox.question(
                self, "Delete history", "Delete every session and stall from your history? This cannot be undone."
            )
            if answer != QMessageBox.StandardButton.Yes:
                return None
        fut = self.store.delete_all()
        fut.add_done_callback(lambda f: self._done(f, "History deleted"))
        fut.add_done_callback(lambda f: self.store.load().add_done_callback(self._loaded_in_writer))
        return fut

    def _done(self, fut: Future, message: str) -> None:  # the writer thread
        exc = fut.exception()
        _emit(self.finished, message if exc is None else f"Failed: {exc}")

    def _finished(self, message: str) -> None:
        self.status.setText(message)


class HistoryController(QObject):
    """The window's link to the history: records its session's events, shows a write error
    once in the status bar, and opens the History window (View → History, H)."""

    error = pyqtSignal(str)  # from the writer thread, queued

    def __init__(self, window: QMainWindow, store: HistoryStore, session: ReportSource, bridge: QObject) -> None:
        super().__init__(window)
        self.window = window
        self.store = store
        self.recorder = HistoryRecorder(store, session)
        bridge.session_event.connect(self.recorder.on_event)
        bridge.ticked.connect(self.recorder.tick)
        self.error.connect(lambda msg: window.statusBar().showMessage(msg, ERROR_SHOWN_MS))
        store.on_error = self.error.emit
        self.history_window: HistoryWindow | None = None

    def finish(self) -> None:
        """The current session ends (before another open, and when the window closes)."""
        self.recorder.finish()

    def show(self) -> HistoryWindow:
        if self.history_window is None:
            self.history_window = HistoryWindow(self.store, self.window)
        self.history_window.show()
        self.history_window.raise_()
        self.history_window.refresh()
        return self.history_window
