"""HopProber and RTT statistics, on loopback only."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from player.core.model import Hop, ProbeSample
from player.core.stats import percentile
from player.net.path import engine, rtt, sockets
from player.net.path.prober import HopProber, tcp_connect_rtt

WAIT_S = 10.0  # generous bound for conditions that normally hold within a few rounds


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` until it holds; fail after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(64)
        yield srv.getsockname()[1]


def test_percentile_and_stats() -> None:
    """The RTT summaries use core's percentile (q in 0..1), the one copy of the rule."""
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.1) == pytest.approx(1.4)
    samples = [ProbeSample(1, float(i), float(i) if i % 4 else None, False) for i in range(1, 9)]
    st = rtt.rtt_stats(samples)
    assert st.count == 6 and st.sent == 8 and st.loss == pytest.approx(0.25)
    assert st.median_ms == pytest.approx(4.0)
    assert (st.p10_ms, st.p90_ms) == (pytest.approx(1.5), pytest.approx(6.5))
    assert rtt.rtt_stats([]).median_ms is None


def test_tcp_connect_rtt(listener: int) -> None:
    rtt = tcp_connect_rtt("127.0.0.1", listener)
    assert rtt is not None and 0 <= rtt < 50
    with socket.socket() as s:  # a closed port answers with RST: still a round trip
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert tcp_connect_rtt("127.0.0.1", closed) is not None
    with pytest.raises(ValueError):
        tcp_connect_rtt("not a host!", 80)


def test_prober_labels_samples_and_stops_fast(listener: int) -> None:
    loaded = threading.Event()
    prober = HopProber(
        "127.0.0.1",
        port=listener,
        method="udp",
        interval_s=0.05,
        timeout_s=0.04,
        is_loaded=loaded.is_set,
        name="test-probes",
    )
    prober.start([Hop(1, "127.0.0.1")])
    assert any(t.name == "test-probes" for t in threading.enumerate())
    wait_until(lambda: prober.baseline(1).count >= 3, "three idle answers")
    loaded.set()
    wait_until(lambda: prober.loaded_stats(1).count >= 3, "three answers under load")
    t0 = time.monotonic()
    prober.stop()
    assert time.monotonic() - t0 < 1.0 and not prober.running
    samples = prober.samples()
    assert {s.method for s in samples} == {"tcp"}  # the last hop is the server: TCP connect
    assert any(s.loaded for s in samples) and any(not s.loaded for s in samples)
    base, load = prober.baseline(1), prober.loaded_stats(1)
    assert base.count >= 3 and load.count >= 3 and base.loss == 0.0
    stats = prober.stats()
    assert stats[1].inflation_ms is not None
    assert prober.probe_bytes > 0 and prober.rounds == len(samples)
    hops = prober.annotate([Hop(1, "127.0.0.1")])
    assert hops[0].rtt_idle_ms == base.median_ms and hops[0].rtt_loaded_ms == load.median_ms


def test_prober_udp_ttl_probes_and_silent_hops() -> None:
    prober = HopProber("127.0.0.1", method="udp", interval_s=0.05, timeout_s=0.04)
    prober.start([Hop(1, "127.0.0.1"), Hop(2, None)])
    wait_until(lambda: prober.baseline(1).count >= 2, "two answers from hop 1")
    prober.stop()
    assert {s.hop for s in prober.samples()} == {1}
    assert {s.method for s in prober.samples()} == {"udp"}
    assert prober.baseline(1).count >= 2
    assert 2 not in prober.stats()


def test_prober_reports_route_change(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = threading.Event()

    def fake_run(specs, timeout_s, **_kw):  # type: ignore[no-untyped-def]
        return {
            s.key: sockets.ProbeReply(s.key, s.method, f"198.51.100.{s.key}", 1.0, "ttl_exceeded")
            for s in specs
        }

    monkeypatch.setattr(engine, "run_probes", fake_run)
    prober = HopProber(
        "203.0.113.2", method="udp", interval_s=0.02, server_tcp=False, on_route_change=changed.set
    )
    prober.start([Hop(1, "192.168.1.1"), Hop(2, "198.18.0.2"), Hop(3, "203.0.113.2")])
    assert changed.wait(2.0)
    prober.stop()
    assert prober.route_changed
    assert all(s.rtt_ms is None for s in prober.samples())  # foreign answers are not RTTs


def test_broken_is_loaded_does_not_stop_probing() -> None:
    def boom() -> bool:
        raise RuntimeError("gateway gone")

    prober = HopProber("127.0.0.1", method="udp", interval_s=0.05, is_loaded=boom)
    prober.start([Hop(1, "127.0.0.1")])
    wait_until(lambda: len(prober.samples()) >= 2, "two probe rounds")
    prober.stop()
    assert prober.samples() and not any(s.loaded for s in prober.samples())


def test_prober_arguments() -> None:
    with pytest.raises(ValueError):
        HopProber("127.0.0.1", method="carrier-pigeon")
    with pytest.raises(ValueError):
        HopProber("127.0.0.1", interval_s=0)
    p = HopProber("127.0.0.1", interval_s=0.1, timeout_s=5.0)
    assert p.timeout_s < p.interval_s  # a round never outlasts the interval
    assert p.method in ("icmp", "udp")
