"""The demo's loopback origin: a plain HTTP/1.1 file server with a scripted slowdown.

The built-in demo serves its generated stream with it, using a rate trace as the
scripted slowdown (``set_rate_trace``). Bandwidth: ``rate_bps`` (bits/s, ``None`` =
unthrottled) is shared by all connections (one virtual bottleneck link), applied in
:data:`CHUNK` byte steps; a trace ``[(t_s, bps[, first_byte_delay_s]), ...]`` overrides it,
measured from the later of :meth:`ThrottledOrigin.start` and the call.

Example::

    with ThrottledOrigin(media_dir) as srv:
        srv.set_rate_trace([(0.0, 2_000_000), (10.0, 500_000, 1.5)])
        url = srv.url("master.m3u8")

The handler has hooks (``delay_answer``, ``answer_instead``, ``body_checkpoint``) where
the test-suite's fault-injecting origin (``tests/support/origin.py``) plugs in; the
product itself injects no faults.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import urllib.parse
from http import HTTPStatus
from pathlib import Path
from typing import Any

from player.net.loopback_http import ConnectionRegistry, LoopbackHTTPServer, TrackedHandler

log = logging.getLogger(__name__)

CHUNK = 8 * 1024  # bytes written per step (and per throttle slot)
POLL_INTERVAL_S = 0.05  # serve_forever poll: bounds stop() latency
JOIN_TIMEOUT_S = 1.0  # per stop(), for all connection threads together
IDLE_TIMEOUT_S = 30.0  # keep-alive connections idle longer than this are closed

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".m4v": "video/mp4",
    ".ts": "video/mp2t",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mpd": "application/dash+xml",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}


class Aborted(Exception):
    """The server is stopping (or a subclass ended the connection on purpose)."""


class OriginHTTPServer(LoopbackHTTPServer):
    """The listening socket and its connection threads, serving for ``owner``."""

    def __init__(self, owner: ThrottledOrigin) -> None:
        self.owner = owner
        super().__init__(owner.handler_class, owner._registry, "origin")


class OriginHandler(TrackedHandler):
    """Serves files under the owner's root with Range support, throttled."""

    protocol_version = "HTTP/1.1"
    server: OriginHTTPServer
    timeout = IDLE_TIMEOUT_S
    disable_nagle_algorithm = True  # headers and body go out without a 40 ms delay

    # --- plumbing -------------------------------------------------------------------
    connection_errors = (OSError, Aborted)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        log.debug("origin %s - " + format, self.address_string(), *args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self._serve(head=True)

    # --- hooks (the test origin overrides these) ---------------------------------------
    def delay_answer(self, path: str) -> None:
        """Wait before answering: the scripted first-byte delay of an overloaded server."""
        delay = self.server.owner.current_delay_s()
        if delay > 0:
            self.server.owner.wait(delay)

    def answer_instead(self, path: str, rng: str | None, head: bool) -> bool:
        """Answer something other than the file; True when answered (the base never does)."""
        return False

    def body_checkpoint(self, sent: int) -> int:
        """Called before each body chunk with the bytes sent so far; returns the next
        offset the chunk must not cross (a subclass acts there). The base has none."""
        return sys.maxsize

    # --- serving --------------------------------------------------------------------
    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        path = urllib.parse.urlsplit(self.path).path
        rng = self.headers.get("Range")
        self.delay_answer(path)
        if self.answer_instead(path, rng, head):
            return
        file = owner.resolve(path)
        if file is None:
            self.send_simple(404, path, rng, head)
            return
        data = file.read_bytes()
        size = len(data)
        start, end = 0, size - 1
        status = 200
        if rng:
            parsed = parse_range(rng, size)
            if parsed == "unsatisfiable":
                owner.record(self.command, self.path, rng, 416)
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if parsed is not None:
                start, end = parsed
                status = 206
        body = data[start : end + 1]
        owner.record(self.command, self.path, rng, status)
        self.send_response(status)
        self.send_header("Content-Type", content_type(file))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not head:
            self.send_body(body)

    def send_simple(self, code: int, path: str, rng: str | None, head: bool) -> None:
        """A short plain-text answer with status ``code``."""
        self.server.owner.record(self.command, self.path, rng, code)
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        body = f"{code} {phrase}: {path}\n".encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def send_body(self, body: bytes) -> None:
        """Write ``body`` in throttled chunks, never across a :meth:`body_checkpoint`."""
        owner = self.server.owner
        sent = 0
        while sent < len(body):
            if owner.stopping:
                raise Aborted
            limit = min(len(body), self.body_checkpoint(sent))
            n = min(CHUNK, limit - sent)
            if n <= 0:
                continue  # the checkpoint acted at this offset; ask again
            owner.throttle(n)
            self.wfile.write(body[sent : sent + n])
            sent += n


def content_type(file: Path) -> str:
    return CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """``(start, end)`` inclusive, ``"unsatisfiable"``, or None to ignore the header."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                return "unsatisfiable"
            return max(0, size - n), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or start < 0:
        return "unsatisfiable"
    if end < start:
        return None
    return start, min(end, size - 1)


class ThrottledOrigin:
    """Loopback HTTP/1.1 file server with a shared, scheduled bandwidth (see module doc)."""

    handler_class: type[OriginHandler] = OriginHandler
    scheme = "http"

    def __init__(self, root: Path | str) -> None:
        """Serve files under ``root``."""
        self.root = Path(root).resolve()
        self.rate_bps: float | None = None
        self.requests: list[tuple[str, str, str | None, int]] = []  # (method, path, Range, status)
        self._trace: list[tuple] = []  # (t_s, bps) or (t_s, bps, first_byte_delay_s)
        self._trace_t0: float | None = None
        self._trace_pending = False
        self._lock = threading.Lock()
        self._link_free_at = 0.0  # virtual clock of the shared bottleneck
        self._stopping = threading.Event()
        self._server: OriginHTTPServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._registry = ConnectionRegistry("origin")  # connection threads and sockets
        self.started_at: float | None = None

    # --- lifecycle --------------------------------------------------------------------
    def make_server(self) -> OriginHTTPServer:
        """The listening server (a subclass may wrap its socket, e.g. in TLS)."""
        return OriginHTTPServer(self)

    def start(self) -> ThrottledOrigin:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = self.make_server()
        self.started_at = time.monotonic()
        if self._trace_pending:
            self._trace_t0 = self.started_at
            self._trace_pending = False
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL_S},
            name="origin-serve",
            daemon=True,
        )
        self._serve_thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: wake waiting handlers, close every connection, join threads."""
        srv = self._server
        if srv is None:
            return
        self._stopping.set()
        srv.shutdown()
        self._registry.shutdown_connections()
        srv.server_close()
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        if self._serve_thread is not None and self._serve_thread is not threading.current_thread():
            self._serve_thread.join(max(0.0, deadline - time.monotonic()))
        self._registry.join(deadline)
        self._server = None

    def __enter__(self) -> ThrottledOrigin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- public helpers ------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the origin is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url(self, relpath: str = "") -> str:
        """Absolute URL of ``relpath`` (relative to root) on this server."""
        return f"{self.base_url}/{relpath.lstrip('/')}"

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def set_rate_trace(self, trace: list[tuple]) -> None:
        """Schedule ``[(t_s, bps), ...]``; before its first point ``rate_bps`` holds.

        A point may carry a third value, a first-byte delay in seconds that every
        response gets from then on (a server slow to answer), 0 by default."""
        with self._lock:
            self._trace = sorted(trace, key=lambda p: p[0])
            if self._server is None:
                self._trace_pending = True
                self._trace_t0 = None
            else:
                self._trace_t0 = time.monotonic()

    def current_rate_bps(self) -> float | None:
        """The rate in force now (trace point or ``rate_bps``)."""
        rate = self.rate_bps
        if self._trace and self._trace_t0 is not None:
            elapsed = time.monotonic() - self._trace_t0
            for t, bps, *_ in self._trace:
                if t <= elapsed:
                    rate = bps
                else:
                    break
        return rate

    def current_delay_s(self) -> float:
        """The scripted first-byte delay in force now (0 without one)."""
        delay = 0.0
        if self._trace and self._trace_t0 is not None:
            elapsed = time.monotonic() - self._trace_t0
            for t, _bps, *rest in self._trace:
                if t > elapsed:
                    break
                delay = float(rest[0]) if rest else 0.0
        return delay

    # --- used by the handler ------------------------------------------------------------
    def record(self, method: str, path: str, rng: str | None, status: int) -> None:
        self.requests.append((method, path, rng, status))

    def resolve(self, path: str) -> Path | None:
        """The file under ``root`` for a request path, or None (missing or outside root)."""
        rel = urllib.parse.unquote(path).lstrip("/")
        try:
            p = (self.root / rel).resolve()
        except (OSError, ValueError):
            return None
        if not p.is_relative_to(self.root) or not p.is_file():
            return None
        return p

    def wait(self, seconds: float | None) -> None:
        """Sleep ``seconds`` (None = until stop); raise :class:`Aborted` when stopping."""
        if self._stopping.wait(seconds):
            raise Aborted

    def throttle(self, nbytes: int) -> None:
        """Hold the caller until ``nbytes`` fit through the shared bottleneck."""
        rate = self.current_rate_bps()
        if not rate or rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._link_free_at)
            self._link_free_at = start + nbytes * 8 / rate
            due = self._link_free_at
        delay = due - time.monotonic()
        if delay > 0:
            self.wait(delay)
