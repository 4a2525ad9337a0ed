"""The gateway's loopback HTTP server: request handler, connection registry, watchdog, stop.

Binds 127.0.0.1 only (a free port). Every request goes to one ``dispatch(handler, head)``
callable (the routes); one named daemon thread per connection is tracked by a
:class:`~player.net.loopback_http.ConnectionRegistry`, so :meth:`GatewayServer.stop`
can wake every blocked write and join every thread. A watchdog thread finds players that
hung up while their request waits on a silent upstream and cancels those transfers
(else a stalled origin would keep them, and ``starving()``, alive).

Other local processes can reach a loopback port too (and a web page can, through DNS
rebinding), so the handler defends itself before the routes see anything:

* time: an idle keep-alive connection is closed after :data:`KEEPALIVE_IDLE_S`; once the
  first byte of a request arrived, its request line and headers must be complete within
  :data:`REQUEST_HEAD_DEADLINE_S` (enforced by the watchdog, so a client dribbling one
  byte at a time cannot hold a thread: "slow loris");
* size: the request line and headers are bounded by the standard library (64 KiB per
  line, 100 headers), and at most :data:`MAX_CONNECTIONS` connections are open at once:
  beyond that a new connection closes the one idle the longest (waiting for a request,
  so 32 idle sockets of another process cannot lock VLC out), and is refused only when
  none is idle (a slow-loris one is busy, but cut by the head deadline);
* ``Host`` must be ``127.0.0.1:PORT``, ``localhost:PORT`` or ``[::1]:PORT`` (a page that
  rebinds its own name to 127.0.0.1 sends its own name: 403);
* no CORS headers are ever sent, so a web page cannot read an answer.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
import traceback
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
#: An idle keep-alive connection is closed after this long (VLC opens a new one; Apache
#: closes after 5 s, nginx after 75 s).
KEEPALIVE_IDLE_S = 30.0
#: From a request's first byte to the end of its headers. VLC sends the whole head in
#: one write; a client on this machine needs milliseconds.
REQUEST_HEAD_DEADLINE_S = 10.0
#: Connections served at once. VLC uses a handful (the playlist, a segment, a prefetch);
#: more than this is someone else's process.
MAX_CONNECTIONS = 32

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
        self._heads_lock = threading.Lock()
        self._heads: dict[socket.socket, float] = {}  # reading a request head: its deadline
        self._idle: dict[socket.socket, float] = {}  # waiting for a request: since when
        super().__init__(Handler, registry, "gateway")
        port = self.server_address[1]
        self.allowed_hosts = frozenset(f"{h}:{port}" for h in (LOOPBACK, "localhost", "[::1]"))

    def arm(self, conn: socket.socket, seconds: float) -> None:
        with self._heads_lock:
            self._heads[conn] = time.monotonic() + seconds

    def disarm(self, conn: socket.socket) -> None:
        with self._heads_lock:
            self._heads.pop(conn, None)

    def overdue(self) -> list[socket.socket]:
        """Connections whose request head is late (the watchdog shuts them down)."""
        now = time.monotonic()
        with self._heads_lock:
            return [c for c, deadline in self._heads.items() if now > deadline]

    def idle(self, conn: socket.socket) -> None:
        """``conn`` waits for its next request (may be closed for a new connection)."""
        with self._heads_lock:
            self._idle[conn] = time.monotonic()

    def busy(self, conn: socket.socket) -> None:
        with self._heads_lock:
            self._idle.pop(conn, None)

    def _close_oldest_idle(self) -> bool:
        """Shut down the connection idle the longest (its thread then ends); False if none."""
        with self._heads_lock:
            if not self._idle:
                return False
            conn = min(self._idle, key=self._idle.__getitem__)
            del self._idle[conn]
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return True

    def process_request(self, request: Any, client_address: Any) -> None:
        if self.registry.open_count() >= MAX_CONNECTIONS:
            # idle connections cost a new one nothing: the oldest goes (VLC reconnects if
            # it was its); only when every connection is busy is the new one refused
            if self._close_oldest_idle():
                log.info("gateway: %d connections open; closed the oldest idle", MAX_CONNECTIONS)
            else:
                log.warning("gateway: %d connections busy; refusing another", MAX_CONNECTIONS)
                self.shutdown_request(request)
                return
        self.idle(request)  # idle until its first byte arrives
        self.registry.opened(request)  # counted now, not once its thread runs
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.busy(request)
        self.registry.closed(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        tb = self.redact(traceback.format_exc())  # never the secret, even in a traceback
        log.debug("gateway: a connection failed\n%s", tb)


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

    # --- defences (see module doc) ------------------------------------------------------
    def handle_one_request(self) -> None:
        conn = self.connection
        self.server.idle(conn)
        try:
            conn.settimeout(KEEPALIVE_IDLE_S)
            if not self.rfile.peek(1):  # waits for the first byte of the next request
                self.close_connection = True
                return
        except (OSError, ValueError):  # idle too long, or the connection went away
            self.close_connection = True
            return
        finally:
            self.server.busy(conn)
        conn.settimeout(REQUEST_HEAD_DEADLINE_S)
        self.server.arm(conn, REQUEST_HEAD_DEADLINE_S)
        try:
            super().handle_one_request()
        finally:
            self.server.disarm(conn)

    def parse_request(self) -> bool:
        """The standard parsing, then: the head is complete (no deadline, no timeout for
        the answer: a paused player may not read for minutes) and ``Host`` is ours."""
        if not super().parse_request():
            return False
        self.server.disarm(self.connection)
        self.connection.settimeout(None)
        host = (self.headers.get("Host") or "").strip().lower()
        if host not in self.server.allowed_hosts:
            log.warning("gateway: refused a request for another host (%r)", host[:64])
            self.close_connection = True
            self.send_simple(403, "forbidden: not this host\n", self.command == "HEAD")
            return False
        return True

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
        """Watchdog: cancel the transfers of players that hung up while upstream is silent;
        drop connections whose request head is overdue."""
        while not self._stopping.wait(WATCH_INTERVAL_S):
            srv = self._http
            for conn in srv.overdue() if srv is not None else ():
                log.info("gateway: a request head took too long; closing its connection")
                srv.disarm(conn)
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            for d in self._ledger.blocked(WATCH_AFTER_S):
                if isinstance(d.client, socket.socket) and peer_closed(d.client):
                    log.info("gateway: player hung up while upstream was silent; cancelling")
                    transfer = self._ledger.hung_up(d)
                    if transfer is not None:
                        transfer.cancel()
