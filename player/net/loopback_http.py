"""The threaded loopback HTTP server both the gateway and the origin build on.

One named daemon thread per connection, recorded in a :class:`ConnectionRegistry` so
that the owner's ``stop()`` can shut every connection down and join every thread; errors
of a single connection are logged, never raised.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class ConnectionRegistry:
    """The threads and open client sockets of one loopback server (thread-safe)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._lock = threading.Lock()
        self._count = 0
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()

    def thread_name(self) -> str:
        with self._lock:
            self._count += 1
            return f"{self.prefix}-conn-{self._count}"

    def track(self, t: threading.Thread) -> None:
        with self._lock:
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)

    def opened(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.add(conn)

    def closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.discard(conn)

    def open_count(self) -> int:
        """Client connections open now."""
        with self._lock:
            return len(self._conns)

    def shutdown_connections(self) -> None:
        """Wake every read or write blocked on a client socket."""
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def join(self, deadline: float) -> list[str]:
        """Join the tracked threads until ``deadline`` (monotonic); names still alive."""
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            if t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive()]
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
        return alive


class TrackedHandler(BaseHTTPRequestHandler):
    """A request handler whose connection is known to the server's registry while it lives.

    A client that goes away mid-request (``OSError``, or one of ``connection_errors``) ends
    the connection quietly: that is the client's choice, not a server error.
    """

    server: LoopbackHTTPServer
    connection_errors: tuple[type[BaseException], ...] = (OSError,)

    def setup(self) -> None:
        self.server.registry.opened(self.request)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.registry.closed(self.request)

    def handle(self) -> None:
        try:
            super().handle()
        except self.connection_errors:
            self.close_connection = True


class LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        registry: ConnectionRegistry,
        label: str,
        host: str = LOOPBACK,
    ) -> None:
        """Listen on ``host`` (127.0.0.1; tests also use ``::1``), a free port."""
        self.registry = registry
        self._label = label
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, 0), handler)  # loopback only, a free port

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("%s: connection from %s failed", self._label, client_address, exc_info=True)

    def process_request(self, request: Any, client_address: Any) -> None:
        t = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=self.registry.thread_name(),
            daemon=True,
        )
        self.registry.track(t)
        t.start()
