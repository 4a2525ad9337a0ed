"""Paris flows: probe ids, the flow identity on the wire, and how answers are matched.

Real loopback sockets throughout. The router answers that loopback cannot produce (a time
exceeded quoting only 8 bytes of our UDP datagram, an answer after its probe timed out)
are real ICMP messages that the test sends itself through a raw socket (root only), so
the kernel delivers them to the flow's error queue exactly as it would a router's.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator

import pytest

from player.net.path import engine, flows
from player.net.path.sockets import (
    ECHO_CHECKSUM_WORD_BYTES,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    PROBE_ID_BYTES,
    ProbeSpec,
    echo_reply_id,
    encode_probe_id,
    ping_permission,
    probe_data_bytes,
    quoted_probe_id,
)
from tests.support.icmp import forge_icmp_error

LOOP = "127.0.0.1"
ROUTER = "127.0.0.9"  # the forged answers' source: a "router" on loopback
ROUND_TIMEOUT_S = 15.0  # a round waits this long for an answer already queued (ends hangs)
SHORT_TIMEOUT_S = 0.2  # a probe that gets no answer: it times out after this
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="forging router answers needs root")


@pytest.fixture(autouse=True)
def fresh_flows() -> Iterator[None]:
    yield
    flows.close_all()


@pytest.fixture
def quiet() -> Iterator[socket.socket]:
    """A UDP socket on loopback that receives the probes and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOP, 0))
        s.settimeout(ROUND_TIMEOUT_S)
        yield s


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket() as srv:
        srv.bind((LOOP, 0))
        srv.listen(64)
        srv.settimeout(ROUND_TIMEOUT_S)
        yield srv


def _specs(port: int, ttls: range, *, dst: str = LOOP) -> list[ProbeSpec]:
    return [ProbeSpec(t, "udp", dst, port, t, flow=dst) for t in ttls]


# --- ids ------------------------------------------------------------------------------
def test_probe_ids_encode_and_are_read_back_from_quotes() -> None:
    assert PROBE_ID_BYTES == 2
    for pid in (0, 1, 0x1234, 0xFFFF):
        assert quoted_probe_id("udp", socket.AF_INET, encode_probe_id(pid)) == pid
    assert encode_probe_id(0x10001) == encode_probe_id(1)  # the counter wraps
    # an RFC 4884 extension pads the quote: the id is still its first bytes
    assert quoted_probe_id("udp", socket.AF_INET, encode_probe_id(7) + bytes(126)) == 7
    # a router that quoted only the 8 bytes of our UDP header: no id
    assert quoted_probe_id("udp", socket.AF_INET, b"") is None
    assert quoted_probe_id("udp", socket.AF_INET, b"\x01") is None
    echo = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, 4242, 513)
    assert quoted_probe_id("icmp", socket.AF_INET, echo) == 513
    assert quoted_probe_id("icmp", socket.AF_INET6, b"\x80\x00" + echo[2:]) == 513
    assert quoted_probe_id("icmp", socket.AF_INET, echo[:7]) is None
    assert quoted_probe_id("icmp", socket.AF_INET, b"\x00" + echo[1:]) is None  # not an echo
    reply = struct.pack("!BBHHH", ICMP_ECHO_REPLY, 0, 0, 4242, 9)
    assert echo_reply_id(socket.AF_INET, reply) == 9
    assert echo_reply_id(socket.AF_INET, echo) is None


def test_a_udp_flow_probe_costs_its_id_twice() -> None:
    paris = ProbeSpec(1, "udp", "203.0.113.2", 33434, 1, flow="203.0.113.2")
    classic = ProbeSpec(1, "udp", "203.0.113.2", 33435, 1)
    echo = ProbeSpec(1, "icmp", "203.0.113.2", 0, 1, flow="203.0.113.2")
    assert probe_data_bytes(paris) == 2 and probe_data_bytes(classic) == 0
    # the echo's id is its sequence number; it carries the word keeping its checksum fixed
    assert probe_data_bytes(echo) == ECHO_CHECKSUM_WORD_BYTES == 2
    assert engine.max_probe_bytes(echo) == 84 + 2 * ECHO_CHECKSUM_WORD_BYTES
    assert engine.max_probe_bytes(classic) == 84
    assert engine.max_probe_bytes(paris) == 84 + 2 * PROBE_ID_BYTES


