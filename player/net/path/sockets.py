"""Probe sockets with ``IP_RECVERR``, the probe packets and their ids, parsing of the
kernel's error-queue messages, and whether unprivileged ICMP is permitted.

Every probe socket enables ``IP_RECVERR`` (``IPV6_RECVERR``), so the kernel queues the ICMP
*time exceeded* (or *destination unreachable*) that a router sends back on the socket's
error queue, where it is read with ``recvmsg(MSG_ERRQUEUE)``: a ``struct sock_extended_err``
followed by the offender's address (``SO_EE_OFFENDER``). Receive times come from
``SO_TIMESTAMPNS`` when the kernel provides them, so a busy Python thread does not inflate
the RTT.

A probe with ``flow`` set belongs to a Paris flow (:mod:`player.net.path.flows`): it leaves
from the one socket of its target and method, so its answer is told from its siblings' by
the probe id it carries -- ICMP in the echo's sequence number, UDP in ``PROBE_ID_BYTES`` of
payload (:func:`encode_probe_id`, :func:`quoted_probe_id`).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PAYLOAD_BYTES = 32
PAYLOAD = b"stallwatch-probe".ljust(PAYLOAD_BYTES, b".")
PING_GROUP_RANGE_PATH = "/proc/sys/net/ipv4/ping_group_range"
UDP_BASE_PORT = 33434  # traceroute's conventional first port (+ TTL)
# A Paris flow's UDP probes all go to this one port, at every TTL and in every round, so
# routers that hash the ports for load balancing send them all the same way. Traceroute's
# first port: nothing listens there, so the destination answers with port unreachable.
UDP_FLOW_PORT = UDP_BASE_PORT
# A UDP flow probe's payload: its 16-bit id. Two bytes are the least that tells 65536
# probes apart (the flow's counter wraps after hours of probing, long after any answer);
# they cost 4 B per probe on the wire (the probe and the quote of it in the answer).
PROBE_ID_BYTES = 2
PROBE_ID_MODULUS = 1 << (8 * PROBE_ID_BYTES)
# An ICMP flow echo carries one 16-bit word after its header: the one's complement of its
# sequence number, so sequence + word (and so the checksum the kernel computes) is the
# same for every echo of the flow. Routers hashing the 4 bytes after the IP header
# (type, code, checksum) for load balancing then keep the flow on one path. 2 B per echo,
# counted twice (the echo and its reply or quote).
ECHO_CHECKSUM_WORD_BYTES = 2
# Linux: no automatic IPv6 flow label per socket hash (a new TCP probe socket would get a
# new label, and routers hashing the label a new path); the flow label stays 0.
IPV6_AUTOFLOWLABEL = getattr(socket, "IPV6_AUTOFLOWLABEL", 70)

# --- Linux constants not exported by the socket module -------------------------------
IP_RECVERR = 11
IPV6_RECVERR = 25
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
ICMP_ECHO_REQUEST = 8
ICMPV6_ECHO_REQUEST = 128
ICMP_TIME_EXCEEDED = 11
ICMPV6_TIME_EXCEEDED = 3
ICMP_DEST_UNREACH = 3
ICMPV6_DEST_UNREACH = 1
TCP_INFO_RTT_OFFSET = 68  # struct tcp_info: u8 x8, then u32 rto .. rcv_ssthresh, rtt
_EXT_ERR = struct.Struct("=IBBBBII")  # struct sock_extended_err
ICMP_PORT_UNREACH = 3  # destination unreachable codes that mean "the destination answered"
ICMPV6_PORT_UNREACH = 4
ICMP_ECHO_REPLY = 0
ICMPV6_ECHO_REPLY = 129

# Approximate on-wire IP bytes, for the probe byte counter.
IP_HEADER = {socket.AF_INET: 20, socket.AF_INET6: 40}
TCP_SYN_BYTES = 40  # TCP header with the usual SYN options (MSS, SACK, TS, WS)
TCP_ACK_BYTES = 20
ICMP_ERROR_QUOTE_MAX = 576  # RFC 1812: an ICMPv4 error quotes at most this much


# --- result types ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ExtendedError:
    """The kernel's ``struct sock_extended_err`` plus the offender address."""

    errno: int
    origin: int
    type: int
    code: int
    info: int
    data: int
    offender: str | None


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """One probe: ``key`` identifies it in the answer (the TTL or the hop number)."""

    key: int
    method: str  # icmp | udp | tcp
    dst: str  # IP literal
    port: int = 0  # udp/tcp destination port
    ttl: int | None = None  # None = the system default (not TTL-limited)
    # The target (IP literal) whose Paris flow carries the probe; None: a socket of its
    # own, and a new flow identity, for this probe.
    flow: str | None = None
    sport: int | None = None  # bind this source port (a TCP flow's probes); None: any
    # The router expected to answer (the hop prober's known hop at this TTL): an answer
    # without probe id from it can only be this probe's (:mod:`player.net.path.flows`).
    expect: str | None = None


