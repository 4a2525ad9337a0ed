"""Runs inside the client namespace of tests/net_path/test_paris_ecmp_netns.py and prints
one JSON line: probe rounds (classic or Paris) or a session (discovery, Paris rounds and a
HopProber). Not a test module."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

from player.net.path import engine, flows
from player.net.path.discovery import discover_path
from player.net.path.prober import HopProber
from player.net.path.sockets import UDP_BASE_PORT, UDP_FLOW_PORT, ProbeSpec

ROUND_TIMEOUT_S = 5.0  # per probe: answers inside the namespaces take well under 1 ms
PROBER_INTERVAL_S = 0.1
PROBER_TIMEOUT_S = 2.0  # clipped by the prober to 0.9 x the interval
WAIT_S = 60.0  # ends a hang only
MIN_RTT_SAMPLES = 5


def _addresses(replies: dict[int, object]) -> dict[str, str | None]:
    return {str(k): (r.address if r.answered else None) for k, r in replies.items()}  # type: ignore[attr-defined]


def classic_rounds(a: argparse.Namespace) -> dict:
    """The old probes: a socket (a source port) per probe and a destination port per TTL.
    Rounds until TTL ``a.ttl`` was answered by both branch routers and one round's two
    TTLs came from different branches (or ``a.max_rounds``)."""
    branch_of = {}
    for i, group in enumerate(a.branches.split(";")):
        for addr in group.split(","):
            branch_of[addr] = i
    ttls = [int(t) for t in a.ttls.split(",")]
    rounds = []
    for _ in range(a.max_rounds):
        specs = [ProbeSpec(t, "udp", a.host, UDP_BASE_PORT + t, t) for t in ttls]
        rounds.append(_addresses(engine.run_probes(specs, ROUND_TIMEOUT_S)))
        at_ttl = {branch_of.get(r[str(ttls[0])]) for r in rounds} - {None}
        split = any(len({branch_of.get(r[str(t)]) for t in ttls} - {None}) > 1 for r in rounds)
        if len(at_ttl) > 1 and split:
            break
    return {"rounds": rounds}


def paris_rounds(method: str, host: str, ttls: list[int], count: int, tcp_port: int) -> list[dict]:
    port = {"udp": UDP_FLOW_PORT, "tcp": tcp_port}.get(method, 0)
    rounds = []
    for _ in range(count):
        specs = [ProbeSpec(t, method, host, port, t, flow=host) for t in ttls]
        rounds.append(_addresses(engine.run_probes(specs, ROUND_TIMEOUT_S)))
    return rounds


def session(a: argparse.Namespace) -> dict:
    """Discovery, Paris rounds by discovery's method (and by UDP), then a HopProber by
    discovery's method."""
    methods = tuple(a.methods.split(","))
    res = discover_path(
        a.host, a.port, methods=methods, resolver=lambda _addr: None, classify=False
    )
    hops = [h.address for h in res.hops]
    ttls = list(range(1, len(res.hops) + 1))
    out: dict = {
        "uid": os.getuid(),
        "method": res.method,
        "reason": res.reason,
        "reached": res.reached,
        "hops": hops,
    }
    for method in {res.method, "udp"} - {"none"}:
        out[f"{method}_rounds"] = paris_rounds(method, res.address, ttls, a.rounds, a.port)
    prober = HopProber(  # by discovery's method, as the path monitor does
        res.address,
        port=a.port,
        method=res.method if res.method != "none" else "auto",
        interval_s=PROBER_INTERVAL_S,
        timeout_s=PROBER_TIMEOUT_S,
        server_tcp=False,
    )
    prober.start(res.hops)
    deadline = time.monotonic() + WAIT_S
    try:
        while time.monotonic() < deadline:
            counts = {h: st.idle.count for h, st in prober.stats().items()}
            if counts and min(counts.values()) >= MIN_RTT_SAMPLES:
                break
            time.sleep(PROBER_INTERVAL_S)
    finally:
        prober.stop()
    out["prober"] = {
        "method": prober.method,
        "rounds": prober.rounds,
        "rtt_samples": {str(h): st.idle.count for h, st in prober.stats().items()},
        "foreign_answers": prober.foreign_answers,
        "route_changed": prober.route_changed,
    }
    out["flows"] = [f.describe() for f in flows.flows()]
    out["tcp_flows"] = [
        {"port": f.port, "ttl": f.ttl, "local_port": f.local_port, "sent": f.sent}
        for f in flows.tcp_flows()
    ]
    return out


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("classic")
    c.add_argument("--host", required=True)
    c.add_argument("--ttls", default="2,3")
    c.add_argument("--branches", required=True, help="a1,a2;b1,b2: each branch's routers")
    c.add_argument("--max-rounds", type=int, default=200)
    s = sub.add_parser("session")
    s.add_argument("--host", required=True)
    s.add_argument("--rounds", type=int, default=30)
    s.add_argument("--methods", default="icmp,udp,tcp")
    s.add_argument("--port", type=int, default=9, help="TCP probes' port (closed: RST)")
    a = p.parse_args(argv)
    out = classic_rounds(a) if a.cmd == "classic" else session(a)
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
