"""The main window: composes the video view, controls, menus and panels over a session.

It opens media, relays transport commands to the session and shows the session's
events; the controls bar, the menus and fullscreen live in their own modules. It never
touches the network: all of that happens behind the session (the demo arrives as a
``prepare`` callable from the composition root).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import Qt, QTimer, QUrl, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QPixmap
from PyQt6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from player import __version__, data
from player.core.model import PlaybackState
from player.core.units import fmt_clock
from player.session import (
    Ended,
    EndedEarly,
    MediaInfo,
    NoticeChanged,
    Opening,
    PlaybackFailed,
    RenditionsKnown,
    Session,
    SessionEvent,
    StallBegan,
    StallFinished,
    StateChanged,
    StreamNote,
)
from player.store.prefs import PrefsStore
from player.ui import menus
from player.ui.bridge import SessionBridge
from player.ui.controls import ControlsBar
from player.ui.fullscreen import FullscreenController
from player.ui.open_url import OpenUrlDialog
from player.ui.settings_dialog import SettingsDialog
from player.ui.stats_panel import StatsPanel
from player.ui.video_view import Overlay, VideoView

log = logging.getLogger(__name__)

TOAST_MS = 5000  # stream notes (retries, missing segments) stay this long
STATS_REFRESH_TICKS = 5  # refresh the statistics panel every 5 bridge ticks (4 Hz)
VIDEO_FILTER = (
    "Media (*.mp4 *.m4v *.mkv *.webm *.mov *.avi *.ts *.m2ts *.mpg *.mpeg *.flv *.ogv *.wmv "
    "*.m3u8 *.mpd *.mp3 *.m4a *.ogg *.opus *.flac *.wav);;All files (*)"
)


def window_icon() -> QIcon:
    """The application icon in every packaged size (package data, player/data/icons)."""
    icon = QIcon()
    for size in data.ICON_SIZES:
        pm = QPixmap()
        if pm.loadFromData(data.read_bytes(data.icon_name(size))):
            icon.addPixmap(pm)
    return icon


class MainWindow(QMainWindow):
    notice_shown = pyqtSignal(str)  # an overlay notice/message appeared (for screenshots)

    def __init__(
        self,
        session: Session,
        prefs: PrefsStore,
        libvlc_version: str = "",
        demo: Callable[[], str] | None = None,
    ) -> None:
        """``demo`` is the built-in demo's ``prepare`` (blocking: makes and serves the
        stream, returns its URL); without it the demo entry is disabled."""
        super().__init__()
        self.session = session
        self.prefs_store = prefs
        self.prefs = prefs.prefs
        self.libvlc_version = libvlc_version
        self._closing_hooks: list[Callable[[], None]] = []
        self._demo_prepare = demo
        self._snapshot = session.snapshot()
        self.setWindowTitle("Stallwatch")
        self.setWindowIcon(window_icon())
        self.resize(960, 600)
        self.setAcceptDrops(True)

        self.video = VideoView(session.player.latest_frame)
        self.video.double_clicked.connect(self.toggle_fullscreen)
        self.controls = ControlsBar()
        self.controls.play_clicked.connect(self.toggle_pause)
        self.controls.seek_requested.connect(self._seek_to_fraction)
        self.controls.mute_toggled.connect(self.set_muted)
        self.controls.volume_changed.connect(self.set_volume)
        self.controls.fullscreen_clicked.connect(self.toggle_fullscreen)
        # the widgets tests and tools look at
        self.play_button = self.controls.play_button
        self.seek_slider = self.controls.seek_slider
        self.elapsed_label = self.controls.elapsed_label
        self.total_label = self.controls.total_label
        self.mute_button = self.controls.mute_button
        self.volume_slider = self.controls.volume_slider
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.video, 1)
        layout.addWidget(self.controls)
        self.setCentralWidget(central)
        self.stats_panel = StatsPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.stats_panel)
        self.stats_panel.hide()
        self._stats_ticks = 0
        self._toast_timer = QTimer(self)
        self._toast_timer.setSingleShot(True)
        self._toast_timer.timeout.connect(self._clear_toast)
        self._quality_group = None
        menus.build_menus(self)
        self.act_demo.setEnabled(demo is not None)
        self.fill_recent_menu()
        self._fill_quality_menu([])
        self.apply_prefs()
        self.fullscreen = FullscreenController(self, self.controls, self.video)

        self.session.set_volume(self.prefs.volume)
        self.session.set_muted(self.prefs.muted)
        self.bridge = SessionBridge(session, self)
        self.bridge.session_event.connect(self._on_session_event)
        self.bridge.ticked.connect(self._refresh_controls)
        self.bridge.ticked.connect(self._refresh_stats)
        if self.prefs.show_stats:
            self.set_stats_visible(True)
        self._refresh_controls()
        self.statusBar().showMessage("Open a video: Ctrl+O for a file, Ctrl+L for a URL, or drop it here.")

    # -- opening media ---------------------------------------------------------------------------
    def open_source(self, source: str) -> None:
        source = source.strip()
        if not source:
            return
        self.video.clear_picture()
        self.video.set_notice(None)
        self.video.set_toast(None)
        self.session.open(source)
        self.prefs.add_recent(source)
        self.prefs_store.save()
        self.fill_recent_menu()

    def open_demo(self, prepare: Callable[[], str]) -> None:
        """Play the built-in demo; ``prepare`` generates/serves it in a worker thread."""
        self._demo_prepare = prepare
        self.video.clear_picture()
        self.session.open("stallwatch-demo", prepare=prepare, title="Stallwatch demo")

    def play_demo_again(self) -> None:
        if self._demo_prepare is None:
            self.statusBar().showMessage("The built-in demo is not available in this window.")
            return
        self.open_demo(self._demo_prepare)

    def open_file_dialog(self) -> None:
        start = str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", start, VIDEO_FILTER)
        if path:
            self.open_source(path)

    def open_url_dialog(self) -> None:
        dlg = OpenUrlDialog(self, recent=[r for r in self.prefs.recent if "://" in r])
        if dlg.exec():
            self.open_source(dlg.url())

    def fill_recent_menu(self) -> None:
        menus.fill_recent_menu(self.recent_menu, self.prefs.recent, self.open_source, self._clear_recent)

    def _clear_recent(self) -> None:
        self.prefs.recent = []
        self.prefs_store.save()
        self.fill_recent_menu()

    # drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt name
        md = event.mimeData()
        if md.hasUrls() or md.hasText():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt name
        source = self.source_from_mime(event.mimeData())
        if source:
            event.acceptProposedAction()
            self.open_source(source)

    @staticmethod
    def source_from_mime(md) -> str | None:  # noqa: ANN001
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

    # -- transport -------------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        if self.session.source is None:
            self.open_file_dialog()
            return
        self.session.toggle_pause()

    def seek_relative(self, delta_s: float) -> None:
        self.session.seek_relative(delta_s)

    def set_volume(self, percent: int) -> None:
        percent = max(0, min(100, int(percent)))
        self.prefs.volume = percent
        self.session.set_volume(percent)
        self.controls.show_volume(percent)
        self.prefs_store.save()

    def set_muted(self, muted: bool) -> None:
        self.prefs.muted = bool(muted)
        self.session.set_muted(self.prefs.muted)
        self.controls.show_muted(self.prefs.muted)
        self.prefs_store.save()

    def _seek_to_fraction(self, fraction: float) -> None:
        length = self._snapshot.length_s
        if length:
            self.session.seek_s(fraction * length)

    # -- fullscreen ----------------------------------------------------------------------------------
    def toggle_fullscreen(self) -> None:
        self.fullscreen.toggle()

    def leave_fullscreen(self) -> None:
        self.fullscreen.leave()

    def controls_visible(self) -> bool:
        return self.controls.isVisible()

    # -- session events ---------------------------------------------------------------------------
    def _on_session_event(self, ev: SessionEvent) -> None:
        if isinstance(ev, Opening):
            self.setWindowTitle(f"{ev.title} — Stallwatch")
            self.video.set_message(Overlay(f"Opening {ev.title}…", kind="busy"))
            self.statusBar().showMessage(f"Opening {ev.source}")
        elif isinstance(ev, StateChanged):
            if ev.state is PlaybackState.PLAYING:
                self.video.set_message(None)
                self.statusBar().showMessage(f"Playing {self.session.title}")
            elif ev.state is PlaybackState.PAUSED:
                self.statusBar().showMessage("Paused")
        elif isinstance(ev, PlaybackFailed):
            self.show_error("Can't play this", ev.message)
        elif isinstance(ev, EndedEarly):
            self.show_error("Playback ended early", ev.message)
        elif isinstance(ev, Ended):
            self.statusBar().showMessage("Finished")
        elif isinstance(ev, MediaInfo):
            self._refresh_controls()
        elif isinstance(ev, NoticeChanged):
            self._show_notice(ev)
        elif isinstance(ev, StreamNote):
            self.video.set_toast(Overlay(ev.message, kind="info"))
            self._toast_timer.start(TOAST_MS)
            self.statusBar().showMessage(ev.message, TOAST_MS * 2)
        elif isinstance(ev, StallBegan):
            self.statusBar().showMessage(f"Buffering… (stalled at {fmt_clock(self.session.last_position_s)})")
        elif isinstance(ev, StallFinished):
            self.statusBar().showMessage(f"Playing again after a {ev.duration_s:.1f} s stall", TOAST_MS)
        elif isinstance(ev, RenditionsKnown):
            self._fill_quality_menu(ev.labels)

    def _clear_toast(self) -> None:
        self.video.set_toast(None)

    def _show_notice(self, ev: NoticeChanged) -> None:
        if ev.notice is None or not self.prefs.show_notices:
            self.video.set_notice(None)
            return
        shown = self.video.notice
        self.video.set_notice(Overlay(ev.notice.title, ev.notice.detail, kind="notice"))
        if shown is None or shown.title != ev.notice.title:  # refinements of the same notice: no new shot
            self.notice_shown.emit(ev.notice.title)

    # -- quality, statistics, settings -----------------------------------------------------------
    def _fill_quality_menu(self, labels: list[str]) -> None:
        old = self._quality_group
        self._quality_group = menus.fill_quality_menu(
            self.quality_menu, labels, self.session.pinned_rendition, self.session.pin_rendition
        )
        if old is not None:
            old.deleteLater()

    def set_stats_visible(self, visible: bool) -> None:
        self.stats_panel.setVisible(visible)
        if self.prefs.show_stats != visible:
            self.prefs.show_stats = visible
            self.prefs_store.save()
        if visible:
            self.stats_panel.refresh(self.session.stats())

    def _refresh_stats(self) -> None:
        if not self.stats_panel.isVisible():
            return
        self._stats_ticks += 1
        if self._stats_ticks % STATS_REFRESH_TICKS == 0:
            self.stats_panel.refresh(self.session.stats())

    def open_settings(self) -> None:
        dlg = SettingsDialog(self.prefs, self)
        if dlg.exec():
            self.prefs_store.save()
            self.apply_prefs()
            if not self.prefs.show_notices:
                self.video.set_notice(None)

    def apply_prefs(self) -> None:
        """Hand the viewer's settings to the session (path settings apply from the next open)."""
        self.session.show_notices = self.prefs.show_notices
        self.session.probe_path = self.prefs.probe_path
        self.session.configure_naming(
            self.prefs.org_overrides, self.prefs.rdap_url if self.prefs.rdap_lookup else None
        )

    def show_error(self, title: str, message: str) -> None:
        self.video.set_message(Overlay(title, message, kind="error"))
        self.statusBar().showMessage(message)
        self.notice_shown.emit(f"{title}: {message}")

    def _refresh_controls(self) -> None:
        snap = self.session.snapshot()
        self._snapshot = snap
        self.controls.show_snapshot(snap)
        if self.volume_slider.value() != self.prefs.volume:
            self.controls.show_volume(self.prefs.volume)
        if self.mute_button.isChecked() != self.prefs.muted:
            self.set_muted(self.prefs.muted)

    # -- misc ----------------------------------------------------------------------------------------
    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Stallwatch",
            f"<b>Stallwatch {__version__}</b><br>libVLC {self.libvlc_version}<br><br>"
            "A video player that tells you why your video is buffering, and whose fault it is.",
        )

    def add_closing_hook(self, hook: Callable[[], None]) -> None:
        self._closing_hooks.append(hook)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt name
        t0 = time.monotonic()
        self.fullscreen.stop()
        self.bridge.stop()
        self.video.stop()  # no more calls into the player: a closing hook releases it
        self._toast_timer.stop()
        self.session.close()
        for hook in self._closing_hooks:
            try:
                hook()
            except Exception:
                log.exception("closing hook failed")
        self.prefs_store.close(timeout=0.3)
        log.debug("window closed in %.3f s", time.monotonic() - t0)
        event.accept()