@dataclass(frozen=True, slots=True)
class ProbeReply:
    """What came back for one probe."""

    key: int
    method: str
    address: str | None  # who answered; None = no answer
    rtt_ms: float | None
    kind: str  # ttl_exceeded | reached | unreachable | timeout | error
    icmp_type: int | None = None
    icmp_code: int | None = None
    sent_bytes: int = 0
    received_bytes: int = 0

    @property
    def answered(self) -> bool:
        return self.address is not None and self.rtt_ms is not None


class MethodUnavailable(OSError):
    """A probe method cannot be used here (permission, family, kernel support)."""


# --- ICMP permission ------------------------------------------------------------------
def parse_ping_group_range(text: str) -> tuple[int, int]:
    """Parse the two numbers of ``net.ipv4.ping_group_range``."""
    parts = text.split()
    if len(parts) != 2:
        raise ValueError(f"unexpected ping_group_range: {text!r}")
    return int(parts[0]), int(parts[1])


def ping_permission(
    groups: Iterable[int] | None = None, range_text: str | None = None
) -> tuple[bool, str | None]:
    """Whether unprivileged ICMP echo sockets are allowed for us, and why not.

    ``groups`` defaults to our real gid plus supplementary groups; ``range_text`` to the
    contents of ``/proc/sys/net/ipv4/ping_group_range``. The kernel allows the socket when
    any of our groups lies inside the inclusive range.
    """
    if groups is None:
        gids = [os.getgid(), *os.getgroups()]
    else:
        gids = list(groups)
    if range_text is None:
        try:
            with open(PING_GROUP_RANGE_PATH, encoding="ascii") as f:
                range_text = f.read()
        except OSError as exc:
            return False, f"ICMP not permitted: cannot read ping_group_range ({exc.strerror})"
    lo, hi = parse_ping_group_range(range_text)
    if any(lo <= g <= hi for g in gids):
        return True, None
    gid = gids[0] if gids else os.getgid()
    return False, f"ICMP not permitted: ping_group_range {lo} {hi} excludes gid {gid}"


# --- error queue parsing --------------------------------------------------------------
def parse_sockaddr(data: bytes) -> str | None:
    """The address in a ``struct sockaddr_in``/``sockaddr_in6``; None for AF_UNSPEC."""
    if len(data) < 2:
        return None
    (fam,) = struct.unpack_from("=H", data, 0)
    if fam == socket.AF_INET and len(data) >= 8:
        return socket.inet_ntop(socket.AF_INET, data[4:8])
    if fam == socket.AF_INET6 and len(data) >= 24:
        return socket.inet_ntop(socket.AF_INET6, data[8:24])
    return None


def parse_extended_err(data: bytes) -> ExtendedError:
    """Parse the payload of an ``IP_RECVERR``/``IPV6_RECVERR`` control message."""
    if len(data) < _EXT_ERR.size:
        raise ValueError(f"sock_extended_err too short: {len(data)} bytes")
    ee_errno, origin, typ, code, _pad, info, dat = _EXT_ERR.unpack_from(data, 0)
    offender = parse_sockaddr(data[_EXT_ERR.size :])
    return ExtendedError(ee_errno, origin, typ, code, info, dat, offender)


def parse_cmsgs(
    ancdata: Sequence[tuple[int, int, bytes]],
) -> tuple[ExtendedError | None, int | None]:
    """Pick the extended error and the kernel receive timestamp (ns) from ``recvmsg`` data."""
    err: ExtendedError | None = None
    stamp: int | None = None
    for level, typ, data in ancdata:
        if (level, typ) in ((socket.IPPROTO_IP, IP_RECVERR), (socket.IPPROTO_IPV6, IPV6_RECVERR)):
            err = parse_extended_err(data)
        elif level == socket.SOL_SOCKET and typ == SCM_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack_from("=qq", data, 0)
            stamp = sec * 1_000_000_000 + nsec
    return err, stamp


def classify_error(err: ExtendedError, dst: str) -> str:
    """``ttl_exceeded``, ``reached`` (port unreachable / RST from the destination) or
    ``unreachable`` (another ICMP error, or one raised locally)."""
    if err.origin == SO_EE_ORIGIN_ICMP:
        if err.type == ICMP_TIME_EXCEEDED:
            return "ttl_exceeded"
        if err.type == ICMP_DEST_UNREACH and err.code == ICMP_PORT_UNREACH and err.offender == dst:
            return "reached"
    elif err.origin == SO_EE_ORIGIN_ICMP6:
        if err.type == ICMPV6_TIME_EXCEEDED:
            return "ttl_exceeded"
        if (
            err.type == ICMPV6_DEST_UNREACH
            and err.code == ICMPV6_PORT_UNREACH
            and err.offender == dst
        ):
            return "reached"
    return "unreachable"


# --- probe ids ------------------------------------------------------------------------
def encode_probe_id(pid: int) -> bytes:
    """A UDP flow probe's payload: its id, big-endian."""
    return (pid % PROBE_ID_MODULUS).to_bytes(PROBE_ID_BYTES, "big")


