"""Path discovery to the media host: the routers between this computer and the server.

Works unprivileged on Linux. Three probe methods, tried in this order by default:

``icmp``
    ICMP echo through an unprivileged ICMP socket (``SOCK_DGRAM, IPPROTO_ICMP``), allowed
    only when one of our groups lies inside ``net.ipv4.ping_group_range``.
``udp``
    UDP datagrams to high ports, as ``tracepath`` sends them: always allowed.
``tcp``
    TCP SYNs to the server's own port (usually open through any firewall); the destination
    answers with SYN/ACK or RST.

Every method sends probes with an increasing TTL (hop limit) and enables ``IP_RECVERR``
(``IPV6_RECVERR``) on the socket, so the kernel queues the ICMP *time exceeded* (or
*destination unreachable*) that a router sends back on the socket's error queue, where we
read it with ``recvmsg(MSG_ERRQUEUE)``: a ``struct sock_extended_err`` followed by the
offender's address (``SO_EE_OFFENDER``). Receive times come from ``SO_TIMESTAMPNS`` when the
kernel provides them, so a busy Python thread does not inflate the RTT.

TTLs are probed in parallel batches (one socket per probe), so a 10-hop path is found in
about one round-trip plus the timeout of the silent hops. When a method is not permitted or
the destination never answers it, the next method is tried and the reason is recorded in
:attr:`PathResult.reason` (e.g. ``"ICMP not permitted: ping_group_range 1 0 excludes gid
1000"``).

Route changes (:class:`PathCache`): a path is discovered once per host and session. Each
:meth:`PathCache.get` recomputes a cheap *local* route fingerprint (source address chosen by
the kernel for the destination plus the matching ``/proc/net/route`` entry: gateway and
interface); no packet is sent for it. A different fingerprint (Wi-Fi change, VPN up/down,
new DHCP lease) triggers a new discovery. Changes beyond the first hop cannot be seen
locally; :class:`player.net.probes.HopProber` notices them (the routers answering its
TTL-limited probes no longer match the known hops) and calls back, and the caller then calls
:meth:`PathCache.invalidate`.

System tools are not needed. Host names are validated before any use and never pass
through a shell.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import re
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from player import report
from player.core.model import Hop
from player.net import naming

log = logging.getLogger(__name__)

# --- tunables -------------------------------------------------------------------------
DEFAULT_METHODS: tuple[str, ...] = ("icmp", "udp", "tcp")
METHODS: frozenset[str] = frozenset(DEFAULT_METHODS)
DEFAULT_PORT = 443
DEFAULT_MAX_HOPS = 30
DEFAULT_TIMEOUT_S = 1.0  # wait for the answers of one batch
DEFAULT_ATTEMPTS = 2  # probes per TTL before calling a hop silent
BATCH_TTLS = 8  # TTLs probed in parallel
MAX_SILENT_RUN = 6  # stop after this many consecutive silent hops past the last answer
UDP_BASE_PORT = 33434  # traceroute's conventional first port (+ TTL)
PAYLOAD_BYTES = 32
RDNS_TIMEOUT_S = 2.0
RDNS_WORKERS = 8
PING_GROUP_RANGE_PATH = "/proc/sys/net/ipv4/ping_group_range"
PROC_NET_ROUTE = "/proc/net/route"
PAYLOAD = b"stallwatch-probe".ljust(PAYLOAD_BYTES, b".")

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

# Approximate on-wire IP bytes, for the probe byte counter.
IP_HEADER = {socket.AF_INET: 20, socket.AF_INET6: 40}
TCP_SYN_BYTES = 40  # TCP header with the usual SYN options (MSS, SACK, TS, WS)
TCP_ACK_BYTES = 20
ICMP_ERROR_QUOTE_MAX = 576  # RFC 1812: an ICMPv4 error quotes at most this much

_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}\.?$)(?!-)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"
    r"(?:\.(?!-)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$"
)


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


@dataclass(slots=True)
class PathResult:
    """The discovered path to one host."""

    host: str  # as asked (name or literal)
    address: str  # the resolved destination address
    port: int
    hops: list[Hop]
    method: str  # the method that produced ``hops`` ("none" when all failed)
    reason: str | None = None  # why a better method was not used, or why incomplete
    reached: bool = False  # the destination itself answered
    discovered_at: float = field(default_factory=time.monotonic)
    fingerprint: str = ""  # local route fingerprint at discovery time
    probe_bytes: int = 0

    @property
    def degraded(self) -> bool:
        return self.reason is not None

    def to_json(self) -> dict:
        """A JSON-ready dict (hops in the ``diagnose --json`` shape)."""
        return {
            "host": self.host,
            "address": self.address,
            "port": self.port,
            "method": self.method,
            "reason": self.reason,
            "reached": self.reached,
            "probe_bytes": self.probe_bytes,
            "hops": [hop_to_json(h) for h in self.hops],
        }


def hop_to_json(hop: Hop) -> dict:
    """Serialise a :class:`Hop` the way ``diagnose --json`` lists it."""
    return report.hop_json(hop)


class MethodUnavailable(OSError):
    """A probe method cannot be used here (permission, family, kernel support)."""


# --- input validation -----------------------------------------------------------------
def is_ip_literal(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def validate_host(host: str) -> str:
    """Return ``host`` normalised if it is an IP literal or a syntactically valid DNS name.

    Raises ``ValueError`` otherwise (empty, too long, shell metacharacters, spaces, a
    leading ``-`` that a tool would read as an option, ...).
    """
    if not isinstance(host, str):
        raise ValueError("host must be a string")
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if is_ip_literal(h):
        return str(ipaddress.ip_address(h))
    if not _HOSTNAME_RE.match(h):
        raise ValueError(f"not a valid host name: {host!r}")
    return h.rstrip(".").lower()


def resolve(host: str, port: int = 0, family: int = socket.AF_UNSPEC) -> tuple[int, str]:
    """Resolve ``host`` to (address family, IP literal); IPv4 preferred when both exist."""
    h = validate_host(host)
    if is_ip_literal(h):
        fam = socket.AF_INET6 if ipaddress.ip_address(h).version == 6 else socket.AF_INET
        return fam, h
    infos = socket.getaddrinfo(h, port or None, family, socket.SOCK_STREAM)
    if not infos:
        raise OSError(errno.EHOSTUNREACH, f"no address for {h}")
    infos.sort(key=lambda i: 0 if i[0] == socket.AF_INET else 1)
    fam, _, _, _, sockaddr = infos[0]
    return fam, str(sockaddr[0])


def _family_of(address: str) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


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
        if err.type == ICMP_DEST_UNREACH and err.code == 3 and err.offender == dst:
            return "reached"
    elif err.origin == SO_EE_ORIGIN_ICMP6:
        if err.type == ICMPV6_TIME_EXCEEDED:
            return "ttl_exceeded"
        if err.type == ICMPV6_DEST_UNREACH and err.code == 4 and err.offender == dst:
            return "reached"
    return "unreachable"


# --- the probe engine -----------------------------------------------------------------
@dataclass(slots=True)
class _Pending:
    spec: ProbeSpec
    sock: socket.socket
    family: int
    sent_wall_ns: int
    sent_mono: float
    sent_bytes: int


def icmp_permitted_socket(family: int) -> socket.socket:
    """An unprivileged ICMP echo socket; raises :class:`MethodUnavailable` when refused."""
    proto = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
    try:
        return socket.socket(family, socket.SOCK_DGRAM, proto)
    except (PermissionError, OSError) as exc:
        ok, why = ping_permission()
        raise MethodUnavailable(exc.errno or errno.EACCES, why or f"ICMP socket: {exc}") from exc


def _open_probe_socket(spec: ProbeSpec, family: int) -> socket.socket:
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
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
            if spec.ttl is not None:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, spec.ttl)
        else:
            s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
            if spec.ttl is not None:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, spec.ttl)
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:  # pragma: no cover - very old kernels
            pass
    except BaseException:
        s.close()
        raise
    return s


def _send(spec: ProbeSpec, s: socket.socket, family: int, seq: int) -> int:
    """Send one probe; return its approximate on-wire size in bytes."""
    iph = IP_HEADER[family]
    if spec.method == "icmp":
        typ = ICMPV6_ECHO_REQUEST if family == socket.AF_INET6 else ICMP_ECHO_REQUEST
        # The kernel fills in the identifier (the socket's "port") and the checksum.
        packet = struct.pack("!BBHHH", typ, 0, 0, 0, seq & 0xFFFF) + PAYLOAD
        s.sendto(packet, (spec.dst, 0))
        return iph + len(packet)
    if spec.method == "udp":
        s.sendto(PAYLOAD, (spec.dst, spec.port))
        return iph + 8 + len(PAYLOAD)
    rc = s.connect_ex((spec.dst, spec.port))
    if rc not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
        raise OSError(rc, os.strerror(rc))
    return iph + TCP_SYN_BYTES


def _wall_rtt_ms(p: _Pending, stamp_ns: int | None, now_mono: float) -> float:
    mono_ms = (now_mono - p.sent_mono) * 1000.0
    if stamp_ns is not None:
        kernel_ms = (stamp_ns - p.sent_wall_ns) / 1e6
        if 0.0 <= kernel_ms <= mono_ms + 1.0:  # ignore wall-clock steps
            return kernel_ms
    return mono_ms


def _tcp_info_rtt_ms(s: socket.socket) -> float | None:
    try:
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except OSError:
        return None
    if len(info) < TCP_INFO_RTT_OFFSET + 4:
        return None
    (rtt_us,) = struct.unpack_from("=I", info, TCP_INFO_RTT_OFFSET)
    return rtt_us / 1000.0 if rtt_us > 0 else None


def _read_answer(p: _Pending, revents: int, now_mono: float) -> ProbeReply | None:
    """Read what arrived for one pending probe; None if nothing conclusive yet."""
    spec, s, iph = p.spec, p.sock, IP_HEADER[p.family]
    if revents & select.POLLERR:
        try:
            data, anc, _flags, _addr = s.recvmsg(ICMP_ERROR_QUOTE_MAX, 512, socket.MSG_ERRQUEUE)
        except BlockingIOError:
            data, anc = b"", []
        except OSError as exc:
            log.debug("errqueue read failed: %s", exc)
            data, anc = b"", []
        err, stamp = parse_cmsgs(anc)
        if err is not None and err.origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
            kind = classify_error(err, spec.dst)
            rcvd = min(ICMP_ERROR_QUOTE_MAX, iph + 8 + iph + 8 + len(data))
            return ProbeReply(
                spec.key,
                spec.method,
                err.offender,
                _wall_rtt_ms(p, stamp, now_mono),
                kind,
                err.type,
                err.code,
                p.sent_bytes,
                rcvd,
            )
        if err is not None:  # a local error (no route, message too long, ...)
            return ProbeReply(
                spec.key, spec.method, None, None, "error", None, None, p.sent_bytes, 0
            )
        if spec.method != "tcp":
            # The pending error was consumed elsewhere; clear SO_ERROR and keep waiting.
            s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            return None
    if spec.method == "tcp" and revents & (select.POLLOUT | select.POLLERR | select.POLLHUP):
        soerr = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        rtt = (now_mono - p.sent_mono) * 1000.0
        if soerr == 0:
            rtt = _tcp_info_rtt_ms(s) or rtt
            return ProbeReply(
                spec.key,
                spec.method,
                spec.dst,
                rtt,
                "reached",
                None,
                None,
                p.sent_bytes + iph + TCP_ACK_BYTES,
                iph + TCP_SYN_BYTES,
            )
        if soerr == errno.ECONNREFUSED:
            return ProbeReply(
                spec.key,
                spec.method,
                spec.dst,
                rtt,
                "reached",
                None,
                None,
                p.sent_bytes,
                iph + TCP_ACK_BYTES,
            )
        return ProbeReply(spec.key, spec.method, None, None, "error", None, None, p.sent_bytes, 0)
    if revents & select.POLLIN and spec.method in ("icmp", "udp"):
        try:
            data, anc, _flags, addr = s.recvmsg(2048, 512)
        except OSError:
            return None
        _err, stamp = parse_cmsgs(anc)
        if spec.method == "icmp":
            if len(data) < 8:
                return None
            typ, _code, _ck, _ident, seq = struct.unpack_from("!BBHHH", data, 0)
            if typ not in (0, 129):  # echo reply (v4 / v6)
                return None
        return ProbeReply(
            spec.key,
            spec.method,
            str(addr[0]),
            _wall_rtt_ms(p, stamp, now_mono),
            "reached",
            None,
            None,
            p.sent_bytes,
            iph + 8 + len(data),
        )
    return None


def run_probes(
    specs: Sequence[ProbeSpec],
    timeout_s: float = DEFAULT_TIMEOUT_S,
    *,
    wake_fd: int | None = None,
    seq: int = 1,
) -> dict[int, ProbeReply]:
    """Send every probe at once (one socket each) and collect the answers.

    Returns one :class:`ProbeReply` per spec key (``kind="timeout"`` when none came within
    ``timeout_s``). Readability of ``wake_fd`` ends the wait early (used by
    :meth:`HopProber.stop`). Raises :class:`MethodUnavailable` when a method's socket
    cannot be opened at all.
    """
    pending: dict[int, _Pending] = {}
    replies: dict[int, ProbeReply] = {}
    poller = select.poll()
    try:
        for spec in specs:
            family = _family_of(spec.dst)
            s = _open_probe_socket(spec, family)
            try:
                wall_ns, mono = time.time_ns(), time.monotonic()
                nbytes = _send(spec, s, family, seq)
            except OSError as exc:
                s.close()
                if isinstance(exc, MethodUnavailable):
                    raise
                log.debug("probe %s ttl=%s to %s failed: %s", spec.method, spec.ttl, spec.dst, exc)
                replies[spec.key] = ProbeReply(spec.key, spec.method, None, None, "error")
                continue
            pending[s.fileno()] = _Pending(spec, s, family, wall_ns, mono, nbytes)
            mask = select.POLLERR | select.POLLIN
            if spec.method == "tcp":
                mask |= select.POLLOUT
            poller.register(s.fileno(), mask)
        if wake_fd is not None:
            poller.register(wake_fd, select.POLLIN)
        deadline = time.monotonic() + timeout_s
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            events = poller.poll(max(1, int(left * 1000)))
            now = time.monotonic()
            for fd, revents in events:
                if fd == wake_fd:
                    deadline = now  # woken: give up waiting
                    continue
                p = pending.get(fd)
                if p is None:
                    continue
                reply = _read_answer(p, revents, now)
                if reply is not None:
                    replies[p.spec.key] = reply
                    poller.unregister(fd)
                    p.sock.close()
                    del pending[fd]
        for p in pending.values():
            replies[p.spec.key] = ProbeReply(
                p.spec.key, p.spec.method, None, None, "timeout", sent_bytes=p.sent_bytes
            )
    finally:
        for p in pending.values():
            p.sock.close()
    return replies


# --- reverse DNS ----------------------------------------------------------------------
Resolver = Callable[[str], str | None]


def system_reverse_name(address: str) -> str | None:
    """Reverse DNS through the system resolver (``/etc/hosts``, then DNS); None if none."""
    try:
        name = socket.gethostbyaddr(address)[0]
    except (OSError, UnicodeError):
        return None
    return name


def clean_name(name: str | None) -> str | None:
    """A usable host name, or None for empty names and address literals."""
    if not name:
        return None
    n = name.strip().rstrip(".").lower()
    if not n or is_ip_literal(n) or not _HOSTNAME_RE.match(n):
        return None
    return n


def reverse_names(
    addresses: Iterable[str],
    resolver: Resolver | None = None,
    timeout_s: float = RDNS_TIMEOUT_S,
) -> dict[str, str | None]:
    """Reverse-resolve addresses in parallel, giving up on the slow ones after ``timeout_s``."""
    addrs = sorted({a for a in addresses if a})
    res = resolver or system_reverse_name
    out: dict[str, str | None] = dict.fromkeys(addrs)
    if not addrs:
        return out
    pool = ThreadPoolExecutor(
        max_workers=min(RDNS_WORKERS, len(addrs)), thread_name_prefix="stallwatch-rdns"
    )
    try:
        futures = {a: pool.submit(res, a) for a in addrs}
        deadline = time.monotonic() + timeout_s
        for a, fut in futures.items():
            try:
                out[a] = clean_name(fut.result(timeout=max(0.0, deadline - time.monotonic())))
            except Exception as exc:  # noqa: BLE001 - a resolver failure is just "no name"
                log.debug("reverse lookup of %s failed: %s", a, exc)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return out


# --- routes ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RouteEntry:
    iface: str
    destination: ipaddress.IPv4Network
    gateway: str | None


def parse_proc_net_route(text: str) -> list[RouteEntry]:
    """Parse ``/proc/net/route`` (little-endian hex IPv4 fields)."""
    routes: list[RouteEntry] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        try:
            dest = socket.inet_ntoa(struct.pack("<I", int(f[1], 16)))
            gw_raw = int(f[2], 16)
            flags = int(f[3], 16)
            mask = socket.inet_ntoa(struct.pack("<I", int(f[7], 16)))
        except ValueError:
            continue
        if not flags & 0x1:  # RTF_UP
            continue
        gw = socket.inet_ntoa(struct.pack("<I", gw_raw)) if flags & 0x2 and gw_raw else None
        net = ipaddress.IPv4Network(f"{dest}/{mask}", strict=False)
        routes.append(RouteEntry(f[0], net, gw))
    return routes


def _read_routes() -> list[RouteEntry]:
    try:
        with open(PROC_NET_ROUTE, encoding="ascii") as f:
            return parse_proc_net_route(f.read())
    except OSError:
        return []


def route_for(dst: str, routes: Sequence[RouteEntry] | None = None) -> RouteEntry | None:
    """Longest-prefix match of an IPv4 destination in the main routing table."""
    try:
        addr = ipaddress.ip_address(dst)
    except ValueError:
        return None
    if addr.version != 4:
        return None
    table = _read_routes() if routes is None else routes
    best: RouteEntry | None = None
    for r in table:
        if addr in r.destination and (
            best is None or r.destination.prefixlen > best.destination.prefixlen
        ):
            best = r
    return best


def default_gateway(
    dst: str | None = None, routes: Sequence[RouteEntry] | None = None
) -> str | None:
    """The gateway used toward ``dst`` (or of the default route); None when on-link/unknown."""
    if dst is not None:
        r = route_for(dst, routes)
        return r.gateway if r else None
    table = _read_routes() if routes is None else routes
    for r in table:
        if r.destination.prefixlen == 0 and r.gateway:
            return r.gateway
    return None


def source_address(dst: str, port: int = DEFAULT_PORT) -> str | None:
    """The local address the kernel would use toward ``dst`` (no packet is sent)."""
    try:
        with socket.socket(_family_of(dst), socket.SOCK_DGRAM) as s:
            s.connect((dst, port or 9))
            return str(s.getsockname()[0])
    except (OSError, ValueError):
        return None


def route_fingerprint(dst: str) -> str:
    """A cheap local fingerprint of the route toward ``dst``; changes with the interface,
    the gateway or the source address. Sends nothing."""
    r = route_for(dst)
    parts = [source_address(dst) or "-"]
    if r is not None:
        parts += [r.iface, str(r.destination), r.gateway or "on-link"]
    return "|".join(parts)


# --- discovery ------------------------------------------------------------------------
@dataclass(slots=True)
class _Trace:
    method: str
    answers: dict[int, ProbeReply]
    dest_ttl: int | None
    probe_bytes: int = 0

    def answered_count(self) -> int:
        return sum(1 for r in self.answers.values() if r.answered)


def _spec_for(method: str, dst: str, port: int, ttl: int) -> ProbeSpec:
    if method == "udp":
        return ProbeSpec(ttl, "udp", dst, UDP_BASE_PORT + ttl, ttl)
    return ProbeSpec(ttl, method, dst, port, ttl)


def trace(
    method: str,
    dst: str,
    port: int = DEFAULT_PORT,
    *,
    max_hops: int = DEFAULT_MAX_HOPS,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    attempts: int = DEFAULT_ATTEMPTS,
    batch: int = BATCH_TTLS,
) -> _Trace:
    """TTL sweep with one method; parallel batches, retries for silent TTLs."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    answers: dict[int, ProbeReply] = {}
    dest_ttl: int | None = None
    total = 0
    seq = 1
    first = 1
    while first <= max_hops and dest_ttl is None:
        ttls = list(range(first, min(first + batch, max_hops + 1)))
        for _ in range(max(1, attempts)):
            todo = [
                t
                for t in ttls
                if not (t in answers and answers[t].answered) and (dest_ttl is None or t < dest_ttl)
            ]
            if not todo:
                break
            got = run_probes([_spec_for(method, dst, port, t) for t in todo], timeout_s, seq=seq)
            seq += 1
            for t, r in got.items():
                total += r.sent_bytes + r.received_bytes
                if r.answered or t not in answers:
                    answers[t] = r
            reached = [t for t, r in answers.items() if r.kind == "reached" and r.answered]
            if reached:
                dest_ttl = min(reached)
        if dest_ttl is None:
            last_answer = max((t for t, r in answers.items() if r.answered), default=0)
            if ttls[-1] - last_answer >= MAX_SILENT_RUN:
                break
        first += batch
    return _Trace(method, answers, dest_ttl, total)