def test_flow_keys() -> None:
    with pytest.raises(ValueError):
        flows.flow_key(ProbeSpec(1, "udp", LOOP, 9, 1))  # no flow
    with pytest.raises(ValueError):
        flows.flow_key(ProbeSpec(1, "tcp", LOOP, 9, 1, flow=LOOP))
    a = flows.flow_key(ProbeSpec(1, "icmp", "192.0.2.1", 0, None, flow=LOOP))
    b = flows.flow_key(ProbeSpec(2, "icmp", "192.0.2.2", 0, None, flow=LOOP))
    assert a == b == ("icmp", LOOP, 0)  # direct echoes to every hop: one identifier


# --- the flow identity on the wire ------------------------------------------------------
def test_every_ttl_and_round_leaves_from_one_port_with_its_own_id(quiet: socket.socket) -> None:
    port = quiet.getsockname()[1]
    seen: list[tuple[int, int]] = []
    for _round in range(3):
        replies = engine.run_probes(_specs(port, range(1, 5)), SHORT_TIMEOUT_S)
        assert {r.kind for r in replies.values()} == {"timeout"}  # nobody answers
        assert all(r.sent_bytes == 20 + 8 + PROBE_ID_BYTES for r in replies.values())
        for _ in range(4):
            data, (_addr, sport) = quiet.recvfrom(64)
            seen.append((sport, int.from_bytes(data, "big")))
    (flow,) = [f for f in flows.flows() if f.port == port]
    assert {sport for sport, _ in seen} == {flow.local_port}  # one source port throughout
    assert [pid for _, pid in seen] == list(range(12))  # one id per probe, none reused
    assert flow.sent == 12 and not flow.serial


def test_the_flow_is_shared_by_every_caller() -> None:
    spec = ProbeSpec(1, "udp", LOOP, 33434, 1, flow=LOOP)
    assert flows.flow_for(spec) is flows.flow_for(ProbeSpec(9, "udp", LOOP, 33434, 9, flow=LOOP))
    assert flows.flow_for(spec) is not flows.flow_for(
        ProbeSpec(1, "udp", LOOP, 33999, 1, flow=LOOP)
    )


def test_port_unreachable_answers_every_ttl_by_id() -> None:
    """The destination's own answers (full quotes) go to the right TTL, round after round."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOP, 0))
        closed = s.getsockname()[1]
    for _ in range(2):
        replies = engine.run_probes(_specs(closed, range(1, 4)), ROUND_TIMEOUT_S)
        assert sorted(replies) == [1, 2, 3]
        for r in replies.values():
            assert r.kind == "reached" and r.address == LOOP and r.rtt_ms is not None
            assert r.sent_bytes + r.received_bytes == 88  # 84 B + the id, twice
    (flow,) = [f for f in flows.flows() if f.port == closed]
    assert flow.late_answers == 0 and flow.ambiguous == 0


# --- TCP: one source port per TTL, the TTLs in parallel -----------------------------------
def test_tcp_probes_of_a_ttl_leave_from_one_port(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    for _ in range(3):
        specs = [ProbeSpec(t, "tcp", LOOP, port, t, flow=LOOP) for t in (1, 2)]
        specs.append(ProbeSpec(3, "tcp", LOOP, port, None, flow=LOOP))  # the server connect
        replies = engine.run_probes(specs, ROUND_TIMEOUT_S)
        assert [replies[k].kind for k in (1, 2, 3)] == ["reached"] * 3
    by_ttl = {f.ttl: f for f in flows.tcp_flows()}
    assert set(by_ttl) == {1, 2, None}
    peers: dict[int, int] = {}
    for _ in range(9):
        conn, (_addr, peer_port) = listener.accept()
        conn.close()
        peers[peer_port] = peers.get(peer_port, 0) + 1
    # every round from the same three ports: one per TTL (and one for the connect) -- unless
    # another socket was given a flow's port between two rounds (the port is free between
    # probes), when that flow re-picks (test_a_tcp_flow_whose_port_was_taken_picks_another)
    assert sum(peers.values()) == 9 and all(f.sent == 3 for f in by_ttl.values())
    assert {f.local_port for f in by_ttl.values()} <= set(peers)
    if len(peers) == 3:
        assert peers == {f.local_port: 3 for f in by_ttl.values()}


def test_a_tcp_flow_whose_port_was_taken_picks_another(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    spec = ProbeSpec(1, "tcp", LOOP, port, None, flow=LOOP)
    assert engine.run_probes([spec], ROUND_TIMEOUT_S)[1].kind == "reached"
    (flow,) = flows.tcp_flows()
    first = flow.local_port
    with socket.socket() as squatter:  # someone else listens on the flow's port now
        squatter.bind(("0.0.0.0", first))
        squatter.listen(1)
        assert engine.run_probes([spec], ROUND_TIMEOUT_S)[1].kind == "reached"
    assert flow.local_port not in (None, first)


# --- answers a router sends (forged on loopback) -----------------------------------------
def _time_exceeded(flow: flows.ProbeFlow, quote: bytes) -> None:
    """A router's ICMP time exceeded for our UDP probe, quoting ``quote`` of its data."""
    assert flow.local_port is not None
    forge_icmp_error(ROUTER, (LOOP, flow.local_port), (flow.target, flow.port), quote)


