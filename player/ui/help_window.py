"""Help → Keyboard Shortcuts (? or F1): every key of the window, read from its actions.

The list is made from the window's own actions each time the window opens, grouped by the
menu they sit in, so it can never drift from the real bindings: a key exists only as an
action's shortcut (ui/actions.py). Actions outside the menus come last, under "Other".
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMainWindow,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

OTHER_GROUP = "Other"
MOUSE_NOTE = (
    "Mouse: double-click the picture for fullscreen; drop a video or a link on the window to "
    "play it, or a subtitle file (.srt, .vtt, .ass) to add it to the playing video."
)
STEP_NOTE = (
    "Previous Frame: the player cannot step backwards; it jumps back instead. The first "
    "jump after a pause may go back two frames, the next ones go one at a time."
)
SIZE = (520, 580)


@dataclass(frozen=True, slots=True)
class KeyBinding:
    group: str  # the menu path, e.g. "Playback › Speed"
    action: str  # the action's text without mnemonics
    keys: tuple[str, ...]  # each shortcut as the viewer reads it (native text)


def plain(text: str) -> str:
    """A menu text without its mnemonic marks ("&Open File…" -> "Open File…")."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def key_texts(act: QAction) -> tuple[str, ...]:
    return tuple(
        k.toString(QKeySequence.SequenceFormat.NativeText)
        for k in act.shortcuts()
        if not k.isEmpty()
    )


def _walk(menu: QMenu, group: str, seen: dict[int, QAction], out: list[KeyBinding]) -> None:
    for act in menu.actions():
        sub = act.menu()
        if sub is not None:
            _walk(sub, f"{group} › {plain(sub.title())}", seen, out)
            continue
        keys = key_texts(act)
        if keys and id(act) not in seen:
            seen[id(act)] = act  # kept alive for the walk: ids stay unique
            out.append(KeyBinding(group, plain(act.text()), keys))


def bindings(window: QMainWindow) -> list[KeyBinding]:
    """Every action of ``window`` that has a key, in menu order, then the rest."""
    out: list[KeyBinding] = []
    seen: dict[int, QAction] = {}
    for top in window.menuBar().actions():
        if top.menu() is not None:
            _walk(top.menu(), plain(top.menu().title()), seen, out)
    for act in window.actions():
        keys = key_texts(act)
        if keys and id(act) not in seen:
            seen[id(act)] = act
            out.append(KeyBinding(OTHER_GROUP, plain(act.text()), keys))
    return out


class HelpWindow(QDialog):
    """A non-modal list of the window's keys, rebuilt each time it is shown."""

    def __init__(self, window: QMainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self._window = window
        self.setWindowTitle("Keyboard Shortcuts — Stallwatch")
        self.resize(*SIZE)
        lay = QVBoxLayout(self)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        lay.addWidget(self.tree, 1)
        for text in (MOUSE_NOTE, STEP_NOTE):
            note = QLabel(text, self)
            note.setWordWrap(True)
            note.setTextFormat(Qt.TextFormat.PlainText)
            lay.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        lay.addWidget(buttons)
        self.shown: list[KeyBinding] = []  # what the list shows now (tests read it)

    def refresh(self) -> None:
        self.tree.clear()
        self.shown = bindings(self._window)
        groups: dict[str, QTreeWidgetItem] = {}
        for b in self.shown:
            head = groups.get(b.group)
            if head is None:
                head = QTreeWidgetItem(self.tree, [b.group])
                font = head.font(0)
                font.setBold(True)
                head.setFont(0, font)
                head.setFirstColumnSpanned(True)
                head.setFlags(Qt.ItemFlag.ItemIsEnabled)
                groups[b.group] = head
            QTreeWidgetItem(head, [b.action, ",  ".join(b.keys)])
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)

    def present(self) -> None:
        """Show (or raise) the window with the bindings as they are now."""
        self.refresh()
        self.show()
        self.raise_()
        self.activateWindow()
