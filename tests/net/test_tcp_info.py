"""TCP_INFO parsing (struct tcp_info built with struct.pack, a full and an older short one),
reading it from real sockets, and the Fetch record's flow signals through the real Fetcher
(loopback; the shaped paths are in test_tcp_info_netns.py)."""

from __future__ import annotations

import socket
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from player.core.model import FetchKind
from player.net.fetch import Fetcher
from player.net.tcp_info import FlowMeter, TcpInfo, parse_tcp_info, read_tcp_info, socket_of
from tests.support.origin import OriginServer

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="TCP_INFO is Linux's")
SIZE = 256 * 1024

# offsets in struct tcp_info (linux/include/uapi/linux/tcp.h), written independently of
# the module's table so that a wrong offset there fails here
OFFSETS = {
    "rtt_us": (68, "I"),
    "rttvar_us": (72, "I"),
    "rcv_rtt_us": (92, "I"),
    "total_retrans": (100, "I"),
    "bytes_received": (128, "Q"),
    "min_rtt_us": (148, "I"),
    "rcv_ooopack": (224, "I"),
}


def tcp_info_bytes(length: int = 248, **values: int) -> bytes:
    """A struct tcp_info of ``length`` bytes with ``values`` at their offsets (rest 0)."""
    buf = bytearray(max(length, 232))
    buf[0] = 1  # tcpi_state TCP_ESTABLISHED
    for name, v in values.items():
        off, fmt = OFFSETS[name]
        struct.pack_into("=" + fmt, buf, off, v)
    return bytes(buf[:length])


def test_every_field_is_read_at_its_offset() -> None:
    raw = tcp_info_bytes(
        rtt_us=21_500,
        rttvar_us=3_000,
        rcv_rtt_us=312_000,
        total_retrans=4,
        bytes_received=5_000_000_123,  # past 32 bits: the u64 is read whole
        min_rtt_us=19_800,
        rcv_ooopack=37,
    )
    assert parse_tcp_info(raw) == TcpInfo(
        rtt_us=21_500,
        rttvar_us=3_000,
        rcv_rtt_us=312_000,
        total_retrans=4,
        bytes_received=5_000_000_123,
        min_rtt_us=19_800,
        rcv_ooopack=37,
    )


def test_a_shorter_struct_from_an_older_kernel_leaves_the_newer_fields_none() -> None:
    # 4.6 - 5.3: min_rtt (148) present, rcv_ooopack (224, 5.4) not
    mid = parse_tcp_info(tcp_info_bytes(160, rcv_rtt_us=5_000, min_rtt_us=4_000, rcv_ooopack=9))
    assert mid.rcv_rtt_us == 5_000 and mid.min_rtt_us == 4_000 and mid.rcv_ooopack is None
    # 3.x (104 bytes: up to tcpi_total_retrans): no bytes_received, min_rtt or ooopack
    old = parse_tcp_info(tcp_info_bytes(104, rcv_rtt_us=5_000, total_retrans=2))
    assert old.rcv_rtt_us == 5_000 and old.total_retrans == 2
    assert old.bytes_received is None and old.min_rtt_us is None and old.rcv_ooopack is None
    # a fragment cut inside a field: that field is None, not garbage
    assert parse_tcp_info(tcp_info_bytes(94, rcv_rtt_us=5_000)).rcv_rtt_us is None
    assert parse_tcp_info(b"") == TcpInfo()


def test_no_estimate_yet_is_none_not_zero() -> None:
    info = parse_tcp_info(tcp_info_bytes(rcv_rtt_us=0, min_rtt_us=0xFFFFFFFF))
    assert info.rcv_rtt_us is None and info.min_rtt_us is None


class _Broken:
    def __init__(self, exc: BaseException | None = None, raw: object = b"") -> None:
        self.exc, self.raw = exc, raw

    def getsockopt(self, *_a: object) -> object:
        if self.exc is not None:
            raise self.exc
        return self.raw


@pytest.mark.parametrize(
    "sock",
    [
        None,
        object(),  # no getsockopt (a wrapper without it)
        _Broken(OSError(9, "Bad file descriptor")),
        _Broken(raw=b"\x01\x02"),  # not a tcp_info
        _Broken(raw=12),  # an int: getsockopt without a buffer length
    ],
)
def test_reading_never_raises(sock: object) -> None:
    assert read_tcp_info(sock) is None


def test_a_response_without_a_connection_has_no_socket() -> None:
    assert socket_of(None) is None and socket_of(object()) is None


@pytest.fixture
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    srv = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(srv.getsockname())
    peer, _ = srv.accept()
    srv.close()
    yield client, peer
    client.close()
    peer.close()


@linux_only
def test_a_real_socket_counts_what_it_received(
    tcp_pair: tuple[socket.socket, socket.socket],
) -> None:
    client, peer = tcp_pair
    meter = FlowMeter()
    peer.sendall(b"x")
    assert client.recv(1) == b"x"
    meter.first_byte(client)
    meter.arrived(0.0, 0.0)
    peer.sendall(b"v" * SIZE)
    got = 0
    while got < SIZE:
        got += len(client.recv(65536))
    meter.arrived(1.0, 0.6)  # one read waited 0.6 s of the 1 s body: a pause
    flow = meter.finish()
    assert flow is not None
    assert flow.bytes_received == SIZE  # the kernel's count since the start sample
    assert flow.ooo_packets == 0 and flow.retransmits == 0  # loopback loses nothing
    assert flow.min_rtt_ms is not None and flow.min_rtt_ms < 100
    assert flow.pause_share == pytest.approx(0.6)
    assert flow.wait_share == pytest.approx(0.6)
    client.close()
    assert read_tcp_info(client) is None  # closed: None, no exception


def test_no_start_sample_means_no_signals() -> None:
    assert FlowMeter().finish() is None


@linux_only
def test_the_fetch_record_carries_the_flow_signals(tmp_path: Path) -> None:
    (tmp_path / "seg.ts").write_bytes(bytes(i % 251 for i in range(SIZE)))
    f = Fetcher(read_timeout=5.0)
    try:
        with OriginServer(tmp_path) as srv:
            records = []
            for _ in range(2):  # the second on the pooled connection
                with f.open(srv.url("seg.ts"), FetchKind.SEGMENT) as tr:
                    assert sum(len(c) for c in tr.chunks()) == SIZE
                records.append(tr.fetch)
    finally:
        f.close()
    assert records[1].reused_connection
    for rec in records:
        flow = rec.flow
        assert flow is not None
        assert flow.min_rtt_ms is not None and flow.ooo_packets == 0
        # what arrived after the start sample: on loopback the whole body may already be in
        # the socket buffer at the first byte (the shaped paths count it: the netns test)
        assert flow.bytes_received is not None and 0 <= flow.bytes_received <= SIZE
        assert flow.pause_share is not None and 0.0 <= flow.pause_share <= 1.0
