"""Runs in the client namespace of tests/testbed/test_late_answers_netem.py and prints one
JSON line: a HopProber's samples while our own bulk download keeps a deep queue (seconds)
on the access link, and a path discovery made under that load. Not a test module.

Steps: discovery while idle; a HopProber (discovery's method, or ``--method``) until every
hop has idle RTTs; a bulk download (``GET /bytes/<n>`` from the server namespace's HTTP
server); once every hop behind the home router has ``--need`` loaded samples answered
more than ``--deep-ms`` after they were sent (the queue is deep), the loaded samples sent
from the first such round until then (``cut``) are judged, after every late answer to
them had time to come (two rounds starting ``SETTLE_S`` after the cut: a
round reads the flow before it sends); then a discovery under the same load.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from player.core.model import ProbeSample  # noqa: E402
from player.core.stats import median  # noqa: E402
from player.net.path import flows  # noqa: E402
from player.net.path.discovery import discover_path  # noqa: E402
from player.net.path.prober import HopProber  # noqa: E402

WAIT_S = 90.0  # ends a hang only
# Longer than the deepest queue of the test (the tbf's bound, 2 s) plus the answer's own
# path and a busy Python thread: an answer to a probe sent before the cut has come by then.
SETTLE_S = 3.5
CHUNK = 64 * 1024
IDLE_SAMPLES = 3
log = logging.getLogger("late_agent")


def _download(host: str, port: int, stop: threading.Event, got: list[int]) -> None:
    with socket.create_connection((host, port), timeout=30.0) as s:
        s.sendall(f"GET /bytes/{1 << 34} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        while not stop.is_set():
            data = s.recv(CHUNK)
            if not data:
                return
            got[0] += len(data)


def _wait(cond, what: str) -> bool:  # noqa: ANN001 - zero-argument predicate
    deadline = time.monotonic() + WAIT_S
    while not cond():
        if time.monotonic() > deadline:
            log.warning("gave up waiting for %s", what)
            return False
        time.sleep(0.05)
    return True


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--method", default="auto")
    p.add_argument("--interval", type=float, default=0.5)
    p.add_argument("--probe-timeout", type=float, default=0.45)
    p.add_argument("--discovery-timeout", type=float, default=1.0)
    p.add_argument("--need", type=int, default=6)
    p.add_argument("--deep-ms", type=float, default=1000.0)
    a = p.parse_args(argv)

    idle_path = discover_path(a.host, a.port, resolver=lambda _a: None, classify=False)
    loading = threading.Event()
    prober = HopProber(
        idle_path.address,
        method=idle_path.method if a.method == "auto" else a.method,
        interval_s=a.interval,
        timeout_s=a.probe_timeout,
        is_loaded=loading.is_set,
        server_tcp=False,
    )
    timeout_ms = prober.timeout_s * 1000.0
    hops = [h.hop for h in idle_path.hops if h.address]
    behind = [h for h in hops if h > 1]
    stop = threading.Event()
    got = [0]
    out: dict = {"uid": os.getuid(), "idle_path": [h.address for h in idle_path.hops]}
    prober.start(idle_path.hops)
    try:
        _wait(lambda: all(prober.baseline(h).count >= IDLE_SAMPLES for h in hops), "idle samples")
        loading.set()
        dl = threading.Thread(target=_download, args=(a.host, a.port, stop, got), daemon=True)
        dl.start()

        def deep(s: ProbeSample) -> bool:
            return s.loaded and s.hop in behind and (s.rtt_ms or 0.0) > a.deep_ms

        def late_enough() -> bool:
            return all(sum(1 for s in prober.samples(hop=h) if deep(s)) >= a.need for h in behind)

        out["queue_seen"] = _wait(late_enough, "late samples")
        cut = time.monotonic()
        _wait(
            lambda: len({s.at for s in prober.samples() if s.at >= cut + SETTLE_S}) >= 2,
            "rounds after the cut",
        )
        deep_from = min(s.at for s in prober.samples() if deep(s))
        judged = [s for s in prober.samples() if s.loaded and deep_from <= s.at <= cut]
        start = time.monotonic()
        loaded_path = discover_path(
            a.host,
            a.port,
            methods=(idle_path.method,),
            timeout_s=a.discovery_timeout,
            resolver=lambda _a: None,
            classify=False,
        )
        out["loaded_path"] = [h.address for h in loaded_path.hops]
        out["loaded_path_reached"] = loaded_path.reached
        out["loaded_path_late_hops"] = loaded_path.late_hops
        out["loaded_path_s"] = time.monotonic() - start
    finally:
        stop.set()
        loading.clear()
        prober.stop()
    out["method"] = prober.method
    out["timeout_ms"] = timeout_ms
    out["late_samples"] = prober.late_samples
    out["downloaded"] = got[0]
    out["late_answers"] = sum(f.late_answers for f in flows.flows())
    out["hops"] = {}
    for h in hops:
        mine = [s for s in judged if s.hop == h]
        rtts = [s.rtt_ms for s in mine if s.rtt_ms is not None]
        out["hops"][str(h)] = {
            "sent": len(mine),
            "answered": len(rtts),
            "late": sum(1 for r in rtts if r > timeout_ms),
            "median_ms": median(rtts),
            "min_ms": min(rtts, default=None),
            "max_ms": max(rtts, default=None),
            "idle_median_ms": prober.baseline(h).median_ms,
        }
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
