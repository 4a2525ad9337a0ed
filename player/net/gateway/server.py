"""The gateway's loopback HTTP server: request handler, connection registry, watchdog, stop.

Binds 127.0.0.1 only (a free port). Every request goes to one ``dispatch(handler, head)``
callable (the routes); one named daemon thread per connection is tracked by a
:class:`~player.net.loopback_http.ConnectionRegistry`, so :meth:`GatewayServer.stop`
can wake every blocked write and join every thread. A watchdog thread finds players that
hung up while their request waits on a silent upstream and cancels those transfers
(else a stalled origin would keep them, and ``starving()``, alive).
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from player.net.gateway.ledger import DeliveryLedger
from player.net.loopback_http import (
    LOOPBACK,
    ConnectionRegistry,
    LoopbackHTTPServer,
    TrackedHandler,
)

__all__ = ["HOST", "ClientGone", "GatewayServer", "Handler", "peer_closed"]

log = logging.getLogger(__name__)

HOST = LOOPBACK
STOP_DEADLINE_S = 0.9  # stop() joins threads for at most this long
WATCH_INTERVAL_S = 0.2  # how often the watchdog looks for players that hung up
WATCH_AFTER_S = 0.5  # only requests blocked on upstream this long are checked
POLL_INTERVAL_S = 0.05  # serve_forever poll (bounds shutdown latency)
THREAD_PREFIX = "gateway"

Dispatch = Callable[["Handler", bool], None]


class ClientGone(Exception):
    """VLC closed its connection while we were writing (or waiting)."""


def peer_closed(sock: socket.socket) -> bool:
    """True when the other end has closed ``sock`` (EOF or reset pending); never blocks."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):
        return True


class _Server(LoopbackHTTPServer):
    def __init__(
        self, dispatch: Dispatch, redact: Callable[[str], str], registry: ConnectionRegistry
    ) -> None:
        self.dispatch = dispatch
        self.redact = redact
        super().__init__(Handler, registry, "gateway")


class Handler(TrackedHandler):
    """One connection from VLC (HTTP/1.1 keep-alive); requests go to ``server.dispatch``."""

    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "Stallwatch-Gateway/0.1"
    disable_nagle_algorithm = True  # headers and body go out without a 40 ms delay

    connection_errors = (OSError, ClientGone)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        # request lines carry the secret and the session id: never log them
        if log.isEnabledFor(logging.DEBUG):
            log.debug("gateway: %s", self.server.redact(format % args))

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.server.dispatch(self, False)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self.server.dispatch(self, True)

    # --- response helpers ---------------------------------------------------------------
    def send_simple(
        self, code: int, text: str = "", head: bool = False, ctype: str = "text/plain"
    ) -> None:
        body = text.encode("utf-8")
        self.send_response(code)
        self.send_header(
            "Content-Type", f"{ctype}; charset=utf-8" if ctype.startswith("text") else ctype
        )
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head and body:
            self.write(body)

    def write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except OSError as e:
            self.close_connection = True
            raise ClientGone from e


class GatewayServer:
    """The listening socket, its threads (``gateway-http``, ``gateway-watch``, one per
    connection) and the watchdog over the ledger's blocked requests."""

    def __init__(
        self, dispatch: Dispatch, ledger: DeliveryLedger, redact: Callable[[str], str]
    ) -> None:
        self._dispatch = dispatch
        self._ledger = ledger
        self._redact = redact
        self.registry = ConnectionRegistry(THREAD_PREFIX)  # threads and VLC's connections
        self._stopping = threading.Event()
        self._http: _Server | None = None

    @property
    def started(self) -> bool:
        return self._http is not None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def server_address(self) -> tuple[str, int]:
        if self._http is None:
            raise RuntimeError("gateway is not started")
        host, port = self._http.server_address[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> None:
        """Listen and serve in a thread named ``gateway-http``; start the watchdog."""
        self._http = _Server(self._dispatch, self._redact, self.registry)
        t = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL_S},
            name=f"{THREAD_PREFIX}-http",
            daemon=True,
        )
        self.registry.track(t)
        t.start()
        w = threading.Thread(target=self._watch, name=f"{THREAD_PREFIX}-watch", daemon=True)
        self.registry.track(w)
        w.start()

    def begin_stop(self) -> None:
        """Mark the server as stopping (the watchdog ends; nothing new is accepted)."""
        self._stopping.set()

    def stop(self) -> list[str]:
        """Wake every write blocked on VLC, stop serving, join the threads (for at most
        STOP_DEADLINE_S); returns the names of threads still alive."""
        srv = self._http
        if srv is None:
            return []
        self._stopping.set()
        self.registry.shutdown_connections()  # wakes writes blocked on VLC
        srv.shutdown()
        srv.server_close()
        alive = self.registry.join(time.monotonic() + STOP_DEADLINE_S)
        self._http = None
        return alive

    def _watch(self) -> None:
        """Watchdog: cancel the transfers of players that hung up while upstream is silent."""
        while not self._stopping.wait(WATCH_INTERVAL_S):
            for d in self._ledger.blocked(WATCH_AFTER_S):
                if isinstance(d.client, socket.socket) and peer_closed(d.client):
                    log.info("gateway: player hung up while upstream was silent; cancelling")
                    transfer = self._ledger.hung_up(d)
                    if transfer is not None:
                        transfer.cancel()
