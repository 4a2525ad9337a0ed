"""Screen-saver/sleep inhibition while playing, on a real private D-Bus session bus.

The desktop's services are what cannot run here (no GNOME/KDE session, no
xdg-desktop-portal): this test implements ``org.freedesktop.ScreenSaver`` and the
portal's ``Inhibit`` as real D-Bus services of its own (QtDBus, on a connection of their
own to the bus), recording every call. The player (a real window over real libVLC,
playing ffmpeg-made media) finds them on the bus as it would find the desktop's.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from PyQt6.QtCore import QObject, pyqtClassInfo, pyqtSlot
from PyQt6.QtDBus import QDBusAbstractAdaptor, QDBusConnection, QDBusObjectPath

from player.core.model import PlaybackState
from player.ui.desktop import DesktopIntegration
from player.ui.desktop.inhibit import PORTAL_IDLE, PORTAL_SUSPEND, Held
from tests.player.conftest import pump
from tests.support.dbus_bus import PrivateBus, gc_paused, keep_alive

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

_names = itertools.count()


@pytest.fixture
def bus(tmp_path: Path, gc_off: None) -> Iterator[PrivateBus]:
    b = PrivateBus(tmp_path / "bus")
    yield b
    b.stop()


@pytest.fixture(scope="module")
def gc_off(qapp) -> Iterator[None]:  # noqa: ANN001
    with gc_paused(lambda: pump(qapp, 0.5)):
        yield


def connect(bus: PrivateBus, role: str) -> tuple[QDBusConnection, str]:
    name = f"stallwatch-{role}-{next(_names)}"
    conn = QDBusConnection.connectToBus(bus.address, name)
    assert conn.isConnected()
    return conn, name


@pytest.fixture
def app_bus(bus: PrivateBus) -> Iterator[QDBusConnection]:
    """The player's connection to the private bus. Tests ask for it before ``harness``:
    the window (which unregisters its objects) closes before the connection goes."""
    conn, name = connect(bus, "app")
    yield conn
    QDBusConnection.disconnectFromBus(name)


@pyqtClassInfo("D-Bus Interface", "org.freedesktop.ScreenSaver")
class ScreenSaverAdaptor(QDBusAbstractAdaptor):
    def __init__(self, parent: QObject, service: FakeScreenSaver) -> None:
        super().__init__(parent)
        self.service = service

    @pyqtSlot(str, str, result="uint")
    def Inhibit(self, app: str, reason: str) -> int:  # noqa: N802 - D-Bus name
        cookie = 1000 + len(self.service.inhibits)
        self.service.inhibits.append((app, reason, cookie))
        return cookie

    @pyqtSlot("uint")
    def UnInhibit(self, cookie: int) -> None:  # noqa: N802
        self.service.uninhibits.append(cookie)


class FakeScreenSaver:
    """``org.freedesktop.ScreenSaver`` on the bus: hands out cookies, records releases."""

    def __init__(self, bus: PrivateBus) -> None:
        self.conn, self.name = connect(bus, "screensaver")
        self.inhibits: list[tuple[str, str, int]] = []
        self.uninhibits: list[int] = []
        self.obj = QObject()
        self.adaptor = ScreenSaverAdaptor(self.obj, self)
        keep_alive(self.obj, self.adaptor)
        assert self.conn.registerObject(
            "/org/freedesktop/ScreenSaver", self.obj, QDBusConnection.RegisterOption.ExportAdaptors
        )
        assert self.conn.registerService("org.freedesktop.ScreenSaver")

    def held(self) -> set[int]:
        return {c for *_, c in self.inhibits} - set(self.uninhibits)

    def close(self) -> None:
        release(
            self.conn, self.name, ["/org/freedesktop/ScreenSaver"], "org.freedesktop.ScreenSaver"
        )


@pyqtClassInfo("D-Bus Interface", "org.freedesktop.portal.Request")
class RequestAdaptor(QDBusAbstractAdaptor):
    def __init__(self, parent: QObject, portal: FakePortal, path: str) -> None:
        super().__init__(parent)
        self.portal, self.path = portal, path

    @pyqtSlot()
    def Close(self) -> None:  # noqa: N802
        self.portal.closed.append(self.path)


@pyqtClassInfo("D-Bus Interface", "org.freedesktop.portal.Inhibit")
class PortalInhibitAdaptor(QDBusAbstractAdaptor):
    def __init__(self, parent: QObject, portal: FakePortal) -> None:
        super().__init__(parent)
        self.portal = portal

    @pyqtSlot(str, "uint", "QVariantMap", result=QDBusObjectPath)
    def Inhibit(self, window: str, flags: int, options: dict) -> QDBusObjectPath:  # noqa: N802
        return QDBusObjectPath(self.portal.grant(window, flags, options))


class FakePortal:
    """``org.freedesktop.portal.Desktop`` with the Inhibit interface: every inhibition is
    a request object of its own, released by its ``Close`` (as xdg-desktop-portal does).
    ``with_inhibit=False``: a portal without that interface (older or partial ones)."""

    def __init__(self, bus: PrivateBus, with_inhibit: bool = True) -> None:
        self.conn, self.name = connect(bus, "portal")
        self.calls: list[tuple[str, int, dict]] = []
        self.closed: list[str] = []
        self._objects: list[QObject] = []
        self.paths: list[str] = []
        self.root = QObject()
        keep_alive(self.root)
        if with_inhibit:
            keep_alive(PortalInhibitAdaptor(self.root, self))
        assert self.conn.registerObject(
            "/org/freedesktop/portal/desktop",
            self.root,
            QDBusConnection.RegisterOption.ExportAdaptors,
        )
        assert self.conn.registerService("org.freedesktop.portal.Desktop")

    def grant(self, window: str, flags: int, options: dict) -> str:
        self.calls.append((window, flags, options))
        path = f"/org/freedesktop/portal/desktop/request/test/t{len(self.calls)}"
        obj = QObject()
        keep_alive(obj, RequestAdaptor(obj, self, path))
        assert self.conn.registerObject(path, obj, QDBusConnection.RegisterOption.ExportAdaptors)
        self._objects.append(obj)
        self.paths.append(path)
        return path

    def held(self) -> set[str]:
        return {
            f"/org/freedesktop/portal/desktop/request/test/t{i + 1}" for i in range(len(self.calls))
        } - set(self.closed)

    def close(self) -> None:
        paths = ["/org/freedesktop/portal/desktop", *self.paths]
        release(self.conn, self.name, paths, "org.freedesktop.portal.Desktop")


def release(conn: QDBusConnection, name: str, paths: list[str], service: str) -> None:
    """Unregister every object, then leave the bus (the objects stay alive: keep_alive)."""
    for path in paths:
        conn.unregisterObject(path)
    conn.unregisterService(service)
    QDBusConnection.disconnectFromBus(name)


def start_playing(harness, clip: Path) -> None:  # noqa: ANN001
    harness.window.open_source(str(clip))
    harness.wait(lambda: harness.session.state is PlaybackState.PLAYING, what="playing")


def test_screensaver_cookie_held_while_playing_released_on_pause_and_quit(
    bus, app_bus, harness, mp4_file
) -> None:  # noqa: ANN001
    saver = FakeScreenSaver(bus)
    try:
        desk = DesktopIntegration(harness.window, app_bus)
        ticks: list[int] = []
        harness.window.bridge.ticked.connect(lambda: ticks.append(1))
        harness.wait(lambda: len(ticks) >= 5, what="a few session ticks with nothing playing")
        assert (
            saver.inhibits == [] and desk.inhibitor.held is None
        )  # nothing plays: nothing inhibited
        start_playing(harness, mp4_file)
        harness.wait(lambda: len(saver.inhibits) == 1, what="Inhibit while playing")
        app, reason, cookie = saver.inhibits[0]
        assert app == "Stallwatch" and reason
        harness.wait(
            lambda: desk.inhibitor.held == Held("screensaver", cookie), what="the cookie held"
        )
        assert saver.uninhibits == []

        harness.window.toggle_pause()
        harness.wait(lambda: saver.uninhibits == [cookie], what="UnInhibit(cookie) after pause")
        assert desk.inhibitor.held is None and len(saver.inhibits) == 1

        harness.window.toggle_pause()  # playing again: a new cookie; quitting releases it
        harness.wait(lambda: len(saver.inhibits) == 2, what="Inhibit again on resume")
        second = saver.inhibits[1][2]
        harness.wait(lambda: desk.inhibitor.held is not None, what="the new cookie held")
        harness.close()
        harness.wait(lambda: saver.uninhibits == [cookie, second], what="UnInhibit on quit")
        assert saver.held() == set()
    finally:
        saver.close()


def test_portal_preferred_and_its_request_closed_on_pause(bus, app_bus, harness, mp4_file) -> None:  # noqa: ANN001
    saver = FakeScreenSaver(bus)
    portal = FakePortal(bus)
    try:
        desk = DesktopIntegration(harness.window, app_bus)
        start_playing(harness, mp4_file)
        harness.wait(lambda: len(portal.calls) == 1, what="the portal's Inhibit while playing")
        window, flags, options = portal.calls[0]
        assert flags == PORTAL_IDLE | PORTAL_SUSPEND and options.get("reason")
        harness.wait(lambda: desk.inhibitor.held is not None, what="the request held")
        assert desk.inhibitor.held.backend == "portal" and portal.held() == {
            desk.inhibitor.held.handle
        }
        harness.window.toggle_pause()
        harness.wait(lambda: portal.held() == set(), what="the request closed after pause")
        assert saver.inhibits == []  # the portal answered: the screen saver was never asked
    finally:
        portal.close()
        saver.close()


def test_falls_back_to_screensaver_when_the_portal_cannot_inhibit(
    bus, app_bus, harness, mp4_file
) -> None:  # noqa: ANN001
    saver = FakeScreenSaver(bus)
    portal = FakePortal(bus, with_inhibit=False)
    try:
        desk = DesktopIntegration(harness.window, app_bus)
        start_playing(harness, mp4_file)
        harness.wait(
            lambda: len(saver.inhibits) == 1,
            what="the screen saver's Inhibit after the portal refused",
        )
        harness.wait(
            lambda: (
                desk.inhibitor.held is not None and desk.inhibitor.held.backend == "screensaver"
            ),
            what="held",
        )
        harness.window.toggle_pause()
        harness.wait(lambda: saver.held() == set(), what="released on pause")
        assert portal.calls == []
    finally:
        portal.close()
        saver.close()


def test_no_inhibit_service_plays_on(bus, app_bus, harness, mp4_file, caplog) -> None:  # noqa: ANN001
    caplog.set_level("INFO", logger="player.ui.desktop")
    desk = DesktopIntegration(harness.window, app_bus)
    start_playing(harness, mp4_file)
    harness.wait(
        lambda: any("no inhibit service" in r.getMessage() for r in caplog.records),
        what="said once",
    )
    harness.window.toggle_pause()
    harness.window.toggle_pause()
    harness.wait(lambda: harness.session.state is PlaybackState.PLAYING, what="still plays")
    assert desk.inhibitor.held is None
    assert sum("no inhibit service" in r.getMessage() for r in caplog.records) == 1
