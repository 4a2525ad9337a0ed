"""A real loopback HTTP/1.1 origin server with bandwidth shaping and faults.

The built-in demo (player/demo.py) serves its stream with it, using a rate trace as
its scripted slowdown; the tests use it as the origin of every HTTP scenario.

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
                     (``None`` = until :meth:`OriginServer.stop`); ``times`` default 1.
``cut``              after ``after_bytes`` body bytes close the TCP connection; ``times`` default 1.
``slow_first_byte``  wait ``seconds`` before sending the response head; ``times`` default ``None``.

Bandwidth: ``rate_bps`` (bits/s, ``None`` = unthrottled) is shared by all connections
(one virtual bottleneck link), applied in :data:`CHUNK` byte steps. ``set_rate_trace``
overrides it with a schedule ``[(t_s, bps), ...]`` measured from the later of
:meth:`start` and the call.
"""

from __future__ import annotations

import fnmatch
import logging
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from player.net.loopback_http import ConnectionRegistry, LoopbackHTTPServer

log = logging.getLogger(__name__)

CHUNK = 8 * 1024  # bytes written per step (and per throttle slot)
POLL_INTERVAL_S = 0.05  # serve_forever poll: bounds stop() latency
JOIN_TIMEOUT_S = 1.0  # per stop(), for all connection threads together
IDLE_TIMEOUT_S = 30.0  # keep-alive connections idle longer than this are closed
HANDSHAKE_TIMEOUT_S = 5.0
OPENSSL_TIMEOUT_S = 30.0

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

DEFAULT_TIMES = {"status": None, "pause": 1, "cut": 1, "slow_first_byte": None}


@dataclass
class Fault:
    """One injected fault (see module doc)."""

    pattern: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    remaining: int | None = None  # None = unlimited

    def take(self) -> bool:
        """Consume one use; False when exhausted (caller holds the server lock)."""
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


class _Aborted(Exception):
    """The server is stopping, or a fault cut the connection."""


