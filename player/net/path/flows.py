"""Paris flows: every probe toward one target keeps one flow identity.

Routers that balance load per flow (ECMP hashing the addresses and the UDP/TCP ports) send
every packet of a flow along one path. Classic traceroute probes change the destination
port per TTL and leave from a new socket (a new source port) each time, so two TTLs -- or
one TTL in two rounds -- may travel different paths: the hops found need not form a path
and a hop's RTT series mixes routers. Here the probes of one method toward one target leave
from one socket for the life of the process (Paris traceroute's idea, Augustin et al.,
2006): UDP from one source port to ``UDP_FLOW_PORT`` at every TTL and in every round (the
IPv6 flow label, set per socket, stays too), ICMP echo with one identifier (the ping
socket's; each echo carries the word that keeps its checksum, and so the 4 bytes after
the IP header, the same). Path discovery and the hop prober share the flow (:func:`flow_for`), so the
prober measures the routers that discovery found.

Which probe an answer belongs to is no longer told by its socket, so every probe carries
an id, a 16-bit counter of its flow: ICMP in the echo's sequence number (inside the 8 bytes
every router quotes), UDP in ``PROBE_ID_BYTES`` of payload (the error queue hands back
what the router quoted after our UDP header). A router that quotes only those 8 bytes
(RFC 792; RFC 1812 asks for as much as fits in 576) leaves the UDP id out. Such an answer
is taken only when exactly one probe of its flow that its sender can have answered is
unaccounted for within ``LATE_HORIZON_S`` (:meth:`ProbeFlow.candidates`): the hop
prober's probes name the router expected at their TTL (``ProbeSpec.expect``), and a router
answers at its own distance only; without such a probe, every open probe is a candidate.
So a late answer to a probe that timed out is never taken for a later probe's (another
TTL's, or the same TTL's next round). The flow then sends one probe at a time
(``serial``) until ``SERIAL_RESET_ROUNDS`` rounds pass without such an answer, or the
path is discovered again (:func:`reset_serial`); discovery sends every TTL at once all
the same and asks the TTLs it could not tell apart again with one socket per probe (the
kernel tells those answers by the quoted ports). A UDP datagram from another address than
the target is nobody's (``strays``).

An answer that comes after its probe's round gave up on it (a deep queue holds answers
for seconds: 1-3 s on a slow access link is common) is counted in ``late_answers`` and
kept: when its probe was sent within ``LATE_HORIZON_S`` it is stored on its flow with its
true RTT (the kernel's receive time minus the send time), whichever round read it. A
caller that counted the probe as lost and still wants its answer holds a
:class:`LateTicket` for it in its :class:`LateLedger` (passed to the round), and claims
the answer with :meth:`LateLedger.take` -- the prober then turns that loss into the
sample's RTT, discovery into the hop's address. A probe never answered within the
horizon stays a loss.

A round (:class:`FlowRound`) holds its flows' locks from the first send to the last
answer, so two callers (discovery and the prober) never read each other's answers. A
round is bounded: a lock is waited for in ``LOCK_SLICE_S`` slices, checking the caller's
wake-up (``stop()``) and the round's deadline; nothing is sent after either, and a probe
not sent by then is ``skipped`` (no answer, no loss). What is queued is read before any
probe is given up on.

TCP probes (SYNs by ``connect()``, unprivileged) cannot share one socket, and a 4-tuple
exists once, so the TCP flow is one source port per target, port and TTL
(:class:`TcpFlow`, :class:`TcpRound`): the TTLs go out in parallel (a round costs one
timeout, as before Paris flows) and each TTL keeps its path round after round, though two
TTLs may hash onto two branches -- TCP is the last-resort method. A flow's probe closes
(by RST, so no TIME_WAIT) before its next opens; a port that cannot be used (bound
elsewhere, or its 4-tuple taken by a socket with SO_REUSEADDR) is picked again. The
kernel itself tells a probe's ICMP answer from a late one: it takes only errors quoting a
sequence number inside the open connection's window, and each connection of the 4-tuple
starts at a new sequence number.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import math
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
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
    echo_checksum_word,
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
# A caller's ticket for a probe it gave up on lives this much longer than the horizon:
# answers are read when a round or a poll next reads the flow (the prober polls every
# 0.1 s tick, or once per round of at most a second or two), and one read that late must
# still find the ticket.
LATE_CLAIM_GRACE_S = 2.0
# Open flows kept (one socket each); beyond it the least recently used idle flow closes
# (its target gets a new flow identity when it is probed again).
MAX_FLOWS = 32
# TCP flows kept: one per target, port and TTL (a port number each, no socket), so a
# 30-hop discovery and its prober keep their ports for a few targets at once.
MAX_TCP_FLOWS = 256
# An ICMP answer sets the socket's pending error, and the next send fails with it once
# (the kernel then clears it); a send is tried this often before it counts as failed.
SEND_ATTEMPTS = 3
# A round waits for a flow's lock (held by another caller's round: discovery's and the
# prober's share the flow) in slices this long, checking between them for the caller's
# wake-up (stop()) and its round's deadline.
LOCK_SLICE_S = 0.05
# A serial flow (it met a router quoting 8 bytes) sends its probes in parallel again after
# this many rounds in a row without an answer lacking its id: at one round a second to
# two, about a minute -- long enough not to flap on a router that answers only now and
# then (ICMP rate limits), short enough that a route change away from it is not paid for
# the whole session.
SERIAL_RESET_ROUNDS = 30
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
        self.quiet_rounds = 0  # serial rounds in a row without an answer lacking its id
        self.sent = 0
        self.late_answers = 0
        self.ambiguous = 0
        self.strays = 0  # UDP datagrams from another address than the target: not ours
        self.last_used = time.monotonic()
        self._next_id = 0
        self._open: dict[int, _Sent] = {}  # sent within LATE_HORIZON_S, not accounted for
        # answers that came after their round, by probe id, until claimed or stale
        self._late: dict[int, LateAnswer] = {}

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
        payload = encode_probe_id(pid) if self.method == "udp" else echo_checksum_word(pid)
        for attempt in range(SEND_ATTEMPTS):
            wall_ns, mono = time.time_ns(), time.monotonic()
            try:
                nbytes = send_probe(spec, s, self.family, pid, payload)
                break
            except OSError as exc:
                if exc.errno not in _ANSWER_ERRNOS or attempt + 1 == SEND_ATTEMPTS:
                    raise
        sent = _Sent(spec, pid, wall_ns, mono, nbytes)
        self.forget_old(mono)  # the open probes stay those of the horizon
        self._open[pid] = sent
        self.sent += 1
        self.last_used = mono
        return sent

    # --- answers ----------------------------------------------------------------------
    def forget_old(self, now: float) -> None:
        """Forget probes sent more than LATE_HORIZON_S ago (oldest first), and late
        answers nobody claimed within LATE_HORIZON_S of reading them."""
        for pid in [p for p, s in self._open.items() if now - s.mono > LATE_HORIZON_S]:
            del self._open[pid]
        for pid in [p for p, a in self._late.items() if now - a.read_at > LATE_HORIZON_S]:
            del self._late[pid]

    def keep_late(self, answer: _Answer, pid: int, now: float, *, exact: bool) -> None:
        """Count an answer that came after its probe's round; keep it (its RTT) when its
        probe was sent within LATE_HORIZON_S. ``exact``: read as it arrived (in a round's
        wait), so without a kernel timestamp the monotonic time is still its RTT."""
        sent = self._open.pop(pid, None)
        self.late_answers += 1
        if sent is None or (answer.stamp_ns is None and not exact):
            return  # too old (or its RTT is unknown: read long after it arrived)
        reply = answer_reply(self, sent, answer, now)
        if reply.rtt_ms is None or reply.rtt_ms > LATE_HORIZON_S * 1000.0:
            return
        self._late[pid] = LateAnswer(reply, now)

    def claim_late(self, pid: int) -> ProbeReply | None:
        """The late answer to probe ``pid`` if one was read (taken off the flow)."""
        a = self._late.pop(pid, None)
        return a.reply if a is not None else None

    def owner(self, answer: _Answer, now: float) -> int | None:
        """The id of the probe ``answer`` belongs to; None when it cannot be told."""
        if answer.errqueue:
            pid = quoted_probe_id(self.method, self.family, answer.data)
        elif self.method == "icmp":
            pid = echo_reply_id(self.family, answer.data)
            if pid is None:
                return None  # not an echo reply: nothing of ours
        else:
            if self.stray(answer):
                return None
            pid = None  # a UDP datagram from the target carries none of our ids
        if pid is not None:
            return pid
        self.forget_old(now)
        can = self.candidates(answer)
        if len(can) == 1:  # the only probe that can have been answered
            return can[0]
        return None

    def candidates(self, answer: _Answer) -> list[int]:
        """The open probes an answer without id can belong to. When open probes expect its
        sender (``ProbeSpec.expect``: the hop prober's known router at that TTL), those and
        the open probes at their TTLs that expect nobody (a router answers at its own
        distance only); else every open probe."""
        sender = answer.err.offender if answer.err is not None else answer.source
        own = [s for s in self._open.values() if sender is not None and s.spec.expect == sender]
        if not own:
            return list(self._open)
        ttls = {s.spec.ttl for s in own}
        return [
            pid
            for pid, s in self._open.items()
            if s.spec.expect == sender or (s.spec.expect is None and s.spec.ttl in ttls)
        ]

    def stray(self, answer: _Answer) -> bool:
        """A UDP datagram from another address than the target (nothing of ours)."""
        if answer.errqueue or self.method != "udp" or _same_address(answer.source, self.target):
            return False
        self.strays += 1
        log.debug("flow %s: a datagram from %s ignored", self.key, answer.source)
        return True

    def round_done(self, *, ambiguous: bool) -> None:
        """After a round: a serial flow sends in parallel again after SERIAL_RESET_ROUNDS
        rounds in a row without an answer lacking its id (routers change, and so do
        their quotes)."""
        if not self.serial:
            return
        self.quiet_rounds = 0 if ambiguous else self.quiet_rounds + 1
        if self.quiet_rounds >= SERIAL_RESET_ROUNDS:
            self.reset_serial()

    def reset_serial(self) -> None:
        if self.serial:
            log.info("flow %s: probes in parallel again", self.key)
        self.serial = False
        self.quiet_rounds = 0

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
            "strays": self.strays,
            "serial": self.serial,
        }


def _same_address(a: str | None, b: str) -> bool:
    if a is None:
        return False
    try:
        return ipaddress.ip_address(a.split("%", 1)[0]) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def reset_serial(spec: ProbeSpec) -> None:
    """A new path discovery toward the flow's target: its flow sends in parallel again."""
    flow = flow_for(spec)
    with flow.lock:
        flow.reset_serial()


# --- the flows of this process --------------------------------------------------------
_flows: dict[FlowKey, ProbeFlow] = {}
_tcp_flows: dict[tuple[str, int, int | None], TcpFlow] = {}
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
    only its first), :meth:`collect` gathers the answers, :meth:`close` frees the flows
    (handing ``late``, the caller's :class:`LateLedger`, the late answers it waits for).

    Probes of one flow must have distinct keys within the round (as every round's keys)."""

    def __init__(self, specs: Sequence[ProbeSpec], late: LateLedger | None = None) -> None:
        self._late = late
        self._queues: dict[ProbeFlow, deque[ProbeSpec]] = {}
        for spec in specs:
            self._queues.setdefault(flow_for(spec), deque()).append(spec)
        self._order = sorted(self._queues, key=lambda f: f.key)  # one lock order for all
        self._waiting: dict[ProbeFlow, dict[int, _Sent]] = {f: {} for f in self._order}
        self._ambiguous_at: dict[ProbeFlow, list[float]] = {f: [] for f in self._order}
        # probes an id-less answer could belong to (the router's own, when it is known)
        self._ambiguous_pids: dict[ProbeFlow, set[int]] = {f: set() for f in self._order}
        self._locked: list[ProbeFlow] = []
        self.replies: dict[int, ProbeReply] = {}
        self._deadline: float | None = None
        self._wake_fd: int | None = None
        self._serial = True

    def configure(
        self, *, deadline: float | None = None, wake_fd: int | None = None, serial: bool = True
    ) -> None:
        """Before :meth:`start`: no probe is sent after ``deadline`` (monotonic) or once
        ``wake_fd`` is readable (a flow whose lock is not had by then, or a serial flow's
        probes not sent, are ``skipped``), and every probe's wait ends at ``deadline``
        (its answer after that is a late one); ``serial=False`` sends a serial flow's
        probes at once all the same."""
        self._deadline, self._wake_fd, self._serial = deadline, wake_fd, serial

    def _may_send(self) -> bool:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return False
        return not readable(self._wake_fd)

    def __enter__(self) -> FlowRound:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Take the flows and send; raises MethodUnavailable (nothing sent on that flow)."""
        for f in list(self._order):
            if not acquire(f.lock, self._deadline, self._wake_fd):
                self._skip(f)  # another caller's round holds it past our deadline, or stop()
                continue
            self._locked.append(f)
        now = time.monotonic()
        for f in self._order:
            if not self._may_send():
                self._skip(f)
                continue
            f.open()
            drain(f, now)  # answers that came after their round: kept
            if f.serial and self._serial:
                self._send_next(f)
            else:
                while self._queues[f]:
                    self._send_next(f)

    def _skip(self, f: ProbeFlow) -> None:
        """The flow's probes not sent in this round: skipped (and the flow no longer read
        by it when its lock is not ours)."""
        for spec in self._queues[f]:
            self.replies[spec.key] = skipped(spec)
        self._queues[f].clear()
        if f not in self._locked and f in self._order:
            self._order.remove(f)

    def close(self) -> None:
        while self._locked:
            f = self._locked.pop()
            try:
                if self._late is not None:
                    self._late.collect(f)
            finally:
                f.lock.release()

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

    def collect(self, timeout_s: float, wake_fd: int | None = None) -> dict[int, ProbeReply]:
        """Wait for the answers (each probe up to ``timeout_s`` after it was sent, at most
        until the deadline, less when ``wake_fd`` becomes readable); one reply per spec
        key. What is queued already is read before any probe is given up on (the round's
        one-socket and TCP probes may have taken the whole timeout meanwhile)."""
        poller = select.poll()
        by_fd: dict[int, ProbeFlow] = {}
        for f in self._order:
            if f.sock is not None:
                by_fd[f.sock.fileno()] = f
                poller.register(f.sock.fileno(), select.POLLIN | select.POLLERR)
        if wake_fd is not None:
            poller.register(wake_fd, select.POLLIN)
        woken = False
        wait_ms = 0  # first read what is queued, then expire
        while True:
            for fd, revents in poller.poll(wait_ms):
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
            now = time.monotonic()
            self._expire(timeout_s, now, everything=woken)
            if not woken and self._may_send():
                for f in self._order:
                    if f.serial and self._serial and not self._waiting[f]:
                        self._send_next(f)
            waiting = [s for w in self._waiting.values() for s in w.values()]
            if not waiting:
                break
            left = min(self._due(s, timeout_s) for s in waiting) - now
            wait_ms = max(1, math.ceil(left * 1000))
        for f in self._order:  # probes a wake-up or the deadline left unsent: no loss
            for spec in self._queues[f]:
                self.replies[spec.key] = skipped(spec)
            self._queues[f].clear()
            f.round_done(ambiguous=bool(self._ambiguous_pids[f]))
        return self.replies

    def _due(self, s: _Sent, timeout_s: float) -> float:
        due = s.mono + timeout_s
        return due if self._deadline is None else min(due, max(self._deadline, s.mono))

    def _expire(self, timeout_s: float, now: float, *, everything: bool) -> None:
        for f, waiting in self._waiting.items():
            for pid, s in list(waiting.items()):
                if everything or now >= self._due(s, timeout_s):
                    del waiting[pid]
                    # an answer nobody could claim came while it waited: perhaps its own
                    seen = pid in self._ambiguous_pids[f]
                    if self._late is not None and not seen and not everything:
                        self._late.expect(f, s)  # its answer may still come
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
            if f.stray(answer):
                continue
            pid = f.owner(answer, now)
            if pid is None:
                if answer.errqueue or f.method == "udp":
                    f.ambiguous += 1
                    self._ambiguous_at[f].append(now)
                    self._ambiguous_pids[f].update(f.candidates(answer))
                    if not f.serial:
                        f.serial = True
                        log.info(
                            "flow %s: an answer without probe id (a router quoting 8 bytes);"
                            " one probe at a time from now on",
                            f.key,
                        )
                continue
            sent = self._waiting[f].pop(pid, None)
            if sent is None:  # its probe timed out (or belongs to an older round)
                f.keep_late(answer, pid, now, exact=True)
                continue
            f.account(pid)
            self.replies[sent.spec.key] = answer_reply(f, sent, answer, now)


def drain(f: ProbeFlow, now: float) -> None:
    """Read what came on ``f`` since it was last read: answers after their round (kept
    by :meth:`ProbeFlow.keep_late`). The caller holds ``f.lock``."""
    for errqueue in (True, False):
        for answer in f.read(errqueue):
            pid = f.owner(answer, now)
            if pid is not None:
                f.keep_late(answer, pid, now, exact=False)
    f.forget_old(now)


def answer_reply(f: ProbeFlow, s: _Sent, a: _Answer, now: float) -> ProbeReply:
    """The reply an answer gives its probe, with its RTT from the kernel's receive time."""
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


# --- late answers: who still wants them -------------------------------------------------
@dataclass(frozen=True, slots=True)
class LateAnswer:
    """An answer read after its probe's round gave up on it."""

    reply: ProbeReply  # its true RTT: the kernel's receive time minus the send time
    read_at: float  # monotonic time it was read


@dataclass(eq=False, slots=True)
class LateTicket:
    """A probe one caller counted as unanswered at its round's timeout (identity-hashed:
    a ticket is one probe of one flow object, never a later flow's same id)."""

    flow: ProbeFlow
    pid: int
    spec: ProbeSpec
    sent_mono: float

    def stale(self, now: float) -> bool:
        return now - self.sent_mono > LATE_HORIZON_S + LATE_CLAIM_GRACE_S


class LateLedger:
    """The probes one caller gave up on at their round's timeout and whose answers it still
    takes (for ``LATE_HORIZON_S``). Pass it to every round of the caller
    (``engine.run_probes(..., late=ledger)``); :attr:`timed_out` then holds the last round's
    tickets by spec key (cleared by :meth:`begin_round`), and :meth:`take` hands over the
    answers that came since. One thread uses a ledger (its caller's)."""

    def __init__(self) -> None:
        self.timed_out: dict[int, LateTicket] = {}
        self._tickets: dict[tuple[int, int], LateTicket] = {}  # (id(flow), pid)
        self._arrived: list[tuple[LateTicket, ProbeReply]] = []
        self.claimed = 0  # late answers handed over
        self.expired = 0  # tickets whose probe never answered within the horizon

    def begin_round(self) -> None:
        self.timed_out = {}

    @property
    def waiting(self) -> int:
        return len(self._tickets)

    def expect(self, f: ProbeFlow, s: _Sent) -> None:
        """``s`` timed out in this caller's round (called by :class:`FlowRound`)."""
        t = LateTicket(f, s.pid, s.spec, s.mono)
        self._tickets[(id(f), s.pid)] = t
        self.timed_out[s.spec.key] = t

    def collect(self, f: ProbeFlow) -> None:
        """Move ``f``'s late answers to this caller's tickets over (``f.lock`` held)."""
        for (fid, pid), t in list(self._tickets.items()):
            if fid != id(f) or t.flow is not f:
                continue
            reply = f.claim_late(pid)
            if reply is not None:
                del self._tickets[(fid, pid)]
                self._arrived.append((t, reply))

    def poll(self) -> None:
        """Read this caller's flows between rounds (a flow another round holds is skipped:
        that round reads it and keeps what it finds for us)."""
        now = time.monotonic()
        for f in {id(t.flow): t.flow for t in self._tickets.values()}.values():
            if not f.lock.acquire(blocking=False):
                continue
            try:
                if f.sock is not None:
                    drain(f, now)
                self.collect(f)
            finally:
                f.lock.release()

    def take(self) -> list[tuple[LateTicket, ProbeReply]]:
        """The late answers claimed since the last call; drops stale tickets."""
        now = time.monotonic()
        for key, t in list(self._tickets.items()):
            if t.stale(now):
                del self._tickets[key]
                self.expired += 1
        out, self._arrived = self._arrived, []
        self.claimed += len(out)
        return out


# --- TCP: one source port per target, port and TTL ---------------------------------------
class TcpFlow:
    """The source port of the TCP probes toward one target port at one TTL (None: the
    server's own connect), used under :attr:`lock`: one probe of it at a time."""

    def __init__(self, target: str, port: int, ttl: int | None) -> None:
        self.target = target
        self.port = port
        self.ttl = ttl
        self.family = family_of(target)
        self.lock = threading.Lock()
        self.local_port: int | None = None
        self.sent = 0

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.target, self.port, -1 if self.ttl is None else self.ttl)

    def pick_port(self) -> int:
        """A free local port (the kernel's choice), kept until it cannot be used."""
        if self.local_port is None:
            with socket.socket(self.family, socket.SOCK_STREAM) as s:
                s.bind(("::" if self.family == socket.AF_INET6 else "0.0.0.0", 0))
                self.local_port = int(s.getsockname()[1])
            log.info(
                "probe flow tcp to %s:%d ttl %s: local port %d",
                self.target,
                self.port,
                self.ttl,
                self.local_port,
            )
        return self.local_port


