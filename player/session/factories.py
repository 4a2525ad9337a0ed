"""Where the session gets its network parts, CPU sampler, preflight check, clock and threads.

:class:`SessionFactories` is a small record of callables with the real ones as defaults;
tests pass fakes (``tests/support/fakes.py``) to drive a whole session in milliseconds.
The protocols below are the part of each real API the session uses, nothing more.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psutil

from player.core.model import Hop, ProbeSample
from player.net import gateway as gw
from player.net.host_counters import TrafficReader, TrafficReading
from player.net.path.monitor import PathMonitor
from player.net.preflight import PreflightResult, preflight
from player.net.tls_policy import TlsExemptions


class GatewayLike(Protocol):
    """The part of :class:`player.net.gateway.Gateway` the session uses."""

    mode: gw.Mode

    def start(self) -> Any: ...
    def open(self, url: str, kind: str | None = None) -> str: ...
    def stop(self) -> None: ...
    def lock_rendition(self, index: int | None) -> None: ...
    def set_media_duration(self, seconds: float | None) -> None: ...
    def renditions(self) -> Sequence[gw.Rendition]: ...
    def current_rendition(self) -> int | None: ...
    def segment_duration_s(self) -> float | None: ...
    def delivered_until_s(self) -> float | None: ...
    def starving(self) -> bool: ...
    def bytes_delivered(self) -> int: ...
    def open_requests(self) -> int: ...
    def inflight(self) -> Sequence[Any]: ...  # started_at, first_byte_at, received


class PathSnapshotLike(Protocol):
    """The part of :class:`player.net.path.monitor.PathSnapshot` the session uses."""

    status: Any  # ProbeStatus
    reason: str
    ready: bool
    method: str
    hops: list[Hop]
    samples: list[ProbeSample]
    destination: str | None
    probe_bytes: int


class PathMonitorLike(Protocol):
    """The part of :class:`player.net.path.monitor.PathMonitor` the session uses."""

    def start(self) -> Any: ...
    def stop(self) -> None: ...
    def snapshot(self) -> Any: ...  # a PathSnapshotLike
    def fit_budget(self, video_bytes: int) -> None: ...


class CpuSampler(Protocol):
    """CPU load for the device evidence."""

    def sample(self) -> tuple[float, float] | None:
        """(this process %, 100 = one core; whole machine %), None when unreadable."""

    def count(self) -> int: ...


class PsutilCpu:
    """The real CPU sampler (psutil; the first reading after start is 0)."""

    def __init__(self) -> None:
        self._proc = psutil.Process()

    def sample(self) -> tuple[float, float] | None:
        try:
            return self._proc.cpu_percent(interval=None), psutil.cpu_percent(interval=None)
        except psutil.Error:
            return None

    def count(self) -> int:
        return psutil.cpu_count() or 1


class TrafficSource(Protocol):
    """The interface toward the video's server and the player's own received bytes
    (player.net.host_counters.TrafficReader)."""

    def read(self) -> TrafficReading | None: ...


def start_daemon(target: Callable[[], None], name: str) -> threading.Thread:
    """Run ``target`` in a named daemon thread (the default for blocking work)."""
    t = threading.Thread(target=target, name=name, daemon=True)
    t.start()
    return t


def real_gateway(
    on_event: Callable[[object], None],
    rendition_chooser: Callable[[int], int],
    tls: TlsExemptions | None = None,
) -> GatewayLike:
    return gw.Gateway(on_event=on_event, rendition_chooser=rendition_chooser, tls=tls)


def real_path_monitor(
    host: str, port: int, *, is_loaded: Callable[[], bool], namer: Any, namer_key: tuple
) -> PathMonitorLike:
    return PathMonitor(host, port, is_loaded=is_loaded, namer=namer, namer_key=namer_key)


def real_preflight(
    source: str, timeout: float, tls: TlsExemptions | None = None
) -> PreflightResult:
    return preflight(source, timeout=timeout, tls=tls)


@dataclass(frozen=True, slots=True)
class SessionFactories:
    """Everything a session builds or reads from outside itself, real by default.

    ``gateway(on_event, rendition_chooser)`` and ``path_monitor(host, port, is_loaded=,
    namer=, namer_key=)`` make one per open (not started); ``cpu()`` one per session.
    ``spawn(target, name)`` runs blocking work (the preflight check) off the owner's thread
    and returns the thread to join, or None when it already ran.
    """

    gateway: Callable[..., GatewayLike] = real_gateway
    path_monitor: Callable[..., PathMonitorLike] = real_path_monitor
    cpu: Callable[[], CpuSampler] = PsutilCpu
    traffic: Callable[[], TrafficSource] = TrafficReader
    preflight: Callable[[str, float], PreflightResult] = real_preflight
    clock: Callable[[], float] = time.monotonic
    spawn: Callable[[Callable[[], None], str], threading.Thread | None] = start_daemon


def with_tls(factories: SessionFactories, tls: TlsExemptions) -> SessionFactories:
    """``factories`` whose *real* gateway and preflight honour the viewer's certificate
    exceptions ``tls`` (fakes are left as they are: they make no TLS connections)."""
    changes: dict[str, Any] = {}
    if factories.gateway is real_gateway:
        changes["gateway"] = lambda on_event, rendition_chooser: real_gateway(
            on_event, rendition_chooser, tls
        )
    if factories.preflight is real_preflight:
        changes["preflight"] = lambda source, timeout: real_preflight(source, timeout, tls)
    return dataclasses.replace(factories, **changes) if changes else factories