def _round(specs: list[ProbeSpec]) -> flows.FlowRound:
    rnd = flows.FlowRound(specs)
    rnd.start()
    return rnd


def _flow(port: int) -> flows.ProbeFlow:
    (flow,) = [f for f in flows.flows() if f.port == port]
    return flow


@needs_root
def test_a_quoted_id_names_the_probe_among_many(quiet: socket.socket) -> None:
    port = quiet.getsockname()[1]
    with _round(_specs(port, range(1, 4))) as rnd:
        flow = _flow(port)
        _time_exceeded(flow, encode_probe_id(1))  # the second probe sent: TTL 2
        replies = rnd.collect(SHORT_TIMEOUT_S)
    assert replies[2].kind == "ttl_exceeded" and replies[2].address == ROUTER
    assert replies[2].rtt_ms is not None
    assert replies[1].kind == replies[3].kind == "timeout"
    assert not flow.serial


@needs_root
def test_an_eight_byte_quote_is_taken_only_when_one_probe_is_open(quiet: socket.socket) -> None:
    port = quiet.getsockname()[1]
    with _round(_specs(port, range(1, 2))) as rnd:
        flow = _flow(port)
        _time_exceeded(flow, b"")  # RFC 792: only our UDP header
        replies = rnd.collect(ROUND_TIMEOUT_S)
    assert replies[1].kind == "ttl_exceeded" and replies[1].address == ROUTER
    assert flow.ambiguous == 0 and not flow.serial


@needs_root
def test_an_eight_byte_quote_among_several_probes_is_nobodys(quiet: socket.socket) -> None:
    """Two probes wait: the id-less answer could be either's, so neither takes it (neither
    counts as lost), and the flow sends one probe at a time from then on."""
    port = quiet.getsockname()[1]
    with _round(_specs(port, range(1, 3))) as rnd:
        flow = _flow(port)
        _time_exceeded(flow, b"")
        replies = rnd.collect(SHORT_TIMEOUT_S)
    assert replies[1].kind == replies[2].kind == "ambiguous"
    assert not replies[1].answered and not replies[2].answered
    assert flow.ambiguous == 1 and flow.serial
    # serial: each probe is sent only once the one before it is settled
    for _ in range(2):
        quiet.recvfrom(64)
    with _round(_specs(port, range(1, 4))) as rnd:  # no deadline: all three, in turn
        rnd.collect(SHORT_TIMEOUT_S)
    got = [int.from_bytes(quiet.recvfrom(64)[0], "big") for _ in range(3)]
    assert got == [2, 3, 4]
    # a round of the engine ends at its deadline (one timeout): a probe whose turn did not
    # come is skipped -- not sent, and no loss
    replies = engine.run_probes(_specs(port, range(1, 4)), SHORT_TIMEOUT_S)
    assert int.from_bytes(quiet.recvfrom(64)[0], "big") == 5
    assert [replies[k].kind for k in (1, 2, 3)] == ["timeout", "skipped", "skipped"]


