"""The play queue in the real window: real libVLC plays ffmpeg-made files one after another,
a loopback server answers 404 or stalls for good, a text file poses as a video. Nothing is
mocked; the only knob turned is the give-up time of a stalled item (shorter than the
product's minute, so the test does not idle)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt6.QtCore import QMimeData, QPointF, Qt, QUrl
from PyQt6.QtGui import QDropEvent
from PyQt6.QtTest import QTest

from player.core.model import PlaybackState
from player.core.wording import queue as say
from player.ui.queue_controller import normalise_source, sources_from_mime
from player.ui.queue_panel import CURRENT_MARK, FAILED_MARK
from tests.player.conftest import MIN_WAIT_S
from tests.support.media import make_mp4
from tests.support.origin import OriginServer

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

CLIP_S = 2


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three short, small clips of different colours."""
    d = tmp_path_factory.mktemp("queue-clips")
    return [
        make_mp4(
            d / f"{name}.mp4", seconds=CLIP_S, size=(160, 120), fps=10, pattern="color", color=name
        )
        for name in ("red", "green", "blue")
    ]


def queue_of(h):  # noqa: ANN001, ANN201
    return h.window.queue


def test_several_files_play_in_order_and_the_end_stops_cleanly(harness, clips) -> None:  # noqa: ANN001
    q = queue_of(harness)
    harness.window.enqueue([str(c) for c in clips[:2]])  # nothing plays yet: the first starts
    harness.wait(lambda: q.played == [str(clips[0])], 20, "the first clip playing")
    assert q.queue.current_index == 0
    harness.wait(lambda: q.played == [str(clips[0]), str(clips[1])], 30, "the second clip playing")
    harness.wait(lambda: harness.session.state is PlaybackState.ENDED, 30, "the end of the queue")
    assert harness.window.statusBar().currentMessage() == say.END_OF_QUEUE
    assert q.queue.current_index == 1 and not q.failed
    assert harness.window.video.has_picture() or harness.player.frames.distinct_frames > 0


def test_failing_items_are_reported_and_the_queue_moves_on(
    harness, clips, not_video_file, tmp_path
) -> None:  # noqa: ANN001
    shown: list[str] = []
    harness.window.notice_shown.connect(shown.append)
    q = queue_of(harness)
    with OriginServer(tmp_path) as srv:  # an empty folder: every file is a 404
        missing = srv.url("gone.mp4")
        harness.window.enqueue([missing, str(not_video_file), str(clips[2])], play_now=True)
        harness.wait(lambda: q.played == [str(clips[2])], 40, "the good clip after two bad ones")
    assert harness.session.source == str(clips[2])
    assert len(q.failed) == 2, q.failed
    reasons = list(q.failed.values())
    assert "404" in reasons[0], reasons
    assert any(r in " ".join(shown) for r in reasons), shown  # both went through the error path
    assert all(any(r in s for s in shown) for r in reasons), (reasons, shown)
    texts = q.panel.row_texts()
    assert texts[0].startswith(FAILED_MARK) and texts[1].startswith(FAILED_MARK)
    assert texts[2].startswith(CURRENT_MARK)


def test_a_stream_that_stalls_for_good_is_given_up(harness, clips, tmp_path) -> None:  # noqa: ANN001
    big = make_mp4(tmp_path / "origin" / "long.mp4", seconds=30, size=(320, 240), fps=25)
    q = queue_of(harness)
    q.give_up_s = 2.0
    with OriginServer(big.parent) as srv:
        srv.add_fault("/long.mp4", "pause", after_bytes=120_000, seconds=None, times=None)
        harness.window.enqueue([srv.url("long.mp4"), str(clips[0])], play_now=True)
        harness.wait(
            lambda: q.played[-1:] == [str(clips[0])], 60, "the next clip after the stalled one"
        )
    assert list(q.failed.values()) == [say.gave_up(2.0)]


