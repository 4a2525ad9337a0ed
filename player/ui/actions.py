"""The one way the window's commands become actions: a menu entry plus a window-wide shortcut.

Every key of the app is the shortcut of an action made here, so the help window
(ui/help_window.py), which lists the window's actions, always shows the real bindings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QMainWindow, QMenu, QWidget

Shortcut = str | QKeySequence | QKeySequence.StandardKey
# How long a confirmation ("Speed 1.5×", "Subtitles: Off", "Paused: next frame") stays in
# the status line: long enough to read a few words, short enough not to linger.
ANNOUNCE_MS = 4000


def add_action(
    window: QWidget,
    menu: QMenu,
    text: str,
    slot: Callable,
    shortcut: Shortcut | Sequence[Shortcut] | None = None,
) -> QAction:
    """A menu entry whose shortcut(s) work anywhere in the window (also in fullscreen,
    with the menu bar hidden). ``shortcut`` is one key or a list of them."""
    act = QAction(text, window)
    if shortcut is not None:
        keys = list(shortcut) if isinstance(shortcut, list | tuple) else [shortcut]
        act.setShortcuts([QKeySequence(k) for k in keys])
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    act.triggered.connect(lambda _checked=False: slot())
    menu.addAction(act)
    window.addAction(act)
    return act


def announce(window: QMainWindow, text: str) -> None:
    """Confirm a key's effect: a short toast (the window's ``toast``, once it has one) and
    the status line."""
    window.statusBar().showMessage(text, ANNOUNCE_MS)
    toast = getattr(window, "toast", None)
    if toast is not None:
        toast.show_message(text)
