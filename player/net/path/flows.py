"""Paris flows: every probe toward one target keeps one flow identity.

Routers that balance load per flow (ECMP hashing the addresses and the UDP/TCP ports) send
every packet of a flow along one path. Classic traceroute probes change the destination
port per TTL and leave from a new socket (a new source port) each time, so two TTLs -- or
one TTL in two rounds -- may travel different paths: the hops found need not form a path
and a hop's RTT series mixes routers. Here the probes of one method toward one target leave
from one socket for the life of the process (Paris traceroute's idea, Augustin et al.,
2006): UDP from one source port to ``UDP_FLOW_PORT`` at every TTL and in every round (the
IPv6 flow label, set per socket, stays too), ICMP echo with one identifier (the ping
socket's). Path discovery and the hop prober share the flow (:func:`flow_for`), so the
prober measures the routers that discovery found.

Which probe an answer belongs to is no longer told by its socket, so every probe carries
an id, a 16-bit counter of its flow: ICMP in the echo's sequence number (inside the 8 bytes
every router quotes), UDP in ``PROBE_ID_BYTES`` of payload (the error queue hands back
what the router quoted after our UDP header). A router that quotes only those 8 bytes
(RFC 792; RFC 1812 asks for as much as fits in 576) leaves the UDP id out. Such an answer
is taken only when exactly one probe of its flow is unaccounted for within
``LATE_HORIZON_S``, so a late answer to a probe that timed out is never taken for a later
probe's (another TTL's, or the same TTL's next round); from then on the flow sends one
probe at a time (``serial``). An answer with an id that no waiting probe has (it came after
its probe timed out) is counted in ``late_answers`` and dropped.

A round (:class:`FlowRound`) holds its flows' locks from the first send to the last
answer, so two callers (discovery and the prober) never read each other's answers.

TCP probes (SYNs by ``connect()``, unprivileged) cannot share one socket, but those of one
target and port (:class:`TcpFlow`) all leave from one source port, one at a time
(:func:`run_tcp_flows`): a 4-tuple exists once, and each probe's socket closes before the
next is opened (by RST, so no TIME_WAIT). The kernel itself tells a probe's ICMP answer
from a late one: it takes only errors quoting a sequence number inside the open
connection's window, and each connection of the 4-tuple starts at a new sequence number.
"""

from __future__ import annotations

import errno
import logging
import math
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from player.net.path.hosts import family_of
from player.net.path.sockets import (
    ICMP_ERROR_QUOTE_MAX,
    IP_HEADER,
    PROBE_ID_MODULUS,
    SO_EE_ORIGIN_ICMP,
    SO_EE_ORIGIN_ICMP6,
    ExtendedError,
    MethodUnavailable,
    ProbeReply,
    ProbeSpec,
    classify_error,
    echo_reply_id,
    encode_probe_id,
    open_probe_socket,
    parse_cmsgs,
    quoted_probe_id,
    rtt_from_stamp,
    send_probe,
    set_hop_limit,
)

log = logging.getLogger(__name__)

FLOW_METHODS = frozenset({"udp", "icmp"})
# An answer that carries no id is taken only if no other probe of its flow was sent
# within this many seconds and is still unaccounted for. Ten seconds is beyond any queue
# a probe can wait in (the worst bufferbloat measured holds a few seconds) and beyond the
# longest probe timeout, so a late answer is not mistaken for a later probe's; it costs
# only samples of routers that quote 8 bytes after a loss on their flow.
LATE_HORIZON_S = 10.0
# Open flows kept (one socket each); beyond it the least recently used idle flow closes
# (its target gets a new flow identity when it is probed again).
MAX_FLOWS = 32
# An ICMP answer sets the socket's pending error, and the next send fails with it once
# (the kernel then clears it); a send is tried this often before it counts as failed.
SEND_ATTEMPTS = 3
_ANSWER_ERRNOS = frozenset(
    {
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ECONNREFUSED,
        errno.EPROTO,
        errno.ENOPROTOOPT,
        errno.EMSGSIZE,
        errno.EACCES,
        errno.EHOSTDOWN,
        errno.EOPNOTSUPP,
    }
)
ERRQUEUE_READ_BYTES = ICMP_ERROR_QUOTE_MAX
DATA_READ_BYTES = 2048  # an echo reply or a UDP answer: our small probe plus headers
ANCILLARY_BYTES = 512  # room for the extended error, the offender and the timestamp
ICMP_HEADER = 8
UDP_HEADER = 8

