"""The tests' loopback origin: the demo's throttling origin plus fault injection and TLS.

Example::

    with OriginServer(tmp_path) as srv:
        srv.rate_bps = 2_000_000                       # shared 2 Mbit/s "bottleneck"
        srv.add_fault("/v2/seg_003.ts", "status", code=404)
        srv.add_fault("*.mp4", "cut", after_bytes=100_000)
        url = srv.url("master.m3u8")

Faults (``add_fault(pattern, kind, **params)``; ``pattern`` is an fnmatch on the
request path without query, e.g. ``"/v1/*.ts"`` or ``"*seg_002.ts"``):

``status``           answer ``code`` (default 404) instead of the file; ``times`` (default
                     ``None`` = every time) matching requests, then serve normally.
``pause``            after ``after_bytes`` body bytes (default 0) send nothing for ``seconds``
                     (``None`` = until :meth:`Fault.release` or :meth:`OriginServer.stop`);
                     ``times`` default 1.
``cut``              after ``after_bytes`` body bytes close the TCP connection; ``times`` default 1.
                     With ``then_status=code`` every later request for the pattern is answered
                     ``code`` (the server broke for good at that moment).
``slow_first_byte``  wait ``seconds`` before sending the response head; ``times`` default ``None``.
``hold``             keep matching requests waiting before the response head until
                     :meth:`Fault.release` (or stop); ``times`` default ``None``. A test uses it to
                     make sure part of a stream is still to be fetched when it acts.

:attr:`Fault.waiting` lists the paths a ``hold`` or ``pause`` keeps waiting right now (a
test waits on it instead of on the clock).

Bandwidth shaping (``rate_bps``, ``set_rate_trace``) is the demo origin's
(:mod:`player.demo.origin`).
"""

from __future__ import annotations

import fnmatch
import logging
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from player.demo.origin import Aborted, OriginHandler, OriginHTTPServer, ThrottledOrigin

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT_S = 5.0  # a TLS client that never finishes its hello is dropped
OPENSSL_TIMEOUT_S = 30.0  # generating an RSA-2048 key takes well under a second

DEFAULT_TIMES = {"status": None, "pause": 1, "cut": 1, "slow_first_byte": None, "hold": None}
STOP_POLL_S = 0.05  # a released or stopping wait notices within this long


@dataclass
class Fault:
    """One injected fault (see module doc)."""

    pattern: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    remaining: int | None = None  # None = unlimited
    waiting: list[str] = field(default_factory=list)  # paths held by this fault right now
    _released: threading.Event = field(default_factory=threading.Event, repr=False)

    def release(self) -> None:
        """End every wait of this ``hold`` or ``pause`` now and from now on."""
        self._released.set()

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def take(self) -> bool:
        """Consume one use; False when exhausted (caller holds the server lock)."""
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


class _FaultHandler(OriginHandler):
    server: OriginHTTPServer

    def setup(self) -> None:
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):  # handshake here, in the connection's thread
            self.request.settimeout(HANDSHAKE_TIMEOUT_S)
            self.request.do_handshake()
            self.request.settimeout(self.timeout)  # back to the keep-alive idle limit

    def delay_answer(self, path: str) -> None:
        owner: OriginServer = self.server.owner
        slow = owner.match(path, "slow_first_byte")
        if slow is not None:
            owner.wait(slow.params.get("seconds", 1.0))
        hold = owner.match(path, "hold")
        if hold is not None:
            owner.wait_released(hold, None, path)
        super().delay_answer(path)

    def answer_instead(self, path: str, rng: str | None, head: bool) -> bool:
        status_fault = self.server.owner.match(path, "status")
        if status_fault is None:
            return False
        self.send_simple(int(status_fault.params.get("code", 404)), path, rng, head)
        return True

    def send_body(self, body: bytes) -> None:
        owner: OriginServer = self.server.owner
        path = urllib.parse.urlsplit(self.path).path
        # pause and cut are consumed only when they fire, so a request that ends before
        # the fault's offset does not use it up
        self._pause = owner.match(path, "pause", consume=False)
        self._cut = owner.match(path, "cut", consume=False)
        self._pause_at = int(self._pause.params.get("after_bytes", 0)) if self._pause else None
        self._cut_at = int(self._cut.params.get("after_bytes", 0)) if self._cut else None
        super().send_body(body)

    def body_checkpoint(self, sent: int) -> int:
        owner: OriginServer = self.server.owner
        if self._pause_at is not None and sent >= self._pause_at:
            self._pause_at = None
            if self._pause is not None and owner.fire(self._pause):
                seconds = self._pause.params.get("seconds")
                log.debug("origin: pausing %s at byte %d for %s s", self.path, sent, seconds)
                owner.wait_released(self._pause, seconds, self.path)
        if self._cut_at is not None and sent >= self._cut_at:
            self._cut_at = None
            if self._cut is not None and owner.fire(self._cut):
                then = self._cut.params.get("then_status")
                if then is not None:
                    owner.add_fault(self._cut.pattern, "status", code=int(then))
                self._cut_connection()
        marks = [m for m in (self._pause_at, self._cut_at) if m is not None]
        return min(marks) if marks else sys.maxsize

    def _cut_connection(self) -> None:
        log.debug("origin: cutting connection for %s", self.path)
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise Aborted


