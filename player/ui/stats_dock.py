"""View → Statistics (I): the statistics panel docked on the main window's right, shown or
hidden as the viewer last left it (kept in the prefs), refreshed from the session while shown."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QMainWindow

from player.session import Session
from player.session.metrics import detailed_stats
from player.store.prefs import PrefsStore
from player.ui.stats_panel import StatsPanel

STATS_REFRESH_TICKS = 5  # refresh the statistics panel every 5 bridge ticks (4 Hz)


class StatsDock:
    def __init__(self, window: QMainWindow, session: Session, prefs: PrefsStore) -> None:
        self.session = session
        self.store = prefs
        self.panel = StatsPanel(window)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.panel)
        self.panel.hide()
        self._ticks = 0

    def set_visible(self, visible: bool) -> None:
        self.panel.setVisible(visible)
        if self.store.prefs.show_stats != visible:
            self.store.prefs.show_stats = visible
            self.store.save()
        if visible:
            self.panel.refresh(detailed_stats(self.session))

    def on_tick(self) -> None:
        """The bridge's tick: every STATS_REFRESH_TICKS-th one refreshes the panel if shown."""
        if not self.panel.isVisible():
            return
        self._ticks += 1
        if self._ticks % STATS_REFRESH_TICKS == 0:
            self.panel.refresh(detailed_stats(self.session))
