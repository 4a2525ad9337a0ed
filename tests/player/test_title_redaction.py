"""A URL's user:password and tokens never reach the window title, status bar or recent menu."""

from __future__ import annotations

import socket

import pytest

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

WAIT_S = 15.0  # only ends a hang


def test_credentials_stay_out_of_the_title_and_the_recent_menu(harness) -> None:  # noqa: ANN001
    with socket.socket() as s:  # a port nothing listens on: the open fails, quickly
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://bob:hunter2@127.0.0.1:{port}/?token=Zx81kq93LmPq20aa"
    w = harness.window
    w.open_source(url)
    harness.wait(lambda: "127.0.0.1" in w.windowTitle(), WAIT_S, "the Opening title")
    shown = [w.windowTitle(), w.statusBar().currentMessage()]
    harness.wait(lambda: bool(harness.error_text()), WAIT_S, "the failure")
    shown += [w.windowTitle(), w.statusBar().currentMessage(), harness.error_text()]
    w.fill_recent_menu()
    shown += [a.text() for a in w.recent_menu.actions()] + list(w.prefs.recent)
    assert f"127.0.0.1:{port}" in " ".join(shown)
    for text in shown:
        assert "hunter2" not in text and "bob" not in text and "Zx81kq93LmPq20aa" not in text


def test_queue_rows_show_the_host_not_the_credentials(qapp) -> None:  # noqa: ANN001
    """The queue panel's rows are named by title_for: a URL without a file name shows its
    host and port, never its ``user:password@`` (nor a token path segment or the query)."""
    from player.core.queue import QueueItem
    from player.ui.queue_panel import QueuePanel

    panel = QueuePanel()
    items = (
        QueueItem("http://bob:hunter2@example.com", 1),
        QueueItem("https://bob:hunter2@cdn.example:8443/v/Zx81kq93LmPq20aaQ?token=abc", 2),
        QueueItem("http://bob:hunter2@example.com/show/ep1.m3u8?sig=Zx81kq93", 3),
        QueueItem("rtsp://bob:hunter2@cam.example/", 4),
    )
    panel.show_items(items, 0, {3: "failed"})
    rows = [t[-len(want) :] for t, want in zip(panel.row_texts(), WANTED, strict=True)]
    assert rows == list(WANTED)
    tips = [panel.list.item(i).toolTip() for i in range(len(items))]
    for text in panel.row_texts() + tips:
        assert "hunter2" not in text and "bob" not in text and "abc" not in text


WANTED = ("example.com", "cdn.example:8443", "ep1.m3u8", "cam.example")