class OriginServer(ThrottledOrigin):
    """Loopback HTTP/1.1 file server with shaping and fault injection (see module doc)."""

    handler_class = _FaultHandler

    def __init__(self, root: Path | str, ssl_context: ssl.SSLContext | None = None) -> None:
        """Serve files under ``root``; with ``ssl_context`` serve HTTPS instead of HTTP."""
        super().__init__(root)
        self.ssl_context = ssl_context
        self.scheme = "https" if ssl_context is not None else "http"
        self._faults: list[Fault] = []

    def make_server(self) -> OriginHTTPServer:
        server = OriginHTTPServer(self)
        if self.ssl_context is not None:
            # handshake later, in the connection's own thread (see _FaultHandler.setup)
            server.socket = self.ssl_context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        return server

    def add_fault(self, pattern: str, kind: str, **params: Any) -> Fault:
        """Inject a fault for paths matching ``pattern`` (see module doc)."""
        if kind not in DEFAULT_TIMES:
            raise ValueError(f"unknown fault kind {kind!r}")
        times = params.pop("times", DEFAULT_TIMES[kind])
        fault = Fault(pattern, kind, params, times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def requests_for(self, pattern: str) -> list[tuple[str, str, str | None, int]]:
        """Recorded requests whose path matches ``pattern`` (fnmatch)."""
        return [
            r
            for r in list(self.requests)
            if fnmatch.fnmatch(urllib.parse.urlsplit(r[1]).path, pattern)
        ]

    def match(self, path: str, kind: str, consume: bool = True) -> Fault | None:
        """The first live fault of ``kind`` for ``path``; ``consume`` uses one of its
        ``times`` now."""
        with self._lock:
            for f in self._faults:
                if f.kind != kind or not fnmatch.fnmatch(path, f.pattern):
                    continue
                if f.remaining is not None and f.remaining <= 0:
                    continue
                if not consume or f.take():
                    return f
        return None

    def fire(self, fault: Fault) -> bool:
        """Use one of ``fault``'s times now; False when another request used the last."""
        with self._lock:
            return fault.take()

    def wait_released(self, fault: Fault, seconds: float | None, path: str) -> None:
        """Wait until ``fault`` is released or ``seconds`` pass (None: no limit); raise
        :class:`Aborted` when the server stops. ``path`` is listed in ``fault.waiting``."""
        deadline = None if seconds is None else time.monotonic() + seconds
        with self._lock:
            fault.waiting.append(path)
        try:
            while not fault.released:
                step = STOP_POLL_S
                if deadline is not None:
                    step = min(step, deadline - time.monotonic())
                    if step <= 0:
                        return
                self.wait(step)
        finally:
            with self._lock:
                fault.waiting.remove(path)


def make_self_signed_cert(directory: Path | str) -> tuple[Path, Path]:
    """Create a self-signed certificate for 127.0.0.1/localhost: ``(cert.pem, key.pem)``.

    Uses the ``openssl`` command line tool (raises RuntimeError when it is missing).
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cert, key = d / "cert.pem", d / "key.pem"
    if cert.exists() and key.exists():
        return cert, key
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl is not installed")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True, capture_output=True, timeout=OPENSSL_TIMEOUT_S,
    )  # fmt: skip
    return cert, key


def server_ssl_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context for :class:`OriginServer`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx
