"""Measurements across a testbed: ping RTTs, TTL-limited probes and a bulk TCP transfer.

``python measure.py recv --port P`` (run inside a namespace) accepts one TCP connection,
prints ``ready`` once listening, ``flowing`` once ``--flowing-bytes`` arrived, and at EOF a
JSON line with the bytes received and the rate between the first and the last byte. The
sender is ``agent.py send``. This file is run as a script, so it prints its results.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .topology import Topology

CHUNK = 64 * 1024
#: Bytes after which the receiver says "flowing": 1 MB is past slow start at 5-50 Mbit/s
#: and 40-100 ms RTT (~10 round trips), so the bottleneck queue has begun to fill.
FLOWING_BYTES = 1 << 20
READY_TIMEOUT_S = 15.0
HERE = Path(__file__).resolve().parent
_TIME_RE = re.compile(r"time=([\d.]+) ms")
_FROM_RE = re.compile(r"^From (\S+)(?: \S+)? icmp_seq=\d+ (.*)$", re.M)


@dataclass
class PingResult:
    rtts_ms: list[float] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (from address, message)
    output: str = ""

    @property
    def min_ms(self) -> float | None:
        return min(self.rtts_ms) if self.rtts_ms else None

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.rtts_ms) if self.rtts_ms else None


def ping_argv(
    addr: str, count: int, interval_s: float = 0.2, ttl: int | None = None, wait_s: float = 2.0
) -> list[str]:
    argv = ["ping", "-n", "-c", str(count), "-i", str(interval_s), "-W", str(wait_s)]
    if ttl is not None:
        argv += ["-t", str(ttl)]
    return [*argv, addr]


def parse_ping(out: str) -> PingResult:
    return PingResult(
        [float(m) for m in _TIME_RE.findall(out)],
        [(m.group(1), m.group(2).strip()) for m in _FROM_RE.finditer(out)],
        out,
    )


def ping(
    topo: Topology,
    node: str,
    addr: str,
    count: int = 5,
    interval_s: float = 0.2,
    ttl: int | None = None,
) -> PingResult:
    """Ping ``addr`` from ``node`` (non-zero exit is fine: TTL probes "fail")."""
    argv = ping_argv(addr, count, interval_s, ttl)
    cp = topo.exec_in(node, argv, timeout=count * interval_s + 30, check=False)
    return parse_ping(cp.stdout)


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    import select

    assert proc.stdout is not None
    ready = select.select([proc.stdout], [], [], timeout)[0]
    return proc.stdout.readline().strip() if ready else ""


@dataclass
class Bulk:
    """A running bulk transfer; ``result`` is filled when it ends."""

    receiver: subprocess.Popen[str]
    sender: subprocess.Popen[str] | None = None
    result: dict[str, Any] = field(default_factory=dict)

    def wait_flowing(self, timeout: float = READY_TIMEOUT_S) -> bool:
        return _readline(self.receiver, timeout) == "flowing"


@contextmanager
def bulk(
    topo: Topology,
    sender: str,
    receiver: str,
    *,
    seconds: float = 30.0,
    port: int = 5201,
    cc: str | None = "cubic",
    flowing_bytes: int = FLOWING_BYTES,
) -> Iterator[Bulk]:
    """Bulk TCP from ``sender`` to ``receiver`` for at most ``seconds``; the transfer ends
    when the block ends (its rate in ``Bulk.result``: bytes, seconds, mbps)."""
    from .harness import _env, agent_argv

    rx = topo.run_in(
        receiver,
        [sys.executable, str(HERE / "measure.py"), "recv", "--port", str(port),
         "--max-seconds", str(seconds + 15), "--flowing-bytes", str(flowing_bytes)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env(),
    )  # fmt: skip
    b = Bulk(rx)
    try:
        if _readline(rx, READY_TIMEOUT_S) != "ready":
            raise RuntimeError(f"receiver in {receiver} did not become ready")
        to = topo.addr(receiver, topo.path(receiver, sender)[1])
        args = ["send", "--to", to, "--port", str(port), "--seconds", str(seconds)]
        if cc:
            args += ["--cc", cc]
        b.sender = topo.run_in(
            sender, agent_argv(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=_env(),
        )  # fmt: skip
        yield b
    finally:
        if b.sender is not None:
            topo.stop(b.sender)  # the sender's exit closes the connection: EOF at rx
        line = ""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            line = _readline(rx, max(0.0, deadline - time.monotonic()))
            if line.startswith("{") or (not line and rx.poll() is not None):
                break
        if line.startswith("{"):
            b.result = json.loads(line)
        topo.stop(rx)


# --- the receiver (runs inside a namespace) --------------------------------------------
def cmd_recv(a: argparse.Namespace) -> int:
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(1)
    ls.settimeout(a.max_seconds)
    print("ready", flush=True)
    c, _ = ls.accept()
    c.settimeout(5.0)
    deadline = time.monotonic() + a.max_seconds
    n, first, last, said = 0, 0.0, 0.0, False
    try:
        while time.monotonic() < deadline:
            data = c.recv(CHUNK)
            if not data:
                break
            last = time.monotonic()
            if not n:
                first = last
            n += len(data)
            if not said and n >= a.flowing_bytes:
                print("flowing", flush=True)
                said = True
    except OSError:
        pass
    secs = last - first
    print(
        json.dumps({"bytes": n, "seconds": secs, "mbps": n * 8 / secs / 1e6 if secs else 0.0}),
        flush=True,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--port", type=int, default=5201)
    r.add_argument("--flowing-bytes", type=int, default=FLOWING_BYTES)
    r.add_argument("--max-seconds", type=float, default=60.0)
    a = p.parse_args(argv)
    return {"recv": cmd_recv}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
