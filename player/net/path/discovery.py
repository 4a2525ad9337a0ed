"""Path discovery to the media host: the routers between this computer and the server.

Works unprivileged on Linux. Three probe methods, tried in this order by default:

``icmp``
    ICMP echo through an unprivileged ICMP socket (``SOCK_DGRAM, IPPROTO_ICMP``), allowed
    only when one of our groups lies inside ``net.ipv4.ping_group_range``.
``udp``
    UDP datagrams to a high port (``UDP_FLOW_PORT``): always allowed.
``tcp``
    TCP SYNs to the server's own port (usually open through any firewall); the destination
    answers with SYN/ACK or RST.

Every method sends probes with an increasing TTL (hop limit); the answers come back on the
probe sockets' error queues (:mod:`player.net.path.sockets`). TTLs are probed in parallel
batches (:func:`player.net.path.engine.run_probes`), so a 10-hop path is found in about
one round-trip plus the timeout of the silent hops. ICMP and UDP probes are Paris
traceroute's (:mod:`player.net.path.flows`): one flow identity toward the destination at
every TTL -- one source port and one destination port, or one echo identifier -- so a
router balancing load per flow sends them all along one path, and the hops found are one
path, the one the hop prober's probes (the same flow) then take. TCP probes of one TTL
leave from one source port (one per TTL, so the TTLs still go out in parallel: each TTL
keeps its path, two TTLs may take two branches). A router that quotes only 8 bytes of a
UDP probe (no probe id) gives answers the flow cannot always tell apart; those TTLs are
asked again with one socket per probe, as before Paris flows, rather than called silent.
A batch costs ``attempts`` timeouts, one more only when 8-byte quotes came in its last
attempt. When a method is not
permitted or the destination never answers it, the next method is tried and the reason is
recorded in :attr:`PathResult.reason` (e.g. ``"ICMP not permitted: ping_group_range 1 0
excludes gid 1000"``).

A hop behind a deep queue (our own download filling a slow access link: 1-3 s) answers
after its probe's timeout. Such an answer is still the hop's: every attempt's late answers
(:class:`player.net.path.flows.LateLedger`) are taken at the end of the next attempt and
before a batch is given up, so a loaded hop whose answer takes up to about twice the
timeout is not called silent (:attr:`PathResult.late_hops` counts them).

System tools are not needed. Host names are validated before any use and never pass
through a shell.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from player.core.model import Hop
from player.net.path import flows, segments
from player.net.path.engine import DEFAULT_TIMEOUT_S, run_probes
from player.net.path.hosts import DEFAULT_PORT, is_ip_literal, resolve, validate_host
from player.net.path.naming import OrgNamer
from player.net.path.rdns import Resolver, reverse_names
from player.net.path.routes import default_gateway, route_fingerprint
from player.net.path.sockets import (
    UDP_BASE_PORT,
    UDP_FLOW_PORT,
    MethodUnavailable,
    ProbeReply,
    ProbeSpec,
    ping_permission,
)

log = logging.getLogger(__name__)

DEFAULT_METHODS: tuple[str, ...] = ("icmp", "udp", "tcp")
METHODS: frozenset[str] = frozenset(DEFAULT_METHODS)
DEFAULT_MAX_HOPS = 30
DEFAULT_ATTEMPTS = 2  # probes per TTL before calling a hop silent
BATCH_TTLS = 8  # TTLs probed in parallel
MAX_SILENT_RUN = 6  # stop after this many consecutive silent hops past the last answer


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
    late_hops: int = 0  # hops known only from an answer that came after its timeout

    @property
    def degraded(self) -> bool:
        return self.reason is not None


# --- discovery ------------------------------------------------------------------------
@dataclass(slots=True)
class _Trace:
    method: str
    answers: dict[int, ProbeReply]
    dest_ttl: int | None
    probe_bytes: int = 0
    late_hops: int = 0

    def answered_count(self) -> int:
        return sum(1 for r in self.answers.values() if r.answered)


def _spec_for(method: str, dst: str, port: int, ttl: int, *, classic: bool = False) -> ProbeSpec:
    """A Paris flow probe; ``classic``: a socket of its own (before Paris flows), whose
    answer the kernel tells by the socket even when the router quotes only 8 bytes."""
    if classic:
        if method == "udp":
            return ProbeSpec(ttl, "udp", dst, UDP_BASE_PORT + ttl, ttl)
        return ProbeSpec(ttl, method, dst, port if method == "tcp" else 0, ttl)
    if method == "udp":
        return ProbeSpec(ttl, "udp", dst, UDP_FLOW_PORT, ttl, flow=dst)
    return ProbeSpec(ttl, method, dst, port, ttl, flow=dst)


def _ambiguous(answers: dict[int, ProbeReply], ttls: Sequence[int], dest: int | None) -> set[int]:
    """TTLs whose last answer could not be told from a sibling's (a router quoting 8 B)."""
    return {
        t
        for t in ttls
        if t in answers and answers[t].kind == "ambiguous" and (dest is None or t < dest)
    }


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
    late_hops = 0
    seq = 1
    first = 1
    ledger = flows.LateLedger()
    if method in flows.FLOW_METHODS:
        flows.reset_serial(_spec_for(method, dst, port, 1))  # a new look at the path

    def take_late(*, poll: bool) -> None:
        """Late answers (to any earlier attempt) fill TTLs still silent."""
        nonlocal total, late_hops
        if poll:
            ledger.poll()
        for ticket, r in ledger.take():
            total += r.received_bytes
            t = ticket.spec.key
            if r.answered and not (t in answers and answers[t].answered):
                answers[t] = r
                late_hops += 1

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
            amb = _ambiguous(answers, todo, dest_ttl)
            specs = [_spec_for(method, dst, port, t, classic=t in amb) for t in todo]
            ledger.begin_round()
            # every TTL at once even on a serial flow: the time stays one timeout a batch
            got = run_probes(specs, timeout_s, seq=seq, late=ledger, serial=False)
            seq += 1
            for t, r in got.items():
                total += r.sent_bytes + r.received_bytes
                if r.answered or t not in answers:
                    answers[t] = r
            take_late(poll=False)
            reached = [t for t, r in answers.items() if r.kind == "reached" and r.answered]
            if reached:
                dest_ttl = min(reached)
        if dest_ttl is None and ledger.waiting:
            take_late(poll=True)  # answers that came after the last attempt's round
            reached = [t for t, r in answers.items() if r.kind == "reached" and r.answered]
            dest_ttl = min(reached) if reached else None
        amb = _ambiguous(answers, ttls, dest_ttl)
        if amb:  # the last attempt met 8-byte quotes: one-socket probes rather than silence
            got = run_probes(
                [_spec_for(method, dst, port, t, classic=True) for t in sorted(amb)],
                timeout_s,
                seq=seq,
            )
            seq += 1
            for t, r in got.items():
                total += r.sent_bytes + r.received_bytes
                if r.answered or t not in answers:
                    answers[t] = r
            reached = [t for t, r in answers.items() if r.kind == "reached" and r.answered]
            dest_ttl = min(reached) if reached else None
        if dest_ttl is None:
            last_answer = max((t for t, r in answers.items() if r.answered), default=0)
            if ttls[-1] - last_answer >= MAX_SILENT_RUN:
                break
        first += batch
    if late_hops:
        log.info("%s trace to %s: %d hops answered after their timeout", method, dst, late_hops)
    return _Trace(method, answers, dest_ttl, total, late_hops)


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
    namer: OrgNamer | None = None,
    gateway: str | None = None,
    classify: bool = True,
) -> PathResult:
    """Discover the hops toward ``host`` and name them.

    Methods are tried in order; the first that reaches the destination wins. When none
    reaches it, the result with the most answering hops is kept (``reached=False``).
    ``resolver`` does the reverse lookups (default: the system resolver); ``namer`` is a
    :class:`player.net.path.naming.OrgNamer` (default: the bundled table). With ``classify``
    the hops get ``org`` and ``segment`` from :func:`player.net.path.segments.classify_path`
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
        hops = segments.classify_path(
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
        late_hops=best.late_hops if best is not None else 0,
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