class _Server(LoopbackHTTPServer):
    def __init__(self, owner: OriginServer) -> None:
        self.owner = owner
        super().__init__(_Handler, owner._registry, "origin")
        if owner.ssl_context is not None:
            # handshake later, in the connection's own thread (see _Handler.setup)
            self.socket = owner.ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = IDLE_TIMEOUT_S
    disable_nagle_algorithm = True  # headers and body go out without a 40 ms delay

    # --- plumbing -------------------------------------------------------------------
    def setup(self) -> None:
        self.server.registry.opened(self.request)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(HANDSHAKE_TIMEOUT_S)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.registry.closed(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, _Aborted):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        log.debug("origin %s - " + format, self.address_string(), *args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self._serve(head=True)

    # --- serving --------------------------------------------------------------------
    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        path = urllib.parse.urlsplit(self.path).path
        rng = self.headers.get("Range")

        slow = owner._match(path, "slow_first_byte")
        if slow is not None:
            owner._wait(slow.params.get("seconds", 1.0))
        scripted_delay = owner.current_delay_s()
        if scripted_delay > 0:
            owner._wait(scripted_delay)  # an overloaded server: slow to answer

        status_fault = owner._match(path, "status")
        if status_fault is not None:
            code = int(status_fault.params.get("code", 404))
            self._send_simple(code, path, rng, head)
            return

        file = owner._resolve(path)
        if file is None:
            self._send_simple(404, path, rng, head)
            return
        data = file.read_bytes()
        size = len(data)
        start, end = 0, size - 1
        status = 200
        if rng:
            parsed = _parse_range(rng, size)
            if parsed == "unsatisfiable":
                owner._record(self.command, self.path, rng, 416)
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if parsed is not None:
                start, end = parsed
                status = 206
        body = data[start : end + 1]
        owner._record(self.command, self.path, rng, status)
        self.send_response(status)
        self.send_header("Content-Type", _content_type(file))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            return
        pause = owner._match(path, "pause", consume=False)
        cut = owner._match(path, "cut", consume=False)
        self._send_body(body, pause, cut)

    def _send_simple(self, code: int, path: str, rng: str | None, head: bool) -> None:
        self.server.owner._record(self.command, self.path, rng, code)
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

    def _send_body(self, body: bytes, pause: Fault | None, cut: Fault | None) -> None:
        """Write ``body`` in throttled chunks, applying a pause and/or a cut at their offsets."""
        owner = self.server.owner
        pause_at = int(pause.params.get("after_bytes", 0)) if pause else None
        pause_s = pause.params.get("seconds") if pause else None
        cut_at = int(cut.params.get("after_bytes", 0)) if cut else None
        sent = 0
        while sent < len(body):
            if owner._stopping.is_set():
                raise _Aborted
            if pause_at is not None and sent >= pause_at:
                pause_at = None
                if pause is not None and owner._fire(pause):
                    log.debug("origin: pausing %s at byte %d for %s s", self.path, sent, pause_s)
                    owner._wait(pause_s)
                continue
            if cut_at is not None and sent >= cut_at:
                cut_at = None
                if cut is not None and owner._fire(cut):
                    self._cut()
                continue
            limit = min([len(body)] + [m for m in (pause_at, cut_at) if m is not None])
            n = min(CHUNK, limit - sent)
            owner._throttle(n)
            self.wfile.write(body[sent : sent + n])
            sent += n

    def _cut(self) -> None:
        log.debug("origin: cutting connection for %s", self.path)
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _Aborted


def _content_type(file: Path) -> str:
    return CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
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


class OriginServer:
    """Loopback HTTP/1.1 file server with shaping and fault injection (see module doc)."""

    def __init__(self, root: Path | str, ssl_context: ssl.SSLContext | None = None) -> None:
        """Serve files under ``root``; with ``ssl_context`` serve HTTPS instead of HTTP."""
        self.root = Path(root).resolve()
        self.ssl_context = ssl_context
        self.rate_bps: float | None = None
        self.requests: list[tuple[str, str, str | None, int]] = []
        self._faults: list[Fault] = []
        self._trace: list[tuple] = []  # (t_s, bps) or (t_s, bps, first_byte_delay_s)
        self._trace_t0: float | None = None
        self._trace_pending = False
        self._lock = threading.Lock()
        self._link_free_at = 0.0  # virtual clock of the shared bottleneck
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._serve_thread: threading.Thread | None = None
        self._registry = ConnectionRegistry("origin")  # connection threads and sockets
        self.started_at: float | None = None

    # --- lifecycle --------------------------------------------------------------------
    def start(self) -> OriginServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self)
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
        """Stop serving: wake stalled handlers, close every connection, join threads."""
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

    def __enter__(self) -> OriginServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- public helpers ------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("OriginServer is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def url(self, relpath: str = "") -> str:
        """Absolute URL of ``relpath`` (relative to root) on this server."""
        return f"{self.base_url}/{relpath.lstrip('/')}"

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

    # --- internals used by the handler --------------------------------------------------------
    def _record(self, method: str, path: str, rng: str | None, status: int) -> None:
        self.requests.append((method, path, rng, status))

    def _match(self, path: str, kind: str, consume: bool = True) -> Fault | None:
        """The first live fault of ``kind`` for ``path``; ``consume`` uses one of its
        ``times`` now (pause and cut are consumed only when they fire, so a request
        that ends before the fault's offset does not use it up)."""
        with self._lock:
            for f in self._faults:
                if f.kind != kind or not fnmatch.fnmatch(path, f.pattern):
                    continue
                if f.remaining is not None and f.remaining <= 0:
                    continue
                if not consume or f.take():
                    return f
        return None

    def _fire(self, fault: Fault) -> bool:
        """Use one of ``fault``'s times now; False when another request used the last."""
        with self._lock:
            return fault.take()

    def _resolve(self, path: str) -> Path | None:
        rel = urllib.parse.unquote(path).lstrip("/")
        try:
            p = (self.root / rel).resolve()
        except (OSError, ValueError):
            return None
        if not p.is_relative_to(self.root) or not p.is_file():
            return None
        return p

    def _wait(self, seconds: float | None) -> None:
        """Sleep ``seconds`` (None = until stop); raise :class:`_Aborted` when stopping."""
        if self._stopping.wait(seconds):
            raise _Aborted

    def _throttle(self, nbytes: int) -> None:
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
            self._wait(delay)


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