FlowKey = tuple[str, str, int]  # (method, target, UDP port or 0)


@dataclass(slots=True)
class _Sent:
    spec: ProbeSpec
    pid: int
    wall_ns: int
    mono: float
    nbytes: int


@dataclass(frozen=True, slots=True)
class _Answer:
    """One message read from a flow socket."""

    errqueue: bool
    data: bytes
    err: ExtendedError | None
    stamp_ns: int | None
    source: str | None  # the sender of a normal (non-error) message


def flow_key(spec: ProbeSpec) -> FlowKey:
    if spec.flow is None or spec.method not in FLOW_METHODS:
        raise ValueError(f"not a flow probe: {spec}")
    return (spec.method, spec.flow, spec.port if spec.method == "udp" else 0)


def is_shared_socket_probe(spec: ProbeSpec) -> bool:
    """A probe of a UDP or ICMP flow (sent from the flow's one socket)."""
    return spec.flow is not None and spec.method in FLOW_METHODS


def is_tcp_flow_probe(spec: ProbeSpec) -> bool:
    return spec.flow is not None and spec.method == "tcp"


class ProbeFlow:
    """One flow identity toward one target: its socket, its probe ids and the probes still
    unaccounted for. Used under :attr:`lock` (a :class:`FlowRound` holds it)."""

    def __init__(self, method: str, target: str, port: int = 0) -> None:
        if method not in FLOW_METHODS:
            raise ValueError(f"no flow for method {method!r}")
        self.method = method
        self.target = target
        self.port = port if method == "udp" else 0
        self.family = family_of(target)
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.local_port: int | None = None  # the UDP source port / the ICMP identifier
        self.serial = False  # one probe at a time (an answer without id was seen)
        self.sent = 0
        self.late_answers = 0
        self.ambiguous = 0
        self.last_used = time.monotonic()
        self._next_id = 0
        self._open: dict[int, _Sent] = {}  # sent within LATE_HORIZON_S, not accounted for

    @property
    def key(self) -> FlowKey:
        return (self.method, self.target, self.port)

    def open(self) -> socket.socket:
        """The flow's socket (opened and bound on first use); raises MethodUnavailable."""
        if self.sock is None:
            s = open_probe_socket(ProbeSpec(0, self.method, self.target, self.port), self.family)
            try:
                s.bind(("::" if self.family == socket.AF_INET6 else "0.0.0.0", 0))
                self.local_port = int(s.getsockname()[1])
            except BaseException:
                s.close()
                raise
            self.sock = s
            log.info(
                "probe flow %s to %s%s: local %s %d",
                self.method,
                self.target,
                f":{self.port}" if self.port else "",
                "port" if self.method == "udp" else "identifier",
                self.local_port,
            )
        return self.sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.local_port = None

    # --- sending ----------------------------------------------------------------------
    def send(self, spec: ProbeSpec) -> _Sent:
        """Send one probe of this flow with the next id (raises OSError on failure)."""
        s = self.open()
        pid = self._next_id
        self._next_id = (pid + 1) % PROBE_ID_MODULUS
        set_hop_limit(s, self.family, spec.ttl)
        payload = encode_probe_id(pid) if self.method == "udp" else b""
        for attempt in range(SEND_ATTEMPTS):
            wall_ns, mono = time.time_ns(), time.monotonic()
            try:
                nbytes = send_probe(spec, s, self.family, pid, payload)
                break
            except OSError as exc:
                if exc.errno not in _ANSWER_ERRNOS or attempt + 1 == SEND_ATTEMPTS:
                    raise
        sent = _Sent(spec, pid, wall_ns, mono, nbytes)
        self._open[pid] = sent
        self.sent += 1
        self.last_used = mono
        return sent

    # --- answers ----------------------------------------------------------------------
    def forget_old(self, now: float) -> None:
        """Forget probes sent more than LATE_HORIZON_S ago (oldest first)."""
        for pid in [p for p, s in self._open.items() if now - s.mono > LATE_HORIZON_S]:
            del self._open[pid]

    def owner(self, answer: _Answer, now: float) -> int | None:
        """The id of the probe ``answer`` belongs to; None when it cannot be told."""
        if answer.errqueue:
            pid = quoted_probe_id(self.method, self.family, answer.data)
        elif self.method == "icmp":
            pid = echo_reply_id(self.family, answer.data)
            if pid is None:
                return None  # not an echo reply: nothing of ours
        else:
            pid = None  # a UDP datagram from the target carries none of our ids
        if pid is not None:
            return pid
        self.forget_old(now)
        if len(self._open) == 1:  # the only probe that can have been answered
            return next(iter(self._open))
        return None

    def account(self, pid: int) -> None:
        self._open.pop(pid, None)

    def read(self, errqueue: bool) -> Iterator[_Answer]:
        """Every message queued on the socket's error queue (or its receive queue)."""
        s = self.sock
        if s is None:
            return
        got = 0
        while True:
            try:
                if errqueue:
                    data, anc, _flags, _addr = s.recvmsg(
                        ERRQUEUE_READ_BYTES, ANCILLARY_BYTES, socket.MSG_ERRQUEUE
                    )
                else:
                    data, anc, _flags, addr = s.recvmsg(DATA_READ_BYTES, ANCILLARY_BYTES)
            except (BlockingIOError, InterruptedError):
                if errqueue and not got:  # an error the full queue could not hold: clear
                    s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # it, or poll spins
                return
            except OSError as exc:  # a pending error instead of data: read it next time
                log.debug("flow %s read failed: %s", self.key, exc)
                return
            got += 1
            err, stamp = parse_cmsgs(anc)
            source = None if errqueue else str(addr[0])
            yield _Answer(errqueue, data, err, stamp, source)

    def describe(self) -> dict[str, object]:
        return {
            "method": self.method,
            "target": self.target,
            "port": self.port,
            "local_port": self.local_port,
            "sent": self.sent,
            "late_answers": self.late_answers,
            "ambiguous": self.ambiguous,
            "serial": self.serial,
        }


