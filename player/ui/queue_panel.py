"""View → Queue (Q): the play queue as a list in a dock.

The current item is marked (▶ and bold), an item that could not be played is marked ✕ with
its reason in the tooltip. Double-click (or Enter) plays a row, Delete or "Remove" takes the
selected rows out, "Clear" empties the queue, "Add…" queues files without interrupting what
plays. Rows show the item's title (a file's name, a URL's last path part), never a URL's
query; every text is plain text.
"""

from __future__ import annotations

import html

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QFont, QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from player.core.queue import QueueItem
from player.core.redact import redact_source
from player.core.wording import queue as say
from player.session import title_for

ID_ROLE = Qt.ItemDataRole.UserRole
CURRENT_MARK = "▶ "
FAILED_MARK = "✕ "
UNMARKED = "   "  # keeps the titles aligned under the marks


def plain_tooltip(text: str) -> str:
    """A tooltip that shows ``text`` as it is (Qt guesses rich text from tags otherwise)."""
    return f"<p style='white-space:pre'>{html.escape(text)}</p>"


class QueuePanel(QDockWidget):
    play_requested = pyqtSignal(int)  # an item id
    remove_requested = pyqtSignal(list)  # item ids
    clear_requested = pyqtSignal()
    add_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(say.QUEUE_TITLE, parent)
        self.setObjectName("queueDock")  # saveState() needs a name
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 6, 6, 6)
        self.position_label = QLabel(body)
        self.position_label.setTextFormat(Qt.TextFormat.PlainText)
        self.position_label.setWordWrap(True)
        lay.addWidget(self.position_label)
        self.list = QListWidget(body)
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.itemActivated.connect(self._activated)  # double-click and Enter
        lay.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add…", body)
        self.remove_button = QPushButton("Remove", body)
        self.clear_button = QPushButton("Clear", body)
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button.clicked.connect(self._remove_selected)
        self.clear_button.clicked.connect(self.clear_requested)
        for b in (self.add_button, self.remove_button, self.clear_button):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.setWidget(body)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self._remove_selected)

    def show_items(
        self, items: tuple[QueueItem, ...], current: int | None, failed: dict[int, str]
    ) -> None:
        """Redraw the list: ``current`` is the current row's index, ``failed`` id -> reason."""
        selected = {it.data(ID_ROLE) for it in self.list.selectedItems()}
        self.list.clear()
        for i, item in enumerate(items):
            reason = failed.get(item.id)
            mark = CURRENT_MARK if i == current else FAILED_MARK if reason else UNMARKED
            row = QListWidgetItem(mark + title_for(item.source))
            row.setData(ID_ROLE, item.id)
            shown = redact_source(item.source)[1] if "://" in item.source else item.source
            row.setToolTip(plain_tooltip(f"{shown}\n{reason}" if reason else shown))
            if i == current:
                font = QFont(row.font())
                font.setBold(True)
                row.setFont(font)
            self.list.addItem(row)
            row.setSelected(item.id in selected)
        self.position_label.setText(
            say.EMPTY_QUEUE
            if not items
            else say.queue_position(current, len(items))
            if current is not None
            else ""
        )
        self.remove_button.setEnabled(bool(items))
        self.clear_button.setEnabled(bool(items))

    def row_ids(self) -> list[int]:
        return [self.list.item(i).data(ID_ROLE) for i in range(self.list.count())]

    def row_texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _activated(self, row: QListWidgetItem) -> None:
        self.play_requested.emit(int(row.data(ID_ROLE)))

    def _remove_selected(self) -> None:
        ids = [int(r.data(ID_ROLE)) for r in self.list.selectedItems()]
        if ids:
            self.remove_requested.emit(ids)
