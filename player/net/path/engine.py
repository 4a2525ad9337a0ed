"""One round of probes: send every probe at once (one socket each) and collect the answers
from the error queue, the echo replies and the TCP handshakes, with kernel receive times.
Probes of a Paris flow (``ProbeSpec.flow``) leave from their flow's one socket instead
(:mod:`player.net.path.flows`) and carry an id (a UDP one 2 bytes of it; an ICMP echo
2 bytes keeping its checksum constant).

ICMP and UDP probes carry no payload (``PROBE_PAYLOAD``): the kernel matches every answer
to its socket (the echo identifier, the quoted UDP ports), so data would only add bytes,
twice (a router's time exceeded quotes the whole probe). An empty probe costs 56 B on the
wire with its answer, 84 B with a time exceeded (IPv4), against 128 / 148 B with 32 B of
data; a flow probe's 2-byte id makes that 60 B / 88 B. :func:`max_round_bytes` is a round's worst-case cost, reserved from the
:class:`player.net.path.budget.ProbeBudget` before it is sent.
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from player.net.path import flows
from player.net.path.hosts import family_of
from player.net.path.sockets import (
    ICMP_ECHO_REPLY,
    ICMP_ERROR_QUOTE_MAX,
    ICMPV6_ECHO_REPLY,
    IP_HEADER,
    SO_EE_ORIGIN_ICMP,
    SO_EE_ORIGIN_ICMP6,
    TCP_ACK_BYTES,
    TCP_INFO_RTT_OFFSET,
    TCP_SYN_BYTES,
    MethodUnavailable,
    ProbeReply,
    ProbeSpec,
    classify_error,
    open_probe_socket,
    parse_cmsgs,
    probe_data_bytes,
    rtt_from_stamp,
    send_probe,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 1.0  # wait for the answers of one batch
TCP_INFO_BYTES = 104  # enough of struct tcp_info to reach the rtt field
ANCILLARY_BYTES = 512  # room for the extended error, the offender and the timestamp
ECHO_READ_BYTES = 2048  # an echo reply or a UDP answer: our small payload plus headers
PROBE_PAYLOAD = b""  # ICMP/UDP probe data: none (see the module docstring)
ICMP_HEADER = 8
UDP_HEADER = 8
# A TCP probe on the wire: SYN, SYN/ACK, our ACK and the RST of the abortive close.
TCP_PROBE_BYTES = TCP_SYN_BYTES + TCP_SYN_BYTES + TCP_ACK_BYTES + TCP_ACK_BYTES


def max_probe_bytes(spec: ProbeSpec) -> int:
    """The most one probe and its answer can count on the wire (IP bytes, both ways)."""
    iph = IP_HEADER[family_of(spec.dst)]
    if spec.method == "tcp":
        return 4 * iph + TCP_PROBE_BYTES
    sent = iph + 8 + len(PROBE_PAYLOAD) + probe_data_bytes(spec)  # ICMP/UDP headers: 8 B
    return sent + min(ICMP_ERROR_QUOTE_MAX, iph + ICMP_HEADER + sent)  # an error quoting it


def max_round_bytes(specs: Sequence[ProbeSpec]) -> int:
    """Worst-case bytes of one round of ``specs``."""
    return sum(max_probe_bytes(s) for s in specs)


def usual_round_bytes(specs: Sequence[ProbeSpec]) -> int:
    """What one round of ``specs`` usually costs: as the worst case, except that a direct
    echo is usually answered by an echo reply of its own size, not by an ICMP error."""
    return sum(
        2 * (IP_HEADER[family_of(s.dst)] + ICMP_HEADER + len(PROBE_PAYLOAD) + probe_data_bytes(s))
        if s.method == "icmp" and s.ttl is None
        else max_probe_bytes(s)
        for s in specs
    )


def send_empty_probe(spec: ProbeSpec, s: socket.socket, family: int, seq: int) -> int:
    """Send one probe without payload (TCP: a SYN); return its on-wire size in bytes."""
    return send_probe(spec, s, family, seq, PROBE_PAYLOAD)


@dataclass(slots=True)
class _Pending:
    spec: ProbeSpec
    sock: socket.socket
    family: int
    sent_wall_ns: int
    sent_mono: float
    sent_bytes: int


def _wall_rtt_ms(p: _Pending, stamp_ns: int | None, now_mono: float) -> float:
    return rtt_from_stamp(p.sent_wall_ns, p.sent_mono, stamp_ns, now_mono)


def _tcp_info_rtt_ms(s: socket.socket) -> float | None:
    try:
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_BYTES)
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
            data, anc, _flags, _addr = s.recvmsg(
                ICMP_ERROR_QUOTE_MAX, ANCILLARY_BYTES, socket.MSG_ERRQUEUE
            )
        except BlockingIOError:
            data, anc = b"", []
        except OSError as exc:
            log.debug("errqueue read failed: %s", exc)
            data, anc = b"", []
        err, stamp = parse_cmsgs(anc)
        if err is not None and err.origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
            kind = classify_error(err, spec.dst)
            # the error quotes our packet: IP header, then what the socket hands back (an
            # ICMP socket: the echo header and data; UDP: the data after the UDP header)
            quoted = len(data) if spec.method == "icmp" else UDP_HEADER + len(data)
            rcvd = min(ICMP_ERROR_QUOTE_MAX, iph + ICMP_HEADER + iph + quoted)
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
                p.sent_bytes + 2 * (iph + TCP_ACK_BYTES),  # the ACK, then the RST of close
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
            data, anc, _flags, addr = s.recvmsg(ECHO_READ_BYTES, ANCILLARY_BYTES)
        except OSError:
            return None
        _err, stamp = parse_cmsgs(anc)
        if spec.method == "icmp":
            if len(data) < 8:
                return None
            typ, _code, _ck, _ident, seq = struct.unpack_from("!BBHHH", data, 0)
            if typ not in (ICMP_ECHO_REPLY, ICMPV6_ECHO_REPLY):
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
            # an ICMP socket hands over the ICMP message (header included), UDP the payload
            iph + len(data) if spec.method == "icmp" else iph + UDP_HEADER + len(data),
        )
    return None


# A probe's own source port cannot be used: bound by another socket, or its 4-tuple taken
# (a socket with SO_REUSEADDR connected from that port to the same server).
_PORT_ERRNOS = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL})


def _send_one(spec: ProbeSpec, family: int, seq: int) -> _Pending:
    """Open a probe's socket and send the probe (raises OSError; the socket is closed)."""
    s = open_probe_socket(spec, family)
    try:
        wall_ns, mono = time.time_ns(), time.monotonic()
        nbytes = send_empty_probe(spec, s, family, seq)
    except BaseException:
        s.close()
        raise
    return _Pending(spec, s, family, wall_ns, mono, nbytes)


