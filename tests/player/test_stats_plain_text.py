"""The statistics panel shows remote text (playlist URIs, host names, notes) as plain text."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication

from player.core.explain import FetchRow, HopRow
from player.session import StatsView
from player.ui.stats_panel import StatsPanel

pytestmark = pytest.mark.gui

# what a hostile playlist or server could put into the panel's texts
EVIL = '<img src="http://evil.example/x.png"><b>bold</b> <a href="http://evil.example">x</a>'


def test_remote_text_is_never_markup(qapp: QApplication) -> None:
    panel = StatsPanel()
    view = StatsView(
        note=f"segment 3 missing: http://cdn.example/{EVIL}.ts",
        host=f"cdn.example{EVIL}",
        rendition=EVIL,
        resolution=EVIL,
        codecs=[("video", EVIL)],
        verdict=EVIL,
        confidence=EVIL,
        hops=[HopRow(1, EVIL, EVIL, EVIL, "1 ms", "2 ms", 1.0, 2.0)],
        last_fetches=[FetchRow(EVIL, "-", "-", "-", "-", "-", "-", 0, 0, EVIL, False)],
    )
    panel.refresh(view)
    for key, label in panel.values.items():
        assert label.textFormat() == Qt.TextFormat.PlainText, key
    assert panel.values["note"].text() == view.note  # shown as written, tags and all
    assert panel.values["host"].text() == view.host
    assert panel.values["rendition"].text() == EVIL
    assert panel.hop_table.item(0, 1).text() == EVIL  # table cells never render markup
    assert panel.fetch_table.item(0, 0).text() == EVIL
    panel.deleteLater()