@needs_root
def test_a_late_answer_never_counts_for_a_later_probe(quiet: socket.socket) -> None:
    port = quiet.getsockname()[1]
    first = engine.run_probes(_specs(port, range(2, 3)), SHORT_TIMEOUT_S)  # id 0, TTL 2
    assert first[2].kind == "timeout"
    flow = _flow(port)
    with _round(_specs(port, range(3, 4))) as rnd:  # id 1, TTL 3, the only probe waiting
        _time_exceeded(flow, b"")  # TTL 2's late answer, or TTL 3's? cannot tell: neither
        _time_exceeded(flow, encode_probe_id(0))  # TTL 2's, late: dropped, counted
        replies = rnd.collect(SHORT_TIMEOUT_S)
    assert replies[3].kind == "ambiguous" and not replies[3].answered
    assert flow.late_answers == 1 and flow.ambiguous == 1
    # TTL 3's probe is still unaccounted for: the next id-less answer is nobody's either
    with _round(_specs(port, range(4, 5))) as rnd:  # id 2
        _time_exceeded(flow, b"")
        replies = rnd.collect(SHORT_TIMEOUT_S)
    assert replies[4].kind == "ambiguous" and flow.ambiguous == 2
    # once every earlier probe is accounted for (here by late answers with their ids),
    # an id-less answer with one probe open is that probe's
    with _round(_specs(port, range(5, 6))) as rnd:  # id 3
        _time_exceeded(flow, encode_probe_id(1))
        _time_exceeded(flow, encode_probe_id(2))
        _time_exceeded(flow, b"")
        replies = rnd.collect(ROUND_TIMEOUT_S)
    assert replies[5].kind == "ttl_exceeded" and flow.late_answers == 3


@needs_root
def test_late_answers_queued_between_rounds_are_drained(quiet: socket.socket) -> None:
    port = quiet.getsockname()[1]
    engine.run_probes(_specs(port, range(1, 3)), SHORT_TIMEOUT_S)  # ids 0 and 1 time out
    flow = _flow(port)
    _time_exceeded(flow, encode_probe_id(0))
    _time_exceeded(flow, encode_probe_id(1))
    with _round(_specs(port, range(1, 2))) as rnd:  # the drain reads both, late
        assert flow.late_answers == 2
        _time_exceeded(flow, b"")  # no other probe is unaccounted for: this one's
        replies = rnd.collect(ROUND_TIMEOUT_S)
    assert replies[1].kind == "ttl_exceeded"


# --- ICMP echo: one identifier per target ---------------------------------------------
ECHO_FLOW = """
import json
from player.net.path import engine, flows
from player.net.path.sockets import ProbeSpec
out = []
for _ in range(3):
    specs = [ProbeSpec(k, "icmp", f"127.0.0.{k}", 0, None, flow="127.0.0.1") for k in (1, 2, 3)]
    replies = engine.run_probes(specs, 15.0)
    (flow,) = flows.flows()
    out.append({"ident": flow.local_port, "sent": flow.sent,
                "replies": {k: [r.kind, r.address] for k, r in replies.items()}})
print(json.dumps(out))
"""
OWN_NETNS_PRELUDE = (
    "import subprocess, pathlib;"
    "subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True);"
    "pathlib.Path('/proc/sys/net/ipv4/ping_group_range').write_text('0 2147483647\\n')\n"
)


def test_echoes_to_every_hop_share_one_identifier() -> None:
    import json

    ok, why = ping_permission()
    if ok:
        argv = [sys.executable, "-c", ECHO_FLOW]
    elif os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"):
        argv = ["unshare", "--net", sys.executable, "-c", OWN_NETNS_PRELUDE + ECHO_FLOW]
    else:
        pytest.skip(why or "ICMP echo sockets not permitted here")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    rounds = json.loads(out.stdout.strip().splitlines()[-1])
    assert len({r["ident"] for r in rounds}) == 1 and rounds[0]["ident"] is not None
    assert [r["sent"] for r in rounds] == [3, 6, 9]
    for r in rounds:
        assert r["replies"] == {str(k): ["reached", f"127.0.0.{k}"] for k in (1, 2, 3)}
