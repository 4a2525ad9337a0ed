"""A loopback origin that answers exactly what a test scripts: for the security tests.

The fault-injecting :class:`~tests.support.origin.OriginServer` serves files; this one
answers canned responses per path (any status, any headers, a fixed body or an endless
one), so tests can play a hostile server: malformed redirects, redirect loops, gzip
bombs, endless playlists. Every request is recorded with its headers.

Example::

    with HostileOrigin() as o:
        o.route("/a.m3u8", body=b"#EXTM3U\\n...")
        o.route("/loop", status=302, headers={"Location": "/loop"})
        url = o.url("a.m3u8")
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from player.net.loopback_http import ConnectionRegistry, LoopbackHTTPServer, TrackedHandler

log = logging.getLogger(__name__)

STOP_DEADLINE_S = 2.0
CHUNK = 64 * 1024


@dataclass
class Canned:
    """One scripted answer: status, headers and a body (bytes, or a chunk iterator factory)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Callable[[], Iterator[bytes]] = b""


@dataclass(frozen=True)
class Seen:
    """A request the origin received."""

    method: str
    path: str
    headers: dict[str, str]


class _Handler(TrackedHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        log.debug("hostile origin: " + format, *args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._answer(head=False)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self._answer(head=True)

    def _answer(self, head: bool) -> None:
        owner = self.server.owner
        path = urllib.parse.urlsplit(self.path).path
        owner.record(Seen(self.command, path, dict(self.headers.items())))
        canned = owner.routes.get(path)
        if canned is None:
            canned = Canned(404, {"Content-Type": "text/plain"}, b"not here\n")
        self.send_response(canned.status)
        for k, v in canned.headers.items():
            self.send_header(k, v)
        if isinstance(canned.body, bytes):
            if "content-length" not in {k.lower() for k in canned.headers}:
                self.send_header("Content-Length", str(len(canned.body)))
            self.end_headers()
            if not head:
                self.wfile.write(canned.body)
            return
        self.send_header("Connection", "close")  # an endless body has no length
        self.close_connection = True
        self.end_headers()
        if head:
            return
        for chunk in canned.body():
            if owner.stopping.is_set():
                return
            self.wfile.write(chunk)


class _Server(LoopbackHTTPServer):
    def __init__(self, owner: HostileOrigin) -> None:
        self.owner = owner
        super().__init__(_Handler, owner.registry, "hostile origin", owner.host)
        if owner.ssl_context is not None:
            self.socket = owner.ssl_context.wrap_socket(self.socket, server_side=True)


class HostileOrigin:
    """Loopback HTTP/1.1 server with scripted answers (see module doc)."""

    def __init__(self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> None:
        """Listen on ``host`` (``127.0.0.1`` or ``::1``); HTTPS with ``ssl_context``."""
        self.host = host
        self.ssl_context = ssl_context
        self.scheme = "https" if ssl_context is not None else "http"
        self.routes: dict[str, Canned] = {}
        self.requests: list[Seen] = []
        self.registry = ConnectionRegistry("origin-hostile")
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._srv: _Server | None = None

    def route(
        self,
        path: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        body: bytes | Callable[[], Iterator[bytes]] = b"",
    ) -> None:
        self.routes[path] = Canned(status, dict(headers or {}), body)

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def seen(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    @property
    def port(self) -> int:
        assert self._srv is not None
        return int(self._srv.server_address[1])

    def url(self, rel: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/{rel.lstrip('/')}"

    def start(self) -> HostileOrigin:
        self._srv = _Server(self)
        t = threading.Thread(
            target=self._srv.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="origin-hostile-http",
            daemon=True,
        )
        self.registry.track(t)
        t.start()
        return self

    def stop(self) -> None:
        if self._srv is None:
            return
        self.stopping.set()
        self.registry.shutdown_connections()
        self._srv.shutdown()
        self._srv.server_close()
        self.registry.join(time.monotonic() + STOP_DEADLINE_S)
        self._srv = None

    def __enter__(self) -> HostileOrigin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def endless(chunk: bytes = b"#EXTINF:2.0,\nseg.ts\n" * 1000) -> Callable[[], Iterator[bytes]]:
    """A body that never ends (the server stops it when the test ends)."""

    def gen() -> Iterator[bytes]:
        while True:
            yield chunk

    return gen
