"""The path monitor's reaction to the gateway's idle gaps (player/net/path/gaps.py).

The pacer's rule first (no sockets), then the real PathMonitor probing 127.0.0.1 with its
real prober and a real FetchGate: ``is_loaded`` says "downloading" all the time (what the
session's open-request count says on a link where the video downloads back to back, and
of a request the gap holds back), so every round is loaded -- until a gap opens and the
monitor takes idle rounds in it. What is not real: no video flows (the gate has no
transfer in flight; the gateway's own tests show what it counts), and the gate's clock is
a fake one, so the gap lasts until the test ends it (no dependence on machine speed).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from player.net.gateway.fetch_gate import FetchGate
from player.net.path.gaps import GapPacer
from player.net.path.monitor import PathMonitor
from tests.support.fakes import FakeClock

WAIT_S = 20.0  # ends a hang only
GAP_S = 1.2


def wait_until(predicate: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


# --- the pacer's rule --------------------------------------------------------------------
@dataclass
class _Gap:
    number: int
    left_s: float


class _Gaps:
    def __init__(self) -> None:
        self.now: _Gap | None = None

    def gap(self) -> _Gap | None:
        return self.now

    def downloading(self) -> bool:
        return False


def full_pacer(gaps: _Gaps) -> GapPacer:
    """A pacer whose evidence is complete: idle rounds are due only every slow_s."""
    p = GapPacer(gaps=gaps, round_s=0.45)
    for i in range(p.idle_target):
        p.record(float(i), loaded=False)
    assert p.idle_rounds == p.idle_target and p.interval(100.0, False) == p.slow_s
    return p


def test_a_gap_makes_an_idle_round_due_at_once_and_one_more_fast_s_later() -> None:
    gaps = _Gaps()
    p = full_pacer(gaps)
    last = float(p.idle_target - 1)
    now = last + 0.2  # far sooner than slow_s
    assert not p.due(now, False)
    gaps.now = _Gap(1, GAP_S)
    assert p.due(now, False), "a gap's round is due at once"
    p.record(now, False)
    assert p.gap_rounds == 1 and p.idle_rounds == p.idle_target + 1
    assert not p.due(now + 0.1, False)
    gaps.now = _Gap(1, GAP_S - p.fast_s)
    assert p.due(now + p.fast_s, False), "a second round fits in the gap"
    p.record(now + p.fast_s, False)
    gaps.now = _Gap(1, 0.2)  # less than a round's reply timeout left: none
    assert not p.due(now + 2 * p.fast_s, False)
    gaps.now = _Gap(2, GAP_S)  # the next gap: due at once again
    assert p.due(now + 2 * p.fast_s + 0.01, False)
    assert p.gap_rounds == 2


def test_no_gap_round_while_our_download_is_in_flight() -> None:
    gaps = _Gaps()
    p = full_pacer(gaps)
    gaps.now = _Gap(1, GAP_S)
    now = float(p.idle_target) + 0.1
    p.record(now, True)  # a round labelled loaded (an init segment in flight, say)
    assert p.gap_rounds == 0 and p.idle_rounds == p.idle_target
    # labelled loaded, the gap's rule does not apply: the loaded tier's fast_s does
    assert not p.due(now + 0.1, True)
    assert p.due(now + 0.1, False), "idle again: the gap's round is due at once"


# --- the real monitor toward loopback ---------------------------------------------------------
@pytest.fixture
def listener() -> Iterator[int]:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    try:
        yield srv.getsockname()[1]
    finally:
        srv.close()


def test_the_monitor_takes_idle_rounds_in_a_gap_and_counts_them(listener: int) -> None:
    gate = FetchGate(FakeClock())
    monitor = PathMonitor("127.0.0.1", listener, is_loaded=lambda: True)
    monitor.watch_gaps(gate)
    monitor.start()
    try:
        wait_until(lambda: monitor.snapshot().samples, "the first rounds")
        snap = monitor.snapshot()
        assert snap.ready and snap.hops and snap.hops[-1].address == "127.0.0.1"
        assert all(s.loaded for s in snap.samples), "downloading: every round is loaded"
        assert monitor.idle_rounds() == 0 and monitor.gap_rounds == 0
        wait_until(monitor.gap_ready, "the budget pays a gap's rounds")
        opened_at = time.monotonic()
        assert gate.request(GAP_S, 8.0) and gate.gap() is not None
        wait_until(lambda: monitor.gap_rounds >= 1, "a round in the gap")
        idle = [s for s in monitor.snapshot().samples if not s.loaded]
        assert idle, "the gap's round is labelled idle"
        assert all(s.at >= opened_at for s in idle), "idle only in the gap"
        assert any(s.rtt_ms is not None for s in idle), "127.0.0.1 answered"
        assert monitor.idle_rounds() is not None and monitor.idle_rounds() >= 1
        assert monitor.budget.spent <= monitor.budget.limit
        gate.cancel()
        closed_at = time.monotonic()
        wait_until(
            lambda: any(s.loaded and s.at > closed_at for s in monitor.snapshot().samples),
            "loaded rounds again after the gap",
        )
    finally:
        monitor.stop()