def test_next_previous_keys_panel_and_menu(harness, clips) -> None:  # noqa: ANN001
    w = harness.window
    q = queue_of(harness)
    wait_until_active = harness.wait
    w.enqueue([str(c) for c in clips], play_now=True)
    wait_until_active(w.isActiveWindow, MIN_WAIT_S, "the window active")
    harness.wait(lambda: harness.session.source == str(clips[0]), MIN_WAIT_S)
    QTest.keyClick(w, Qt.Key.Key_N)
    harness.wait(lambda: harness.session.source == str(clips[1]), MIN_WAIT_S, "N plays the next")
    QTest.keyClick(w, Qt.Key.Key_PageUp)
    harness.wait(
        lambda: harness.session.source == str(clips[0]), MIN_WAIT_S, "PageUp plays the previous"
    )
    QTest.keyClick(w, Qt.Key.Key_P)  # at the start: stays
    assert w.statusBar().currentMessage() == say.NOTHING_BEFORE
    QTest.keyClick(w, Qt.Key.Key_PageDown)
    harness.wait(
        lambda: harness.session.source == str(clips[1]), MIN_WAIT_S, "PageDown plays the next"
    )
    assert not q.panel.isVisible()
    QTest.keyClick(w, Qt.Key.Key_Q)
    harness.wait(q.panel.isVisible, MIN_WAIT_S, "Q shows the queue")
    assert w.act_queue.isChecked()
    assert q.panel.row_texts()[1].startswith(CURRENT_MARK)
    # a double-click on a row plays it
    row = q.panel.list.item(2)
    rect = q.panel.list.visualItemRect(row)
    QTest.mouseDClick(q.panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    harness.wait(
        lambda: harness.session.source == str(clips[2]),
        MIN_WAIT_S,
        "the double-clicked row playing",
    )
    assert q.panel.row_texts()[2].startswith(CURRENT_MARK)
    # remove the current row: it plays on, and Previous goes to the row before it
    q.panel.list.setCurrentRow(2)
    q.panel.remove_button.click()
    assert len(q.queue) == 2 and q.queue.current is None
    assert harness.session.source == str(clips[2])
    assert w.play_previous()
    harness.wait(lambda: harness.session.source == str(clips[1]), MIN_WAIT_S)
    q.panel.clear_button.click()
    assert len(q.queue) == 0 and q.panel.row_texts() == []
    assert not w.play_next()
    QTest.keyClick(w, Qt.Key.Key_Q)
    harness.wait(lambda: not q.panel.isVisible(), MIN_WAIT_S, "Q hides the queue")


def test_dropping_several_files_queues_them(harness, clips) -> None:  # noqa: ANN001
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(c)) for c in clips[:2]])
    assert sources_from_mime(md) == [str(c) for c in clips[:2]]
    w = harness.window
    ev = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        md,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    w.dropEvent(ev)
    assert [it.source for it in w.queue.queue.items] == [str(c) for c in clips[:2]]
    harness.wait(
        lambda: w.queue.played[:1] == [str(clips[0])], 20, "the first dropped file playing"
    )


def test_sources_are_normalised(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    assert normalise_source("a b.mp4") == str(tmp_path / "a b.mp4")
    assert normalise_source("file:///tmp/a%20b.mp4") == "/tmp/a b.mp4"
    assert normalise_source("file://localhost/tmp/x.mp4") == "/tmp/x.mp4"
    assert normalise_source(" https://h/v.m3u8?t=1 ") == "https://h/v.m3u8?t=1"
    assert normalise_source("  ") == ""


def test_open_file_with_several_chosen_files_queues_them_all(harness, clips, monkeypatch) -> None:  # noqa: ANN001
    # The native file dialog is modal and needs a person: its answer (two files chosen
    # with a multi-selection) is the one thing replaced here.
    chosen = [str(clips[1]), str(clips[2])]
    monkeypatch.setattr("player.ui.main_window.ask_for_files", lambda parent: chosen)
    w = harness.window
    w.enqueue([str(clips[0])])
    harness.wait(lambda: w.queue.played[:1] == [str(clips[0])], 20, "the first clip playing")
    w.open_file_dialog()
    assert [it.source for it in w.queue.queue.items] == [str(clips[0]), *chosen]
    harness.wait(
        lambda: w.queue.played[-1:] == [chosen[0]], 20, "the first chosen file playing at once"
    )
    harness.wait(lambda: w.queue.played[-1:] == [chosen[1]], 30, "then the second")