def _hops_from(tr: _Trace, dst: str) -> list[Hop]:
    if tr.dest_ttl is not None:
        last = tr.dest_ttl
    else:
        last = max((t for t, r in tr.answers.items() if r.answered), default=0)
    hops: list[Hop] = []
    for t in range(1, last + 1):
        r = tr.answers.get(t)
        addr = r.address if r is not None and r.answered and r.kind != "unreachable" else None
        if t == tr.dest_ttl:
            addr = dst
        hops.append(Hop(hop=t, address=addr))
    return hops


def discover_path(
    host: str,
    port: int = DEFAULT_PORT,
    *,
    methods: Sequence[str] = DEFAULT_METHODS,
    max_hops: int = DEFAULT_MAX_HOPS,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    attempts: int = DEFAULT_ATTEMPTS,
    resolver: Resolver | None = None,
    namer: naming.OrgNamer | None = None,
    gateway: str | None = None,
    classify: bool = True,
) -> PathResult:
    """Discover the hops toward ``host`` and name them.

    Methods are tried in order; the first that reaches the destination wins. When none
    reaches it, the result with the most answering hops is kept (``reached=False``).
    ``resolver`` does the reverse lookups (default: the system resolver); ``namer`` is a
    :class:`player.net.naming.OrgNamer` (default: the bundled table). With ``classify``
    the hops get ``org`` and ``segment`` from :func:`player.net.naming.classify_path`
    (``gateway`` defaults to the route's gateway from ``/proc/net/route``).
    """
    family, dst = resolve(host, port)
    reasons: list[str] = []
    best: _Trace | None = None
    total_bytes = 0
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")
        if method == "icmp":
            ok, why = ping_permission()
            if not ok:
                reasons.append(why or "ICMP not permitted")
                continue
        try:
            tr = trace(method, dst, port, max_hops=max_hops, timeout_s=timeout_s, attempts=attempts)
        except MethodUnavailable as exc:
            reasons.append(exc.strerror or str(exc))
            continue
        except OSError as exc:
            reasons.append(f"{method.upper()} probes failed: {exc.strerror or exc}")
            continue
        total_bytes += tr.probe_bytes
        if tr.dest_ttl is not None:
            best = tr
            break
        reasons.append(f"{method.upper()}: the destination did not answer")
        if best is None or tr.answered_count() > best.answered_count():
            best = tr
    if best is None:
        hops: list[Hop] = []
        method_used = "none"
        reached = False
    else:
        hops = _hops_from(best, dst)
        method_used = best.method
        reached = best.dest_ttl is not None
    names = reverse_names((h.address for h in hops if h.address), resolver)
    for h in hops:
        h.name = names.get(h.address) if h.address else None
    if classify and hops:
        gw = gateway if gateway is not None else default_gateway(dst)
        asked = validate_host(host)
        hops = naming.classify_path(
            hops,
            gw,
            namer=namer,
            server_name=None if is_ip_literal(asked) else asked,
            destination=dst if reached else None,
        )
    result = PathResult(
        host=host,
        address=dst,
        port=port,
        hops=hops,
        method=method_used,
        reason="; ".join(reasons) if reasons else None,
        reached=reached,
        fingerprint=route_fingerprint(dst),
        probe_bytes=total_bytes,
    )
    log.info(
        "path to %s (%s) by %s: %d hops%s",
        host,
        dst,
        method_used,
        len(hops),
        f" ({result.reason})" if result.reason else "",
    )
    return result


