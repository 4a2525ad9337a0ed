"""Probe bytes vs video bytes over time, for ``bench_attribution.py --trace`` (run in the
testbed's client namespace; not a product module).

``python benchmarks/probe_budget_trace.py http://HOST:PORT/master.m3u8 --seconds 20``
downloads the lowest rendition's segments back to back (as a player does when the link
cannot keep up: exactly when probe bytes are hardest to keep small) while the product's
:class:`~player.net.path.monitor.PathMonitor` probes the path, is credited once a second
with the bytes of finished segments (as the session does) and labels samples loaded while
a download runs. Every ``--every`` seconds it records the session's probe bytes (the
snapshot's, discovery included), the video bytes and the samples per hop; it prints one
JSON object: ``{"points": [[t, probe_bytes, video_bytes, segments], ...], "hops": {hop:
[[t, idle, loaded], ...]}, ...}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urljoin

import requests

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from player.net.path.monitor import PathMonitor, host_port  # noqa: E402

log = logging.getLogger("probe_budget_trace")
CREDIT_EVERY_S = 1.0  # the session credits the budget once a second (DEVICE_EVERY_S)
CHUNK = 16384


def segment_urls(master_url: str, session: requests.Session) -> list[str]:
    """The lowest rendition's segment URLs (the first variant of the master playlist)."""
    master = session.get(master_url, timeout=10).text
    variant = next(ln for ln in master.splitlines() if ln and not ln.startswith("#"))
    variant_url = urljoin(master_url, variant)
    text = session.get(variant_url, timeout=10).text
    return [urljoin(variant_url, ln) for ln in text.splitlines() if ln and not ln.startswith("#")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("url")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--every", type=float, default=0.25)
    a = p.parse_args(argv)
    hp = host_port(a.url)
    if hp is None:
        raise SystemExit("an http(s) URL is needed")
    session = requests.Session()
    session.trust_env = False
    downloading = threading.Event()
    done = {"bytes": 0, "segments": 0}
    stop = threading.Event()
    urls = segment_urls(a.url, session)
    monitor = PathMonitor(hp[0], hp[1], is_loaded=downloading.is_set).start()
    t0 = time.monotonic()

    def fetch() -> None:
        k = 0
        while not stop.is_set():
            downloading.set()
            got = 0
            with session.get(urls[k % len(urls)], stream=True, timeout=30) as r:
                for chunk in r.iter_content(CHUNK):
                    got += len(chunk)
                    if stop.is_set():
                        break
            downloading.clear()
            if stop.is_set():
                break
            done["bytes"] += got
            done["segments"] += 1
            k += 1

    worker = threading.Thread(target=fetch, name="trace-fetch", daemon=True)
    worker.start()
    points: list[list[float]] = []
    hops: dict[int, list[list[float]]] = {}
    last_credit = 0.0
    while (now := time.monotonic() - t0) < a.seconds:
        if now - last_credit >= CREDIT_EVERY_S:
            monitor.fit_budget(done["bytes"])
            last_credit = now
        snap = monitor.snapshot()
        points.append([round(now, 2), snap.probe_bytes, done["bytes"], done["segments"]])
        counts: dict[int, list[int]] = {}
        for s in snap.samples:
            c = counts.setdefault(s.hop, [0, 0])
            c[1 if s.loaded else 0] += 1
        for hop, (idle, loaded) in counts.items():
            hops.setdefault(hop, []).append([round(now, 2), idle, loaded])
        time.sleep(a.every)
    stop.set()
    snap = monitor.snapshot()
    monitor.stop()
    print(json.dumps({
        "points": points,
        "hops": hops,
        "method": snap.method,
        "status": snap.status.value,
        "probed_hops": sorted({s.hop for s in snap.samples}),
        "budget": {"spent": monitor.budget.spent, "limit": monitor.budget.limit,
                   "allowance": monitor.budget.allowance, "refused": monitor.budget.refused},
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main())
