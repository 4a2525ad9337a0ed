"""The userspace delay line: frame scheduling (anywhere) and real links with delay (root).

The namespace tests build their own small topology (not the reference one)::

    client - gw -(20 ms each way, 20 Mbit/s tbf toward the client)- far1 - far2 - origin

and check that ping sees the propagation delay, that a bulk TCP transfer fills the tbf
queue behind the line at a sane rate, that TTL-limited probes still get time exceeded
from the routers behind the line, and that teardown leaves no forwarder or namespace.
Bands are wide (busy 2-core box); every measured value is logged.
"""

from __future__ import annotations

import logging
import os
import random
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import topology as tb
from .delay_line import Direction, LineSpec
from .harness import run_agent
from .measure import bulk, ping
from .topology import Link, Node, Topology

log = logging.getLogger(__name__)

ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="namespace testbed needs root (ip netns, tc)")

ONE_WAY_MS = 20.0
LINE_RATE = "20mbit"
#: Without the line the path's RTT is well under 1 ms, so a minimum of 38 ms (40 ms minus
#: timer slack) cannot be met unless every frame was held 20 ms each way.
MIN_RTT_MS = 2 * ONE_WAY_MS - 2.0
#: Idle median bound: 40 ms plus scheduling delays of a busy 2-core box (seen: 41-46 ms).
MAX_IDLE_MEDIAN_MS = 60.0
#: A single cubic flow through a 20 Mbit/s tbf gets ~18.5 Mbit/s here (slow start
#: included); under 8 Mbit/s means the forwarder cannot keep up.
MIN_BULK_MBPS = 8.0
#: The tbf's 200 ms queue (Link default ``latency``) fills under cubic: the loaded median
#: seen is 180-240 ms against 41 idle; 40 ms of rise is far beyond scheduling noise.
MIN_QUEUE_RISE_MS = 40.0
PINGS = 10
ALL_GROUPS = (0, 2147483647)  # net.ipv4.ping_group_range: ICMP echo sockets for everyone


# --- frame scheduling: no namespaces ---------------------------------------------------
def _drain(fd: int, n: int) -> list[bytes]:
    return [os.read(fd, 64) for _ in range(n)]


def test_jitter_never_reorders_and_stays_within_bounds() -> None:
    r, w = os.pipe()
    try:
        d = Direction(LineSpec(0.010, jitter_s=0.008), w, random.Random(7))
        arrivals = [i * 0.0005 for i in range(40)]  # 2000 frames/s: jitter > spacing
        for i, t in enumerate(arrivals):
            d.admit(b"%02d" % i, t)
        dues = [due for due, _f in d.queue]
        assert dues == sorted(dues)
        for t, due in zip(arrivals, dues, strict=True):
            assert due >= t + 0.010
        assert any(due - t > 0.012 for t, due in zip(arrivals, dues, strict=True))  # jittered
        assert max(dues) <= arrivals[-1] + 0.010 + 0.008
        d.release(dues[19])
        assert len(d.queue) == 20 and d.stats.frames == 20
        d.release(dues[-1] + 1.0)
        out = [os.read(r, 2) for _ in range(40)]
        assert out == [b"%02d" % i for i in range(40)]
    finally:
        os.close(r)
        os.close(w)


def test_rate_cap_serialises_frames_and_drops_beyond_its_queue() -> None:
    r, w = os.pipe()
    try:
        # 1500-byte frames at 1.2 Mbit/s: 10 ms each; the queue holds 30 ms of waiting
        d = Direction(LineSpec(0.005, rate_bps=1.2e6, queue_s=0.030), w, random.Random(1))
        for _ in range(6):
            d.admit(bytes(1500), 0.0)
        dues = [round(due, 6) for due, _f in d.queue]
        assert dues == [0.015, 0.025, 0.035, 0.045]  # serialised, then 5 ms propagation
        assert d.stats.dropped == 2
    finally:
        os.close(r)
        os.close(w)


def test_links_without_delay_stay_veth() -> None:
    assert not Link("a", "b").delayed
    assert Link("a", "b", delay_ms=15).delayed
    assert Link("a", "b", jitter_ms=2).delayed
    with pytest.raises(ValueError):
        LineSpec(-1.0)


# --- real links: root only --------------------------------------------------------------
def _line_topology() -> Topology:
    nodes = [
        Node("client", "pc.lan", router=False),
        Node("gw", "gw.lan"),
        Node("far1", "xe-0-0-1.far1.longhaul.example"),
        Node("far2", "et-2.far2.longhaul.example"),
        Node("origin", "origin.media.example", router=False),
    ]
    links = [
        Link("client", "gw", "10.77.0.0/24"),
        Link("gw", "far1", delay_ms=ONE_WAY_MS, rate=LINE_RATE),
        Link("far1", "far2"),
        Link("far2", "origin"),
    ]
    return Topology(nodes, links, client="client", pool="198.19.64.0/18")


@pytest.fixture(scope="module")
def line_topo() -> Iterator[Topology]:
    ok, why = tb.tools_available()
    if not ok:
        pytest.skip(why)
    if not Path("/dev/net/tun").exists():
        pytest.skip("no /dev/net/tun")
    t = _line_topology()
    try:
        t.build()
        ping(t, "client", t.addr("origin"), count=1)  # ARP on every link, off the record
        yield t
    finally:
        lines = list(t.delay_lines.values())
        t.teardown()
        for line in lines:
            log.info("delay line statistics: %s", line.stats)