def tcp_flow_for(spec: ProbeSpec) -> TcpFlow:
    if not is_tcp_flow_probe(spec) or spec.flow is None:
        raise ValueError(f"not a TCP flow probe: {spec}")
    key = (spec.flow, spec.port, spec.ttl)
    with _flows_lock:
        flow = _tcp_flows.get(key)
        if flow is None:
            if len(_tcp_flows) >= MAX_TCP_FLOWS:
                _tcp_flows.pop(next(iter(_tcp_flows)))
            flow = _tcp_flows[key] = TcpFlow(*key)
        return flow


def readable(fd: int | None) -> bool:
    """``fd`` (a wake-up pipe) is readable now."""
    if fd is None:
        return False
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def acquire(lock: threading.Lock, deadline: float | None, wake_fd: int | None) -> bool:
    """Take ``lock``, waiting in LOCK_SLICE_S slices until ``deadline`` (monotonic; None:
    no limit) or until ``wake_fd`` is readable (then False, the lock not taken)."""
    while not readable(wake_fd):
        if deadline is not None and time.monotonic() >= deadline:
            return False
        if lock.acquire(timeout=LOCK_SLICE_S):
            return True
    return False


def skipped(spec: ProbeSpec) -> ProbeReply:
    """The reply of a probe a round did not send (no answer, and no loss)."""
    return ProbeReply(spec.key, spec.method, None, None, "skipped")


