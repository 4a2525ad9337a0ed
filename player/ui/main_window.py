"""The main window: video view, transport controls, menus, keys, drag and drop."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import QEvent, QObject, Qt, QTimer, QUrl, pyqtSignal
from PyQt6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
    QPixmap,
)
from PyQt6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from player import __version__, data
from player.core.model import PlaybackState
from player.prefs import PrefsStore
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
    fmt_time,
)
from player.ui.bridge import SessionBridge
from player.ui.open_url import OpenUrlDialog
from player.ui.settings_dialog import SettingsDialog
from player.ui.stats_panel import StatsPanel
from player.ui.video_view import Overlay, VideoView

log = logging.getLogger(__name__)

CONTROLS_HIDE_MS = 2000  # fullscreen: hide controls after this long without mouse movement
SEEK_STEP_S = 5.0
VOLUME_STEP = 5
SLIDER_STEPS = 10_000
TOAST_MS = 5000  # stream notes (retries, missing segments) stay this long
STATS_REFRESH_TICKS = 5  # refresh the statistics panel every 5 bridge ticks (4 Hz)
VIDEO_FILTER = (
    "Media (*.mp4 *.m4v *.mkv *.webm *.mov *.avi *.ts *.m2ts *.mpg *.mpeg *.flv *.ogv *.wmv "
    "*.m3u8 *.mpd *.mp3 *.m4a *.ogg *.opus *.flac *.wav);;All files (*)"
)
ICON_NAME = "icon.svg"  # package data (player/data)


class MainWindow(QMainWindow):
    notice_shown = pyqtSignal(str)  # an overlay notice/message appeared (for screenshots)

    def __init__(self, session: Session, prefs: PrefsStore, libvlc_version: str = "") -> None:
        super().__init__()
        self.session = session
        self.prefs_store = prefs
        self.prefs = prefs.prefs
        self.libvlc_version = libvlc_version
        self._closing_hooks: list[Callable[[], None]] = []
        self._demo_prepare: Callable[[], str] | None = None
        self._slider_dragging = False
        self._snapshot = session.snapshot()
        self.setWindowTitle("Stallwatch")
        icon = QIcon()
        for size in data.ICON_SIZES:
            pm = QPixmap()
            if pm.loadFromData(data.read_bytes(data.icon_name(size))):
                icon.addPixmap(pm)
        self.setWindowIcon(icon)
        self.resize(960, 600)
        self.setAcceptDrops(True)

        self.video = VideoView(session.player.latest_frame)
        self.video.double_clicked.connect(self.toggle_fullscreen)
        self._build_controls()
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
        self._build_menus()
        self.apply_prefs()

        self._hide_timer = QTimer(self)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.setInterval(CONTROLS_HIDE_MS)
        self._hide_timer.timeout.connect(self._hide_controls_if_fullscreen)
        QApplication.instance().installEventFilter(self)

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

    # -- construction -----------------------------------------------------------------------
    def _build_controls(self) -> None:
        st = self.style()
        self.controls = QWidget()
        self.controls.setObjectName("controls")
        row = QHBoxLayout(self.controls)
        row.setContentsMargins(8, 4, 8, 4)
        self.play_button = self._tool_button(st.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play (Space)")
        self.play_button.clicked.connect(self.toggle_pause)
        self.elapsed_label = QLabel("0:00")
        self.seek_slider = QSlider(Qt.Orientation.Horizontal)
        self.seek_slider.setRange(0, SLIDER_STEPS)
        self.seek_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.seek_slider.setToolTip("Seek")
        self.seek_slider.sliderPressed.connect(self._on_slider_pressed)
        self.seek_slider.sliderReleased.connect(self._on_slider_released)
        self.seek_slider.actionTriggered.connect(self._on_slider_action)
        self.total_label = QLabel("0:00")
        self.mute_button = self._tool_button(st.standardIcon(QStyle.StandardPixmap.SP_MediaVolume), "Mute (M)")
        self.mute_button.setCheckable(True)
        self.mute_button.toggled.connect(self.set_muted)
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setFixedWidth(110)
        self.volume_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.volume_slider.setToolTip("Volume (Up/Down)")
        self.volume_slider.valueChanged.connect(self.set_volume)
        self.fullscreen_button = self._tool_button(
            st.standardIcon(QStyle.StandardPixmap.SP_TitleBarMaxButton), "Fullscreen (F)"
        )
        self.fullscreen_button.clicked.connect(self.toggle_fullscreen)
        for w in (self.play_button, self.elapsed_label):
            row.addWidget(w)
        row.addWidget(self.seek_slider, 1)
        for w in (self.total_label, self.mute_button, self.volume_slider, self.fullscreen_button):
            row.addWidget(w)

    def _tool_button(self, icon: QIcon, tip: str) -> QToolButton:
        b = QToolButton()
        b.setIcon(icon)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return b

    def _action(self, menu: QMenu, text: str, slot: Callable, shortcut: str | QKeySequence | None = None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(lambda _checked=False: slot())
        menu.addAction(act)
        self.addAction(act)  # shortcuts keep working in fullscreen with the menu bar hidden
        return act

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Open File…", self.open_file_dialog, QKeySequence.StandardKey.Open)
        self.act_open_url = self._action(f, "Open &URL…", self.open_url_dialog, "Ctrl+L")
        self.recent_menu = f.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        f.addSeparator()
        self._action(f, "Play the &Demo", self.play_demo_again)
        f.addSeparator()
        self._action(f, "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences)
        f.addSeparator()
        self._action(f, "&Quit", self.close, "Ctrl+Q")

        pb = mb.addMenu("&Playback")
        self._action(pb, "Play / Pause", self.toggle_pause, "Space")
        self._action(pb, "Forward 5 s", lambda: self.seek_relative(SEEK_STEP_S), "Right")
        self._action(pb, "Back 5 s", lambda: self.seek_relative(-SEEK_STEP_S), "Left")
        pb.addSeparator()
        self._action(pb, "Volume Up", lambda: self.set_volume(self.prefs.volume + VOLUME_STEP), "Up")
        self._action(pb, "Volume Down", lambda: self.set_volume(self.prefs.volume - VOLUME_STEP), "Down")
        self._action(pb, "Mute", lambda: self.set_muted(not self.prefs.muted), "M")
        pb.addSeparator()
        self.quality_menu = pb.addMenu("&Quality")
        self._fill_quality_menu([])

        view = mb.addMenu("&View")
        self._action(view, "&Fullscreen", self.toggle_fullscreen, "F")
        self._action(view, "Leave Fullscreen", self.leave_fullscreen, "Esc")
        view.addSeparator()
        self.act_stats = self._action(view, "&Statistics", lambda: self.set_stats_visible(not self.stats_panel.isVisible()), "I")
        self.act_stats.setCheckable(True)
        self.stats_panel.visibilityChanged.connect(self.act_stats.setChecked)
        self.view_menu = view

        h = mb.addMenu("&Help")
        self._action(h, "&About Stallwatch", self.show_about)

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
        self._fill_recent_menu()

    def open_demo(self, prepare: Callable[[], str]) -> None:
        """Play the built-in demo; ``prepare`` generates/serves it in a worker thread."""
        self._demo_prepare = prepare
        self.video.clear_picture()
        self.session.open("stallwatch-demo", prepare=prepare, title="Stallwatch demo")

    def play_demo_again(self) -> None:
        if self._demo_prepare is None:
            from player.demo import shared_demo

            demo = shared_demo()
            self.add_closing_hook(demo.stop)
            self._demo_prepare = demo.prepare
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

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        if not self.prefs.recent:
            act = self.recent_menu.addAction("(nothing yet)")
            act.setEnabled(False)
            return
        for i, item in enumerate(self.prefs.recent):
            label = item if len(item) <= 80 else "…" + item[-79:]
            act = self.recent_menu.addAction(f"&{(i + 1) % 10} {label}")
            act.triggered.connect(lambda _c=False, s=item: self.open_source(s))
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("Clear the list")
        clear.triggered.connect(self._clear_recent)

    def _clear_recent(self) -> None:
        self.prefs.recent = []
        self.prefs_store.save()
        self._fill_recent_menu()

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
        if self.volume_slider.value() != percent:
            self.volume_slider.blockSignals(True)
            self.volume_slider.setValue(percent)
            self.volume_slider.blockSignals(False)
        self.volume_slider.setToolTip(f"Volume {percent} %")
        self.prefs_store.save()

    def set_muted(self, muted: bool) -> None:
        self.prefs.muted = bool(muted)
        self.session.set_muted(self.prefs.muted)
        if self.mute_button.isChecked() != self.prefs.muted:
            self.mute_button.blockSignals(True)
            self.mute_button.setChecked(self.prefs.muted)
            self.mute_button.blockSignals(False)
        icon = QStyle.StandardPixmap.SP_MediaVolumeMuted if self.prefs.muted else QStyle.StandardPixmap.SP_MediaVolume
        self.mute_button.setIcon(self.style().standardIcon(icon))
        self.prefs_store.save()

    def _on_slider_pressed(self) -> None:
        self._slider_dragging = True

    def _on_slider_released(self) -> None:
        self._slider_dragging = False
        self._seek_to_slider()

    def _on_slider_action(self, action: int) -> None:
        # Clicks on the groove (page steps) seek at once; drags seek on release.
        if not self._slider_dragging and action in (
            QSlider.SliderAction.SliderPageStepAdd.value,
            QSlider.SliderAction.SliderPageStepSub.value,
        ):
            QTimer.singleShot(0, self._seek_to_slider)

    def _seek_to_slider(self) -> None:
        length = self._snapshot.length_s
        if length:
            self.session.seek_s(self.seek_slider.value() / SLIDER_STEPS * length)

    # -- fullscreen ----------------------------------------------------------------------------------
    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.leave_fullscreen()
        else:
            self.menuBar().hide()
            self.statusBar().hide()
            self.showFullScreen()
            self._show_controls()

    def leave_fullscreen(self) -> None:
        if not self.isFullScreen():
            return
        self.showNormal()
        self.menuBar().show()
        self.statusBar().show()
        self._show_controls()
        self._hide_timer.stop()

    def _show_controls(self) -> None:
        self.controls.show()
        self.unsetCursor()
        self.video.unsetCursor()
        if self.isFullScreen():
            self._hide_timer.start()

    def _hide_controls_if_fullscreen(self) -> None:
        if self.isFullScreen():
            self.controls.hide()
            self.video.setCursor(Qt.CursorShape.BlankCursor)

    def controls_visible(self) -> bool:
        return self.controls.isVisible()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.MouseMove and self.isFullScreen():
            self._show_controls()
        return False

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
            self.statusBar().showMessage(f"Buffering… (stalled at {fmt_time(self.session.last_position_s)})")
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
        self.quality_menu.clear()
        group = QActionGroup(self)
        group.setExclusive(True)
        auto = self.quality_menu.addAction("Auto (Stallwatch chooses)")
        auto.setCheckable(True)
        auto.setChecked(self.session.pinned_rendition is None)
        auto.triggered.connect(lambda _c=False: self.session.pin_rendition(None))
        group.addAction(auto)
        if not labels:
            none = self.quality_menu.addAction("(one quality only)")
            none.setEnabled(False)
        for i, label in sorted(enumerate(labels), key=lambda x: x[1]):
            act = self.quality_menu.addAction(label)
            act.setCheckable(True)
            act.setChecked(self.session.pinned_rendition == i)
            act.triggered.connect(lambda _c=False, idx=i: self.session.pin_rendition(idx))
            group.addAction(act)
        self._quality_group = group

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
        playing = snap.state in (PlaybackState.PLAYING, PlaybackState.STALLED, PlaybackState.STARTUP)
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setToolTip("Pause (Space)" if playing else "Play (Space)")
        live = snap.length_s is None and snap.state in (PlaybackState.PLAYING, PlaybackState.STALLED)
        seekable = bool(snap.seekable and snap.length_s)
        self.seek_slider.setEnabled(seekable)
        self.elapsed_label.setText(fmt_time(snap.position_s or 0.0))
        self.total_label.setText("LIVE" if live else fmt_time(snap.length_s) if snap.length_s else "--:--")
        if not self._slider_dragging:
            value = 0
            if snap.length_s and snap.position_s is not None:
                value = int(min(1.0, snap.position_s / snap.length_s) * SLIDER_STEPS)
            self.seek_slider.blockSignals(True)
            self.seek_slider.setValue(value)
            self.seek_slider.blockSignals(False)
        if self.volume_slider.value() != self.prefs.volume:
            self.volume_slider.blockSignals(True)
            self.volume_slider.setValue(self.prefs.volume)
            self.volume_slider.blockSignals(False)
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
        QApplication.instance().removeEventFilter(self)
        self.bridge.stop()
        self.video.stop()  # no more calls into the player: a closing hook releases it
        self._hide_timer.stop()
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