class PathCache:
    """Paths discovered once per host and session, re-discovered when the route changes.

    :meth:`get` compares the cached result's local route fingerprint with the current one
    (a few microseconds, no packets) and re-discovers on change; :meth:`invalidate` drops a
    host, e.g. from :class:`player.net.probes.HopProber`'s ``on_route_change`` callback.
    """

    def __init__(
        self,
        discover: Callable[..., PathResult] = discover_path,
        fingerprint: Callable[[str], str] = route_fingerprint,
        **discover_kwargs: object,
    ) -> None:
        self._discover = discover
        self._fingerprint = fingerprint
        self._kwargs = discover_kwargs
        self._lock = threading.Lock()
        self._paths: dict[tuple[str, int], PathResult] = {}
        self.discoveries = 0

    def get(self, host: str, port: int = DEFAULT_PORT) -> PathResult:
        key = (validate_host(host), port)
        with self._lock:
            cached = self._paths.get(key)
        if cached is not None:
            now_fp = self._fingerprint(cached.address)
            if now_fp == cached.fingerprint:
                return cached
            log.info(
                "route to %s changed (%s -> %s); re-discovering", host, cached.fingerprint, now_fp
            )
        result = self._discover(key[0], port, **self._kwargs)
        with self._lock:
            self._paths[key] = result
            self.discoveries += 1
        return result

    def peek(self, host: str, port: int = DEFAULT_PORT) -> PathResult | None:
        with self._lock:
            return self._paths.get((validate_host(host), port))

    def invalidate(self, host: str | None = None) -> None:
        """Forget one host's paths (all ports), or everything when ``host`` is None."""
        with self._lock:
            if host is None:
                self._paths.clear()
                return
            h = validate_host(host)
            for key in [k for k in self._paths if k[0] == h]:
                del self._paths[key]
