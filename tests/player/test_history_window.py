"""The History window over a real history file: 30 synthetic days, plots, exports, delete."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest

from player.core import isp_index as ix
from player.playback.vlc import VlcPlayer
from player.store.history import DB_NAME, HistoryStore
from player.ui.history_window import HistoryWindow
from player.ui.main_window import MainWindow
from tests.player.conftest import pump, wait_until
from tests.support.history_days import ISP, fill_store, synthetic_days

pytestmark = [pytest.mark.gui]

DAYS = 30
SESSIONS = DAYS * 7  # synthetic_days: seven sessions a day


@pytest.fixture
def store(tmp_path: Path):  # noqa: ANN201
    s = HistoryStore(tmp_path / "data" / DB_NAME)
    fill_store(s, synthetic_days(DAYS))
    yield s
    s.close()


def _loaded(qapp, win: HistoryWindow, sessions: int) -> None:  # noqa: ANN001
    wait_until(qapp, lambda: win.status.text() == f"{sessions} sessions", 10, f"{sessions} sessions shown")


def test_index_plot_renders_from_thirty_days(qapp, store) -> None:  # noqa: ANN001
    win = HistoryWindow(store)
    win.resize(1100, 720)
    win.show()
    win.refresh()
    _loaded(qapp, win, SESSIONS)
    assert win.table.rowCount() == SESSIONS
    assert win.group_box.count() == 2 and ISP in win.group_box.itemText(0)
    g = win.groups[0]
    # the plot items carry the index's numbers
    heights = list(win.rate_bars.opts["height"])
    assert len(heights) == 7 and all(h >= 0 for h in heights)  # seven hours of day watched
    assert max(heights) == pytest.approx(max(b.stall_rate for b in g.by_hour if b.stall_rate is not None))
    _xs, ys = win.tput_curve.getData()
    watched = [y for y in ys if not math.isnan(y)]
    assert len(watched) == 7 and min(watched) > 0
    assert max(watched) == pytest.approx(max(b.median_throughput_kbps or 0 for b in g.by_hour) / 1000)
    isp_bars = win.verdict_bars["isp"].opts["height"]
    assert sum(isp_bars) == sum(ix.verdicts_by_hour(g)["isp"]) > 0
    assert "Prime time is worse" in win.summary.text()
    assert "Prime time (19-23 h)" in win.prime_label.text()
    # and it is drawn: the stall-rate plot has red bar pixels
    win.tabs.setCurrentIndex(0)
    pump(qapp, 0.1)
    img = win.rate_plot.grab().toImage()
    red = sum(
        1
        for x in range(0, img.width(), 3)
        for y in range(0, img.height(), 3)
        if (c := img.pixelColor(x, y)).red() > 180 and c.green() < 120 and c.blue() < 120
    )
    assert red > 50, "no bars drawn"
    win.close()


def test_exports_and_delete_from_the_window(qapp, store, tmp_path: Path) -> None:  # noqa: ANN001
    win = HistoryWindow(store)
    win.show()
    win.refresh()
    _loaded(qapp, win, SESSIONS)
    out = tmp_path / "h.json"
    win.export("json", str(out)).result(10)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert len(doc["sessions"]) == SESSIONS and "tok=1" not in out.read_text(encoding="utf-8")
    win.export("csv", str(tmp_path / "h.csv")).result(10)
    assert (tmp_path / "h.csv").read_text(encoding="utf-8").count("\n") > SESSIONS
    win.delete_history(confirm=False).result(10)
    _loaded(qapp, win, 0)
    assert win.table.rowCount() == 0 and list(win.rate_bars.opts["height"]) == []
    win.close()


def test_key_h_opens_history_and_the_window_records(qapp, tmp_path: Path) -> None:  # noqa: ANN001
    from player.session import Session
    from player.store.prefs import PrefsStore

    store = HistoryStore(tmp_path / "data" / DB_NAME)
    player = VlcPlayer(audio=False)
    session = Session(player)
    window = MainWindow(session, PrefsStore(tmp_path / "prefs.json"), history=store)
    window.add_closing_hook(player.release)
    window.show()
    try:
        window.open_source(str(tmp_path / "missing.mp4"))  # an open is a session, even a failed one
        wait_until(qapp, window.isActiveWindow, 5, "the window active")
        wait_until(qapp, lambda: window.history.recorder.sid is not None, 5, "the Opening event recorded")
        QTest.keyClick(window, Qt.Key.Key_H)
        hw = window.history.history_window
        assert hw is not None and hw.isVisible()
        wait_until(qapp, lambda: hw.status.text() == "1 sessions", 10, "the open recorded")
        assert hw.table.item(0, 1).text() == "missing.mp4"
    finally:
        window.close()
        store.close()


def test_a_history_write_error_is_shown_once_in_the_status_bar(qapp, harness, tmp_path: Path) -> None:  # noqa: ANN001
    from player.ui.history_window import HistoryController

    store = HistoryStore(tmp_path / "data" / DB_NAME)
    try:
        controller = HistoryController(harness.window, store, harness.session, harness.window.bridge)
        store.submit(lambda c: c.execute("INSERT INTO no_such_table VALUES (1)"))  # fails on the writer
        bar = harness.window.statusBar()
        wait_until(qapp, lambda: "could not be saved" in bar.currentMessage(), 5, "the error in the status bar")
        bar.clearMessage()
        store.submit(lambda c: c.execute("INSERT INTO no_such_table VALUES (2)"))
        assert store.flush()
        pump(qapp, 0.1)
        assert bar.currentMessage() == "", "reported once, not on every failed write"
        assert controller.recorder.sid is None
    finally:
        store.close()


EVIL = "<b>Evil</b><img src=x>"


def test_a_network_name_from_rdap_shows_literally_in_the_summary(qapp, tmp_path: Path) -> None:  # noqa: ANN001
    """Network names may come from RDAP, i.e. from whoever registered an address: the
    summary must show them as text, never render them as markup."""
    s = HistoryStore(tmp_path / "data" / DB_NAME)
    try:
        rows = [
            ix.SessionRow(
                started_at=r.started_at,
                duration_s=r.duration_s,
                isp=EVIL,
                video_network=r.video_network,
                throughput_kbps=r.throughput_kbps,
                stalls=r.stalls,
            )
            for r in synthetic_days(3)
        ]
        fill_store(s, rows)
        win = HistoryWindow(s)
        win.show()
        win.refresh()
        _loaded(qapp, win, len(rows))
        evil = [i for i in range(win.group_box.count()) if EVIL in win.group_box.itemText(i)]
        assert evil, [win.group_box.itemText(i) for i in range(win.group_box.count())]
        win.group_box.setCurrentIndex(evil[0])
        pump(qapp, 0.05)
        assert win.summary.textFormat() == Qt.TextFormat.PlainText
        assert EVIL in win.summary.text() and "<b>" in win.summary.text()
        assert win.status.textFormat() == Qt.TextFormat.PlainText
        win.close()
    finally:
        s.close()
