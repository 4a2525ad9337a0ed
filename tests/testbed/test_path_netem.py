"""Path discovery and hop probing inside the namespace testbed (root only).

The reference topology: client - home - access - core - peer - edge - server. Every test
runs the real code in the client namespace through ``agent.py`` (as root or as nobody) and
checks what it found against the topology.
"""

from __future__ import annotations

import logging
import os

import pytest

from .conftest import HTTP_PORT
from .harness import crowd, run_agent
from .topology import Topology

log = logging.getLogger(__name__)

pytestmark = [
    pytest.mark.netem,
    pytest.mark.skipif(os.geteuid() != 0, reason="namespace testbed needs root (ip netns, tc)"),
]

EXPECTED = [  # (node, org, segment) from the client toward the server
    ("home", "home", "home_network"),
    ("access", "examplenet-isp.net", "isp"),
    ("core", "examplenet-isp.net", "isp"),
    ("peer", "transitco.example", "interconnect"),
    ("edge", "videocdn.example", "server"),
    ("server", "videocdn.example", "server"),
]
BOTTLENECK_RATE = "8mbit"
QUEUE_LATENCY = "150ms"  # tbf queue bound: a full queue adds up to this
PROBE_ARGS = ["--interval", "0.4", "--probe-timeout", "0.38", "--timeout", "0.5"]
MIN_INFLATION_MS = 30.0
MAX_FLAT_MS = 5.0
ALL_GROUPS = (0, 2147483647)
NO_GROUPS = (1, 0)


def _discover(topo: Topology, *extra: str, unprivileged: bool = False) -> dict:
    args = ["discover", "--host", topo.addr("server"), *extra]
    return run_agent(topo, "client", *args, unprivileged=unprivileged)


def _probe(topo: Topology, *extra: str) -> dict:
    args = ["probe", "--host", topo.addr("server"), "--port", str(HTTP_PORT), *PROBE_ARGS]
    return run_agent(topo, "client", *args, *extra, unprivileged=True)


def _medians(result: dict) -> dict[int, tuple[float, float | None]]:
    return {
        int(k): (v["idle"]["median_ms"], v["loaded"]["median_ms"])
        for k, v in result["stats"].items()
    }


def _check_full_path(topo: Topology, result: dict) -> None:
    hops = result["hops"]
    assert result["reached"], result
    assert [h["hop"] for h in hops] == list(range(1, len(EXPECTED) + 1))
    for h, (node, org, segment) in zip(hops, EXPECTED, strict=True):
        assert h["address"] == topo.addr(node), (node, h)
        assert h["name"] == topo.nodes[node].dns_name, (node, h)
        assert h["org"] == org, (node, h)
        assert h["segment"] == segment, (node, h)
    assert result["gateway"] == topo.addr("home")


@pytest.mark.parametrize("unprivileged", [False, True], ids=["root", "nobody"])
def test_icmp_allowed_finds_every_hop(topo: Topology, unprivileged: bool) -> None:
    topo.set_ping_group_range("client", *ALL_GROUPS)
    result = _discover(topo, unprivileged=unprivileged)
    assert result["uid"] == (65534 if unprivileged else 0)
    assert result["method"] == "icmp"
    assert result["reason"] is None
    _check_full_path(topo, result)


@pytest.mark.parametrize("unprivileged", [False, True], ids=["root", "nobody"])
def test_icmp_forbidden_degrades_to_udp_with_reason(topo: Topology, unprivileged: bool) -> None:
    topo.set_ping_group_range("client", *NO_GROUPS)
    result = _discover(topo, unprivileged=unprivileged)
    gid = 65534 if unprivileged else 0
    assert result["method"] == "udp"
    assert result["reason"] == f"ICMP not permitted: ping_group_range 1 0 excludes gid {gid}"
    _check_full_path(topo, result)


