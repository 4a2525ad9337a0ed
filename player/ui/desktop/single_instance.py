"""One player per user session: a second launch hands its files to the running one.

With the ``single_instance`` preference on (the default), :func:`elect` first asks the
running instance, over a local socket in the user's runtime folder (one per settings
folder) (``QLocalServer``: a
Unix socket there, a named pipe on Windows; only the user can connect), to take the
sources; if it answers, this launch is done and exits 0. Otherwise this process listens
on that socket and becomes the running instance. A lock file makes the ask-or-listen
step atomic, so two launches at the same moment (a file manager opening two files) elect
one instance; a socket left by a crashed instance is removed.

The message is one line of JSON, ``{"sources": [...], "play_now": true}``, answered
with ``ok``; relative file paths are made absolute by the sender (the running instance
has another working directory).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from PyQt6.QtCore import QLockFile, QObject, pyqtSignal
from PyQt6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

APP_NAME = "stallwatch"
RUNTIME_ENV = "STALLWATCH_RUNTIME_DIR"  # tests and portable setups point it elsewhere
SOCKET_NAME = "instance"
KEY_CHARS = 12  # of the settings folder's hash in the name: unique, and short (sun_path)
# The running instance answers from its event loop within milliseconds; a busy 2-core
# machine can delay that by a second or more. Longer than this, and it is stuck: start anew.
HANDOFF_TIMEOUT_MS = 5000
# Two launches at once: the second waits this long for the first to finish its election.
LOCK_TIMEOUT_MS = 10_000
MAX_MESSAGE_BYTES = 1_000_000  # thousands of paths; more is not a hand-off but garbage


@dataclass(frozen=True, slots=True)
class HandOff:
    sources: list[str] = field(default_factory=list)
    play_now: bool = True

    def encode(self) -> bytes:
        return json.dumps({"sources": self.sources, "play_now": self.play_now}).encode() + b"\n"

    @staticmethod
    def decode(line: bytes) -> HandOff | None:
        try:
            raw = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        if not isinstance(raw, dict):
            return None
        sources = raw.get("sources", [])
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            return None
        return HandOff([s for s in sources if s.strip()], bool(raw.get("play_now", True)))


def absolute_sources(sources: list[str], cwd: str | None = None) -> list[str]:
    """URLs as they are; file paths made absolute against ``cwd`` (default: ours)."""
    base = Path(cwd or os.getcwd())
    return [s if "://" in s else str((base / s).resolve()) for s in sources]


def runtime_dir() -> Path:
    if env := os.environ.get(RUNTIME_ENV):
        return Path(env)
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir(APP_NAME))


def server_name(settings_dir: Path | str) -> str:
    """The socket's path (a pipe's name on Windows, where a path is not a name), one per
    settings folder: players with their own settings (a portable setup, each test) are
    separate users, and the preference that turns this on lives in those settings."""
    key = hashlib.sha256(str(Path(settings_dir).resolve()).encode()).hexdigest()[:KEY_CHARS]
    if sys.platform == "win32":
        return f"{APP_NAME}-{SOCKET_NAME}-{os.environ.get('USERNAME', 'user')}-{key}"
    return str(runtime_dir() / f"{SOCKET_NAME}-{key}")


def send(handoff: HandOff, name: str, timeout_ms: int = HANDOFF_TIMEOUT_MS) -> bool:
    """Give ``handoff`` to the instance listening on ``name``; True once it said ``ok``.
    Blocking (bounded): used before this process has a window."""
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(timeout_ms):
        return False
    try:
        sock.write(handoff.encode())
        if not sock.waitForBytesWritten(timeout_ms):
            return False
        answer = b""
        while not answer.endswith(b"\n"):
            if not sock.waitForReadyRead(timeout_ms):
                return False
            answer += bytes(sock.readAll())
        return answer.strip() == b"ok"
    finally:
        sock.abort()


class InstanceServer(QObject):
    """The running instance's end: emits ``received`` for every hand-off (GUI thread)."""

    received = pyqtSignal(object)  # a HandOff

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        QLocalServer.removeServer(self.name)  # a crashed instance's socket file
        ok = self._server.listen(self.name)
        if not ok:
            log.warning(
                "single instance: cannot listen on %s: %s", self.name, self._server.errorString()
            )
        return ok

    def _accept(self) -> None:
        while (sock := self._server.nextPendingConnection()) is not None:
            self._buffers[sock] = b""
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(lambda s=sock: self._drop(s))

    def _read(self, sock: QLocalSocket) -> None:
        data = self._buffers.get(sock, b"") + bytes(sock.readAll())
        if len(data) > MAX_MESSAGE_BYTES:
            self._drop(sock)
            return
        self._buffers[sock] = data
        if b"\n" not in data:
            return
        handoff = HandOff.decode(data.split(b"\n", 1)[0])
        sock.write(b"ok\n" if handoff is not None else b"error\n")
        sock.flush()
        self._buffers.pop(sock, None)
        sock.disconnectFromServer()
        if handoff is not None:
            log.info(
                "single instance: another launch handed over %d source(s)", len(handoff.sources)
            )
            self.received.emit(handoff)

    def _drop(self, sock: QLocalSocket) -> None:
        self._buffers.pop(sock, None)
        sock.abort()
        sock.deleteLater()

    def close(self) -> None:
        self._server.close()


def elect(handoff: HandOff, name: str) -> InstanceServer | None:
    """Hand ``handoff`` to the instance listening on ``name`` (:func:`server_name`) and
    return None (this launch is done), or become it: the listening server. Needs a
    Q(Core)Application."""
    if sys.platform != "win32":
        Path(name).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = QLockFile(f"{name}.lock")
    locked = lock.tryLock(LOCK_TIMEOUT_MS)
    try:
        if send(handoff, name):
            log.info("handed %d source(s) to the running Stallwatch", len(handoff.sources))
            return None
        server = InstanceServer(name)
        if locked:
            server.listen()
        else:  # someone holds the election for ever: play, but do not take its socket
            log.warning(
                "single instance: %s stays locked; running a separate player", lock.fileName()
            )
        return server
    finally:
        if locked:
            lock.unlock()