# --- the flows of this process --------------------------------------------------------
_flows: dict[FlowKey, ProbeFlow] = {}
_tcp_flows: dict[tuple[str, int], TcpFlow] = {}
_flows_lock = threading.Lock()


def flow_for(spec: ProbeSpec) -> ProbeFlow:
    """The flow that carries ``spec`` (created on first use; shared by every caller)."""
    key = flow_key(spec)
    with _flows_lock:
        flow = _flows.get(key)
        if flow is None:
            flow = _flows[key] = ProbeFlow(*key)
            _close_idle_beyond_limit()
        return flow


def _close_idle_beyond_limit() -> None:
    while len(_flows) > MAX_FLOWS:
        idle = [f for f in _flows.values() if not f.lock.locked()]
        if not idle:
            return
        oldest = min(idle, key=lambda f: f.last_used)
        with oldest.lock:
            oldest.close()
        del _flows[oldest.key]


def flows() -> list[ProbeFlow]:
    with _flows_lock:
        return list(_flows.values())


def tcp_flows() -> list[TcpFlow]:
    with _flows_lock:
        return list(_tcp_flows.values())


def close_all() -> None:
    """Close every flow (the next probe of a target opens a new one)."""
    with _flows_lock:
        for f in _flows.values():
            with f.lock:
                f.close()
        _flows.clear()
        _tcp_flows.clear()


# --- one round ------------------------------------------------------------------------
def _error_bytes(flow: ProbeFlow, data: bytes) -> int:
    """On-wire IP bytes of an ICMP error quoting our probe (the part handed back is
    ``data``: after the UDP header, or from the ICMP header on)."""
    iph = IP_HEADER[flow.family]
    quoted = UDP_HEADER + len(data) if flow.method == "udp" else len(data)
    return min(ICMP_ERROR_QUOTE_MAX, iph + ICMP_HEADER + iph + quoted)


