"""Small QtDBus helpers: typed arguments and asynchronous calls that never block the GUI.

PyQt converts a Python int to a D-Bus ``int32`` and a list to ``av``; the MPRIS and
portal signatures want ``x`` (int64), ``u`` (uint32) and ``as``, so those are wrapped
in a typed :class:`QDBusArgument`. Every call we make goes out with
:meth:`QDBusConnection.asyncCall`: its reply arrives later as a Qt signal on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PyQt6.QtCore import QMetaType, QObject
from PyQt6.QtDBus import (
    QDBusArgument,
    QDBusConnection,
    QDBusMessage,
    QDBusPendingCall,
    QDBusPendingCallWatcher,
    QDBusPendingReply,
)

log = logging.getLogger(__name__)

# A reply we wait for (asynchronously) at most this long: desktop services answer in
# milliseconds; a portal that D-Bus starts on demand can take a second or two to come up.
CALL_TIMEOUT_MS = 5000


def int64(value: int) -> QDBusArgument:
    return QDBusArgument(int(value), QMetaType.Type.LongLong.value)


def uint32(value: int) -> QDBusArgument:
    return QDBusArgument(int(value), QMetaType.Type.UInt.value)


def string_list(values: list[str]) -> QDBusArgument:
    return QDBusArgument(list(values), QMetaType.Type.QStringList.value)


def session_bus() -> QDBusConnection | None:
    """The session bus, or None (logged once by the caller) when there is none."""
    bus = QDBusConnection.sessionBus()
    return bus if bus.isConnected() else None


Reply = Callable[[QDBusMessage], None]


class AsyncCaller(QObject):
    """Sends method calls and hands each reply (or error) to its callback on this thread."""

    def __init__(self, bus: QDBusConnection, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bus = bus
        self._watchers: set[QDBusPendingCallWatcher] = set()

    def call(
        self,
        service: str,
        path: str,
        interface: str,
        method: str,
        args: list[object],
        on_reply: Reply | None = None,
        on_error: Reply | None = None,
    ) -> None:
        msg = QDBusMessage.createMethodCall(service, path, interface, method)
        msg.setArguments(args)
        pending: QDBusPendingCall = self.bus.asyncCall(msg, CALL_TIMEOUT_MS)
        watcher = QDBusPendingCallWatcher(pending, self)
        self._watchers.add(watcher)

        def finished(w: QDBusPendingCallWatcher) -> None:
            self._watchers.discard(w)
            reply = QDBusPendingReply(w).reply()
            w.deleteLater()
            if reply.type() == QDBusMessage.MessageType.ErrorMessage:
                if on_error is not None:
                    on_error(reply)
                else:
                    log.debug("D-Bus %s.%s failed: %s", interface, method, reply.errorMessage())
            elif on_reply is not None:
                on_reply(reply)

        watcher.finished.connect(finished)

    def send(
        self, service: str, path: str, interface: str, method: str, args: list[object]
    ) -> bool:
        """Fire and forget (no reply wanted): used while quitting."""
        msg = QDBusMessage.createMethodCall(service, path, interface, method)
        msg.setArguments(args)
        msg.setAutoStartService(False)
        return self.bus.send(msg)
