"""Keep the screen on (and the computer awake) while a video plays, and only then.

:meth:`Inhibitor.want` is called on every session tick with whether the session plays;
a change asks the desktop, asynchronously, to inhibit or to release:

1. the desktop portal, ``org.freedesktop.portal.Inhibit.Inhibit`` (idle and suspend),
   released by closing the returned request object: works in and out of a sandbox, on
   GNOME, KDE and the others that ship xdg-desktop-portal;
2. where the portal is missing (or refuses), ``org.freedesktop.ScreenSaver.Inhibit``
   (the screen saver and idle sleep on most desktops), released with ``UnInhibit(cookie)``.

The first backend that answers is kept. Pause, stop, an error, the end and quitting
release; the bus also drops our inhibition if the process dies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PyQt6.QtCore import QObject
from PyQt6.QtDBus import QDBusConnection, QDBusMessage, QDBusObjectPath

from player.core.model import PlaybackState
from player.ui.desktop.dbus import AsyncCaller, uint32

log = logging.getLogger(__name__)

PORTAL_SERVICE = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
PORTAL_IFACE = "org.freedesktop.portal.Inhibit"
REQUEST_IFACE = "org.freedesktop.portal.Request"
PORTAL_SUSPEND, PORTAL_IDLE = 4, 8  # the portal's flags: no suspend, no idle (screen saver)
SCREENSAVER_SERVICE = "org.freedesktop.ScreenSaver"
SCREENSAVER_PATH = "/org/freedesktop/ScreenSaver"
SCREENSAVER_IFACE = "org.freedesktop.ScreenSaver"
APP_NAME = "Stallwatch"
REASON = "Playing a video"
# The session states in which the viewer watches: a stall (buffering) and a seek still are.
WATCHING = (PlaybackState.PLAYING, PlaybackState.STALLED, PlaybackState.SEEKING)


def watching(state: PlaybackState) -> bool:
    return state in WATCHING


@dataclass(frozen=True, slots=True)
class Held:
    """One inhibition: the backend that granted it and its handle (portal request path
    or screen-saver cookie)."""

    backend: str  # "portal" | "screensaver"
    handle: str | int


class Inhibitor(QObject):
    """Holds at most one inhibition, following :meth:`want` (GUI thread, never blocks)."""

    def __init__(self, bus: QDBusConnection, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._caller = AsyncCaller(bus, self)
        self._wanted = False
        self._held: Held | None = None
        self._asking = False  # an Inhibit call is on its way
        self._backends = ["portal", "screensaver"]  # still worth trying, in order
        self._closed = False

    @property
    def held(self) -> Held | None:
        return self._held

    def want(self, inhibit: bool) -> None:
        if inhibit == self._wanted or self._closed:
            return
        self._wanted = inhibit
        self._settle()

    def _settle(self) -> None:
        if self._asking:
            return  # the answer settles it
        if self._wanted and self._held is None:
            self._ask()
        elif not self._wanted and self._held is not None:
            self._release(self._held)
            self._held = None

    def _ask(self) -> None:
        if not self._backends:
            return
        backend = self._backends[0]
        self._asking = True
        if backend == "portal":
            options = {"reason": REASON}
            args: list[object] = ["", uint32(PORTAL_SUSPEND | PORTAL_IDLE), options]
            self._caller.call(
                PORTAL_SERVICE, PORTAL_PATH, PORTAL_IFACE, "Inhibit", args,
                lambda r: self._granted("portal", r), lambda r: self._refused("portal", r),
            )  # fmt: skip
        else:
            self._caller.call(
                SCREENSAVER_SERVICE, SCREENSAVER_PATH, SCREENSAVER_IFACE, "Inhibit", [APP_NAME, REASON],
                lambda r: self._granted("screensaver", r), lambda r: self._refused("screensaver", r),
            )  # fmt: skip

    def _granted(self, backend: str, reply: QDBusMessage) -> None:
        self._asking = False
        args = reply.arguments()
        handle = args[0] if args else None
        if isinstance(handle, QDBusObjectPath):
            handle = handle.path()
        if not isinstance(handle, (str, int)) or self._closed:
            if handle is not None and self._closed:
                self._release(Held(backend, handle))
            return
        self._backends = [backend]  # keep to the one that works
        self._held = Held(backend, handle)
        log.info("screen saver and sleep inhibited while playing (%s)", backend)
        self._settle()  # paused meanwhile: release at once

    def _refused(self, backend: str, reply: QDBusMessage) -> None:
        self._asking = False
        log.info("inhibit via %s not available: %s", backend, reply.errorName())
        if backend in self._backends:
            self._backends.remove(backend)
        if not self._backends:
            log.warning(
                "cannot keep the screen on while playing: no inhibit service on the session bus"
            )
            return
        self._settle()

    def _release(self, held: Held) -> None:
        log.info("screen saver and sleep allowed again (%s)", held.backend)
        if held.backend == "portal":
            self._caller.send(PORTAL_SERVICE, str(held.handle), REQUEST_IFACE, "Close", [])
        else:
            self._caller.send(
                SCREENSAVER_SERVICE,
                SCREENSAVER_PATH,
                SCREENSAVER_IFACE,
                "UnInhibit",
                [uint32(int(held.handle))],
            )

    def close(self) -> None:
        """Release now (quitting); later answers are released as they come."""
        self._wanted = False
        if self._held is not None:
            self._release(self._held)
            self._held = None
        self._closed = True
