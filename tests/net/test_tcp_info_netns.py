"""The video flow's own TCP signals, read for real through ``Transfer`` in network namespaces.

Two namespaces joined by a veth pair (no loopback): a child process in one fetches with the
real :class:`player.net.fetch.Fetcher` from an HTTP server in the other, whose egress (the
video's downstream direction) is shaped with ``tc``:

- a queue: ``tbf rate 4mbit burst 32kb latency 400ms`` (a cubic sender fills it, so the
  receiver's RTT estimate rises far above the connection's lowest RTT);
- a policer: ``tbf rate 4mbit burst 10kb limit 3000`` (no room to queue: packets are
  dropped, which the receiver sees as out-of-order packets, and the RTT stays low);
- an application-limited server: no qdisc, the server's socket paced by the kernel
  (``SO_MAX_PACING_RATE`` 2 Mbit/s: it sends slowly by itself, without sleeping).

Needs root and ``ip``/``tc`` (CI runs as root); skipped elsewhere, a failure under
STALLWATCH_REQUIRE_FAULTS=1 (tests/faults/sandbox.require_or_skip). The server's
congestion control is set to cubic per socket (the host's default is bbr, which keeps
queues short: DESIGN.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from player.core.attribution.flow import FlowFindings, FlowState, flow_findings, judge
from player.core.attribution.inputs import FetchEvidence, FlowSample
from tests.faults.sandbox import require_or_skip

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60.0  # ends a hang only
PAYLOAD = 400_000  # bytes per fetch: 0.8 s at 4 Mbit/s
FETCHES = 3  # per scenario, on one pooled connection (the rules want 3)
LINK_BPS = 4_000_000  # the shaped link's rate (tbf rate 4mbit)
NEEDED_BPS = 5_000_000  # the bitrate the rules are told the video needs: more than the link
CLIENT_ADDR = "10.78.1.1"
SERVER_ADDR = "10.78.2.2"
ROUTER_DEV = "swti1"  # the router's interface towards the client: the shaped egress
PORT = 8766
PACED_BPS = 2_000_000  # the application-limited server's own rate (bits/s)

SERVER = textwrap.dedent(
    """
    import socket, struct, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    SO_MAX_PACING_RATE = getattr(socket, "SO_MAX_PACING_RATE", 47)
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a):
            pass
        def do_GET(self):
            _, size, paced = self.path.split("/")
            s = self.connection
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
            # 0: unlimited (the socket may be reused by the next scenario's request)
            rate = int(paced) // 8 or 0xFFFFFFFF  # ~0U: no limit
            s.setsockopt(socket.SOL_SOCKET, SO_MAX_PACING_RATE, struct.pack("=I", rate))
            self.send_response(200)
            self.send_header("Content-Length", size)
            self.send_header("Content-Type", "video/mp2t")
            self.end_headers()
            self.wfile.write(b"v" * int(size))
    srv = ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H)
    print("ready", flush=True)
    srv.serve_forever()
    """
)
CLIENT = textwrap.dedent(
    """
    import json, sys
    from dataclasses import asdict
    from player.core.model import FetchKind
    from player.net.fetch import Fetcher
    url, n = sys.argv[1], int(sys.argv[2])
    f = Fetcher(read_timeout=20.0)
    out = []
    for _ in range(n):
        tr = f.open(url, FetchKind.SEGMENT)
        got = sum(len(c) for c in tr.chunks())
        rec = tr.close()
        out.append({"got": got, "bps": rec.throughput_bps, "transfer_ms": rec.transfer_ms,
                    "flow": asdict(rec.flow) if rec.flow else None})
    f.close()
    print(json.dumps(out))
    """
)


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, timeout=TIMEOUT_S)


@pytest.fixture
def three_namespaces() -> Iterator[tuple[str, str, str]]:
    """client -- router -- server; the router's egress to the client is the one shaped
    (a qdisc on the server's own host would push back on its TCP instead of dropping)."""
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("tc") is None:
        require_or_skip("network namespaces need root, iproute2 and tc")
    pid = os.getpid()
    a, r, b = f"swti-a-{pid}", f"swti-r-{pid}", f"swti-b-{pid}"
    try:
        for ns in (a, r, b):
            _run("ip", "netns", "add", ns)
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        _run(
            "ip", "link", "add", "swti0", "netns", a, "type", "veth", "peer", ROUTER_DEV, "netns", r
        )
        _run("ip", "link", "add", "swti2", "netns", r, "type", "veth", "peer", "swti3", "netns", b)
        for ns, dev, addr in (
            (a, "swti0", f"{CLIENT_ADDR}/24"),
            (r, ROUTER_DEV, "10.78.1.254/24"),
            (r, "swti2", "10.78.2.254/24"),
            (b, "swti3", f"{SERVER_ADDR}/24"),
        ):
            _run("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            _run("ip", "-n", ns, "link", "set", dev, "up")
        _run("ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        _run("ip", "-n", a, "route", "add", "default", "via", "10.78.1.254")
        _run("ip", "-n", b, "route", "add", "default", "via", "10.78.2.254")
        yield a, r, b
    finally:
        for ns in (a, r, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=TIMEOUT_S)


def _fetch(client_ns: str, paced_bps: int = 0) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    url = f"http://{SERVER_ADDR}:{PORT}/{PAYLOAD}/{paced_bps}"
    out = subprocess.run(
        ["ip", "netns", "exec", client_ns, sys.executable, "-c", CLIENT, url, str(FETCHES)],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=True,
    )  # fmt: skip
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    assert [r["got"] for r in rows] == [PAYLOAD] * FETCHES
    return rows


def _shape(router_ns: str, *tbf: str) -> None:
    subprocess.run(
        ["tc", "-n", router_ns, "qdisc", "del", "dev", ROUTER_DEV, "root"],
        capture_output=True,
        timeout=TIMEOUT_S,
    )
    if tbf:
        _run("tc", "-n", router_ns, "qdisc", "add", "dev", ROUTER_DEV, "root", "tbf", *tbf)


def _sample(row: dict) -> FlowSample:
    flow = row["flow"]
    lows = [flow[k] for k in ("min_rtt_ms", "rcv_rtt_start_ms", "rcv_rtt_end_ms")]
    return FlowSample(
        rcv_rtt_ms=flow["rcv_rtt_end_ms"],
        low_ms=min(x for x in lows if x is not None),
        rttvar_ms=flow["rttvar_ms"],
        ooo_packets=flow["ooo_packets"],
        retransmits=flow["retransmits"],
        pause_share=flow["pause_share"],
        wait_share=flow["wait_share"],
        throughput_bps=row["bps"],
        transfer_ms=row["transfer_ms"],
    )


def _findings(rows: list[dict]) -> FlowFindings:
    return flow_findings(
        FetchEvidence(flow=[_sample(r) for r in rows], needed_bitrate_bps=NEEDED_BPS)
    )


def _rise_ms(row: dict) -> float:
    s = _sample(row)
    assert s.rcv_rtt_ms is not None and s.low_ms is not None
    return s.rcv_rtt_ms - s.low_ms


def test_queue_policer_and_slow_server_leave_different_flow_signals(three_namespaces) -> None:  # noqa: ANN001
    a, r, b = three_namespaces
    server = subprocess.Popen(
        ["ip", "netns", "exec", b, sys.executable, "-c", SERVER, SERVER_ADDR, str(PORT)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        _shape(r, "rate", "4mbit", "burst", "32kb", "latency", "400ms")
        queued = _fetch(a)
        _shape(r, "rate", "4mbit", "burst", "10kb", "limit", "3000")
        policed = _fetch(a)
        _shape(r)
        paced = _fetch(a, PACED_BPS)
    finally:
        server.kill()
        server.wait(timeout=TIMEOUT_S)
    results = {"queued": queued, "policed": policed, "paced": paced}
    for name, rows in results.items():
        for r in rows:
            flow = r["flow"]
            assert flow is not None, (name, r)
            # every field this kernel gives (5.4+: all of them) was read
            assert None not in (flow["rcv_rtt_end_ms"], flow["min_rtt_ms"], flow["ooo_packets"])
            # the TCP payload counted by the kernel is the body (the first chunk before the
            # start sample, headers of the next response aside)
            assert 0.9 * PAYLOAD <= flow["bytes_received"] <= PAYLOAD, (name, r)
    states = {k: [j.state for r in rows if (j := judge(_sample(r), _sample(r).low_ms or 0))]
              for k, rows in results.items()}  # fmt: skip
    # (i) the queue: the receiver's RTT rose far above the connection's lowest RTT while
    # the data kept flowing; no out-of-order packets are asserted either way (a cubic
    # sender overflows a full queue now and then)
    assert all(_rise_ms(r) >= 100.0 for r in queued), results
    assert FlowState.QUEUED in states["queued"], states
    # (ii) the policer: packets lost upstream (out-of-order arrivals), and no such rise
    assert all(r["flow"]["ooo_packets"] > 0 for r in policed), results
    assert all(_rise_ms(r) < 40.0 for r in policed), results
    # (iii) the slow server: no losses, slower than the link; the RTT it shows is measured
    # across its own pauses (a paced sender sends in bursts), so it is no queue
    assert all(r["flow"]["ooo_packets"] == 0 for r in paced), results
    assert all(r["bps"] < 0.8 * LINK_BPS for r in paced), results
    assert all(r["flow"]["wait_share"] >= 0.5 for r in paced), results  # the player waited
    assert FlowState.QUEUED not in states["paced"] + states["policed"], states
    # what the core's rules make of them
    f_queued, f_policed, f_paced = (_findings(r) for r in (queued, policed, paced))
    assert f_queued.queued and not f_queued.policed, (f_queued, results)
    assert not (f_queued.sends_slowly or f_queued.sends_in_bursts), f_queued
    why = [(judge(_sample(r), _sample(r).low_ms or 0), r["bps"]) for r in policed]
    assert f_policed.policed and not f_policed.queued, (f_policed, why)
    assert not (f_policed.sends_slowly or f_policed.sends_in_bursts), f_policed
    assert f_paced.sends_slowly or f_paced.sends_in_bursts, (f_paced, results)
    assert not (f_paced.queued or f_paced.policed), f_paced