@pytest.mark.netem
@ROOT
def test_ping_sees_the_propagation_delay(line_topo: Topology) -> None:
    t = line_topo
    before = ping(t, "client", t.addr("gw"), count=3)
    across = ping(t, "client", t.addr("origin"), count=PINGS)
    log.info("RTT to gw (before the line): %s", before.rtts_ms)
    log.info("RTT to origin (across the line): %s", across.rtts_ms)
    assert before.median_ms is not None and before.median_ms < ONE_WAY_MS  # no line there
    assert len(across.rtts_ms) >= PINGS - 1, across.output
    assert across.min_ms is not None and across.min_ms >= MIN_RTT_MS
    assert across.median_ms is not None and across.median_ms < MAX_IDLE_MEDIAN_MS


@pytest.mark.netem
@ROOT
def test_ttl_probes_get_time_exceeded_from_routers_behind_the_line(line_topo: Topology) -> None:
    t = line_topo
    dst = t.addr("origin")
    for ttl, node in enumerate(["gw", "far1", "far2"], start=1):
        res = ping(t, "client", dst, count=1, ttl=ttl)
        log.info("ttl %d: %s", ttl, res.errors)
        assert res.errors and res.errors[0][0] == t.addr(node), res.output
        assert "Time to live exceeded" in res.errors[0][1]
    # the product's own discovery (ICMP echo sockets) finds the same hops, with their names
    t.set_ping_group_range("client", *ALL_GROUPS)
    found = run_agent(t, "client", "discover", "--host", dst, "--methods", "icmp")
    log.info("discovered: %s", [(h["address"], h["name"]) for h in found["hops"]])
    assert found["reached"], found
    assert [(h["address"], h["name"]) for h in found["hops"]] == [
        (a, d) for _n, a, d in t.expected_hops("origin")
    ]


@pytest.mark.netem
@ROOT
def test_bulk_transfer_fills_the_queue_behind_the_line(line_topo: Topology) -> None:
    t = line_topo
    dst = t.addr("origin")
    assert "tbf" in t.qdisc_stats("far1", "gw")  # the downstream bottleneck on the TAP
    idle = ping(t, "client", dst, count=5)
    with bulk(t, "origin", "client", seconds=30.0) as b:
        assert b.wait_flowing(), "no data arrived through the line"
        loaded = ping(t, "client", dst, count=PINGS)
    log.info("idle RTT %s; loaded RTT %s; transfer %s", idle.rtts_ms, loaded.rtts_ms, b.result)
    assert b.result.get("mbps", 0.0) > MIN_BULK_MBPS, b.result
    assert idle.median_ms is not None and loaded.rtts_ms, loaded.output
    assert statistics.median(loaded.rtts_ms) >= idle.median_ms + MIN_QUEUE_RISE_MS
    line = t.delay_lines[("gw", "far1")]
    assert line.alive()


@pytest.mark.netem
@ROOT
def test_teardown_leaves_no_forwarder_nor_namespace() -> None:
    ok, why = tb.tools_available()
    if not ok:
        pytest.skip(why)
    t = _line_topology()
    with t:
        line = t.delay_lines[("gw", "far1")]
        pid = line.pid
        assert pid is not None and line.alive()
        assert str(pid) in tb._run(["ip", "netns", "pids", t.ns("gw")]).stdout.split()
    assert not t.built and not t.delay_lines
    assert not tb._pid_alive(pid)
    assert not {t.ns(n) for n in t.nodes} & set(tb.list_namespaces())
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            assert t.prefix.encode() not in cmdline, (proc.name, cmdline)


@pytest.mark.netem
@ROOT
def test_forwarder_exits_when_its_parent_goes_away() -> None:
    ok, why = tb.tools_available()
    if not ok:
        pytest.skip(why)
    t = _line_topology()
    with t:
        line = t.delay_lines[("gw", "far1")]
        assert line.proc is not None and line.proc.stdin is not None
        line.proc.stdin.close()  # what the parent's death does to the pipe
        assert line.proc.wait(timeout=15) == 0
        links = tb._run(["ip", "-n", t.ns("gw"), "link", "show"]).stdout
        assert t.iface("gw", "far1").ifname not in links  # the TAP died with it


@pytest.mark.netem
@ROOT
def test_unshape_and_reset_return_a_link_to_its_own_rate(line_topo: Topology) -> None:
    t = line_topo
    t.shape("far1", "gw", "1mbit")  # a scenario's bottleneck on the line's TAP
    t.shape("far2", "far1", "2mbit")  # and one on a veth link built without a rate
    assert "1Mbit" in t.qdisc_stats("far1", "gw")
    t.unshape("far1", "gw")
    assert "20Mbit" in t.qdisc_stats("far1", "gw")
    t.shape("far1", "gw", "1mbit")
    t.reset()
    assert "20Mbit" in t.qdisc_stats("far1", "gw")
    assert "tbf" not in t.qdisc_stats("far2", "far1")
    assert t.shaping == t.base_shaping