def test_tcp_method_reaches_the_server_port(topo: Topology, http_server: str) -> None:
    result = _discover(topo, "--methods", "tcp", "--port", str(HTTP_PORT), unprivileged=True)
    assert result["method"] == "tcp"
    _check_full_path(topo, result)


def test_overrides_name_the_organisations(topo: Topology) -> None:
    overrides = '{"examplenet-isp.net": "ExampleNet", "198.18.2.0/24": "TransitCo"}'
    result = _discover(topo, "--overrides", overrides, unprivileged=True)
    orgs = [h["org"] for h in result["hops"]]
    assert orgs == [
        "home", "ExampleNet", "ExampleNet", "TransitCo", "videocdn.example", "videocdn.example",
    ]  # fmt: skip


def test_silent_router_gives_a_hop_without_address(topo: Topology) -> None:
    topo.block_probes("core")
    result = _discover(topo, "--methods", "udp", "--attempts", "1")
    hops = {h["hop"]: h for h in result["hops"]}
    assert len(hops) == 6 and result["reached"]
    assert hops[3]["address"] is None and hops[3]["name"] is None and hops[3]["org"] is None
    assert hops[3]["segment"] == "unknown"  # core or peer's border: cannot tell
    assert hops[2]["address"] == topo.addr("access") and hops[2]["segment"] == "isp"
    assert hops[4]["address"] == topo.addr("peer") and hops[4]["segment"] == "interconnect"


@pytest.mark.parametrize("method", ["udp", "icmp"])
def test_access_bottleneck_inflates_that_hop_and_beyond(
    topo: Topology, http_server: str, method: str
) -> None:
    """Our own download fills the access link's downstream queue: hop 2 (the access router,
    whose answers leave through that queue) and every later hop inflate; hop 1 does not."""
    if method == "icmp":
        topo.set_ping_group_range("client", *ALL_GROUPS)
    topo.shape("access", "home", BOTTLENECK_RATE, latency=QUEUE_LATENCY)
    url = f"{http_server}/bytes/1000000000"
    result = _probe(topo, "--url", url, "--idle-s", "3", "--load-s", "6", "--method", method)
    assert result["method"] == method
    med = _medians(result)
    shown = {h: (round(i, 2), round(ld or -1, 1)) for h, (i, ld) in med.items()}
    log.info("access bottleneck (%s), idle -> loaded median ms: %s", method, shown)
    print(f"access bottleneck ({method}), idle -> loaded median ms: {shown}")
    assert sorted(med) == [1, 2, 3, 4, 5, 6]
    idle1, loaded1 = med[1]
    assert loaded1 is not None and loaded1 - idle1 < MAX_FLAT_MS  # before the queue
    for hop in range(2, 7):
        idle, loaded = med[hop]
        assert loaded is not None and loaded - idle > MIN_INFLATION_MS, (hop, idle, loaded)
    assert result["downloaded"] > 1_000_000
    assert result["probe_bytes"] < 0.01 * result["downloaded"]
    assert result["stop_s"] < 1.0


def test_crowded_interconnect_inflates_while_idle(topo: Topology) -> None:
    """Someone else's traffic (far -> neighbour) fills peer->core: inflation from hop 4 on,
    already present without any download of ours."""
    topo.shape("peer", "core", BOTTLENECK_RATE, latency=QUEUE_LATENCY)
    with crowd(topo, "far", "neighbour", seconds=15):
        result = _probe(topo, "--idle-s", "5", "--load-s", "0")
    med = _medians(result)
    shown = {h: round(i, 2) for h, (i, _) in med.items()}
    log.info("crowded interconnect, idle median ms: %s", shown)
    print(f"crowded interconnect, idle median ms: {shown}")
    for hop in (1, 2, 3):
        assert med[hop][0] < MAX_FLAT_MS, (hop, med[hop])
    for hop in (4, 5, 6):
        assert med[hop][0] > MIN_INFLATION_MS, (hop, med[hop])
