"""The window around the video: keys, fullscreen, recent items, drag and drop, shutdown."""

from __future__ import annotations

import json
import threading
import time

import pytest
from PyQt6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PyQt6.QtGui import QDropEvent, QMouseEvent
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication

from player.core.model import PlaybackState
from player.store.prefs import RECENT_MAX, PrefsStore
from player.ui.fullscreen import CONTROLS_HIDE_MS
from player.ui.main_window import MainWindow
from player.ui.open_url import validate_url

pytestmark = [pytest.mark.gui]


@pytest.mark.vlc
def test_keys_space_m_updown_f_esc(harness, mp4_file) -> None:  # noqa: ANN001
    h = harness
    h.window.open_source(str(mp4_file))
    h.wait(lambda: h.session.state is PlaybackState.PLAYING, 10, "playing")
    QTest.keyClick(h.window, Qt.Key.Key_Space)
    h.wait(lambda: h.session.state is PlaybackState.PAUSED, 3, "Space pauses")
    QTest.keyClick(h.window, Qt.Key.Key_Space)
    h.wait(lambda: h.session.state is PlaybackState.PLAYING, 3, "Space resumes")
    vol = h.window.prefs.volume
    QTest.keyClick(h.window, Qt.Key.Key_Down)
    assert h.window.prefs.volume == vol - 5
    QTest.keyClick(h.window, Qt.Key.Key_Up)
    QTest.keyClick(h.window, Qt.Key.Key_Up)
    assert h.window.prefs.volume == vol + 5
    h.wait(lambda: h.player.audio_state()[0] == vol + 5, 2, "volume reaches libVLC")
    QTest.keyClick(h.window, Qt.Key.Key_M)
    assert h.window.prefs.muted
    h.wait(lambda: h.player.audio_state()[1], 2, "mute reaches libVLC")
    QTest.keyClick(h.window, Qt.Key.Key_M)
    assert not h.window.prefs.muted
    QTest.keyClick(h.window, Qt.Key.Key_F)
    h.wait(lambda: h.window.isFullScreen(), 2, "F enters fullscreen")
    QTest.keyClick(h.window, Qt.Key.Key_Escape)
    h.wait(lambda: not h.window.isFullScreen(), 2, "Esc leaves fullscreen")
    assert h.window.menuBar().isVisible()


def test_menu_shortcuts_exist(harness) -> None:  # noqa: ANN001
    shortcuts = {a.shortcut().toString() for a in harness.window.actions()}
    for key in ("Ctrl+O", "Ctrl+L", "Ctrl+Q", "Space", "F", "Esc", "M", "Left", "Right", "Up", "Down"):
        assert key in shortcuts, key


def test_fullscreen_controls_hide_after_2s_and_return_on_movement(harness) -> None:  # noqa: ANN001
    h = harness
    t0 = time.monotonic()
    h.window.toggle_fullscreen()
    h.wait(lambda: h.window.isFullScreen(), 5, "fullscreen")
    assert h.window.controls_visible()
    h.wait(lambda: not h.window.controls_visible(), 10, "controls hidden after 2 s")
    # A lower bound only: load can delay the hiding, never advance it (a precise timer;
    # the margin covers the two clocks' rounding).
    assert time.monotonic() - t0 >= CONTROLS_HIDE_MS / 1000 - 0.05, "controls hid before 2 s"
    ev = QMouseEvent(
        QMouseEvent.Type.MouseMove, QPointF(50, 50), QPointF(50, 50),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(h.window.video, ev)
    h.wait(lambda: h.window.controls_visible(), 5, "controls back on movement")
    assert h.window.fullscreen.hide_pending(), "they hide again after the next 2 s"
    h.window.leave_fullscreen()
    h.wait(lambda: not h.window.isFullScreen(), 5, "fullscreen left")
    assert h.window.controls_visible() and not h.window.fullscreen.hide_pending(), (
        "controls must stay visible outside fullscreen"
    )


def test_recent_list_is_persisted_and_capped(qapp, tmp_path) -> None:  # noqa: ANN001
    store = PrefsStore(tmp_path / "prefs.json")
    for i in range(RECENT_MAX + 3):
        store.prefs.add_recent(f"http://example.invalid/{i}.mp4")
    store.prefs.add_recent("http://example.invalid/3.mp4")  # re-opening moves it to the top
    store.save()
    store.close()
    data = json.loads((tmp_path / "prefs.json").read_text())
    assert len(data["recent"]) == RECENT_MAX
    assert data["recent"][0] == "http://example.invalid/3.mp4"
    assert data["recent"].count("http://example.invalid/3.mp4") == 1
    again = PrefsStore(tmp_path / "prefs.json")
    assert again.prefs.recent == data["recent"]
    again.close()


def test_broken_prefs_file_is_ignored(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "prefs.json").write_text("{not json")
    store = PrefsStore(tmp_path / "prefs.json")
    assert store.prefs.recent == []
    store.close()


@pytest.mark.vlc
def test_opening_adds_to_recent_menu(harness, mp4_file) -> None:  # noqa: ANN001
    harness.window.open_source(str(mp4_file))
    assert harness.window.prefs.recent[0] == str(mp4_file)
    texts = [a.text() for a in harness.window.recent_menu.actions()]
    assert any(str(mp4_file) in t for t in texts)


@pytest.mark.vlc
def test_drop_a_file_opens_it(harness, mp4_file) -> None:  # noqa: ANN001
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(mp4_file))])
    ev = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    harness.window.dropEvent(ev)
    harness.wait(lambda: harness.window.video.has_picture(), 10, "dropped file plays")
    assert harness.session.source == str(mp4_file)


