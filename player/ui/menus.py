"""The main window's menus and their shortcuts; the recent and quality menus' contents.

Every key of the app is an action's shortcut made with :func:`add_action`, so Help →
Keyboard Shortcuts (ui/help_window.py) lists exactly the real bindings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PyQt6.QtGui import QActionGroup, QKeySequence
from PyQt6.QtWidgets import QMenu

from player.ui.actions import add_action
from player.ui.help_window import HelpWindow
from player.ui.speed_frames import SpeedAndFrames
from player.ui.tracks_menu import TracksMenus

if TYPE_CHECKING:
    from player.ui.main_window import MainWindow

SEEK_STEP_S = 5.0  # Left/Right
VOLUME_STEP = 5  # Up/Down, in percent
RECENT_LABEL_MAX = 80  # longer recent items are shown by their tail
__all__ = ["add_action", "build_menus", "fill_quality_menu", "fill_recent_menu", "show_help"]


def build_menus(w: MainWindow) -> None:
    """File, Playback, View and Help; keeps on ``w`` the menus and actions it updates later
    (``recent_menu``, ``quality_menu``, ``act_open_url``, ``act_demo``, ``act_stats``), the
    track menus (``w.tracks``), speed and frame stepping (``w.speed``) and ``act_help_keys``."""
    mb = w.menuBar()
    w.tracks = TracksMenus(w)
    f = mb.addMenu("&File")
    add_action(w, f, "&Open File…", w.open_file_dialog, QKeySequence.StandardKey.Open)
    w.act_open_url = add_action(w, f, "Open &URL…", w.open_url_dialog, "Ctrl+L")
    w.tracks.add_file_entries(f)
    w.recent_menu = f.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(w.fill_recent_menu)
    f.addSeparator()
    w.act_demo = add_action(w, f, "Play the &Demo", w.play_demo_again)
    f.addSeparator()
    # Ctrl+, spelled out: the Preferences standard key is empty on several Linux desktops
    w.act_settings = add_action(w, f, "&Settings…", w.open_settings, "Ctrl+,")
    f.addSeparator()
    add_action(w, f, "&Quit", w.close, "Ctrl+Q")

    pb = mb.addMenu("&Playback")
    add_action(w, pb, "Play / Pause", w.toggle_pause, "Space")
    add_action(w, pb, "Forward 5 s", lambda: w.seek_relative(SEEK_STEP_S), "Right")
    add_action(w, pb, "Back 5 s", lambda: w.seek_relative(-SEEK_STEP_S), "Left")
    pb.addSeparator()
    add_action(w, pb, "Volume Up", lambda: w.set_volume(w.prefs.volume + VOLUME_STEP), "Up")
    add_action(w, pb, "Volume Down", lambda: w.set_volume(w.prefs.volume - VOLUME_STEP), "Down")
    add_action(w, pb, "Mute", lambda: w.set_muted(not w.prefs.muted), "M")
    pb.addSeparator()  # the queue (ui/queue_controller.py)
    w.act_next = add_action(w, pb, "&Next in the Queue", lambda: w.play_next(), ["N", "PgDown"])
    w.act_previous = add_action(
        w, pb, "P&revious in the Queue", lambda: w.play_previous(), ["P", "PgUp"]
    )
    pb.addSeparator()
    w.speed = SpeedAndFrames(w, pb)  # Speed ▸ ([ ] Backspace), Next/Previous Frame (. ,)
    pb.addSeparator()
    w.tracks.add_playback_entries(pb)  # Audio Track ▸ (B #), Subtitles ▸ (V J)
    pb.addSeparator()
    w.quality_menu = pb.addMenu("&Quality")

    view = mb.addMenu("&View")
    add_action(w, view, "&Fullscreen", w.toggle_fullscreen, "F")
    add_action(w, view, "Leave Fullscreen", w.leave_fullscreen, "Esc")
    view.addSeparator()
    w.act_stats = add_action(
        w, view, "&Statistics", lambda: w.set_stats_visible(not w.stats_panel.isVisible()), "I"
    )
    w.act_stats.setCheckable(True)
    w.stats_panel.visibilityChanged.connect(w.act_stats.setChecked)
    w.act_why = add_action(w, view, "&Why?", w.show_why, "W")
    w.act_history = add_action(w, view, "&History", w.open_history, "H")
    # checkable: the queue controller binds it to its panel (queue.bind_action)
    w.act_queue = add_action(w, view, "&Queue", lambda: w.queue.toggle_panel(), "Q")
    view.addSeparator()
    w.act_screenshot = add_action(w, view, "Take a &Screenshot", w.take_screenshot, "S")
    w.act_screenshot.setShortcuts([QKeySequence("S"), QKeySequence("Ctrl+Shift+S")])
    w.act_dismiss = add_action(w, view, "&Dismiss the Notice", w.dismiss_notice, "D")
    w.view_menu = view

    h = mb.addMenu("&Help")
    w.act_help_keys = add_action(w, h, "&Keyboard Shortcuts", lambda: show_help(w), ["?", "F1"])
    add_action(w, h, "&About Stallwatch", w.show_about)
    w.help_window = None


def show_help(w: MainWindow) -> HelpWindow:
    """? / F1: the list of every key, made from the window's actions as they are now."""
    if w.help_window is None:
        w.help_window = HelpWindow(w)
    w.help_window.present()
    return w.help_window


def fill_recent_menu(
    menu: QMenu, recent: list[str], open_source: Callable[[str], None], clear: Callable[[], None]
) -> None:
    menu.clear()
    if not recent:
        act = menu.addAction("(nothing yet)")
        act.setEnabled(False)
        return
    for i, item in enumerate(recent):
        label = item if len(item) <= RECENT_LABEL_MAX else "…" + item[-(RECENT_LABEL_MAX - 1) :]
        act = menu.addAction(f"&{(i + 1) % 10} {label}")
        act.triggered.connect(lambda _c=False, s=item: open_source(s))
    menu.addSeparator()
    menu.addAction("Clear the list").triggered.connect(lambda _c=False: clear())


def fill_quality_menu(
    menu: QMenu, labels: list[str], pinned: int | None, pin: Callable[[int | None], None]
) -> QActionGroup:
    """ "Auto" and one checkable entry per rendition (sorted by label); the group keeps
    them exclusive (the caller keeps it alive)."""
    menu.clear()
    group = QActionGroup(menu)
    group.setExclusive(True)
    auto = menu.addAction("Auto (Stallwatch chooses)")
    auto.setCheckable(True)
    auto.setChecked(pinned is None)
    auto.triggered.connect(lambda _c=False: pin(None))
    group.addAction(auto)
    if not labels:
        menu.addAction("(one quality only)").setEnabled(False)
    for i, label in sorted(enumerate(labels), key=lambda x: x[1]):
        act = menu.addAction(label)
        act.setCheckable(True)
        act.setChecked(pinned == i)
        act.triggered.connect(lambda _c=False, idx=i: pin(idx))
        group.addAction(act)
    return group