def quoted_probe_id(method: str, family: int, data: bytes) -> int | None:
    """The id of the flow probe an ICMP error quotes, from the bytes the error queue hands
    back (what the router quoted after our UDP header, or from our ICMP header on).

    UDP: the payload's id, None when the router quoted only the 8 bytes RFC 792 requires
    (RFC 1812 asks for as much as fits in 576). ICMP: the quoted echo's sequence number,
    always within those 8 bytes."""
    if method == "udp":
        if len(data) < PROBE_ID_BYTES:
            return None
        return int.from_bytes(data[:PROBE_ID_BYTES], "big")
    echo = ICMPV6_ECHO_REQUEST if family == socket.AF_INET6 else ICMP_ECHO_REQUEST
    if len(data) >= 8 and data[0] == echo:
        return int(struct.unpack_from("!H", data, 6)[0])
    return None


def echo_reply_id(family: int, data: bytes) -> int | None:
    """The sequence number of an echo reply read from a ping socket, None if it is not one."""
    reply = ICMPV6_ECHO_REPLY if family == socket.AF_INET6 else ICMP_ECHO_REPLY
    if len(data) >= 8 and data[0] == reply:
        return int(struct.unpack_from("!H", data, 6)[0])
    return None


def echo_checksum_word(seq: int) -> bytes:
    """An ICMP flow echo's payload: the word that keeps its checksum constant (module
    constants)."""
    return struct.pack("!H", ~seq & 0xFFFF)


def probe_data_bytes(spec: ProbeSpec) -> int:
    """Payload bytes a probe carries: a UDP flow probe its id, an ICMP flow echo its
    checksum word, every other probe none."""
    if spec.flow is None:
        return 0
    if spec.method == "udp":
        return PROBE_ID_BYTES
    return ECHO_CHECKSUM_WORD_BYTES if spec.method == "icmp" else 0


def rtt_from_stamp(sent_wall_ns: int, sent_mono: float, stamp_ns: int | None, now: float) -> float:
    """A probe's RTT in ms: the kernel's receive timestamp when it is plausible (a wall
    clock step makes it negative or longer than the monotonic time), else the monotonic
    time until ``now``."""
    mono_ms = (now - sent_mono) * 1000.0
    if stamp_ns is not None:
        kernel_ms = (stamp_ns - sent_wall_ns) / 1e6
        if 0.0 <= kernel_ms <= mono_ms + 1.0:
            return kernel_ms
    return mono_ms


def set_hop_limit(s: socket.socket, family: int, ttl: int | None) -> None:
    """Set the TTL (hop limit) of the socket's next packets; None: the system default."""
    value = -1 if ttl is None else ttl  # -1 restores the route's default
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, value)
    else:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, value)


def icmp_permitted_socket(family: int) -> socket.socket:
    """An unprivileged ICMP echo socket; raises :class:`MethodUnavailable` when refused."""
    proto = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
    try:
        return socket.socket(family, socket.SOCK_DGRAM, proto)
    except (PermissionError, OSError) as exc:
        ok, why = ping_permission()
        raise MethodUnavailable(exc.errno or errno.EACCES, why or f"ICMP socket: {exc}") from exc


def open_probe_socket(spec: ProbeSpec, family: int) -> socket.socket:
    if spec.method == "icmp":
        s = icmp_permitted_socket(family)
    elif spec.method == "udp":
        s = socket.socket(family, socket.SOCK_DGRAM)
    elif spec.method == "tcp":
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    else:
        raise ValueError(f"unknown probe method {spec.method!r}")
    try:
        s.setblocking(False)
        if spec.sport is not None:  # the port a closed probe of the flow left (no TIME_WAIT)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", spec.sport))
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
            try:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, 0)
            except OSError:  # pragma: no cover - kernels before 4.12
                pass
        else:
            s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        if spec.ttl is not None:
            set_hop_limit(s, family, spec.ttl)
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:  # pragma: no cover - very old kernels
            pass
    except BaseException:
        s.close()
        raise
    return s


def send_probe(
    spec: ProbeSpec, s: socket.socket, family: int, seq: int, payload: bytes = PAYLOAD
) -> int:
    """Send one probe carrying ``payload`` (ICMP/UDP; TCP sends a SYN); return its
    approximate on-wire size in bytes. ``seq`` is an ICMP echo's sequence number."""
    iph = IP_HEADER[family]
    if spec.method == "icmp":
        typ = ICMPV6_ECHO_REQUEST if family == socket.AF_INET6 else ICMP_ECHO_REQUEST
        # The kernel fills in the identifier (the socket's "port") and the checksum.
        packet = struct.pack("!BBHHH", typ, 0, 0, 0, seq & 0xFFFF) + payload
        s.sendto(packet, (spec.dst, 0))
        return iph + len(packet)
    if spec.method == "udp":
        s.sendto(payload, (spec.dst, spec.port))
        return iph + 8 + len(payload)
    rc = s.connect_ex((spec.dst, spec.port))
    if rc not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
        raise OSError(rc, os.strerror(rc))
    return iph + TCP_SYN_BYTES
