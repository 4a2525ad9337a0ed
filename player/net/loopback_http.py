"""The threaded loopback HTTP server both the gateway and the origin build on.

One named daemon thread per connection, handed to the owner so that its ``stop()`` can
join every thread; errors of a single connection are logged, never raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        *,
        thread_name: Callable[[], str],
        track: Callable[[threading.Thread], None],
        label: str,
    ) -> None:
        self._thread_name = thread_name
        self._track = track
        self._label = label
        super().__init__((LOOPBACK, 0), handler)  # loopback only, a free port

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("%s: connection from %s failed", self._label, client_address, exc_info=True)

    def process_request(self, request: Any, client_address: Any) -> None:
        t = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=self._thread_name(),
            daemon=True,
        )
        self._track(t)
        t.start()
