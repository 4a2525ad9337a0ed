"""Forged router answers on loopback: real ICMP errors sent through a raw socket (root),
which the kernel queues on a probe socket's error queue as it would a router's."""

from __future__ import annotations

import socket
import struct

from player.net.path.sockets import PROBE_ID_BYTES


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def forge_icmp_error(
    router: str, src: tuple[str, int], dst: tuple[str, int], quote: bytes, kind: int = 11
) -> None:
    """ICMP time exceeded (11) or port unreachable (3) from ``router`` for a UDP datagram
    src -> dst, quoting ``quote`` of its data (b"": RFC 792's 8 bytes of UDP header)."""
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + PROBE_ID_BYTES, 0)
    inner = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + 8 + PROBE_ID_BYTES,
        0,
        0,
        1,
        socket.IPPROTO_UDP,
        0,
        socket.inet_aton(src[0]),
        socket.inet_aton(dst[0]),
    )
    body = inner + udp + quote
    code = 0 if kind == 11 else 3
    head = struct.pack("!BBHI", kind, code, 0, 0)
    msg = struct.pack("!BBHI", kind, code, checksum(head + body), 0) + body
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as raw:
        raw.bind((router, 0))
        raw.sendto(msg, (src[0], 0))
