"""Late answers are evidence: an answer after its probe's round gave up on it becomes the
probe's sample with its true RTT, and the loss recorded at the timeout is taken back.

Real loopback sockets. The late router answers are real ICMP time exceeded messages that
the test sends through a raw socket (root only) after the probe's round has timed out, so
the kernel queues them on the flow's error queue (with its receive timestamp) exactly as
it would a router's answer delayed behind a deep queue. The namespace test with a real
queue is tests/testbed/test_late_answers_netem.py.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from player.core.model import Hop, ProbeSample
from player.net.path import engine, flows
from player.net.path.prober import HopProber
from player.net.path.rtt import rtt_stats
from player.net.path.sockets import UDP_FLOW_PORT, ProbeSpec, encode_probe_id
from tests.support.icmp import forge_icmp_error

LOOP = "127.0.0.1"
ROUTER = "127.0.0.9"  # the forged answers' source: a "router" on loopback
SHORT_TIMEOUT_S = 0.2  # a probe nobody answers in time times out after this
WAIT_S = 15.0  # ends a hang only
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="forging router answers needs root")


@pytest.fixture(autouse=True)
def fresh_flows() -> Iterator[None]:
    flows.close_all()
    yield
    flows.close_all()


def _quiet(port: int = 0) -> socket.socket:
    """A UDP socket on loopback that receives the probes and never answers."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOOP, port))
    except OSError as exc:
        s.close()
        pytest.skip(f"cannot bind {LOOP}:{port}: {exc}")
    s.settimeout(WAIT_S)
    return s


def _time_exceeded(flow: flows.ProbeFlow, pid: int) -> None:
    """A router's ICMP time exceeded for our UDP probe ``pid`` (quoting its id)."""
    assert flow.local_port is not None
    forge_icmp_error(ROUTER, (LOOP, flow.local_port), (flow.target, flow.port), encode_probe_id(pid))


def _specs(port: int, ttls: range) -> list[ProbeSpec]:
    return [ProbeSpec(t, "udp", LOOP, port, t, flow=LOOP) for t in ttls]


def _flow(port: int) -> flows.ProbeFlow:
    (flow,) = [f for f in flows.flows() if f.port == port]
    return flow


def _until(cond, what: str) -> None:  # noqa: ANN001 - a zero-argument predicate
    deadline = time.monotonic() + WAIT_S
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


# --- the pure parts ---------------------------------------------------------------------
def test_pending_samples_are_neither_answered_nor_lost() -> None:
    samples = [ProbeSample(1, float(i), None if i < 3 else 10.0, True) for i in range(6)]
    st = rtt_stats(samples)
    assert (st.count, st.sent, st.loss, st.pending) == (3, 6, 0.5, 0)
    st = rtt_stats(samples, pending=2)  # two of the three losses may still be answered
    assert (st.count, st.sent, st.pending) == (3, 6, 2) and st.loss == 0.25
    assert rtt_stats(samples, pending=9).pending == 3  # never more than the unanswered
    assert rtt_stats(samples[:3], pending=3).loss == 0.0
    assert st.to_json()["pending"] == 2


# --- the flow keeps late answers for whoever gave up on them ---------------------------------
@needs_root
def test_a_late_answer_is_claimed_with_its_true_rtt() -> None:
    with _quiet() as quiet:
        port = quiet.getsockname()[1]
        ledger = flows.LateLedger()
        ledger.begin_round()
        first = engine.run_probes(_specs(port, range(1, 3)), SHORT_TIMEOUT_S, late=ledger)
        gave_up = time.monotonic()  # the round is over: what comes now is late
        assert {r.kind for r in first.values()} == {"timeout"}
        assert sorted(ledger.timed_out) == [1, 2] and ledger.waiting == 2
        ticket = ledger.timed_out[2]
        flow = _flow(port)
        _time_exceeded(flow, ticket.pid)  # TTL 2's answer, after its round
        assert ledger.take() == []  # nothing has read the flow yet
        ledger.begin_round()
        engine.run_probes(_specs(port, range(3, 4)), SHORT_TIMEOUT_S, late=ledger)
        ((got_ticket, reply),) = ledger.take()  # the next round drained it and kept it
    assert got_ticket is ticket and ticket.spec.key == 2
    assert reply.kind == "ttl_exceeded" and reply.address == ROUTER
    # its true RTT: from its send to the kernel's receive time, after the round gave up
    # (1 ms for the wall clock of the receive stamp against the monotonic one)
    assert reply.rtt_ms is not None
    assert reply.rtt_ms >= (gave_up - ticket.sent_mono) * 1000.0 - 1.0
    assert flow.late_answers == 1
    assert ledger.waiting == 2  # TTL 1 (first round) and TTL 3 (second) still open
    assert ledger.claimed == 1


