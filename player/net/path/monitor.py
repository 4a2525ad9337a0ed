"""Watches the network path to one media host for a session.

In a named background thread: discover the hops once per host (shared
:class:`~player.net.path.cache.PathCache`, re-discovered when the route changes), then
probe them with :class:`~player.net.path.prober.HopProber`, labelling each sample idle or
loaded with the caller's ``is_loaded``. :meth:`snapshot` hands the evidence to the pure
attribution core. Never raises into the caller: failures become a ``probe_status`` and a
human reason.

What probing costs is bounded by design (:mod:`player.net.path.budget`): the session's
probe bytes, discovery included, never exceed ``max(start allowance, PROBE_SHARE x video
bytes)`` (the allowance: discovery and START_ROUNDS rounds of this path) --
:meth:`PathMonitor.fit_budget` credits the video bytes -- and rounds are
dense only while the evidence a verdict needs is short. Of a long path only the hops at
the borders between segments are probed (:func:`~player.net.path.budget.hops_to_probe`).

Idle gaps (:meth:`PathMonitor.watch_gaps`): given the gateway's fetch gate, samples are
labelled loaded while one of our media downloads is in flight (the DASH read-ahead's too;
a request the gate holds back is not a download), and every gap the gate opens gets an
idle round at once (:class:`~player.net.path.gaps.GapPacer`), counted as the pacer's idle
rounds; :meth:`PathMonitor.idle_rounds` and :meth:`PathMonitor.gap_ready` are what the
session's gap policy reads.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from urllib.parse import urlparse

import requests

from player.core.attribution import ProbeStatus
from player.core.model import Hop, ProbeSample
from player.net.path.budget import (
    FAST_INTERVAL_S,
    ProbeBudget,
    hops_to_probe,
    start_allowance,
)
from player.net.path.cache import PathCache
from player.net.path.discovery import PathResult
from player.net.path.engine import max_round_bytes
from player.net.path.gaps import GapPacer, GapSource
from player.net.path.hosts import validate_host
from player.net.path.naming import OrgNamer
from player.net.path.prober import HopProber

log = logging.getLogger(__name__)

DISCOVERY_TIMEOUT_S = 1.0
STOP_JOIN_S = 0.5
# A gap is worth asking for only while the budget holds this many rounds: the two that
# fit in a gap (player.core.thresholds.IDLE_GAP_S).
GAP_ROUNDS = 2
THREAD_NAME = "stallwatch-path"

_caches: dict[tuple, PathCache] = {}
_caches_lock = threading.Lock()


def build_namer(overrides: dict[str, str] | None = None, rdap_url: str | None = None) -> OrgNamer:
    """The organisation namer for the viewer's settings (RDAP only when opted in)."""
    session = None
    if rdap_url:
        session = requests.Session()
    return OrgNamer(
        overrides=dict(overrides or {}), rdap_base_url=rdap_url or None, session=session
    )


def _cache_for(namer: OrgNamer | None, key: tuple) -> PathCache:
    """One path cache per naming configuration: paths are discovered once per host."""
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            kwargs: dict = {"timeout_s": DISCOVERY_TIMEOUT_S}
            if namer is not None:
                kwargs["namer"] = namer
            cache = _caches[key] = PathCache(**kwargs)
        return cache


@dataclass(slots=True)
class PathSnapshot:
    """What the monitor knows now (copies; safe to keep)."""

    host: str
    ready: bool = False
    method: str = "none"
    reason: str = ""
    reached: bool = False
    status: ProbeStatus = ProbeStatus.NOT_RUN
    hops: list[Hop] = field(default_factory=list)
    samples: list[ProbeSample] = field(default_factory=list)
    destination: str | None = None
    probe_bytes: int = 0


def host_port(url: str) -> tuple[str, int] | None:
    """(host, port) of an http(s) URL, the port defaulted by scheme; None for other URLs."""
    p = urlparse(url)
    if p.scheme not in ("http", "https") or not p.hostname:
        return None
    return p.hostname, p.port or (443 if p.scheme == "https" else 80)