class TcpRound:
    """The TCP flow probes of one round: each flow's first probe, from the flow's port,
    under the flow's lock (taken in slices, until ``deadline`` or a wake-up: a probe whose
    lock is not had then is :attr:`skipped`). :attr:`specs` are one-socket probes for the
    engine's parallel batch, :meth:`settle` counts them, :attr:`later` the flows' further
    probes of this round (none in practice: one per TTL). Locks are freed on exit.

    One source port per TTL (not one for every TTL, as for UDP and ICMP): SYNs by
    ``connect()`` cannot share one 4-tuple, so probes of one port go one at a time, and a
    silent TTL would hold up the others for a timeout each. Per TTL, the probes are in
    parallel and a round costs one timeout; each TTL keeps its path round after round,
    though two TTLs may hash onto different branches. TCP is the last-resort method."""

    def __init__(
        self, specs: Sequence[ProbeSpec], *, deadline: float | None, wake_fd: int | None
    ) -> None:
        self.specs: list[ProbeSpec] = []
        self.skipped: dict[int, ProbeReply] = {}
        self.later: list[ProbeSpec] = []
        self._flows: dict[int, TcpFlow] = {}  # spec key -> its flow
        self._locked: list[TcpFlow] = []
        first: dict[TcpFlow, ProbeSpec] = {}
        for spec in specs:
            f = tcp_flow_for(spec)
            if f in first:
                self.later.append(spec)
            else:
                first[f] = spec
        for f in sorted(first, key=lambda f: f.key):  # one lock order for all
            spec = first[f]
            if not acquire(f.lock, deadline, wake_fd):
                self.skipped[spec.key] = skipped(spec)
                continue
            self._locked.append(f)
            self._flows[spec.key] = f
            self.specs.append(replace(spec, flow=None, sport=f.pick_port()))
        if self.skipped:  # too late, or woken: the rest of the round is not sent either
            for spec in self.later:
                self.skipped[spec.key] = skipped(spec)
            self.later = []

    def __enter__(self) -> TcpRound:
        return self

    def __exit__(self, *exc: object) -> None:
        while self._locked:
            self._locked.pop().lock.release()

    def repick(self, spec: ProbeSpec) -> ProbeSpec | None:
        """Another port for a probe whose port cannot be used (bound elsewhere, or its
        4-tuple taken: EADDRNOTAVAIL); the flow keeps the new one."""
        f = self._flows.get(spec.key)
        if f is None:
            return None
        log.info("tcp flow to %s: port %s unusable; picking another", f.target, f.local_port)
        f.local_port = None
        return replace(spec, sport=f.pick_port())

    def settle(self, replies: dict[int, ProbeReply]) -> dict[int, ProbeReply]:
        for key, f in self._flows.items():
            r = replies.get(key)
            if r is not None and r.kind != "error":
                f.sent += 1
        return replies
