"""Screenshots of the video view: the evidence card (redacted), the chosen folder, the
clipboard, write errors as a toast (never a crash), and the auto-screenshot setting.

The session here is the real Session over tests/support/fakes.FakePlayer (no libVLC needed
to paint a band and take its picture); the stall-driven screenshot with real libVLC is in
test_notice.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from PyQt6.QtGui import QGuiApplication, QImage
from PyQt6.QtWidgets import QWidget

from player.core.model import Evidence, Segment, Verdict
from player.core.wording import Notice, scrub_addresses
from player.session import Session
from player.ui.screenshots import Screenshotter, card_for
from player.ui.toast import Toast
from player.ui.video_view import VideoView
from tests.player.conftest import wait_until
from tests.support.fakes import FakeClock, FakePlayer

pytestmark = [pytest.mark.gui]

NOTICE = Notice(
    "The video's server (cdn-203-0-113-7.example.net) is responding slowly.",
    "The server took 3.4 s to start sending each piece of video.",
    status="buffering",
    serial=1,
    segment="server",
)


def rig(qapp, tmp_path: Path, **prefs):  # noqa: ANN001, ANN201
    session = Session(FakePlayer(FakeClock()))
    session.tracker.current_notice = NOTICE
    session.tracker.current_verdict = Verdict(
        Segment.SERVER, "203.0.113.7 via router.lan", 0.8, NOTICE.title,
        [Evidence("ttfb", "time to first byte 3400 ms with no RTT measured", 3400.0)], rule="server_ttfb",
    )  # fmt: skip
    host = QWidget()
    host.resize(960, 600)
    view = VideoView(lambda _seq: None, host)
    view.resize(960, 540)
    host.show()
    view.set_notice(NOTICE)
    qapp.processEvents()
    p = SimpleNamespace(screenshot_dir=str(tmp_path / "Pictures" / "Stallwatch"), evidence_card=True, redact=True)
    p.__dict__.update(prefs)
    toast = Toast(host, anchor=view)
    shots = Screenshotter(view, session, p, toast)
    return SimpleNamespace(session=session, host=host, view=view, prefs=p, toast=toast, shots=shots)


def test_screenshot_lands_in_the_chosen_folder_with_a_redacted_card(qapp, tmp_path) -> None:  # noqa: ANN001
    r = rig(qapp, tmp_path)
    saved: list = []
    r.shots.taken.connect(saved.append)
    path = r.shots.take()
    wait_until(qapp, lambda: bool(saved), 10, "the PNG written")
    assert saved == [path] and path.parent == tmp_path / "Pictures" / "Stallwatch"
    png = QImage(str(path))
    view = r.view.grab().toImage()
    assert png.width() == view.width() and png.height() > view.height()
    band = r.view.notice_band_rect().toAlignedRect()
    for x, y in ((band.left() + 5, band.top() + 5), (band.center().x(), band.center().y())):
        assert png.pixelColor(x, y) == view.pixelColor(x, y)
    assert QGuiApplication.clipboard().image().size() == png.size()
    lines = r.shots.last_card.lines()
    text = "\n".join(lines)
    assert "203.0.113.7" not in text and "203-0-113-7" not in text and "router.lan" not in text
    assert scrub_addresses(text, "") == text
    assert any("Stallwatch 0." in line or "Stallwatch " in line for line in lines[-1:])
    assert "Culprit: [address] via [home device] (video server)" in lines
    assert "The server took 3.4 s to start sending each piece of video." in lines
    assert r.toast.isVisible() and r.toast.button.text() == "Open folder"


def test_card_off_gives_exactly_the_view(qapp, tmp_path) -> None:  # noqa: ANN001
    r = rig(qapp, tmp_path, evidence_card=False)
    saved: list = []
    r.shots.taken.connect(saved.append)
    r.shots.take()
    wait_until(qapp, lambda: bool(saved), 10, "the PNG written")
    png = QImage(str(saved[0])).convertToFormat(QImage.Format.Format_RGB32)
    assert png == r.view.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def test_redaction_off_keeps_names(qapp, tmp_path) -> None:  # noqa: ANN001
    r = rig(qapp, tmp_path, redact=False)
    r.shots.take()
    r.shots.flush()
    assert "router.lan" in "\n".join(r.shots.last_card.lines())


def test_an_unwritable_folder_is_a_toast_not_a_crash(qapp, tmp_path) -> None:  # noqa: ANN001
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    r = rig(qapp, tmp_path, screenshot_dir=str(blocker / "Stallwatch"))
    failed: list = []
    r.shots.failed.connect(failed.append)
    r.shots.take()
    wait_until(qapp, lambda: bool(failed), 10, "the failure reported")
    assert r.toast.isVisible() and "not saved" in r.toast.label.text()
    assert QGuiApplication.clipboard().image().width() == r.view.width(), "still on the clipboard"


def test_card_without_a_stall_says_so(qapp, tmp_path) -> None:  # noqa: ANN001
    session = Session(FakePlayer(FakeClock()))
    card = card_for(session)
    assert card.headline.startswith("Playing smoothly") and card.facts == []


def test_window_keys_and_auto_screenshot_on_each_new_notice(qapp, tmp_path) -> None:  # noqa: ANN001
    from player.session import NoticeChanged
    from player.store.prefs import PrefsStore
    from player.ui.main_window import MainWindow

    session = Session(FakePlayer(FakeClock()))
    window = MainWindow(session, PrefsStore(tmp_path / "prefs.json"))
    try:
        shortcuts = {s.toString() for a in window.actions() for s in a.shortcuts()}
        assert {"S", "Ctrl+Shift+S", "D"} <= shortcuts
        window.prefs.screenshot_dir = str(tmp_path / "auto")
        window.prefs.auto_screenshot = True
        window.show()
        saved: list = []
        window.screenshots.taken.connect(saved.append)
        buffering = Notice("Buffering\u2026", "", "buffering", serial=1)
        window._on_session_event(NoticeChanged(notice=buffering))  # noqa: SLF001
        window._on_session_event(NoticeChanged(notice=NOTICE))  # noqa: SLF001 - names the culprit
        wait_until(qapp, lambda: bool(saved), 10, "the automatic screenshot")
        again = Notice(NOTICE.title, "Stalled 2 times in the last minute.", "buffering", serial=1, segment="server")
        window._on_session_event(NoticeChanged(notice=again))  # noqa: SLF001 - the same notice
        wait_until(qapp, lambda: window.video.notice == again, 2, "the re-worded band")
        window.screenshots.flush()
        qapp.processEvents()
        assert len(list((tmp_path / "auto").glob("*.png"))) == 1, "one shot per notice"
        window.dismiss_notice()
        assert window.video.notice is None
    finally:
        window.close()
        window.deleteLater()