class PathMonitor:
    """The path to one media host for one session: discovery, then hop probing, in a named
    thread. :meth:`snapshot` may be called at any time from any thread."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        is_loaded,  # noqa: ANN001 - Callable[[], bool], called from the probe thread
        namer: OrgNamer | None = None,
        namer_key: tuple = (),
        interval_s: float = FAST_INTERVAL_S,
        budget: ProbeBudget | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._is_loaded = is_loaded
        self._cache = _cache_for(namer, namer_key)
        self._interval_s = interval_s
        self._size_budget = budget is None  # our own: its allowance fits the path
        self.budget = budget if budget is not None else ProbeBudget()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._prober: HopProber | None = None
        self._result: PathResult | None = None
        self._status = ProbeStatus.NOT_RUN
        self._reason = ""
        self._gaps: GapSource | None = None
        self._pacer = GapPacer(fast_s=interval_s)
        self._round_cost = 0  # a round's worst-case bytes, once probing

    def watch_gaps(self, gaps: GapSource) -> None:
        """Label samples by ``gaps.downloading()`` too and probe in its idle gaps (module
        doc). Any thread; takes effect from the probe thread's next tick."""
        self._gaps = gaps
        self._pacer.gaps = gaps

    def _loaded_now(self) -> bool:
        """The probe thread's label: the caller's ``is_loaded``; with a fetch gate, loaded
        while our download is in flight -- in a gap only then (a request held back by the
        gap is not a download, though the caller may count it), else also then (the
        read-ahead downloads while no request of libVLC's is open)."""
        gaps = self._gaps
        if gaps is None:
            return bool(self._is_loaded())
        if gaps.gap() is not None:
            return gaps.downloading()
        return bool(self._is_loaded()) or gaps.downloading()

    def idle_rounds(self) -> int | None:
        """Idle rounds sent so far (gaps' included); None while no hop is being probed."""
        with self._lock:
            prober = self._prober
        if prober is None or not prober.running:
            return None
        return self._pacer.idle_rounds

    @property
    def gap_rounds(self) -> int:
        """Idle rounds sent in the fetch gate's gaps so far."""
        return self._pacer.gap_rounds

    def gap_ready(self) -> bool:
        """Probing runs and the budget can pay the rounds a gap is for (GAP_ROUNDS)."""
        with self._lock:
            prober, cost = self._prober, self._round_cost
        return (
            prober is not None and prober.running and self.budget.available() >= GAP_ROUNDS * cost
        )

    def start(self) -> PathMonitor:
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            prober = self._prober
        if prober is not None:
            prober.stop()
        if self._thread is not None:
            self._thread.join(STOP_JOIN_S)

    def _run(self) -> None:
        try:
            validate_host(self.host)
            result = self._cache.get(self.host, self.port)
        except (OSError, ValueError) as exc:
            self._set_status(ProbeStatus.NOT_RUN, f"path discovery failed: {exc}")
            return
        if self._stop.is_set():
            return
        answered = [h for h in result.hops if h.address]
        if not result.hops or result.method == "none":
            status = ProbeStatus.NOT_PERMITTED
        elif not answered:
            status = ProbeStatus.SILENT
        else:
            status = ProbeStatus.OK
        self.budget.charge(result.probe_bytes)  # paid for by the start allowance
        with self._lock:
            self._result = result
        self._set_status(status, result.reason or "")
        if status is not ProbeStatus.OK:
            return
        method = result.method if result.method in ("icmp", "udp", "tcp") else "auto"
        try:
            prober = HopProber(
                result.address,
                port=self.port,
                method=method,
                interval_s=self._interval_s,
                is_loaded=self._loaded_now,
                # a server that answered the discovery's method is probed by it (60 B by
                # echo, 88 B by UDP, not a 200 B handshake). Linux rate-limits ICMP errors
                # (time exceeded, port unreachable) to a burst of 6, then 1/s per peer: the
                # pacer's fast phase fits the burst, its later rounds are >= 1.5 s apart
                server_tcp=not (result.reached and result.method in ("icmp", "udp")),
                on_route_change=lambda: self._cache.invalidate(self.host),
                budget=self.budget,
                pacer=self._pacer,
            )
            self._pacer.round_s = prober.timeout_s  # a gap round's replies end in the gap
            hops = hops_to_probe(result.hops)
            with self._lock:
                if self._stop.is_set():
                    return
                self._prober = prober
                self._round_cost = max_round_bytes(prober.specs_for(hops))
            if self._size_budget:
                self.budget.set_allowance(
                    start_allowance(result.probe_bytes, prober.usual_round_bytes(hops))
                )
            prober.start(hops)
        except (OSError, ValueError, RuntimeError) as exc:
            self._set_status(ProbeStatus.NOT_PERMITTED, f"hop probing failed: {exc}")

    def _set_status(self, status: ProbeStatus, reason: str) -> None:
        with self._lock:
            self._status = status
            self._reason = reason
        if reason:
            log.info("path to %s: %s (%s)", self.host, status.value, reason)

    def fit_budget(self, video_bytes: int) -> None:
        """Credit the probe budget with the session's video bytes so far (finished
        downloads; called about once a second by the session). Rounds the bucket cannot
        pay wait for it: probe bytes stay within the budget at every moment."""
        self.budget.credit(video_bytes)

    def snapshot(self) -> PathSnapshot:
        with self._lock:
            result, prober, status, reason = self._result, self._prober, self._status, self._reason
        snap = PathSnapshot(host=self.host, status=status, reason=reason)
        if result is None:
            return snap
        snap.ready = True
        snap.method = result.method
        snap.reached = result.reached
        snap.destination = result.address if result.reached else None
        snap.probe_bytes = result.probe_bytes
        if prober is not None:
            snap.hops = prober.annotate(result.hops)
            snap.samples = prober.samples()
            snap.probe_bytes += prober.probe_bytes
        else:
            snap.hops = list(result.hops)
        return snap
