"""Probe bytes on real loopback sockets: what an empty probe costs, and a HopProber that
never spends more than its ProbeBudget (real probe rounds; no mocks)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from player.core.model import Hop
from player.net.path import engine
from player.net.path.budget import Pacer, ProbeBudget
from player.net.path.prober import HopProber
from player.net.path.sockets import ProbeSpec, ping_permission

WAIT_S = 15.0  # ends a hang only; the conditions hold within a few rounds


def wait_until(predicate: Callable[[], bool], what: str) -> None:
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


def _closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_empty_udp_probe_and_its_port_unreachable_cost_84_bytes() -> None:
    spec = ProbeSpec(1, "udp", "127.0.0.1", _closed_udp_port(), 1)
    reply = engine.run_probes([spec], 2.0)[1]
    assert reply.kind == "reached"  # the port unreachable of the destination itself
    assert reply.sent_bytes == 20 + 8  # IP + UDP header, no data
    assert reply.received_bytes == 20 + 8 + 20 + 8  # the ICMP error quoting the probe
    assert reply.sent_bytes + reply.received_bytes <= engine.max_probe_bytes(spec) == 84


def test_a_tcp_probe_counts_its_whole_handshake_and_reset(listener: int) -> None:
    spec = ProbeSpec(1, "tcp", "127.0.0.1", listener, None)
    reply = engine.run_probes([spec], 2.0)[1]
    assert reply.kind == "reached"
    total = reply.sent_bytes + reply.received_bytes
    assert total == engine.max_probe_bytes(spec) == 200  # SYN, SYN/ACK, ACK, RST


ICMP_ECHO_COST = """
from player.net.path import engine
from player.net.path.sockets import ProbeSpec
spec = ProbeSpec(1, "icmp", "127.0.0.1", 0, None)
reply = engine.run_probes([spec], 2.0)[1]
print(reply.kind, reply.sent_bytes, reply.received_bytes, engine.max_probe_bytes(spec))
"""

#: As root where ICMP echo sockets are not permitted (CI's namespace: ping_group_range
#: "1 0"), the echo runs in a network namespace of its own that permits them (only its
#: loopback, brought up; the machine's own setting is not touched).
OWN_NETNS_PRELUDE = (
    "import subprocess, pathlib;"
    "subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True);"
    "pathlib.Path('/proc/sys/net/ipv4/ping_group_range').write_text('0 2147483647\\n')\n"
)


def _echo_cost() -> tuple[str, int, int, int]:
    """(reply kind, sent, received, the engine's bound) of one empty echo to 127.0.0.1."""
    ok, why = ping_permission()
    if ok:
        code = ICMP_ECHO_COST
        argv = [sys.executable, "-c", code]
    elif os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"):
        argv = ["unshare", "--net", sys.executable, "-c", OWN_NETNS_PRELUDE + ICMP_ECHO_COST]
    else:
        pytest.skip(why or "ICMP echo sockets not permitted here")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    kind, sent, received, bound = out.stdout.split()
    return kind, int(sent), int(received), int(bound)


def test_an_empty_icmp_echo_costs_56_bytes() -> None:
    kind, sent, received, bound = _echo_cost()
    assert kind == "reached"
    assert (sent, received) == (28, 28)
    assert sent + received <= bound


def test_the_prober_never_spends_more_than_its_budget(listener: int) -> None:
    """Real rounds (UDP to hop 1, a TCP handshake to the server) until the bucket is
    empty; the bytes counted never exceed it, and crediting video bytes lets rounds go on."""
    budget = ProbeBudget(share=0.01, allowance=1000)
    prober = HopProber(
        "127.0.0.1", port=listener, method="udp", interval_s=0.02, timeout_s=0.5, budget=budget
    )
    prober.start([Hop(1, "127.0.0.1")])
    try:
        wait_until(lambda: budget.refused > 0, "a round refused for want of tokens")
        first = prober.probe_bytes
        assert 0 < first <= 1000 and budget.spent == first
        budget.credit(300_000)  # 1 % of 300 kB: 3000 B
        refused = budget.refused
        wait_until(
            lambda: prober.probe_bytes > first and budget.refused > refused,
            "rounds paid by the credit, then a refusal",
        )
        assert prober.probe_bytes <= 3000 and budget.spent == prober.probe_bytes
    finally:
        prober.stop()


def test_the_pacer_decides_which_rounds_are_sent(listener: int) -> None:
    """Idle rounds until the idle target, then loaded ones when a download runs: every
    round the prober sends is one the pacer recorded, labelled as it was sent."""
    loaded = threading.Event()
    pacer = Pacer(
        fast_s=0.02, medium_s=600.0, slow_s=600.0, idle_min=3, idle_target=3,
        loaded_min=4, loaded_target=4, fresh_target=1,
    )  # fmt: skip
    prober = HopProber(
        "127.0.0.1",
        port=listener,
        method="udp",
        interval_s=0.02,
        timeout_s=0.5,
        is_loaded=loaded.is_set,
        pacer=pacer,
    )
    prober.start([Hop(1, "127.0.0.1")])

    def count(is_loaded: bool) -> int:
        return sum(1 for s in prober.samples() if s.loaded == is_loaded)

    try:
        wait_until(lambda: count(False) >= 3, "three idle rounds")
        loaded.set()
        wait_until(lambda: count(True) >= 4, "four loaded rounds")
    finally:
        prober.stop()  # the pacer is the probe thread's: read it once that has ended
    assert not prober.running
    n_loaded = pacer.loaded_rounds(time.monotonic(), 600.0)
    assert prober.rounds == len(prober.samples()) == pacer.idle_rounds + n_loaded
    assert count(False) == pacer.idle_rounds == 3  # no idle round past the idle target
