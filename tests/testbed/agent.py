"""Small programs the testbed starts inside namespaces (``python agent.py COMMAND ...``).

Commands:

``serve``     HTTP server: ``GET /bytes/<n>`` streams n bytes (``--cc cubic`` sets the
              congestion control of the listening socket, inherited by every connection).
``sink``      TCP sink: accepts connections and discards what arrives.
``send``      bulk TCP sender to a sink for ``--seconds`` (optionally cubic).
``discover``  path discovery with ``player.net.path.discovery``; prints the result as JSON.
``probe``     discovery, then per-hop probing while idle and while downloading from
              ``--url``; prints path, per-hop idle/loaded statistics and byte counts as JSON.

Every command stops by itself (``--seconds`` / ``--max-seconds``), so a forgotten process
cannot run for ever. This file is run as a script, so it prints its results.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from player.net.path.discovery import PathResult

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CHUNK = 64 * 1024
MAX_BYTES = 1 << 34
DEFAULT_MAX_SECONDS = 120.0
ZEROS = bytes(CHUNK)


def _set_cc(sock: socket.socket, cc: str | None) -> None:
    if cc:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())


class _BytesHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "bytes" or not parts[1].isdigit():
            self.send_error(404)
            return
        n = min(int(parts[1]), MAX_BYTES)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        try:
            while n > 0:
                k = min(n, CHUNK)
                self.wfile.write(ZEROS[:k])
                n -= k
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        logging.debug("http: " + format, *args)


def cmd_serve(a: argparse.Namespace) -> int:
    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def server_bind(self) -> None:
            _set_cc(self.socket, a.cc)
            super().server_bind()

        def handle_error(self, request: object, client_address: object) -> None:
            # TCP connect probes reset their connections at once: not an error here.
            logging.debug("connection from %s ended early", client_address)

    srv = Server((a.bind, a.port), _BytesHandler)
    threading.Timer(a.max_seconds, srv.shutdown).start()
    print("ready", flush=True)
    srv.serve_forever(poll_interval=0.2)
    return 0


def cmd_sink(a: argparse.Namespace) -> int:
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.bind, a.port))
    ls.listen(16)
    ls.settimeout(0.5)
    deadline = time.monotonic() + a.max_seconds

    def drain(c: socket.socket) -> None:
        with c:
            c.settimeout(1.0)
            while time.monotonic() < deadline:
                try:
                    if not c.recv(CHUNK):
                        return
                except TimeoutError:
                    continue
                except OSError:
                    return

    print("ready", flush=True)
    while time.monotonic() < deadline:
        try:
            c, _ = ls.accept()
        except TimeoutError:
            continue
        threading.Thread(target=drain, args=(c,), daemon=True).start()
    return 0


def cmd_send(a: argparse.Namespace) -> int:
    s = socket.socket()
    _set_cc(s, a.cc)
    s.settimeout(5.0)
    s.connect((a.to, a.port))
    end = time.monotonic() + a.seconds
    sent = 0
    print("ready", flush=True)
    try:
        while time.monotonic() < end:
            sent += s.send(ZEROS)
    except OSError:
        pass
    finally:
        s.close()
    print(json.dumps({"sent": sent}), flush=True)
    return 0


def path_json(res: PathResult) -> dict:
    """A discovered path as JSON, its hops in the ``diagnose --json`` shape."""
    from player.report import hop_json

    return {
        "host": res.host,
        "address": res.address,
        "port": res.port,
        "method": res.method,
        "reason": res.reason,
        "reached": res.reached,
        "probe_bytes": res.probe_bytes,
        "hops": [hop_json(h) for h in res.hops],
    }


def cmd_discover(a: argparse.Namespace) -> int:
    from player.net.path.discovery import discover_path
    from player.net.path.naming import OrgNamer
    from player.net.path.routes import default_gateway

    namer = OrgNamer(overrides=json.loads(a.overrides) if a.overrides else None)
    res = discover_path(
        a.host,
        a.port,
        methods=tuple(a.methods.split(",")),
        timeout_s=a.timeout,
        attempts=a.attempts,
        max_hops=a.max_hops,
        namer=namer,
    )
    out = path_json(res)
    out["uid"] = __import__("os").getuid()
    out["gateway"] = default_gateway(res.address)
    print(json.dumps(out), flush=True)
    return 0


def cmd_probe(a: argparse.Namespace) -> int:
    import requests

    from player.net.path.discovery import discover_path
    from player.net.path.prober import HopProber

    res = discover_path(a.host, a.port, timeout_s=a.timeout, attempts=a.attempts)
    loading = threading.Event()
    prober = HopProber(
        res.address,
        port=a.port,
        method=a.method,
        interval_s=a.interval,
        timeout_s=a.probe_timeout,
        is_loaded=loading.is_set,
    )
    prober.start(res.hops)
    t0 = time.monotonic()
    time.sleep(a.idle_s)
    downloaded = 0
    if a.load_s > 0 and a.url:
        loading.set()
        end = time.monotonic() + a.load_s
        with requests.get(a.url, stream=True, timeout=10) as r:
            for chunk in r.iter_content(CHUNK):
                downloaded += len(chunk)
                if time.monotonic() >= end:
                    break
        loading.clear()
    stop_t = time.monotonic()
    prober.stop()
    stop_took = time.monotonic() - stop_t
    stats = prober.stats(since=t0)
    out = {
        "path": path_json(res),
        "method": prober.method,
        "stats": {str(k): v.to_json() for k, v in stats.items()},
        "probe_bytes": prober.probe_bytes,
        "downloaded": downloaded,
        "rounds": prober.rounds,
        "stop_s": stop_took,
    }
    print(json.dumps(out), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--bind", default="0.0.0.0")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--cc", default=None)
    s.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS)
    s = sub.add_parser("sink")
    s.add_argument("--bind", default="0.0.0.0")
    s.add_argument("--port", type=int, default=5001)
    s.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS)
    s = sub.add_parser("send")
    s.add_argument("--to", required=True)
    s.add_argument("--port", type=int, default=5001)
    s.add_argument("--seconds", type=float, default=10.0)
    s.add_argument("--cc", default=None)
    for name in ("discover", "probe"):
        s = sub.add_parser(name)
        s.add_argument("--host", required=True)
        s.add_argument("--port", type=int, default=8080)
        s.add_argument("--timeout", type=float, default=0.5)
        s.add_argument("--attempts", type=int, default=2)
    d = sub.choices["discover"]
    d.add_argument("--methods", default="icmp,udp,tcp")
    d.add_argument("--max-hops", type=int, default=16)
    d.add_argument("--overrides", default=None, help="JSON mapping domain/prefix -> name")
    q = sub.choices["probe"]
    q.add_argument("--method", default="auto")
    q.add_argument("--interval", type=float, default=0.25)
    q.add_argument("--probe-timeout", type=float, default=0.2)
    q.add_argument("--idle-s", type=float, default=3.0)
    q.add_argument("--load-s", type=float, default=6.0)
    q.add_argument("--url", default=None)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.WARNING, stream=sys.stderr)
    return {
        "serve": cmd_serve,
        "sink": cmd_sink,
        "send": cmd_send,
        "discover": cmd_discover,
        "probe": cmd_probe,
    }[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