class FlowRound:
    """One round of flow probes: :meth:`start` sends them (all at once; a serial flow
    only its first), :meth:`collect` gathers the answers, :meth:`close` frees the flows.

    Probes of one flow must have distinct keys within the round (as every round's keys)."""

    def __init__(self, specs: Sequence[ProbeSpec]) -> None:
        self._queues: dict[ProbeFlow, deque[ProbeSpec]] = {}
        for spec in specs:
            self._queues.setdefault(flow_for(spec), deque()).append(spec)
        self._order = sorted(self._queues, key=lambda f: f.key)  # one lock order for all
        self._waiting: dict[ProbeFlow, dict[int, _Sent]] = {f: {} for f in self._order}
        self._ambiguous_at: dict[ProbeFlow, list[float]] = {f: [] for f in self._order}
        self._locked: list[ProbeFlow] = []
        self.replies: dict[int, ProbeReply] = {}

    def __enter__(self) -> FlowRound:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Take the flows and send; raises MethodUnavailable (nothing sent on that flow)."""
        for f in self._order:
            f.lock.acquire()
            self._locked.append(f)
        now = time.monotonic()
        for f in self._order:
            f.open()
            self._drain(f, now)
            if f.serial:
                self._send_next(f)
            else:
                while self._queues[f]:
                    self._send_next(f)

    def close(self) -> None:
        while self._locked:
            self._locked.pop().lock.release()

    def _send_next(self, f: ProbeFlow) -> None:
        """Send the flow's next queued probe (skipping any whose send fails)."""
        while self._queues[f]:
            spec = self._queues[f].popleft()
            try:
                sent = f.send(spec)
            except MethodUnavailable:
                raise
            except OSError as exc:
                log.debug("flow probe %s ttl=%s to %s failed: %s", f.key, spec.ttl, spec.dst, exc)
                self.replies[spec.key] = ProbeReply(spec.key, spec.method, None, None, "error")
                continue
            self._waiting[f][sent.pid] = sent
            return

    def _drain(self, f: ProbeFlow, now: float) -> None:
        """Answers that came after their round: account for their probes, drop them."""
        for errqueue in (True, False):
            for answer in f.read(errqueue):
                pid = f.owner(answer, now)
                if pid is not None:
                    f.account(pid)
                    f.late_answers += 1

    def collect(self, timeout_s: float, wake_fd: int | None = None) -> dict[int, ProbeReply]:
        """Wait for the answers (each probe up to ``timeout_s`` after it was sent, less
        when ``wake_fd`` becomes readable); one reply per spec key."""
        poller = select.poll()
        by_fd: dict[int, ProbeFlow] = {}
        for f in self._order:
            if f.sock is not None:
                by_fd[f.sock.fileno()] = f
                poller.register(f.sock.fileno(), select.POLLIN | select.POLLERR)
        if wake_fd is not None:
            poller.register(wake_fd, select.POLLIN)
        woken = False
        while True:
            now = time.monotonic()
            self._expire(timeout_s, now, everything=woken)
            if not woken:
                for f in self._order:
                    if f.serial and not self._waiting[f]:
                        self._send_next(f)
            waiting = [s for w in self._waiting.values() for s in w.values()]
            if not waiting:
                break
            left = min(s.mono for s in waiting) + timeout_s - now
            for fd, revents in poller.poll(max(1, math.ceil(left * 1000))):
                if fd == wake_fd:
                    woken = True
                    continue
                f = by_fd.get(fd)
                if f is None:
                    continue
                now = time.monotonic()
                if revents & select.POLLERR:
                    self._take(f, f.read(True), now)
                if revents & select.POLLIN:
                    self._take(f, f.read(False), now)
        for f in self._order:  # probes a wake-up left unsent
            for spec in self._queues[f]:
                self.replies[spec.key] = ProbeReply(spec.key, spec.method, None, None, "timeout")
            self._queues[f].clear()
        return self.replies

    def _expire(self, timeout_s: float, now: float, *, everything: bool) -> None:
        for f, waiting in self._waiting.items():
            for pid, s in list(waiting.items()):
                if everything or now >= s.mono + timeout_s:
                    del waiting[pid]
                    # an answer nobody could claim came while it waited: perhaps its own
                    seen = any(t >= s.mono for t in self._ambiguous_at[f])
                    self.replies[s.spec.key] = ProbeReply(
                        s.spec.key,
                        s.spec.method,
                        None,
                        None,
                        "ambiguous" if seen else "timeout",
                        sent_bytes=s.nbytes,
                    )

    def _take(self, f: ProbeFlow, answers: Iterable[_Answer], now: float) -> None:
        for answer in answers:
            pid = f.owner(answer, now)
            if pid is None:
                if answer.errqueue or f.method == "udp":
                    f.ambiguous += 1
                    self._ambiguous_at[f].append(now)
                    if not f.serial:
                        f.serial = True
                        log.info(
                            "flow %s: an answer without probe id (a router quoting 8 bytes);"
                            " one probe at a time from now on",
                            f.key,
                        )
                continue
            f.account(pid)
            sent = self._waiting[f].pop(pid, None)
            if sent is None:
                f.late_answers += 1  # its probe timed out (or belongs to an older round)
                continue
            reply = self._reply(f, sent, answer, now)
            if reply is not None:
                self.replies[sent.spec.key] = reply

    def _reply(self, f: ProbeFlow, s: _Sent, a: _Answer, now: float) -> ProbeReply | None:
        spec, iph = s.spec, IP_HEADER[f.family]
        rtt = rtt_from_stamp(s.wall_ns, s.mono, a.stamp_ns, now)
        if not a.errqueue:
            rcvd = iph + len(a.data) if f.method == "icmp" else iph + UDP_HEADER + len(a.data)
            return ProbeReply(
                spec.key, spec.method, a.source, rtt, "reached", None, None, s.nbytes, rcvd
            )
        err = a.err
        if err is None or err.origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
            # a local error (no route, message too long, ...): nothing came back
            return ProbeReply(spec.key, spec.method, None, None, "error", None, None, s.nbytes)
        return ProbeReply(
            spec.key,
            spec.method,
            err.offender,
            rtt,
            classify_error(err, spec.dst),
            err.type,
            err.code,
            s.nbytes,
            _error_bytes(f, a.data),
        )


