"""HLS origin for the namespace testbed (run it inside the server's namespace).

``python stream_server.py DIR [--port P] [--cc cubic|bbr] [--delay-ms N] [--rate-kbit R]``

* serves the files under ``DIR`` (GET and HEAD), HTTP/1.1 keep-alive, single ``Range``
  requests (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) with 206 / 416 answers;
* sets ``TCP_CONGESTION`` on the listening socket (inherited by every accepted
  connection): the host default is bbr, a test that needs a loss-based sender says cubic;
* application-level slowness for "the server application is slow": ``--delay-ms`` holds
  the first byte of every matching request back (a slow origin / cache miss), and
  ``--rate-kbit`` paces each matching response body in user space (a CPU-starved
  application), both only for paths matching ``--slow-glob`` (default: media segments,
  so playlists stay prompt);
* prints ``ready`` once listening; stops cleanly on SIGTERM / SIGINT (and by itself after
  ``--max-seconds``), so a forgotten process cannot run for ever.

Only the standard library: the server namespace has nothing else to offer.
"""

from __future__ import annotations

import argparse
import fnmatch
import logging
import mimetypes
import os
import signal
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHUNK = 16 * 1024
PACE_CHUNK = 4 * 1024
DEFAULT_MAX_SECONDS = 900.0
TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".mpd": "application/dash+xml",
}

log = logging.getLogger("stream_server")


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """``(first, last)`` inclusive for a single byte range, None when unsatisfiable.

    Raises ValueError for a header that is not a single ``bytes=`` range (the caller then
    ignores it and sends the whole file, as RFC 9110 allows).
    """
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        raise ValueError(value)
    first_s, sep, last_s = spec.strip().partition("-")
    if not sep:
        raise ValueError(value)
    if first_s == "":
        n = int(last_s)
        if n <= 0 or size == 0:
            return None
        return max(0, size - n), size - 1
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    if first >= size or last < first:
        return None
    return first, min(last, size - 1)


class Config:
    def __init__(self, root: Path, delay_ms: float, rate_kbit: float, slow_glob: str) -> None:
        self.root = root.resolve()
        self.delay_s = max(0.0, delay_ms) / 1000.0
        self.rate_bps = max(0.0, rate_kbit) * 1000.0
        self.slow_globs = [g for g in slow_glob.split(",") if g]
        self.stop = threading.Event()
        self.requests = 0

    def slow(self, path: str) -> bool:
        name = path.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(path, g) for g in self.slow_globs)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stallwatch-testbed/1"
    cfg: Config  # set on the subclass made by serve()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._serve(head=True)

    def _file(self) -> Path | None:
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        p = (self.cfg.root / rel).resolve()
        if p != self.cfg.root and self.cfg.root not in p.parents:
            return None
        return p if p.is_file() else None

    def _serve(self, head: bool) -> None:
        self.cfg.requests += 1
        p = self._file()
        if p is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        slow = self.cfg.slow(urlsplit(self.path).path)
        size = p.stat().st_size
        first, last = 0, size - 1
        status = HTTPStatus.OK
        rng = self.headers.get("Range")
        if rng:
            try:
                r = parse_range(rng, size)
            except ValueError:
                r = (0, size - 1)  # malformed or multi-range: whole file
            else:
                if r is None:
                    self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = HTTPStatus.PARTIAL_CONTENT
            first, last = r
        if slow and self.cfg.delay_s and self.cfg.stop.wait(self.cfg.delay_s):
            self.close_connection = True
            return
        length = max(0, last - first + 1)
        self.send_response(status)
        ctype = TYPES.get(p.suffix) or mimetypes.guess_type(p.name)[0]
        self.send_header("Content-Type", ctype or "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-cache")
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()
        if head or length == 0:
            return
        rate = self.cfg.rate_bps if slow else 0.0
        try:
            with p.open("rb") as f:
                f.seek(first)
                self._send_body(f, length, rate)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def _send_body(self, f: object, length: int, rate_bps: float) -> None:
        t0 = time.monotonic()
        sent = 0
        chunk = PACE_CHUNK if rate_bps else CHUNK
        while sent < length:
            if self.cfg.stop.is_set():
                self.close_connection = True
                return
            data = f.read(min(chunk, length - sent))  # type: ignore[attr-defined]
            if not data:
                break
            if rate_bps:
                due = t0 + (sent * 8) / rate_bps
                wait = due - time.monotonic()
                if wait > 0 and self.cfg.stop.wait(wait):
                    self.close_connection = True
                    return
            self.wfile.write(data)
            sent += len(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s " + format, self.client_address[0], *args)


def serve(
    root: Path,
    *,
    bind: str = "0.0.0.0",
    port: int = 8080,
    cc: str | None = None,
    delay_ms: float = 0.0,
    rate_kbit: float = 0.0,
    slow_glob: str = "*.ts,*.m4s,*.mp4",
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> int:
    cfg = Config(root, delay_ms, rate_kbit, slow_glob)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def server_bind(self) -> None:
            if cc:
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
            super().server_bind()

        def handle_error(self, request: object, client_address: object) -> None:
            # TCP connect probes reset their connections at once: not an error here.
            log.debug("connection from %s ended early", client_address)

    handler = type("BoundHandler", (Handler,), {"cfg": cfg})
    srv = Server((bind, port), handler)
    got = srv.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16)
    cc_now = got.split(b"\0", 1)[0].decode()

    def _stop(*_a: object) -> None:
        if not cfg.stop.is_set():
            cfg.stop.set()
            threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    timer = threading.Timer(max_seconds, _stop)
    timer.daemon = True
    timer.start()
    print(f"ready cc={cc_now} pid={os.getpid()}", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        timer.cancel()
        srv.server_close()
    log.info("stopped after %d requests", cfg.requests)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("root", type=Path, help="directory to serve")
    p.add_argument("--bind", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--cc", default=None, help="TCP congestion control (cubic, bbr, ...)")
    p.add_argument("--delay-ms", type=float, default=0.0, help="first-byte delay per request")
    p.add_argument("--rate-kbit", type=float, default=0.0, help="app-level pacing per response")
    p.add_argument("--slow-glob", default="*.ts,*.m4s,*.mp4",
                   help="comma-separated globs of the paths that are slow")
    p.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS)
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.WARNING, stream=sys.stderr)
    if not a.root.is_dir():
        p.error(f"{a.root} is not a directory")
    return serve(a.root, bind=a.bind, port=a.port, cc=a.cc, delay_ms=a.delay_ms,
                 rate_kbit=a.rate_kbit, slow_glob=a.slow_glob, max_seconds=a.max_seconds)


if __name__ == "__main__":
    sys.exit(main())
