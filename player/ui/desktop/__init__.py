"""Desktop integration: media keys (MPRIS), the screen kept on while playing, one instance.

The composition root calls :func:`hand_off` before it builds the window (a second launch
ends there, its sources given to the running player) and :func:`install` after. Without a
D-Bus session bus the player runs as usual; one log line says what is missing.
"""

from __future__ import annotations

import logging
import os
from argparse import Namespace
from pathlib import Path

from PyQt6.QtCore import QObject
from PyQt6.QtDBus import QDBusConnection

from player.ui.desktop import single_instance
from player.ui.desktop.inhibit import Inhibitor, watching
from player.ui.desktop.mpris import MprisService, raise_window
from player.ui.desktop.single_instance import HandOff, InstanceServer

log = logging.getLogger(__name__)

__all__ = ["DesktopIntegration", "hand_off", "install", "launch_sources"]


def launch_sources(args: Namespace) -> list[str]:
    """The sources given on the command line (``sources`` list, or one ``source``)."""
    many = getattr(args, "sources", None)
    if many:
        return [s for s in many if s]
    one = getattr(args, "source", None)
    return [one] if one else []


def single_instance_applies(args: Namespace, enabled: bool) -> bool:
    """Scripted runs (``--quit-after``, ``--auto-screenshot``), the demo,
    ``--new-instance`` and ``--insecure-tls-origin`` (its exception belongs to this run, not
    to a running player) always run on their own: they neither hand off nor take hand-offs."""
    scripted = getattr(args, "quit_after", None) or getattr(args, "auto_screenshot", None)
    own = (
        getattr(args, "demo", False)
        or getattr(args, "new_instance", False)
        or bool(getattr(args, "insecure_tls_origin", None))
    )
    return bool(enabled and not scripted and not own)


def hand_off(
    args: Namespace, enabled: bool, settings_dir: Path
) -> tuple[bool, InstanceServer | None]:
    """``(True, None)`` when a running player took this launch's sources (exit now);
    else ``(False, server)``, ``server`` being this player's end of the socket (or None
    when single instance does not apply)."""
    if not single_instance_applies(args, enabled):
        return False, None
    handoff = HandOff(
        single_instance.absolute_sources(launch_sources(args)), not getattr(args, "enqueue", False)
    )
    server = single_instance.elect(handoff, single_instance.server_name(settings_dir))
    return server is None, server


def session_bus_address_known() -> bool:
    """Whether there is a session bus to try: its address in the environment, or the
    systemd user bus socket. Otherwise libdbus would try X11 auto-launch and Qt warn."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return bool(
        os.environ.get("DBUS_SESSION_BUS_ADDRESS") or (runtime and Path(runtime, "bus").exists())
    )


class DesktopIntegration(QObject):
    """MPRIS and the inhibitor over one bus, fed by the window's session ticks, plus the
    single-instance server's hand-offs; released when the window closes."""

    def __init__(
        self, window: QObject, bus: QDBusConnection | None, server: InstanceServer | None = None
    ) -> None:
        super().__init__(window)
        self.window = window
        self.mpris: MprisService | None = None
        self.inhibitor: Inhibitor | None = None
        if bus is not None:
            self.mpris = MprisService(bus, window, self)
            self.inhibitor = Inhibitor(bus, self)
        self.server = server
        if server is not None:
            server.setParent(self)
            server.received.connect(self.deliver)
        window.bridge.ticked.connect(self._tick)
        window.add_closing_hook(self.close)

    def _tick(self) -> None:
        if self.mpris is not None:
            self.mpris.update()
        if self.inhibitor is not None:
            self.inhibitor.want(watching(self.window.session.state))

    def deliver(self, handoff: HandOff) -> None:
        """Another launch's sources: into the queue (played now unless ``--enqueue``)."""
        if handoff.sources:
            enqueue = getattr(self.window, "enqueue", None)
            if callable(enqueue):
                enqueue(handoff.sources, play_now=handoff.play_now)
            else:  # a window without a queue plays the first one
                self.window.open_source(handoff.sources[0])
        raise_window(self.window)

    def close(self) -> None:
        self.window.bridge.ticked.disconnect(self._tick)
        if self.inhibitor is not None:
            self.inhibitor.close()
        if self.mpris is not None:
            self.mpris.close()
        if self.server is not None:
            self.server.close()


def install(window: QObject, server: InstanceServer | None = None) -> DesktopIntegration:
    """The desktop integration for ``window`` on the session bus (none without one)."""
    bus = QDBusConnection.sessionBus() if session_bus_address_known() else None
    if bus is not None and not bus.isConnected():
        bus = None
    if bus is None:
        log.info(
            "no D-Bus session bus: media keys, desktop media controls and screen-saver inhibition are off"
        )
    return DesktopIntegration(window, bus, server)