def test_mime_with_url_text() -> None:
    md = QMimeData()
    md.setText("https://cdn.example.invalid/master.m3u8\n")
    assert MainWindow.source_from_mime(md) == "https://cdn.example.invalid/master.m3u8"
    md2 = QMimeData()
    md2.setText("just words")
    assert MainWindow.source_from_mime(md2) is None


@pytest.mark.parametrize(
    ("text", "ok"),
    [("http://a.example/v.mp4", True), ("https://a.example/m.m3u8", True), ("", False),
     ("ftp://a.example/x", False), ("http://", False), ("www.example.com/v.mp4", False)],
)  # fmt: skip
def test_open_url_validation(text: str, ok: bool) -> None:
    assert (validate_url(text) is None) is ok


@pytest.mark.vlc
def test_close_during_stall_returns_within_1s(qapp, origin, thread_baseline, request) -> None:  # noqa: ANN001
    from tests.player.conftest import PlayerHarness
    from tests.support.media import make_mp4

    clip = make_mp4(origin.root / "stall.mp4", seconds=20)
    # The server sends 30 % of the file, then nothing at all until it is stopped.
    origin.add_fault("*stall.mp4", "pause", after_bytes=int(clip.stat().st_size * 0.3), seconds=None, times=None)
    h = PlayerHarness(qapp)
    request.addfinalizer(h.close)
    h.window.open_source(origin.url("stall.mp4"))
    h.wait(lambda: h.position() > 0.5, 10, "playback before the stall")
    deadline = time.monotonic() + 20
    while True:  # wait until the picture is frozen: no new frame for a whole second
        frames = h.player.frames.distinct_frames
        h.pump(1.0)
        if h.player.frames.distinct_frames == frames:
            break
        assert time.monotonic() < deadline, "the picture never froze"
    # libVLC reports no event during a stall: the session's own buffer model saw it.
    assert h.session.state is PlaybackState.STALLED
    assert h.player.state() == "playing"
    took = h.close()
    assert took < 1.0, f"closing took {took:.2f} s"
    qapp.processEvents()
    # No threads of ours left behind (libVLC's own threads are not Python threads).
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        extra = [t for t in set(threading.enumerate()) - thread_baseline if t.name.startswith(("stallwatch", "gateway"))]
        if not extra:
            break
        time.sleep(0.05)
    assert not extra, extra


def test_window_without_media_is_usable(harness) -> None:  # noqa: ANN001
    h = harness
    h.pump(0.2)
    assert h.window.seek_slider.isEnabled() is False
    assert h.window.elapsed_label.text() == "0:00"
    h.window.resize(500, 300)
    QTest.mouseMove(h.window.video, QPoint(20, 20))
    h.pump(0.1)


def test_demo_entry_needs_a_demo_from_the_composition_root(harness) -> None:  # noqa: ANN001
    assert not harness.window.act_demo.isEnabled()
    harness.window.play_demo_again()
    assert "not available" in harness.window.statusBar().currentMessage()
    assert harness.session.source is None


@pytest.mark.vlc
def test_demo_entry_plays_what_the_demo_prepares(qapp, mp4_file, request) -> None:  # noqa: ANN001
    from tests.player.conftest import PlayerHarness

    prepared: list[str] = []

    def prepare() -> str:  # stands in for Demo.prepare (runs in the session's worker)
        prepared.append("called")
        return str(mp4_file)

    h = PlayerHarness(qapp, demo=prepare)
    request.addfinalizer(h.close)
    assert h.window.act_demo.isEnabled()
    h.window.act_demo.trigger()
    h.wait(lambda: h.window.video.has_picture(), 10, "the demo's picture")
    assert prepared == ["called"]
    assert h.window.windowTitle().startswith("Stallwatch demo")
