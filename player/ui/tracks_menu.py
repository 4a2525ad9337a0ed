"""Playback → Audio Track and Subtitles: libVLC's tracks, cycling keys, external subtitle files.

The menus are filled from libVLC's track state each time they open, so they show what the
playing media has now (embedded tracks, added subtitle files, the renditions an HLS or DASH
stream exposes). V and J cycle the subtitles (through "Off"), B and # the audio tracks (the
keys of VLC and mpv); a toast says which track is now on. "Add Subtitle File…" and dropping a
subtitle file on the window add it to the playing media and show it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QMimeData
from PyQt6.QtGui import QAction, QActionGroup
from PyQt6.QtWidgets import QFileDialog, QMenu

from player.playback.tracks import OFF, Track, cycle, track_name
from player.ui.actions import add_action, announce

if TYPE_CHECKING:
    from player.ui.main_window import MainWindow

log = logging.getLogger(__name__)

# Subtitle files libVLC's subtitle demuxers read, recognised by their name.
SUBTITLE_SUFFIXES = frozenset({".srt", ".vtt", ".ass", ".ssa", ".sub", ".smi"})
SUBTITLE_FILTER = "Subtitles (*.srt *.vtt *.ass *.ssa *.sub *.smi);;All files (*)"


def menu_text(name: str) -> str:
    """A track name from the media as a menu entry's plain text (no mnemonic '&')."""
    return name.replace("&", "&&")


def subtitle_paths(md: QMimeData) -> list[Path]:
    """The local subtitle files in a drop, when the drop holds only such files."""
    if not md.hasUrls():
        return []
    paths = [Path(u.toLocalFile()) for u in md.urls() if u.isLocalFile()]
    if not paths or len(paths) != len(md.urls()):
        return []
    return paths if all(p.suffix.lower() in SUBTITLE_SUFFIXES for p in paths) else []


class TracksMenus:
    """Owns the Audio Track and Subtitles menus of one window and the actions that cycle them."""

    def __init__(self, window: MainWindow) -> None:
        self._w = window
        self._groups: dict[str, QActionGroup] = {}  # each menu's exclusive group, kept alive
        self.audio_menu: QMenu | None = None
        self.subtitle_menu: QMenu | None = None

    def add_file_entries(self, file_menu: QMenu) -> None:
        """File → Add Subtitle File…"""
        self.act_add_subtitle = add_action(
            self._w, file_menu, "Add &Subtitle File…", self.add_subtitle_dialog
        )

    def add_playback_entries(self, playback: QMenu) -> None:
        """Playback → Audio Track ▸, Next Audio Track (B, #), Subtitles ▸, Next Subtitle (V, J)."""
        w = self._w
        self.audio_menu = playback.addMenu("&Audio Track")
        self.audio_menu.aboutToShow.connect(self.fill_audio_menu)
        self.act_next_audio = add_action(
            w, playback, "Next Audio Track", self.cycle_audio, ["B", "#"]
        )
        self.subtitle_menu = playback.addMenu("Su&btitles")
        self.subtitle_menu.aboutToShow.connect(self.fill_subtitle_menu)
        self.act_next_subtitle = add_action(
            w, playback, "Next Subtitle", self.cycle_subtitles, ["V", "J"]
        )
        self.fill_audio_menu()
        self.fill_subtitle_menu()

    @property
    def _tracks(self):  # noqa: ANN202 - the player's TrackControl
        return self._w.session.player.tracks

    def _has_media(self) -> bool:
        return self._w.session.source is not None

    # -- the menus ----------------------------------------------------------------------------
    def fill_audio_menu(self) -> None:
        tracks = self._tracks.audio() if self._has_media() else []
        current = self._tracks.audio_id() if tracks else OFF
        self._fill("audio", self.audio_menu, tracks, current, self.select_audio, with_off=False)

    def fill_subtitle_menu(self) -> None:
        tracks = self._tracks.subtitles() if self._has_media() else []
        current = self._tracks.subtitle_id() if self._has_media() else OFF
        self._fill(
            "subtitles", self.subtitle_menu, tracks, current, self.select_subtitle, with_off=True
        )
        self.subtitle_menu.addSeparator()
        self.subtitle_menu.addAction(self.act_add_subtitle)

    def _fill(
        self,
        key: str,
        menu: QMenu,
        tracks: list[Track],
        current: int,
        select: Callable[[int], None],
        *,
        with_off: bool,
    ) -> None:
        menu.clear()  # deletes the entries it owns; the window's actions stay
        old = self._groups.pop(key, None)
        if old is not None:
            old.deleteLater()
        group = QActionGroup(menu)
        group.setExclusive(True)
        self._groups[key] = group
        entries = ([Track(OFF, "Off")] if with_off else []) + tracks
        if not tracks:
            menu.addAction("(none)" if self._has_media() else "(nothing playing)").setEnabled(False)
            if not with_off:
                return
        for track in entries:
            act = QAction(menu_text(track.name), menu)
            act.setCheckable(True)
            act.setChecked(track.id == current)
            act.setEnabled(self._has_media())
            act.triggered.connect(lambda _c=False, tid=track.id: select(tid))
            group.addAction(act)
            menu.addAction(act)

    # -- choosing -----------------------------------------------------------------------------
    def select_audio(self, track_id: int) -> None:
        if self._tracks.set_audio(track_id):
            self._say(f"Audio: {track_name(self._tracks.audio(), track_id)}")

    def select_subtitle(self, track_id: int) -> None:
        if self._tracks.set_subtitle(track_id):
            self._say(f"Subtitles: {track_name(self._tracks.subtitles(), track_id)}")

    def cycle_audio(self) -> None:
        """B / #: the next audio track (wrapping; audio is never switched off)."""
        if not self._has_media():
            return
        tracks = self._tracks.audio()
        nxt = cycle(tracks, self._tracks.audio_id(), with_off=False)
        if nxt is None:
            self._say("No other audio track" if tracks else "No audio track")
            return
        self.select_audio(nxt)

    def cycle_subtitles(self) -> None:
        """V / J: the next subtitle track, then "Off", then the first again."""
        if not self._has_media():
            return
        tracks = self._tracks.subtitles()
        nxt = cycle(tracks, self._tracks.subtitle_id(), with_off=True)
        if nxt is None:
            self._say("No subtitles")
            return
        self.select_subtitle(nxt)

    # -- external subtitle files --------------------------------------------------------------
    def add_subtitle_dialog(self) -> None:
        if not self._has_media():
            self._say("Open a video first, then add its subtitles.")
            return
        path, _ = QFileDialog.getOpenFileName(self._w, "Add a subtitle file", "", SUBTITLE_FILTER)
        if path:
            self.add_subtitle_file(Path(path))

    def add_subtitle_file(self, path: Path) -> bool:
        """Add ``path`` to the playing media and show it (libVLC selects it once it is read)."""
        if not self._has_media():
            self._say("Open a video first, then add its subtitles.")
            return False
        if not self._w.session.player.add_subtitle_file(path):
            self._say(f"Could not add the subtitles {path.name}")
            return False
        self._say(f"Subtitles: {path.name}")
        return True

    def drop(self, md: QMimeData) -> bool:
        """A drop of subtitle files only: add them (True); anything else is not ours (False)."""
        paths = subtitle_paths(md)
        for path in paths:
            self.add_subtitle_file(path)
        return bool(paths)

    def _say(self, text: str) -> None:
        announce(self._w, text)
