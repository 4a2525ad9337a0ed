"""The play queue's glue: the model (player/core/queue.py), its panel and the session.

Every item is its own session (the window's one open path, so each is diagnosed, recorded
and shown as any open is). When the item that plays ends, the next one plays; when it
fails (unreachable, an HTTP error, not a video, ended early) or makes no progress for
:data:`~player.core.queue.STALL_GIVE_UP_S`, the window shows why through its usual error
path, the item is marked in the panel, and the next one plays after
:data:`FAILURE_LINGER_MS`. The end of the queue just stops. Before another item opens (and
when the window closes) the resume controller keeps the current item's position; a local
file that plays goes into the desktop's recently-used list.

Sources are normalised once, here: ``file://`` URIs (the desktop entry's ``%U``, drops,
MPRIS) become paths, relative paths become absolute, so an item has one spelling
everywhere (the resume key, the recent list).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from PyQt6.QtCore import QMimeData, QObject, Qt, QTimer, QUrl
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QFileDialog, QMainWindow, QWidget

from player.core.model import PlaybackState
from player.core.queue import STALL_GIVE_UP_S, PlayQueue, QueueItem
from player.core.wording import queue as say
from player.session import (
    Ended,
    EndedEarly,
    Opening,
    PlaybackFailed,
    Session,
    SessionEvent,
    StateChanged,
)
from player.store.recently_used import RecentlyUsed
from player.ui.queue_panel import QueuePanel
from player.ui.resume_prompt import ResumeController

log = logging.getLogger(__name__)

# A failed item's message stays this long before the next item replaces it: enough to read
# one line, short enough that a playlist of dead links moves on briskly.
FAILURE_LINGER_MS = 3000
NO_PROGRESS_STATES = (PlaybackState.STALLED, PlaybackState.STARTUP)
VIDEO_FILTER = (
    "Media (*.mp4 *.m4v *.mkv *.webm *.mov *.avi *.ts *.m2ts *.mpg *.mpeg *.flv *.ogv *.wmv "
    "*.m3u8 *.mpd *.mp3 *.m4a *.ogg *.opus *.flac *.wav);;All files (*)"
)


def normalise_source(text: str) -> str:
    """One spelling per item: a local ``file://`` URI -> its path, a relative path ->
    absolute (against the current folder), a URL as it is."""
    text = text.strip()
    if not text:
        return ""
    parsed = urlparse(text)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        return unquote(parsed.path)
    if "://" in text:
        return text
    return os.path.abspath(os.path.expanduser(text))


def sources_from_mime(md: QMimeData) -> list[str]:
    """Everything a drop onto the window queues: local files and http(s) URLs, in order;
    else the lines of pasted text that look like a URL or a path."""
    found: list[str] = []
    if md.hasUrls():
        for url in md.urls():
            url: QUrl
            if url.isLocalFile():
                found.append(url.toLocalFile())
            elif url.scheme() in ("http", "https"):
                found.append(url.toString())
    if not found and md.hasText():
        for line in md.text().splitlines():
            line = line.strip()
            if line.startswith(("http://", "https://", "/", "file://")):
                found.append(normalise_source(line))
    return found


def ask_for_files(parent: QWidget, title: str = "Open videos") -> list[str]:
    """File → Open File… (Ctrl+O), several at once: the chosen paths ([] if cancelled)."""
    paths, _ = QFileDialog.getOpenFileNames(parent, title, str(Path.home()), VIDEO_FILTER)
    return paths


class QueueController(QObject):
    def __init__(
        self,
        window: QMainWindow,
        session: Session,
        bridge: QObject,
        resume: ResumeController,
        open_now: Callable[[str], None],
        give_up_s: float = STALL_GIVE_UP_S,
    ) -> None:
        """``open_now(source)`` is the window's one open (it starts a session for the item);
        ``bridge`` gives the session's events and ticks."""
        super().__init__(window)
        self.window = window
        self.session = session
        self.resume = resume
        self._open_now = open_now
        self.give_up_s = give_up_s
        self.queue = PlayQueue()
        self.recently_used: RecentlyUsed | None = None  # set by the composition root
        self.failed: dict[int, str] = {}  # item id -> why it did not play
        self.played: list[str] = []  # sources whose item started playing, in order (tests, logs)
        self._expected: str | None = None  # the source we asked the session to open
        self._live: QueueItem | None = None  # the item the session plays now (its Opening came)
        self._live_played = False  # the live item reached "playing"
        self._stuck_since: float | None = None
        self._advance = QTimer(self)
        self._advance.setSingleShot(True)
        self._advance.timeout.connect(self._advance_after_failure)
        self.panel = QueuePanel(window)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.panel)
        self.panel.hide()
        self.panel.play_requested.connect(self.play_id)
        self.panel.remove_requested.connect(self.remove)
        self.panel.clear_requested.connect(self.clear)
        self.panel.add_requested.connect(self._add_files)
        bridge.session_event.connect(self.on_event)
        bridge.ticked.connect(self.on_tick)
        self._refresh()

    # -- commands (MainWindow's enqueue / play_next / play_previous) ----------------------
    def enqueue(self, sources: list[str], play_now: bool = False) -> None:
        """Add ``sources``; ``play_now`` plays the first of them at once. Without it they
        play after what is queued, or at once if nothing is playing."""
        item = self.queue.enqueue([normalise_source(s) for s in sources], play_now=play_now)
        if item is None and not play_now and self._idle():
            item = self.queue.next()
        if item is not None:
            self._play(item)
        self._refresh()

    def play_next(self) -> bool:
        item = self.queue.next()
        if item is None:
            self.window.statusBar().showMessage(say.END_OF_QUEUE)
            return False
        self._play(item)
        return True

    def play_previous(self) -> bool:
        item = self.queue.previous()
        if item is None:
            self.window.statusBar().showMessage(say.NOTHING_BEFORE)
            return False
        self._play(item)
        return True

    def play_id(self, item_id: int) -> None:
        item = self.queue.select(item_id)
        if item is not None:
            self._play(item)

    def remove(self, item_ids: list[int]) -> None:
        for item_id in item_ids:
            self.queue.remove(item_id)
            self.failed.pop(item_id, None)
        self._refresh()

    def clear(self) -> None:
        self.queue.clear()
        self.failed.clear()
        self._advance.stop()
        self._refresh()

    def toggle_panel(self) -> None:
        self.panel.setVisible(not self.panel.isVisible())

    def bind_action(self, action: QAction) -> None:
        """View → Queue: checked while the panel shows."""
        action.setCheckable(True)
        action.setChecked(self.panel.isVisible())
        self.panel.visibilityChanged.connect(action.setChecked)

    def stop(self) -> None:
        """The window closes: keep the current item's position, stop the timers."""
        self._advance.stop()
        self.resume.remember()
        self.resume.stop()

    # -- session events -------------------------------------------------------------------
    def on_event(self, ev: SessionEvent) -> None:
        if isinstance(ev, Opening):
            current = self.queue.current
            if ev.source == self._expected or (current is not None and ev.source == current.source):
                self._live = current
            else:
                self._live = None  # the demo, or anything else opened past the queue
            self._expected = None
            self._stuck_since = None
            self._live_played = False
            self._refresh()
        elif self._live is None:
            return
        elif isinstance(ev, Ended):
            self._live = None
            if not self.play_next() and len(self.queue) <= 1:
                self.window.statusBar().showMessage("Finished")  # a single item: as before
        elif isinstance(ev, PlaybackFailed | EndedEarly):
            self._failed(ev.message)
        elif isinstance(ev, StateChanged) and ev.state is PlaybackState.PLAYING:
            if not self._live_played:
                self._live_played = True
                self.played.append(self._live.source)
                if self.recently_used is not None:  # a file that plays, not one that failed
                    self.recently_used.add(self._live.source)

    def on_tick(self) -> None:
        item = self._live
        if item is None:
            return
        state = self.session.state
        if state not in NO_PROGRESS_STATES:
            self._stuck_since = None
            return
        now = time.monotonic()
        if self._stuck_since is None:
            self._stuck_since = now
        elif now - self._stuck_since > self.give_up_s and self.queue.has_next:
            log.info("queue: no progress for %.0f s, giving up on the item", self.give_up_s)
            self._failed(say.gave_up(self.give_up_s), show=True)

    # -- internals ------------------------------------------------------------------------
    def _idle(self) -> bool:
        busy = self._expected is not None or self._advance.isActive()
        state = self.session.state
        return not busy and state in (PlaybackState.IDLE, PlaybackState.ENDED, PlaybackState.ERROR)

    def _play(self, item: QueueItem) -> None:
        self._advance.stop()
        self.resume.remember()  # the item we leave: its position, by the resume rule
        self.resume.track(item.source)
        self.failed.pop(item.id, None)
        self._expected = item.source
        log.info("queue: item %d of %d", (self.queue.current_index or 0) + 1, len(self.queue))
        self._open_now(item.source)
        self._refresh()

    def _failed(self, message: str, show: bool = False) -> None:
        """The live item did not play (or stopped for good): mark it, move on after a pause."""
        item, self._live = self._live, None
        if item is None:
            return
        self.failed[item.id] = message
        self._refresh()
        if not self.queue.has_next:
            return  # the end of the queue: the error stays on screen
        if show:
            self.window.show_error("Skipped", message)
        else:
            self.window.statusBar().showMessage(say.skipping(message))
        self._advance.start(FAILURE_LINGER_MS)

    def _advance_after_failure(self) -> None:
        self.play_next()

    def _add_files(self) -> None:
        paths = ask_for_files(self.window, "Add videos to the queue")
        if paths:
            self.enqueue(paths)

    def _refresh(self) -> None:
        self.panel.show_items(self.queue.items, self.queue.current_index, self.failed)