def run_probes(
    specs: Sequence[ProbeSpec],
    timeout_s: float = DEFAULT_TIMEOUT_S,
    *,
    wake_fd: int | None = None,
    seq: int = 1,
    late: flows.LateLedger | None = None,
    serial: bool = True,
    repick: Callable[[ProbeSpec], ProbeSpec | None] | None = None,
) -> dict[int, ProbeReply]:
    """Send every probe at once (one socket each) and collect the answers.

    Returns one :class:`ProbeReply` per spec key (``kind="timeout"`` when none came within
    ``timeout_s``). Readability of ``wake_fd`` ends the wait early (used by
    :meth:`player.net.path.prober.HopProber.stop`). Raises :class:`MethodUnavailable` when a method's socket
    cannot be opened at all. Flow probes are sent first and collected after the others
    (their RTTs come from kernel receive times, so the wait costs them nothing). With
    ``late`` (the caller's :class:`~player.net.path.flows.LateLedger`) a flow probe that
    times out stays claimable: its answer after the timeout is the caller's to take.

    The round is bounded: the one-socket probes and the TCP flow probes (each from its
    flow's port, :class:`~player.net.path.flows.TcpRound`) go out together, in parallel,
    and a flow probe not sent within ``timeout_s`` of the start (its flow's lock held
    elsewhere, a serial flow's turn not come) is ``kind="skipped"``: not sent, no loss.
    ``serial=False`` sends a serial flow's probes at once all the same (path discovery:
    its ambiguous TTLs are retried by one-socket probes instead). ``repick`` gives a
    one-socket probe whose source port cannot be used (bind or connect refused) another
    port, once (a TCP flow's).
    """
    if any(s.flow is not None for s in specs):
        deadline = time.monotonic() + timeout_s
        shared = [s for s in specs if flows.is_shared_socket_probe(s)]
        rnd = flows.FlowRound(shared, late=late)
        rnd.configure(deadline=deadline, wake_fd=wake_fd, serial=serial)
        try:
            rnd.start()
            replies = _run_plain_and_tcp(specs, timeout_s, wake_fd, seq, deadline)
            replies.update(rnd.collect(timeout_s, wake_fd))
        finally:
            rnd.close()
        return replies
    return _run_plain(specs, timeout_s, wake_fd, seq, repick)


def _run_plain_and_tcp(
    specs: Sequence[ProbeSpec], timeout_s: float, wake_fd: int | None, seq: int, deadline: float
) -> dict[int, ProbeReply]:
    """The one-socket probes and the TCP flow probes of a round, in one parallel batch (a
    TCP flow's second probe in one round, if any, in the next batch, before ``deadline``)."""
    others = [s for s in specs if s.flow is None]
    tcp = [s for s in specs if flows.is_tcp_flow_probe(s)]
    replies: dict[int, ProbeReply] = {}
    if flows.readable(wake_fd):  # stop() came: nothing more is sent
        replies.update({s.key: flows.skipped(s) for s in others})
        others = []
    while others or tcp:
        with flows.TcpRound(tcp, deadline=deadline, wake_fd=wake_fd) as tr:
            replies.update(tr.skipped)
            batch = others + tr.specs
            if batch:
                got = _run_plain(batch, timeout_s, wake_fd, seq, tr.repick)
                replies.update(tr.settle(got))
        others, tcp = [], tr.later
    return replies


def _run_plain(
    specs: Sequence[ProbeSpec],
    timeout_s: float,
    wake_fd: int | None,
    seq: int,
    repick: Callable[[ProbeSpec], ProbeSpec | None] | None,
) -> dict[int, ProbeReply]:
    """One socket per probe, all sent at once."""
    pending: dict[int, _Pending] = {}
    replies: dict[int, ProbeReply] = {}
    poller = select.poll()
    try:
        for spec in specs:
            family = family_of(spec.dst)
            try:
                p = _send_one(spec, family, seq)
            except MethodUnavailable:
                raise
            except OSError as exc:
                again = repick(spec) if repick and exc.errno in _PORT_ERRNOS else None
                p = None
                if again is not None:
                    try:
                        p = _send_one(again, family, seq)
                    except MethodUnavailable:
                        raise
                    except OSError as exc2:
                        exc = exc2
                if p is None:
                    log.debug(
                        "probe %s ttl=%s to %s failed: %s", spec.method, spec.ttl, spec.dst, exc
                    )
                    replies[spec.key] = ProbeReply(spec.key, spec.method, None, None, "error")
                    continue
            s = p.sock
            pending[s.fileno()] = p
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