@needs_root
def test_poll_reads_late_answers_between_rounds() -> None:
    with _quiet() as quiet:
        port = quiet.getsockname()[1]
        ledger = flows.LateLedger()
        engine.run_probes(_specs(port, range(1, 2)), SHORT_TIMEOUT_S, late=ledger)
        ticket = ledger.timed_out[1]
        _time_exceeded(_flow(port), ticket.pid)
        got: list = []

        def polled() -> bool:
            ledger.poll()
            got.extend(ledger.take())
            return bool(got)

        _until(polled, "the polled late answer")
    ((t, reply),) = got
    assert t is ticket and reply.address == ROUTER and ledger.waiting == 0


@needs_root
def test_an_answer_another_caller_reads_is_kept_for_the_one_that_waits() -> None:
    """Discovery and the prober share the flow: a round of one reads the other's late
    answer, and keeps it for the ledger that holds its ticket."""
    with _quiet() as quiet:
        port = quiet.getsockname()[1]
        mine = flows.LateLedger()
        engine.run_probes(_specs(port, range(1, 2)), SHORT_TIMEOUT_S, late=mine)
        ticket = mine.timed_out[1]
        _time_exceeded(_flow(port), ticket.pid)
        theirs = flows.LateLedger()
        engine.run_probes(_specs(port, range(2, 3)), SHORT_TIMEOUT_S, late=theirs)
        assert theirs.take() == []  # not theirs
        mine.poll()  # the answer is on the flow now, not on the socket
        ((t, reply),) = mine.take()
    assert t is ticket and reply.kind == "ttl_exceeded"


@needs_root
def test_an_answer_beyond_the_horizon_stays_a_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    with _quiet() as quiet:
        port = quiet.getsockname()[1]
        ledger = flows.LateLedger()
        engine.run_probes(_specs(port, range(1, 2)), SHORT_TIMEOUT_S, late=ledger)
        ticket = ledger.timed_out[1]
        monkeypatch.setattr(flows, "LATE_HORIZON_S", 0.0)  # every answer is now too late
        monkeypatch.setattr(flows, "LATE_CLAIM_GRACE_S", 0.0)
        flow = _flow(port)
        _time_exceeded(flow, ticket.pid)

        def drained() -> bool:
            ledger.poll()  # reads the flow: the answer is counted late, not kept
            return flow.late_answers == 1

        _until(drained, "the drained answer")
        assert ledger.take() == []
    assert ledger.expired == 1 and ledger.waiting == 0 and flow.late_answers == 1


# --- the prober: the loss becomes the sample's RTT ---------------------------------------
@needs_root
def test_the_prober_takes_a_loss_back_when_its_answer_comes_late() -> None:
    """A real HopProber probes hop 1 (a "router" at 127.0.0.9) by UDP toward a quiet
    loopback port; its first probe times out (a loss, labelled loaded as the round was
    when it was sent), then the router's answer to that probe comes: the same sample now
    holds the true RTT, no sample is added, and the labels stay as they were."""
    with _quiet(UDP_FLOW_PORT) as quiet:
        calls = 0
        lock = threading.Lock()

        def loaded() -> bool:  # the first round is sent under load, later ones idle
            nonlocal calls
            with lock:
                calls += 1
                return calls == 1

        prober = HopProber(
            LOOP, method="udp", interval_s=0.3, timeout_s=SHORT_TIMEOUT_S, is_loaded=loaded
        )
        with prober:
            prober.start([Hop(1, ROUTER)])
            _until(lambda: prober.rounds >= 2, "two rounds")
            first = prober.samples(hop=1)[0]
            assert first.rtt_ms is None and first.loaded
            assert prober.loaded_stats(1).pending == 1 and prober.loaded_stats(1).loss == 0.0
            assert first.at not in {s.at for s in prober.samples(hop=1, pending=False)}
            data, _addr = quiet.recvfrom(64)  # the first probe: its id
            (flow,) = flows.flows()
            _time_exceeded(flow, int.from_bytes(data, "big"))
            _until(lambda: prober.samples(hop=1)[0].rtt_ms is not None, "the late sample")
            samples = prober.samples(hop=1)
            late = samples[0]
            stats = prober.loaded_stats(1)
        assert (late.at, late.loaded, late.hop) == (first.at, True, 1)  # the same sample
        # answered after the second round had ended: later than one interval (0.3 s)
        assert late.rtt_ms is not None and late.rtt_ms >= prober.interval_s * 1000.0
        assert prober.late_samples == 1 and flow.late_answers == 1
        assert sum(1 for s in samples if s.at == first.at) == 1  # one probe, one sample
        assert all(s.rtt_ms is None and not s.loaded for s in samples[1:])  # nobody answered
        assert (stats.count, stats.pending, stats.loss) == (1, 0, 0.0)
        assert late.at in {s.at for s in prober.samples(hop=1, pending=False)}
        assert prober.probe_bytes_received > 0  # the late answer's bytes are counted
