"""The main window: composes the video view, controls, menus and panels over a session.

It opens media, relays transport commands to the session and shows the session's
events; the controls bar, the menus, fullscreen, the notice band with its screenshots and
"Why?" (notice_controller), applying the settings (settings_dialog), the statistics dock
(stats_dock) and the history hooks (session_recording) live in their own modules. It never
touches the network: all of that happens behind the session (the demo arrives as a
``prepare`` callable from the composition root).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QPixmap
from PyQt6.QtWidgets import QMainWindow, QMessageBox, QVBoxLayout, QWidget

from player import __version__, data
from player.core.model import PlaybackState
from player.core.redact import safe_url
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
from player.store.history import HistoryStore
from player.store.prefs import PrefsStore
from player.ui import menus
from player.ui.bridge import SessionBridge
from player.ui.controls import ControlsBar
from player.ui.first_run import FirstRunDialog
from player.ui.fullscreen import FullscreenController
from player.ui.history_window import HistoryController
from player.ui.insecure_banner import InsecureTlsController, TlsBand
from player.ui.notice_controller import NOTE_MS, NoticeController
from player.ui.open_url import OpenUrlDialog, source_from_mime
from player.ui.queue_controller import QueueController, ask_for_files, sources_from_mime
from player.ui.resume_prompt import ResumeController
from player.ui.session_recording import SessionRecording
from player.ui.settings_dialog import SettingsController
from player.ui.stats_dock import StatsDock
from player.ui.video_view import Overlay, VideoView

log = logging.getLogger(__name__)


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
        history: HistoryStore | None = None,
    ) -> None:
        """``demo`` is the built-in demo's ``prepare`` (blocking: makes and serves the
        stream, returns its URL); without it the demo entry is disabled. ``history``: where
        sessions are recorded (View → History); None records nothing."""
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
        self.tls_band = TlsBand()  # a certificate that failed, or is not verified
        layout.addWidget(self.tls_band)
        layout.addWidget(self.controls)
        self.setCentralWidget(central)
        self.stats = StatsDock(self, session, prefs)  # View → Statistics
        self.stats_panel = self.stats.panel
        self.settings = SettingsController(self)  # Settings, the first run, Playback → Quality
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
        self.bridge.ticked.connect(self.stats.on_tick)
        self.recording = SessionRecording(self, history, session, self.bridge)  # View → History
        self.notices = NoticeController(self, session, self.bridge.ticked)  # the band, Why?, screenshots
        self.resume = ResumeController(self, session, self.video)  # "Resume from 12:34?"
        self.bridge.session_event.connect(self.resume.on_event)
        # View → Queue; every open of a queue item goes through _open_now
        self.queue = QueueController(self, session, self.bridge, self.resume, self._open_now)
        self.queue.bind_action(self.act_queue)
        # "Open anyway (not secure)" and the warning while an origin is not verified
        self.tls = InsecureTlsController(self, session, self.bridge, self.tls_band, self._reopen_after_tls)
        self.toast, self.screenshots, self.why = self.notices.toast, self.notices.screenshots, self.notices.why
        if self.prefs.show_stats:
            self.set_stats_visible(True)
        self._refresh_controls()
        self.statusBar().showMessage("Open a video: Ctrl+O for a file, Ctrl+L for a URL, or drop it here.")

    # -- opening media ---------------------------------------------------------------------------
    def open_source(self, source: str) -> None:
        """Play ``source`` now, as a queue item (what was queued after it still follows)."""
        self.enqueue([source], play_now=True)

    def enqueue(self, sources: list[str], play_now: bool = False) -> None:
        """Add ``sources`` (paths, URLs, file:// URIs) to the queue; ``play_now`` plays the
        first of them at once, else they play when what is queued before them is done."""
        self.queue.enqueue(sources, play_now=play_now)

    def play_next(self) -> bool:
        return self.queue.play_next()

    def play_previous(self) -> bool:
        return self.queue.play_previous()

    def _open_now(self, source: str) -> None:
        """The one open of a queue item: a new session for ``source``."""
        source = source.strip()
        if not source:
            return
        self.video.clear_picture()
        self.video.set_notice(None)
        self.video.set_toast(None)
        self.recording.finish()
        self.session.open(source)
        self.prefs.add_recent(source)
        self.prefs_store.save()
        self.fill_recent_menu()

    def _reopen_after_tls(self, source: str) -> None:
        """Open ``source`` again after the viewer exempted its origin: the same queue item
        when it is the current one, else as a new item."""
        current = self.queue.queue.current
        if current is not None and current.source == source:
            self.queue.play_id(current.id)
        else:
            self.open_source(source)

    def open_demo(self, prepare: Callable[[], str]) -> None:
        """Play the built-in demo; ``prepare`` generates/serves it in a worker thread."""
        self._demo_prepare = prepare
        self.video.clear_picture()
        self.recording.finish()
        self.session.open("stallwatch-demo", prepare=prepare, title="Stallwatch demo")

    def play_demo_again(self) -> None:
        if self._demo_prepare is None:
            self.statusBar().showMessage("The built-in demo is not available in this window.")
            return
        self.open_demo(self._demo_prepare)

    def open_file_dialog(self) -> None:
        paths = ask_for_files(self)  # several: the first plays, the others follow it
        if paths:
            self.enqueue(paths, play_now=True)

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
        if self.tracks.drop(event.mimeData()):  # subtitle files: added to the playing video
            event.acceptProposedAction()
            return
        sources = sources_from_mime(event.mimeData())  # several: the first plays, the others follow
        if sources:
            event.acceptProposedAction()
            self.enqueue(sources, play_now=True)

    source_from_mime = staticmethod(source_from_mime)

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
            title = ev.title  # session.media.title_for: never a URL's user:password@
            self.setWindowTitle(f"{title} — Stallwatch")
            self.video.set_message(Overlay(f"Opening {title}…", kind="busy"))
            self.statusBar().showMessage(f"Opening {safe_url(ev.source or '', keep_query=True)}")
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
            self.notices.show_notice(ev)
        elif isinstance(ev, StreamNote):
            self.notices.show_note(ev.message)
            self.statusBar().showMessage(ev.message, NOTE_MS * 2)
        elif isinstance(ev, StallBegan):
            self.statusBar().showMessage(f"Buffering… (stalled at {fmt_clock(self.session.last_position_s)})")
        elif isinstance(ev, StallFinished):
            self.statusBar().showMessage(f"Playing again after a {ev.duration_s:.1f} s stall", NOTE_MS)
        elif isinstance(ev, RenditionsKnown):
            self._fill_quality_menu(ev.labels)

    def take_screenshot(self) -> None:
        """S / Ctrl+Shift+S / the notice's "Screenshot": what the viewer sees, saved and copied."""
        self.notices.take_screenshot()

    def dismiss_notice(self) -> None:
        """The notice's "×" or D: hide the band for this notice."""
        self.notices.dismiss()

    def show_why(self) -> None:
        """The evidence behind the notice (View → Why?, W, the notice's "Why?")."""
        self.why.show()

    # -- quality, statistics, settings (applied by self.settings) -------------------------------
    @property
    def _rendition_labels(self) -> list[str]:
        return self.settings.rendition_labels

    def _fill_quality_menu(self, labels: list[str]) -> None:
        self.settings.fill_quality_menu(labels)

    def pin_rendition(self, index: int | None) -> None:
        self.settings.pin_rendition(index)

    def set_stats_visible(self, visible: bool) -> None:
        self.stats.set_visible(visible)

    def open_settings(self) -> None:
        self.settings.open()

    def settings_changed(self) -> None:
        """Save and apply the prefs at once (Settings' OK, the first-run switch)."""
        self.settings.changed()

    def apply_prefs(self) -> None:
        self.settings.apply()

    def show_first_run(self) -> FirstRunDialog:
        """The one-time explanation of what the probes send (window-modal, not blocking)."""
        return self.settings.show_first_run()

    @property
    def history(self) -> HistoryController | None:
        return self.recording.controller

    def open_history(self) -> None:
        self.recording.show()

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
        self.notices.stop()
        self.recording.finish()
        self.queue.stop()  # keeps the current item's resume position
        self.session.close()
        for hook in self._closing_hooks:
            try:
                hook()
            except Exception:
                log.exception("closing hook failed")
        self.prefs_store.close(timeout=0.3)
        log.debug("window closed in %.3f s", time.monotonic() - t0)
        event.accept()
