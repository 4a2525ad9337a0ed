"""Per-hop latency probing while the video plays.

:class:`HopProber` runs a named background thread that sends one probe round per
``interval_s`` to every known hop and records a :class:`player.core.model.ProbeSample`
per hop and round, labelled ``loaded`` from the caller's ``is_loaded()`` at send time (the
gateway knows when a download is in flight).

Probe kinds per hop (``method``):

``udp`` / ``tcp``
    TTL-limited probes toward the server (as in path discovery): the router at that TTL
    answers with ICMP time exceeded. They follow the video's own forward path. They are
    discovery's Paris flow (:mod:`player.net.path.flows`): one source and destination
    port at every TTL and in every round, so a router balancing load per flow sends them
    along the path discovery found, round after round (TCP SYNs one at a time).
``icmp``
    ICMP echo to the hop's address through an unprivileged ICMP socket (needs
    ``ping_group_range``); one socket, so one echo identifier, per server.
``auto`` (default)
    ``icmp`` when permitted, else ``udp``.

The last hop (the server) is probed by a TCP connect to the server's port when one is
given (``server_tcp``): the SYN/ACK time, read from ``TCP_INFO``, from the same source port
every round. The connection is reset at once (no data, no TIME_WAIT on our side).

Cost: probes carry no data but their id (:mod:`player.net.path.engine`): 60 B per hop and
round with its echo reply (the echo's 2-byte checksum word, twice), 84 B with a time exceeded (88 B for a UDP probe: its 2-byte
id, and the router's quote of it), 200 B for the server's TCP handshake; the
:attr:`HopProber.probe_bytes` counter holds the on-wire IP bytes, both directions. With a
``budget`` (:class:`player.net.path.budget.ProbeBudget`) every round first reserves its
worst-case cost and is skipped while the bucket cannot pay it; with a ``pacer``
(:class:`player.net.path.budget.Pacer`) a round is sent only when it is due (dense while
evidence is short, else every few seconds). Without them: one round per ``interval_s``.

TTL-limited rounds also watch the route: when the routers answering no longer match the
known hops for ``ROUTE_CHANGE_ROUNDS`` rounds in a row, ``on_route_change`` is called once
(the caller re-discovers through :class:`player.net.path.cache.PathCache`). The per-hop
summaries are :mod:`player.net.path.rtt`'s. An answer from another router than the known
hop's is counted in :attr:`HopProber.foreign_answers`; a probe whose answer could not be
told from a sibling's (``kind="ambiguous"``: a router quoting 8 bytes) leaves no sample.

Late answers are evidence, not losses (:mod:`player.net.path.late`). A round gives up on
a probe at ``timeout_s`` (below the round interval) and records its sample as unanswered;
behind a deep queue (1-3 s of bufferbloat on a slow access link) the answer comes later,
and when it comes within ``flows.LATE_HORIZON_S`` of the send that same sample takes its
true RTT, keeping the idle/loaded label of the moment it was sent. Late answers are picked
up at the next round and, with a pacer, at every tick between rounds
(:attr:`HopProber.late_samples` counts them). Until then the sample is *pending*
(:attr:`player.net.path.rtt.RttStats.pending`: not counted in the loss).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace

from player.core.model import Hop, ProbeSample
from player.net.path import engine
from player.net.path.budget import Pacer, ProbeBudget
from player.net.path.hosts import DEFAULT_PORT, resolve
from player.net.path.late import LateSamples
from player.net.path.rtt import HopStats, RttStats, rtt_stats
from player.net.path.sockets import (
    UDP_FLOW_PORT,
    MethodUnavailable,
    ProbeReply,
    ProbeSpec,
    ping_permission,
)

log = logging.getLogger(__name__)

# --- tunables -------------------------------------------------------------------------
DEFAULT_INTERVAL_S = 1.0
# A round waits this long for its answers (capped below the interval, so rounds stay
# paced); an answer that comes later, within flows.LATE_HORIZON_S, still becomes its
# probe's sample (module doc), so a deep queue shows as RTT, not as loss.
DEFAULT_TIMEOUT_S = 0.8
MAX_SAMPLES_PER_HOP = 3600  # one hour at 1 round/s
ROUTE_CHANGE_ROUNDS = 3
ROUTE_CHANGE_MIN_HOPS = 2  # hops that must disagree in a round to count it
STOP_JOIN_S = 0.9
THREAD_NAME = "stallwatch-probes"
TCP_CONNECT_TIMEOUT_S = 2.0
# With a pacer, how often "is a round due?" is asked between rounds: a download that starts
# gets its first loaded round within 0.1 s (is_loaded is a cheap counter read).
PACE_TICK_S = 0.1
PROBER_METHODS = ("auto", "udp", "icmp", "tcp")


def _hop_rtt(spec: ProbeSpec, r: ProbeReply | None, known: str | None) -> float | None:
    """The RTT a reply gives for its hop, or None when it does not measure that hop: no
    answer, an error (e.g. an unreachable from elsewhere) or another router answering."""
    if r is None or not r.answered:
        return None
    if spec.ttl is None:  # direct echo / connect: only the target's own answer counts
        return r.rtt_ms if r.kind == "reached" and r.address == spec.dst else None
    if r.kind not in ("ttl_exceeded", "reached") or r.address != known:
        return None
    return r.rtt_ms


def _round_bytes(replies: dict[int, ProbeReply]) -> int:
    return sum(r.sent_bytes + r.received_bytes for r in replies.values())


# --- one-shot helper ------------------------------------------------------------------
def tcp_connect_rtt(host: str, port: int, timeout_s: float = TCP_CONNECT_TIMEOUT_S) -> float | None:
    """Time of a TCP handshake to ``host:port`` in ms (SYN -> SYN/ACK), None on failure.

    Uses the kernel's RTT sample from ``TCP_INFO`` when available. A refused connection
    (RST) still measures the round trip and is returned too.
    """
    _family, dst = resolve(host, port)
    spec = ProbeSpec(0, "tcp", dst, int(port), None)
    reply = engine.run_probes([spec], timeout_s)[0]
    return reply.rtt_ms if reply.answered else None


# --- the prober -----------------------------------------------------------------------
class HopProber:
    """Background RTT probing of the hops toward one server.

    ``target`` is the server address (IP literal or host name, resolved once); ``port`` the
    server's TCP port for the last-hop connect probe (None: probe the last hop like the
    others). ``is_loaded`` is called once per round from the probe thread and must be
    cheap and thread-safe.
    """

    def __init__(
        self,
        target: str,
        *,
        port: int | None = None,
        method: str = "auto",
        interval_s: float = DEFAULT_INTERVAL_S,
        timeout_s: float | None = None,
        is_loaded: Callable[[], bool] | None = None,
        server_tcp: bool = True,
        max_samples: int = MAX_SAMPLES_PER_HOP,
        on_route_change: Callable[[], None] | None = None,
        name: str = THREAD_NAME,
        budget: ProbeBudget | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        if method not in PROBER_METHODS:
            raise ValueError(f"unknown probe method {method!r}")
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        _fam, self.target = resolve(target, port or 0)
        self.port = port
        self.interval_s = interval_s
        self.timeout_s = min(
            timeout_s if timeout_s is not None else DEFAULT_TIMEOUT_S, interval_s * 0.9
        )
        self._is_loaded = is_loaded or (lambda: False)
        self.server_tcp = server_tcp and port is not None
        self.max_samples = max_samples
        self.on_route_change = on_route_change
        self.thread_name = name
        self.budget = budget
        self.pacer = pacer
        self.method = self._pick_method(method)
        self._lock = threading.Lock()
        self._samples: dict[int, deque[ProbeSample]] = {}
        self._hops: list[Hop] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = -1, -1
        self.rounds = 0
        self.probe_bytes_sent = 0
        self.probe_bytes_received = 0
        self.route_changed = False
        self.foreign_answers = 0  # answers at a TTL from another router than the known hop
        self._late = LateSamples()  # unanswered samples whose answer may still come
        self._mismatch_rounds = 0
        self.last_error: str | None = None

    @staticmethod
    def _pick_method(method: str) -> str:
        if method != "auto":
            return method
        ok, _why = ping_permission()
        return "icmp" if ok else "udp"

    # --- lifecycle --------------------------------------------------------------------
    def start(self, hops: Sequence[Hop]) -> None:
        """Start probing ``hops`` (silent hops, address None, are skipped)."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("HopProber already running")
        with self._lock:
            self._hops = [replace(h) for h in sorted(hops, key=lambda h: h.hop)]
            for h in self._hops:
                if h.address:
                    self._samples.setdefault(h.hop, deque(maxlen=self.max_samples))
        self._stop.clear()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        log.info(
            "probing %d hops toward %s by %s every %.2f s",
            len(self._hops),
            self.target,
            self.method,
            self.interval_s,
        )

    def stop(self) -> None:
        """Stop the thread; returns within about ``STOP_JOIN_S`` (< 1 s)."""
        self._stop.set()
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
        t = self._thread
        if t is not None:
            t.join(STOP_JOIN_S)
            if t.is_alive():
                log.warning("probe thread did not stop within %.1f s", STOP_JOIN_S)
        self._thread = None
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._wake_r = self._wake_w = -1

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> HopProber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the thread -------------------------------------------------------------------
    def _specs(self) -> list[ProbeSpec]:
        return self.specs_for(self._hops)

    def usual_round_bytes(self, hops: Sequence[Hop]) -> int:
        """What one round over ``hops`` usually costs (a budget reserves the worst case)."""
        return engine.usual_round_bytes(self.specs_for(hops))

    def specs_for(self, hops: Sequence[Hop]) -> list[ProbeSpec]:
        """One round's probes toward ``hops`` (silent ones skipped)."""
        specs: list[ProbeSpec] = []
        answering = [h for h in hops if h.address]
        if not answering:
            return specs
        last = max(h.hop for h in hops)
        for h in answering:
            addr = h.address or ""
            if h.hop == last and addr == self.target and self.server_tcp and self.port:
                specs.append(ProbeSpec(h.hop, "tcp", addr, self.port, None, flow=self.target))
            elif self.method == "icmp":
                specs.append(ProbeSpec(h.hop, "icmp", addr, 0, None, flow=self.target))
            elif self.method == "udp":
                specs.append(
                    ProbeSpec(
                        h.hop,
                        "udp",
                        self.target,
                        UDP_FLOW_PORT,
                        h.hop,
                        flow=self.target,
                        expect=addr,  # an id-less answer from it is this probe's
                    )
                )
            else:
                port = self.port or DEFAULT_PORT
                specs.append(
                    ProbeSpec(h.hop, "tcp", self.target, port, h.hop, flow=self.target, expect=addr)
                )
        return specs

    def _loaded_now(self) -> bool:
        try:
            return bool(self._is_loaded())
        except Exception as exc:  # noqa: BLE001 - a broken callback must not kill probing
            log.debug("is_loaded() failed: %s", exc)
            return False

    def _run(self) -> None:
        seq = 1
        while not self._stop.is_set():
            loaded = self._loaded_now()
            if self.pacer is not None and not self.pacer.due(time.monotonic(), loaded):
                self._settle(0, self._claim_late(poll=True))
                self._stop.wait(PACE_TICK_S)
                continue
            specs = self._specs()
            if specs:  # a serial flow sends in this order until the round's deadline:
                k = self.rounds % len(specs)  # every hop gets to go first in turn
                specs = specs[k:] + specs[:k]
            cost = engine.max_round_bytes(specs)
            if self.budget is not None and not self.budget.reserve(cost):
                self._settle(0, self._claim_late(poll=True))
                self._stop.wait(PACE_TICK_S)  # the video has not paid for it yet
                continue
            started = time.monotonic()
            self._late.begin_round()
            try:
                replies = engine.run_probes(
                    specs, self.timeout_s, wake_fd=self._wake_r, seq=seq, late=self._late.ledger
                )
            except OSError as exc:
                self.last_error = str(exc)
                if self.method == "icmp" and isinstance(exc, MethodUnavailable):
                    log.info("ICMP probing refused (%s); falling back to UDP", exc)
                    self.method = "udp"
                    self._settle(cost, 0)
                    continue
                log.warning("probe round failed: %s", exc)
                replies = {}
            if self._stop.is_set():  # the round's samples are dropped, its bytes counted
                with self._lock:
                    for r in replies.values():
                        self.probe_bytes_sent += r.sent_bytes
                        self.probe_bytes_received += r.received_bytes
                self._settle(cost, _round_bytes(replies))
                break
            self._settle(cost, self._record(specs, replies, started, loaded))
            if self.pacer is not None:
                self.pacer.record(started, loaded)
            seq = (seq + 1) & 0xFFFF
            if self.pacer is not None:  # it spaces the rounds; an idle gap may come soon
                self._stop.wait(PACE_TICK_S)
            else:
                self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def _settle(self, reserved: int, actual: int) -> None:
        if self.budget is not None:
            self.budget.settle(reserved, actual)

    def _record(
        self,
        specs: Sequence[ProbeSpec],
        replies: dict[int, ProbeReply],
        at: float,
        loaded: bool,
    ) -> int:
        """Store one round's samples; returns the round's probe bytes."""
        mismatches = 0
        spent = 0
        with self._lock:
            self.rounds += 1
            known = {h.hop: h.address for h in self._hops}
            for spec in specs:
                r = replies.get(spec.key)
                sent = r.sent_bytes if r else 0
                rcvd = r.received_bytes if r else 0
                self.probe_bytes_sent += sent
                self.probe_bytes_received += rcvd
                spent += sent + rcvd
                if r is not None and r.kind in ("ambiguous", "skipped"):
                    # neither an RTT nor a loss: its answer could not be told apart, or it
                    # was not sent (its flow busy past the round's deadline, or stop())
                    continue
                rtt = _hop_rtt(spec, r, known.get(spec.key))
                if (
                    r is not None
                    and r.answered
                    and spec.ttl is not None
                    and r.address != known.get(spec.key)
                ):
                    mismatches += 1  # another router answers at this TTL: the route moved
                sample = ProbeSample(
                    hop=spec.key, at=at, rtt_ms=rtt, loaded=loaded, method=spec.method
                )
                self._samples[spec.key].append(sample)
                if rtt is None and (r is None or not r.answered):
                    self._late.expect(spec.key, sample)  # its answer may still come
            self.foreign_answers += mismatches
            if mismatches >= min(ROUTE_CHANGE_MIN_HOPS, len(specs)) and mismatches:
                self._mismatch_rounds += 1
            else:
                self._mismatch_rounds = 0
            fire = self._mismatch_rounds >= ROUTE_CHANGE_ROUNDS and not self.route_changed
            if fire:
                self.route_changed = True
        spent += self._claim_late(poll=False)
        if fire:
            log.info("route toward %s changed: hops answer from new addresses", self.target)
            if self.on_route_change is not None:
                try:
                    self.on_route_change()
                except Exception as exc:  # noqa: BLE001
                    log.warning("on_route_change callback failed: %s", exc)
        return spent

    def _claim_late(self, *, poll: bool) -> int:
        """Turn the losses whose answers came late into their RTTs (probe thread); with
        ``poll`` read the flows first (between rounds). Returns the bytes received."""
        arrived = self._late.arrivals(poll=poll)
        with self._lock:
            known = {h.hop: h.address for h in self._hops}
            rcvd = self._late.apply(arrived, known, _hop_rtt)
            self.probe_bytes_received += rcvd
        return rcvd

    @property
    def late_samples(self) -> int:
        """Losses taken back: their answers came after their rounds."""
        return self._late.taken_back

    # --- results ----------------------------------------------------------------------
    @property
    def probe_bytes(self) -> int:
        """Approximate on-wire probe bytes so far, both directions."""
        with self._lock:
            return self.probe_bytes_sent + self.probe_bytes_received

    def hops(self) -> list[Hop]:
        with self._lock:
            return [replace(h) for h in self._hops]

    def samples(
        self, since: float | None = None, hop: int | None = None, *, pending: bool = True
    ) -> list[ProbeSample]:
        """A snapshot of the samples (all hops, or one), oldest first. ``pending=False``
        leaves out the unanswered ones whose late answer may still come (a loss only once
        the horizon has passed)."""
        with self._lock:
            keys = [hop] if hop is not None else sorted(self._samples)
            waiting = set() if pending else {id(s) for s in self._late.pending()}
            out = [
                replace(s)
                for k in keys
                for s in self._samples.get(k, ())
                if (since is None or s.at >= since) and id(s) not in waiting
            ]
        out.sort(key=lambda s: (s.at, s.hop))
        return out

    def _stats(self, hop: int, loaded: bool, since: float | None) -> RttStats:
        """One hop's samples of one label, the pending ones (late answers may still come)
        counted apart, read at one moment."""
        with self._lock:
            mine = [
                s
                for s in self._samples.get(hop, ())
                if s.loaded == loaded and (since is None or s.at >= since)
            ]
            ids = {id(s) for s in mine}
            pending = sum(1 for s in self._late.pending() if id(s) in ids)
            return rtt_stats([replace(s) for s in mine], pending)

    def baseline(self, hop: int, since: float | None = None) -> RttStats:
        """Idle statistics of one hop (samples taken while no download was in flight)."""
        return self._stats(hop, False, since)

    def loaded_stats(self, hop: int, since: float | None = None) -> RttStats:
        """Statistics of one hop while our download was in flight."""
        return self._stats(hop, True, since)

    def stats(self, since: float | None = None) -> dict[int, HopStats]:
        """Idle and loaded statistics of every probed hop."""
        out: dict[int, HopStats] = {}
        for h in self.hops():
            if h.address is None:
                continue
            out[h.hop] = HopStats(
                h.hop, h.address, self.baseline(h.hop, since), self.loaded_stats(h.hop, since)
            )
        return out

    def annotate(self, hops: Sequence[Hop], since: float | None = None) -> list[Hop]:
        """Copies of ``hops`` with ``rtt_idle_ms``/``rtt_loaded_ms`` set to the medians."""
        st = self.stats(since)
        out = []
        for h in hops:
            c = replace(h)
            s = st.get(h.hop)
            if s is not None:
                c.rtt_idle_ms = s.idle.median_ms
                c.rtt_loaded_ms = s.loaded.median_ms
            out.append(c)
        return out
