"""Measure what one delay line sustains: ``python -m tests.testbed.line_capacity`` (root).

Builds ``client - gw -(delay line)- far - origin`` once per rate cap (a tbf on far's TAP,
or none), runs one cubic flow origin -> client for ``--seconds`` and prints per cap: the
flow's rate, how late the forwarder released frames (count over 2 / 5 ms and the worst),
and the forwarder's CPU (share of one core). Run it alone: it loads the box on purpose.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass

from .measure import bulk, ping
from .topology import Link, Node, Topology

log = logging.getLogger(__name__)

DEFAULT_CAPS = "20mbit,50mbit,100mbit,none"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class CapacityResult:
    cap: str
    mbps: float
    frames_per_s: float  # both directions
    late_over_2ms_pct: float
    late_over_5ms_pct: float
    late_max_ms: float
    cpu_pct: float  # of one core
    rtt_loaded_ms: float | None


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def measure_cap(cap: str | None, delay_ms: float, seconds: float) -> CapacityResult:
    nodes = [
        Node("client", router=False),
        Node("gw"),
        Node("far"),
        Node("origin", router=False),
    ]
    links = [
        Link("client", "gw"),
        Link("gw", "far", delay_ms=delay_ms, rate=cap),
        Link("far", "origin"),
    ]
    t = Topology(nodes, links, client="client")
    with t:
        line = t.delay_lines[("gw", "far")]
        assert line.pid is not None
        ping(t, "client", t.addr("origin"), count=1)
        with bulk(t, "origin", "client", seconds=seconds + 10) as b:
            if not b.wait_flowing():
                raise RuntimeError("no data through the line")
            cpu0 = _cpu_s(line.pid)
            loaded = ping(t, "client", t.addr("origin"), count=int(seconds / 0.2), interval_s=0.2)
            cpu1 = _cpu_s(line.pid)
        stats = line.stop()
    frames = sum(d["frames"] for d in stats.values()) or 1
    return CapacityResult(
        cap or "none",
        b.result.get("mbps", 0.0),
        frames / max(b.result.get("seconds", 0.0), 1e-3),
        100.0 * sum(d["late_over_2ms"] for d in stats.values()) / frames,
        100.0 * sum(d["late_over_5ms"] for d in stats.values()) / frames,
        max(d["late_max_ms"] for d in stats.values()),
        100.0 * (cpu1 - cpu0) / seconds,
        loaded.median_ms,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--caps", default=DEFAULT_CAPS, help="comma-separated tbf rates or none")
    p.add_argument("--delay-ms", type=float, default=20.0)
    p.add_argument("--seconds", type=float, default=6.0)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(f"{'cap':>8} {'Mbit/s':>7} {'frames/s':>9} {'>2ms%':>6} {'>5ms%':>6} "
          f"{'worst ms':>8} {'cpu%':>5} {'loaded RTT ms':>13}")  # fmt: skip
    for cap in a.caps.split(","):
        r = measure_cap(None if cap == "none" else cap, a.delay_ms, a.seconds)
        print(
            f"{r.cap:>8} {r.mbps:7.1f} {r.frames_per_s:9.0f} {r.late_over_2ms_pct:6.1f} "
            f"{r.late_over_5ms_pct:6.1f} {r.late_max_ms:8.1f} {r.cpu_pct:5.0f} "
            f"{r.rtt_loaded_ms or 0:13.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
