"""Fixtures for the player tests: Qt offscreen, real libVLC, isolated settings."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6.QtCore import QTimer  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402

from player.playback.vlc import VlcPlayer  # noqa: E402
from player.session import Session  # noqa: E402
from player.store.prefs import PrefsStore  # noqa: E402
from player.ui.main_window import MainWindow  # noqa: E402


@pytest.fixture(scope="session")
def qapp() -> QApplication:
    return QApplication.instance() or QApplication(["stallwatch-tests"])


@pytest.fixture(autouse=True)
def fail_on_slot_exceptions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """An exception in a Qt slot is logged by the app; in tests it must fail the test."""
    seen: list = []
    monkeypatch.setattr("sys.excepthook", lambda *exc: seen.append(exc))
    yield seen
    assert not seen, f"exception in a Qt slot: {seen[0][1]!r}"


def pump(app: QApplication, seconds: float) -> None:
    """Run the Qt event loop for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


# A wait's deadline only ends a test that would otherwise hang: it never times the product
# (speed targets are benchmarks), so no deadline is shorter than this, whatever a test asks:
# on a loaded 2-core machine a Qt timer or a libVLC state change can be seconds late.
MIN_WAIT_S = 15.0


def wait_until(app: QApplication, predicate: Callable[[], bool], timeout: float, what: str = "") -> float:
    """Run the event loop until ``predicate()``; return the time it took, fail on timeout."""
    timeout = max(timeout, MIN_WAIT_S)
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        app.processEvents()
        time.sleep(0.005)
    return time.monotonic() - t0


class Heartbeat:
    """An event-loop timer that records when it fires: proves the window stays responsive."""

    def __init__(self, interval_ms: int = 20) -> None:
        self.times: list[float] = []
        self.timer = QTimer()
        self.timer.timeout.connect(lambda: self.times.append(time.monotonic()))
        self.timer.start(interval_ms)

    def max_gap(self) -> float:
        if len(self.times) < 2:
            return float("inf")
        return max(b - a for a, b in zip(self.times, self.times[1:], strict=False))

    def stop(self) -> None:
        self.timer.stop()


class PlayerHarness:
    """A real MainWindow over a real libVLC player (silent audio sink), offscreen."""

    def __init__(self, app: QApplication, demo: Callable[[], str] | None = None) -> None:
        self.app = app
        self.player = VlcPlayer(audio=False)
        self.session = Session(self.player)
        self.prefs = PrefsStore()
        self.window = MainWindow(self.session, self.prefs, libvlc_version="test", demo=demo)
        self.window.add_closing_hook(self.player.release)
        self.window.resize(640, 420)
        self.window.show()
        self.closed = False

    def wait(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> float:
        return wait_until(self.app, predicate, timeout, what)

    def pump(self, seconds: float) -> None:
        pump(self.app, seconds)

    def position(self) -> float:
        return self.session.snapshot().position_s or 0.0

    def error_text(self) -> str:
        msg = self.window.video.message
        return f"{msg.title} {msg.detail}" if msg and msg.kind == "error" else ""

    def close(self) -> float:
        if self.closed:
            return 0.0
        t0 = time.monotonic()
        self.window.close()
        self.closed = True
        return time.monotonic() - t0


@pytest.fixture
def harness(qapp: QApplication) -> Iterator[PlayerHarness]:
    h = PlayerHarness(qapp)
    yield h
    h.close()
    h.window.deleteLater()
    pump(qapp, 0.05)


@pytest.fixture
def thread_baseline() -> set[threading.Thread]:
    return set(threading.enumerate())
