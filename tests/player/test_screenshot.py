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
from player.core.redact import redact_addresses
from player.core.wording import Notice, scrub_addresses
from player.session import Session
from player.ui.screenshots import Screenshotter, card_for
from player.ui.toast import Toast
from player.ui.video_view import Overlay, VideoView
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


def addressless(text: str) -> bool:
    """No IPv4/IPv6 literal and no dashed IPv4 in a host name (e.g. 'cdn-203-0-113-7.x')."""
    return redact_addresses(text) == text and scrub_addresses(text, "") == text


def same_image(a: QImage, b: QImage) -> bool:
    return a.convertToFormat(QImage.Format.Format_RGB32) == b.convertToFormat(QImage.Format.Format_RGB32)


def differing_pixels(a: QImage, b: QImage, rect) -> int:  # noqa: ANN001 - a QRect
    a = a.convertToFormat(QImage.Format.Format_RGB32)
    b = b.convertToFormat(QImage.Format.Format_RGB32)
    return sum(
        a.pixel(x, y) != b.pixel(x, y)
        for y in range(rect.top(), rect.bottom() + 1)
        for x in range(rect.left(), rect.right() + 1)
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
    view = r.view.grab().toImage()  # what the viewer sees: the address is on screen
    assert any("203-0-113-7" in t for t in r.view.painted_texts), "the view itself is not redacted"
    assert png.width() == view.width() and png.height() > view.height()
    # the PNG's band is the redacted one: no address in any text painted into it ...
    painted = r.shots.last_texts
    assert NOTICE.detail in painted and "Why?" in painted, painted
    assert NOTICE.title not in painted and all(addressless(t) for t in painted), painted
    assert any("[address]" in t for t in painted), painted
    # ... so its pixels differ from the view's there, and nowhere under the band
    band = r.view.notice_band_rect().toAlignedRect()
    assert differing_pixels(png, view, band) > 50
    below = band.adjusted(0, band.height() + 4, 0, band.height() + 40).intersected(view.rect())
    assert differing_pixels(png, view, below) == 0
    assert r.view.notice == NOTICE, "the view got its own texts back"
    assert same_image(QGuiApplication.clipboard().image(), png), "the clipboard holds the PNG's pixels"
    lines = r.shots.last_card.lines()
    text = "\n".join(lines)
    assert "203.0.113.7" not in text and "203-0-113-7" not in text and "router.lan" not in text
    assert scrub_addresses(text, "") == text
    assert any("Stallwatch 0." in line or "Stallwatch " in line for line in lines[-1:])
    assert "Culprit: [address] via [home device] (video server)" in lines
    assert "The server took 3.4 s to start sending each piece of video." in lines
    assert r.toast.isVisible() and r.toast.button.text() == "Open folder"


def test_card_and_redaction_off_give_exactly_the_view(qapp, tmp_path) -> None:  # noqa: ANN001
    r = rig(qapp, tmp_path, evidence_card=False, redact=False)
    saved: list = []
    r.shots.taken.connect(saved.append)
    r.shots.take()
    wait_until(qapp, lambda: bool(saved), 10, "the PNG written")
    png = QImage(str(saved[0]))
    assert same_image(png, r.view.grab().toImage())
    assert NOTICE.title in r.shots.last_texts
    assert same_image(QGuiApplication.clipboard().image(), png)


def test_error_message_and_stream_note_are_redacted_in_the_grab(qapp, tmp_path) -> None:  # noqa: ANN001
    token = "Zx81kq93LmPq20aaB7rT4w"
    url = f"http://192.0.2.7/v/{token}/x.m3u8?token=s3cret"
    r = rig(qapp, tmp_path, evidence_card=False)
    error = Overlay("The server 192.0.2.7 refused the connection.", f"Could not open {url}", kind="error")
    note = Overlay(f"Retrying {url} (piece 12 missing)")
    r.view.set_message(error)
    r.view.set_toast(note)
    qapp.processEvents()
    shown = r.view.grab().toImage()
    assert any(url in t for t in r.view.painted_texts), "the view shows the URL as it is"
    r.shots.take()
    r.shots.flush()
    painted = r.shots.last_texts
    joined = "\n".join(painted)
    assert "Could not open http://[address]/v/…/x.m3u8" in painted, painted
    assert "The server [address] refused the connection." in painted, painted
    assert any(t.startswith("Retrying http://[address]/v/") for t in painted), painted
    for secret in ("192.0.2.7", token, "s3cret", "?token", "token="):
        assert secret not in joined, (secret, painted)
    assert all(addressless(t) for t in painted), painted
    assert not same_image(r.shots.last_image, shown), "the PNG's pixels are the redacted ones"
    assert (r.view.message, r.view.toast) == (error, note), "the view got its own texts back"


def test_auto_screenshot_grabs_the_redacted_video_view_not_the_window(qapp, tmp_path) -> None:  # noqa: ANN001
    from player.store.prefs import PrefsStore
    from player.ui.main_window import MainWindow
    from player.ui.screenshots import AutoScreenshotter

    window = MainWindow(Session(FakePlayer(FakeClock())), PrefsStore(tmp_path / "prefs.json"))
    try:
        window.resize(960, 640)
        window.show()
        window.statusBar().showMessage("Opening http://192.0.2.7/v/live.m3u8?token=s3cret")
        window.video.set_notice(NOTICE)
        qapp.processEvents()
        shots = AutoScreenshotter(window, tmp_path / "auto")
        shots.capture(NOTICE.title)
        painted = list(window.video.painted_texts)
        shots.flush()
        qapp.processEvents()
        assert len(shots.saved) == 1
        png = QImage(str(shots.saved[0]))
        assert png.size() == window.video.size() != window.size(), "the view, not the window"
        assert NOTICE.detail in painted and all(addressless(t) for t in painted), painted
        assert window.video.notice == NOTICE
    finally:
        window.close()
        window.deleteLater()


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
    assert same_image(QGuiApplication.clipboard().image(), r.shots.last_image), "still on the clipboard"


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