# --- TCP: one source port per target and port -----------------------------------------
RunProbes = Callable[..., dict[int, ProbeReply]]  # engine.run_probes (one socket per probe)


class TcpFlow:
    """The source port of the TCP probes toward one target port (used under :attr:`lock`)."""

    def __init__(self, target: str, port: int) -> None:
        self.target = target
        self.port = port
        self.family = family_of(target)
        self.lock = threading.Lock()
        self.local_port: int | None = None
        self.sent = 0

    def pick_port(self) -> int:
        """A free local port (the kernel's choice), kept until a bind to it fails."""
        if self.local_port is None:
            with socket.socket(self.family, socket.SOCK_STREAM) as s:
                s.bind(("::" if self.family == socket.AF_INET6 else "0.0.0.0", 0))
                self.local_port = int(s.getsockname()[1])
            log.info(
                "probe flow tcp to %s:%d: local port %d", self.target, self.port, self.local_port
            )
        return self.local_port


def tcp_flow_for(spec: ProbeSpec) -> TcpFlow:
    if not is_tcp_flow_probe(spec) or spec.flow is None:
        raise ValueError(f"not a TCP flow probe: {spec}")
    key = (spec.flow, spec.port)
    with _flows_lock:
        flow = _tcp_flows.get(key)
        if flow is None:
            if len(_tcp_flows) >= MAX_FLOWS:
                _tcp_flows.pop(next(iter(_tcp_flows)))
            flow = _tcp_flows[key] = TcpFlow(*key)
        return flow


def _readable(fd: int | None) -> bool:
    if fd is None:
        return False
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def run_tcp_flows(
    specs: Sequence[ProbeSpec],
    timeout_s: float,
    run: RunProbes,
    *,
    wake_fd: int | None = None,
) -> dict[int, ProbeReply]:
    """TCP flow probes, one at a time per flow from its source port, through ``run``."""
    replies: dict[int, ProbeReply] = {}
    by_flow: dict[TcpFlow, list[ProbeSpec]] = {}
    for spec in specs:
        by_flow.setdefault(tcp_flow_for(spec), []).append(spec)
    for flow, todo in by_flow.items():
        with flow.lock:
            for spec in todo:
                if _readable(wake_fd):
                    replies[spec.key] = ProbeReply(spec.key, "tcp", None, None, "timeout")
                    continue
                replies[spec.key] = _tcp_probe(flow, spec, timeout_s, run, wake_fd)
    return replies


def _tcp_probe(
    flow: TcpFlow, spec: ProbeSpec, timeout_s: float, run: RunProbes, wake_fd: int | None
) -> ProbeReply:
    for attempt in range(2):  # a port taken meanwhile: pick another once
        single = replace(spec, flow=None, sport=flow.pick_port())
        try:
            reply = run([single], timeout_s, wake_fd=wake_fd)[spec.key]
        except MethodUnavailable:
            raise
        except OSError as exc:
            log.info("tcp flow to %s: port %s unusable (%s)", flow.target, flow.local_port, exc)
            flow.local_port = None
            if attempt == 1:
                return ProbeReply(spec.key, "tcp", None, None, "error")
            continue
        flow.sent += 1
        return reply
    raise AssertionError("unreachable")  # pragma: no cover
