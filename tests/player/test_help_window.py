"""Help → Keyboard Shortcuts: made from the window's actions, so it lists every real key."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QTreeWidgetItemIterator

from player.ui.help_window import OTHER_GROUP, plain
from tests.player.conftest import MIN_WAIT_S

pytestmark = [pytest.mark.gui]

# The keys the app promises (README, issue 10); the list must show each of them.
EXPECTED_KEYS = (
    "Space", "F", "Esc", "M", "Left", "Right", "Up", "Down", "Ctrl+O", "Ctrl+L", "Ctrl+Q", "S",
    "Ctrl+Shift+S", "D", "W", "H", "I", "Ctrl+,", "V", "J", "B", "#", "[", "]", "Backspace",
    ".", ",", "?", "F1",
)  # fmt: skip


def native(seq: QKeySequence) -> str:
    return seq.toString(QKeySequence.SequenceFormat.NativeText)


def listed_rows(help_window) -> list[tuple[str, str]]:  # noqa: ANN001
    """(action, keys) of every row the viewer sees in the list."""
    rows = []
    it = QTreeWidgetItemIterator(help_window.tree)
    while it.value() is not None:
        item = it.value()
        if item.parent() is not None:
            rows.append((item.text(0), item.text(1)))
        it += 1
    return rows


def open_with(h, key) -> object:  # noqa: ANN001
    if h.window.help_window is not None:
        h.window.help_window.close()
    # Window shortcuts fire only in the active window (offscreen activates it asynchronously).
    h.wait(lambda: h.window.isActiveWindow(), MIN_WAIT_S, "the main window active")
    QTest.keyClick(h.window, key)
    h.wait(
        lambda: h.window.help_window is not None and h.window.help_window.isVisible(),
        MIN_WAIT_S,
        f"{key} opens help",
    )
    return h.window.help_window


def test_question_mark_and_f1_open_it(harness) -> None:  # noqa: ANN001
    h = harness
    win = open_with(h, "?")
    assert "Keyboard Shortcuts" in win.windowTitle()
    win.close()
    h.wait(lambda: not win.isVisible(), MIN_WAIT_S, "closed")
    assert open_with(h, Qt.Key.Key_F1) is win, "one help window, shown again"


def test_it_lists_every_shortcut_of_every_window_action(harness) -> None:  # noqa: ANN001
    h = harness
    win = open_with(h, Qt.Key.Key_F1)
    rows = listed_rows(win)
    keyed = [a for a in h.window.actions() if any(not k.isEmpty() for k in a.shortcuts())]
    assert len(keyed) >= len(EXPECTED_KEYS) - 4  # several actions carry two keys
    for act in keyed:
        keys = [native(k) for k in act.shortcuts() if not k.isEmpty()]
        row = [r for r in rows if r[0] == plain(act.text())]
        assert row, f"{act.text()!r} is missing from the help"
        for key in keys:
            assert any(key in r[1].split(",  ") for r in row), f"{act.text()!r}: {key} not listed"
    every_key = {k for _, ks in rows for k in ks.split(",  ")}
    for key in EXPECTED_KEYS:
        assert native(QKeySequence(key)) in every_key, f"{key} is not in the help"
    assert len(rows) == len(keyed), "a row for each action, no row for anything else"


def test_it_reads_the_actions_when_it_opens(harness) -> None:  # noqa: ANN001
    """An action added later (another part of the app, say the queue's N / P) shows up the
    next time the list opens, and a changed key too: nothing is written down twice."""
    h = harness
    win = open_with(h, "?")
    assert not any(r[0] == "Next in Queue" for r in listed_rows(win))
    act = QAction("Next in &Queue", h.window)
    act.setShortcuts([QKeySequence("N"), QKeySequence("PgDown")])
    h.window.addAction(act)  # an action of the window outside the menus
    h.window.act_why.setShortcut(QKeySequence("Ctrl+W"))
    win = open_with(h, Qt.Key.Key_F1)
    rows = listed_rows(win)
    assert (
        "Next in Queue",
        f"{native(QKeySequence('N'))},  {native(QKeySequence('PgDown'))}",
    ) in rows
    assert ("Why?", native(QKeySequence("Ctrl+W"))) in rows
    groups = [win.tree.topLevelItem(i).text(0) for i in range(win.tree.topLevelItemCount())]
    assert (
        groups[:4] == ["File", "Playback", "Playback › Speed", "View"] and groups[-1] == OTHER_GROUP
    )
