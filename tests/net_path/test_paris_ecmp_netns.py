"""Paris probes on a real load-balanced path (network namespaces, root only).

::

                 +-- ra --+
    client -- r1 |        | r2 -- server
                 +-- rb --+

``r1`` reaches the server's network by an ECMP route (``nexthop via ra nexthop via rb``)
hashing the addresses, the protocol and the ports, as per-flow load balancers do.
``ra`` and ``rb`` answer from different addresses, and so does ``r2``
(``icmp_errors_use_inbound_ifaddr``: the address of the branch a probe came in by), so the
answers at TTL 2 and 3 say which branch a probe took.

The classic probes (a new source port per probe, a destination port per TTL) reach both
branches at one TTL across rounds, and different branches at two TTLs of one round. The
Paris probes see one branch at every TTL in every round -- discovery, rounds and the
HopProber alike -- with ICMP allowed and with ICMP forbidden (``ping_group_range 1 0``:
UDP alone). The probing code runs in the client namespace as ``nobody`` through
``paris_agent.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.testbed.topology import (
    HOST_SYSCTLS,
    ROUTER_SYSCTLS,
    cleanup_stale,
    new_prefix,
    tools_available,
)

pytestmark = [
    pytest.mark.netem,
    pytest.mark.skipif(os.geteuid() != 0, reason="namespace testbed needs root (ip netns)"),
]

AGENT = Path(__file__).resolve().parent / "paris_agent.py"
REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
UNPRIVILEGED = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
CMD_TIMEOUT_S = 20.0
AGENT_TIMEOUT_S = 120.0  # ends a hang only
PARIS_ROUNDS = 30
ALL_GROUPS = "0 2147483647"
NO_GROUPS = "1 0"
TCP_PORT = 9  # closed on the server: a SYN that reaches it is answered by RST

# (node, peer, address/24) per link end; a link's two ends share a /24.
LINKS = [
    ("client", "r1", "198.18.10.2", "198.18.10.1"),
    ("r1", "ra", "198.18.11.1", "198.18.11.2"),
    ("r1", "rb", "198.18.12.1", "198.18.12.2"),
    ("ra", "r2", "198.18.13.1", "198.18.13.2"),
    ("rb", "r2", "198.18.14.1", "198.18.14.2"),
    ("r2", "server", "198.18.15.1", "198.18.15.2"),
]
ROUTES = {
    "client": ["default via 198.18.10.1"],
    "r1": [
        "198.18.15.0/24 nexthop via 198.18.11.2 nexthop via 198.18.12.2",
        "198.18.13.0/24 via 198.18.11.2",
        "198.18.14.0/24 via 198.18.12.2",
    ],
    "ra": [
        "198.18.10.0/24 via 198.18.11.1",
        "198.18.12.0/24 via 198.18.11.1",
        "198.18.14.0/24 via 198.18.13.2",
        "198.18.15.0/24 via 198.18.13.2",
    ],
    "rb": [
        "198.18.10.0/24 via 198.18.12.1",
        "198.18.11.0/24 via 198.18.12.1",
        "198.18.13.0/24 via 198.18.14.2",
        "198.18.15.0/24 via 198.18.14.2",
    ],
    "r2": [  # answers go back by ra whichever branch the probe came by
        "198.18.10.0/24 via 198.18.13.1",
        "198.18.11.0/24 via 198.18.13.1",
        "198.18.12.0/24 via 198.18.14.1",
    ],
    "server": ["default via 198.18.15.1"],
}
# r1 hashes the 5-tuple of each packet's headers, as a router does: policy 3 with the
# fields addresses, protocol and ports. (Policy 1, "layer 4", would take the hash that the
# sender's socket left on the packet, which crosses veth pairs: a random one per TCP
# connection, whatever its ports -- a shortcut no router between two machines has.)
EXTRA_SYSCTLS = {
    "r1": {
        "net.ipv4.fib_multipath_hash_policy": "3",
        "net.ipv4.fib_multipath_hash_fields": "0x0037",
    },
    "r2": {"net.ipv4.icmp_errors_use_inbound_ifaddr": "1"},
}
HOSTS = {"client", "server"}
R1, SERVER = "198.18.10.1", "198.18.15.2"
BRANCH_A = ("198.18.11.2", "198.18.13.2")  # ra, then r2 by ra: the answers at TTL 2 and 3
BRANCH_B = ("198.18.12.2", "198.18.14.2")  # rb, then r2 by rb


def _run(argv: list[str], *, stdin: str | None = None) -> None:
    cp = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=CMD_TIMEOUT_S, check=False
    )
    if cp.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({cp.returncode}): {cp.stderr.strip()}")


@dataclass
class Ecmp:
    prefix: str

    def ns(self, node: str) -> str:
        return self.prefix + node

    def sysctl(self, node: str, key: str, value: str) -> None:
        _run(["ip", "netns", "exec", self.ns(node), "sysctl", "-qw", f"{key}={value}"])

    def build(self) -> None:
        for node in ROUTES:
            _run(["ip", "netns", "add", self.ns(node)])
            sysctls = dict(HOST_SYSCTLS if node in HOSTS else ROUTER_SYSCTLS)
            sysctls.update(EXTRA_SYSCTLS.get(node, {}))
            for key, value in sysctls.items():
                self.sysctl(node, key, value)
        cmds: dict[str, list[str]] = {node: ["link set lo up"] for node in ROUTES}
        for a, b, addr_a, addr_b in LINKS:
            _run(
                ["ip", "link", "add", f"to-{b}", "netns", self.ns(a), "type", "veth"]
                + ["peer", "name", f"to-{a}", "netns", self.ns(b)]
            )
            for node, peer, addr in ((a, b, addr_a), (b, a, addr_b)):
                cmds[node] += [f"addr add {addr}/24 dev to-{peer}", f"link set to-{peer} up"]
        for node, routes in ROUTES.items():
            cmds[node] += [f"route add {r}" for r in routes]
            _run(["ip", "-n", self.ns(node), "-batch", "-"], stdin="\n".join(cmds[node]) + "\n")
            for a, b, _, _ in LINKS:  # answers by r2 come back by the other branch
                if node in (a, b):
                    iface = f"to-{b if node == a else a}"
                    self.sysctl(node, f"net.ipv4.conf.{iface}.rp_filter", "0")

    def teardown(self) -> None:
        for node in ROUTES:
            ns = self.ns(node)
            cp = subprocess.run(
                ["ip", "netns", "pids", ns], capture_output=True, text=True, check=False
            )
            for pid in cp.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)

    def agent(self, *args: str) -> dict:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        argv = ["ip", "netns", "exec", self.ns("client"), *UNPRIVILEGED]
        argv += [sys.executable, str(AGENT), *args]
        cp = subprocess.run(
            argv, capture_output=True, text=True, timeout=AGENT_TIMEOUT_S, env=env, check=False
        )
        assert cp.returncode == 0, cp.stderr[-3000:]
        return json.loads(cp.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def ecmp() -> Iterator[Ecmp]:
    ok, why = tools_available()
    if not ok:
        pytest.skip(why)
    cleanup_stale()
    net = Ecmp(new_prefix())
    try:
        net.build()
        yield net
    finally:
        net.teardown()


def _branch(ttl2: str | None, ttl3: str | None) -> tuple[str, str]:
    pair = (ttl2, ttl3)
    assert pair in (BRANCH_A, BRANCH_B), pair
    return pair  # type: ignore[return-value]


def _routers(method: str, ttl2: str | None, ttl3: str | None) -> tuple[str, str]:
    """The routers at TTLs 2 and 3: one branch's, except by TCP (one source port per TTL,
    flows.TcpRound: each TTL keeps its router, two TTLs may hash onto two branches)."""
    if method != "tcp":
        return _branch(ttl2, ttl3)
    assert ttl2 in (BRANCH_A[0], BRANCH_B[0]) and ttl3 in (BRANCH_A[1], BRANCH_B[1])
    return (ttl2, ttl3)  # type: ignore[return-value]


def test_classic_probes_mix_both_branches(ecmp: Ecmp) -> None:
    """A new flow per probe: over rounds TTL 2 is answered by ra and by rb, and some round
    puts TTL 2 on one branch and TTL 3 on the other (a path that does not exist)."""
    branches = ";".join(",".join(b) for b in (BRANCH_A, BRANCH_B))
    rounds = ecmp.agent("classic", "--host", SERVER, "--ttls", "2,3", "--branches", branches)[
        "rounds"
    ]
    at_ttl2 = {r["2"] for r in rounds} - {None}
    assert at_ttl2 == {BRANCH_A[0], BRANCH_B[0]}, rounds
    crossed = [r for r in rounds if (r["2"], r["3"]) not in (BRANCH_A, BRANCH_B, (None, None))]
    assert crossed, rounds


@pytest.mark.parametrize(
    ("groups", "methods"),
    [(ALL_GROUPS, "icmp,udp,tcp"), (NO_GROUPS, "icmp,udp,tcp"), (NO_GROUPS, "tcp")],
    ids=["icmp_allowed", "icmp_forbidden", "tcp_only"],
)
def test_paris_probes_keep_one_branch(ecmp: Ecmp, groups: str, methods: str) -> None:
    ecmp.sysctl("client", "net.ipv4.ping_group_range", groups)
    args = ["--host", SERVER, "--rounds", str(PARIS_ROUNDS), "--methods", methods]
    out = ecmp.agent("session", *args, "--port", str(TCP_PORT))
    assert out["uid"] == NOBODY
    if methods == "tcp":  # the server's closed port answers the SYN with RST
        assert out["method"] == "tcp" and out["reason"] is None
    elif groups == ALL_GROUPS:
        assert out["method"] == "icmp" and out["reason"] is None
    else:
        assert out["method"] == "udp"
        assert out["reason"] == f"ICMP not permitted: ping_group_range 1 0 excludes gid {NOBODY}"
    # discovery: one path, through one branch
    assert out["reached"] and out["hops"][0] == R1 and out["hops"][3] == SERVER, out["hops"]
    discovered = _routers(out["method"], out["hops"][1], out["hops"][2])
    # every Paris round: the same router at every TTL, the branch the first round took
    for method in {"udp", out["method"]}:
        rounds = out[f"{method}_rounds"]
        assert len(rounds) == PARIS_ROUNDS
        first = rounds[0]
        taken = _routers(method, first["2"], first["3"])
        if method == out["method"]:
            assert taken == discovered  # the rounds are discovery's flow
        for r in rounds:
            assert [r[str(t)] for t in (1, 2, 3, 4)] == [R1, *taken, SERVER], (method, rounds)
    # the prober: discovery's method and flow; every answer from the hop discovery found
    prober = out["prober"]
    assert prober["method"] == out["method"]
    assert prober["foreign_answers"] == 0 and not prober["route_changed"]
    assert sorted(prober["rtt_samples"]) == ["1", "2", "3", "4"]
    assert min(prober["rtt_samples"].values()) >= 5
    udp_flows = [f for f in out["flows"] if f["method"] == "udp"]
    assert len(udp_flows) == 1 and udp_flows[0]["port"] == 33434  # one flow to the server
    assert udp_flows[0]["late_answers"] == 0 and udp_flows[0]["ambiguous"] == 0
    if out["method"] == "tcp":  # every SYN of a TTL, discovery's and the prober's, from one
        tcp = out["tcp_flows"]  # port; one port per TTL
        assert {f["port"] for f in tcp} == {TCP_PORT}
        assert len({f["local_port"] for f in tcp}) == len(tcp)
        by_ttl = {f["ttl"]: f for f in tcp}
        assert all(by_ttl[t]["sent"] >= PARIS_ROUNDS for t in (1, 2, 3, 4))
