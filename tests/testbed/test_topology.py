"""The testbed itself: planning (anywhere) and building/tearing down (root only)."""

from __future__ import annotations

import ipaddress
import os

import pytest

from . import topology as tb
from .topology import Link, Node, Topology, reference_topology


# --- planning: no system changes -------------------------------------------------------
def test_reference_addresses_and_names() -> None:
    t = reference_topology(prefix="swplan-1-")
    hops = t.expected_hops("server")
    assert [n for n, _a, _d in hops] == ["home", "access", "core", "peer", "edge", "server"]
    assert hops[0][1] == "192.168.77.1" and t.addr("client") == "192.168.77.2"
    assert hops[-1][1] == "203.0.113.2"
    for _node, addr, _dns in hops[1:-1]:
        assert ipaddress.ip_address(addr) in ipaddress.ip_network(tb.DEFAULT_POOL)
    assert len({a for _n, a, _d in hops}) == len(hops)
    hosts = t.hosts_file()
    assert "198.18.1.2 core1.examplenet-isp.net" in hosts.splitlines()
    assert t.ns("core") == "swplan-1-core"


def test_routes_cover_every_subnet_through_the_tree() -> None:
    t = reference_topology(prefix="swplan-2-")
    client_routes = t._routes("client")
    assert any(r.startswith("route add default via 192.168.77.1") for r in client_routes)
    # every subnet not on the client's own link, plus the default, goes via the home router
    others = len(t.links) - 1
    assert sum(" via 192.168.77.1 " in r for r in client_routes) == others + 1
    core_routes = t._routes("core")
    assert not any("default" in r for r in core_routes)  # routers: no default route
    toward_server = [r for r in core_routes if r.startswith("route add 203.0.113.0/24")]
    assert toward_server == [
        f"route add 203.0.113.0/24 via {t.addr('peer')} dev {t.iface('core', 'peer').ifname}"
    ]


def test_custom_topology_is_general() -> None:
    nodes = [
        Node("c", router=False),
        Node("r1", "gw.lan"),
        Node("r2", "a-very-long-router-name.example"),
        Node("s", "srv.example", router=False),
        Node("x", router=False),
    ]
    links = [Link("c", "r1", "10.9.0.0/24"), Link("r1", "r2"), Link("r2", "s"), Link("r2", "x")]
    t = Topology(nodes, links, client="c", prefix="swplan-3-", pool="198.19.0.0/16")
    assert t.path("c", "s") == ["c", "r1", "r2", "s"]
    assert t.addr("r1") == "10.9.0.1"
    assert t.addr("s").startswith("198.19.")
    for i in t.ifaces.values():
        assert len(i.ifname) <= tb.IFNAME_MAX


def test_invalid_topologies_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown node"):
        Topology([Node("client")], [Link("client", "nope")])
    with pytest.raises(ValueError, match="not connected"):
        Topology(
            [Node("client"), Node("a"), Node("b"), Node("c")],
            [Link("client", "a"), Link("b", "c"), Link("a", "client")],
        )
    with pytest.raises(ValueError, match="tree"):
        Topology(
            [Node("client"), Node("a"), Node("b")],
            [Link("client", "a"), Link("a", "b"), Link("b", "client")],
        )


def test_prefixes_are_unique_and_match_the_stale_pattern() -> None:
    a, b = tb.new_prefix(), tb.new_prefix()
    assert a != b
    m = tb.PREFIX_RE.match(a + "core")
    assert m and int(m.group(1)) == os.getpid()


# --- building: root only ---------------------------------------------------------------
@pytest.mark.netem
@pytest.mark.skipif(os.geteuid() != 0, reason="namespace testbed needs root (ip netns, tc)")
def test_build_teardown_idempotent_and_names_resolve() -> None:
    t = reference_topology()
    try:
        t.build()
        t.build()  # no-op
        names = set(tb.list_namespaces())
        assert {t.ns(n) for n in t.nodes} <= names
        cp = t.exec_in("client", ["getent", "hosts", t.addr("peer")])
        assert "peer1.transitco.example" in cp.stdout
        assert t.read_sysctl("core", "net.ipv4.icmp_ratelimit") == "0"
        assert t.read_sysctl("core", "net.ipv4.ip_forward") == "1"
        cp = t.exec_in("client", ["ping", "-c", "1", "-W", "2", t.addr("server")])
        assert "1 received" in cp.stdout
        t.shape("access", "home", "8mbit")
        assert "tbf" in t.qdisc_stats("access", "home")
        t.unshape("access", "home")
        assert "tbf" not in t.qdisc_stats("access", "home")
    finally:
        t.teardown()
        t.teardown()  # no-op
    left = set(tb.list_namespaces())
    assert not {t.ns(n) for n in t.nodes} & left
    assert not any((tb.NETNS_ETC / t.ns(n)).exists() for n in t.nodes)


@pytest.mark.netem
@pytest.mark.skipif(os.geteuid() != 0, reason="namespace testbed needs root (ip netns, tc)")
def test_stale_namespaces_of_dead_runs_are_removed() -> None:
    dead = next(p for p in range(4_000_000, 4_100_000) if not tb._pid_alive(p))
    ns = f"sw{dead}-1-client"
    live = f"sw{os.getpid()}-999-client"
    tb._run(["ip", "netns", "add", ns])
    tb._run(["ip", "netns", "add", live])
    try:
        removed = tb.cleanup_stale()
        assert ns in removed and live not in removed
        assert ns not in tb.list_namespaces()
    finally:
        tb._delete_namespace(ns)
        tb._delete_namespace(live)


@pytest.mark.netem
@pytest.mark.skipif(os.geteuid() != 0, reason="namespace testbed needs root (ip netns, tc)")
def test_link_rates_shape_the_direction_toward_the_client() -> None:
    nodes = [Node("client", router=False), Node("r1", "r1.example"),
             Node("srv", "srv.example", router=False)]
    links = [Link("client", "r1"), Link("srv", "r1", rate="5mbit", up_rate="1mbit")]
    t = Topology(nodes, links)
    with t:
        assert t.orient(links[1]) == ("r1", "srv")
        down = t.qdisc_stats("srv", "r1")
        up = t.qdisc_stats("r1", "srv")
        assert "tbf" in down and "5Mbit" in down
        assert "tbf" in up and "1Mbit" in up
        assert "tbf" not in t.qdisc_stats("r1", "client")
    assert not t.built
