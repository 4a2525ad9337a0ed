"""Fakes that let a whole :class:`player.session.Session` run in milliseconds.

What is faked, and why: the clock (real time would make a 3 s stall take 3 s), libVLC
(decoding real media is slow and timing-dependent), the gateway (sockets and an origin),
the path monitor (probes need a network), the CPU sampler and the preflight check (HTTP).
Nothing else is: the session's parts, the buffer-health model, ABR, evidence assembly and
attribution all run for real. Each fake implements only the part of the real interface the
session uses (see ``player.session.factories`` for those protocols) plus a few methods the
test calls to act as the real thing's threads would.
"""

from __future__ import annotations

import queue
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from player.core.attribution import ProbeStatus
from player.core.evidence import InFlightTransfer
from player.core.model import Fetch, FetchKind, Hop, ProbeSample, Segment
from player.net import gateway as gw
from player.net.host_counters import TrafficReading
from player.net.path.monitor import PathSnapshot
from player.net.preflight import PreflightResult
from player.playback.vlc import MAX_RATE, MIN_RATE, EventKind, PlayerEvent
from player.session import SessionFactories


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


class FakeFrames:
    """The player's FrameSink as the session reads it: distinct pictures and their times."""

    def __init__(self) -> None:
        self.distinct_frames = 0
        self.distinct_times: deque[float] = deque(maxlen=4096)

    def reset(self) -> None:
        self.distinct_frames = 0
        self.distinct_times.clear()


class FakePlayer:
    """VlcPlayer as the session uses it, with a scripted media clock instead of libVLC.

    ``open`` and ``stop`` bump :attr:`generation` as libVLC's wrapper does; ``pause`` and
    ``resume`` queue the events libVLC would. The test starts playback with :meth:`playing`
    and moves it with :meth:`advance` (pictures at ``fps`` while not paused or frozen, never
    past ``limit_s``: what the gateway delivered)."""

    def __init__(self, clock: FakeClock, fps: float = 25.0) -> None:
        self.clock = clock
        self.fps = fps
        self.events: queue.Queue[PlayerEvent] = queue.Queue()
        self.generation = 0
        self.frames = FakeFrames()
        self.opened: list[str] = []
        self.stops = 0
        self.running = False
        self.paused = False
        self.position: float | None = None
        self.codecs: list[tuple[str, str]] = []
        self.lost_pictures = 0
        self.size = (0, 0)
        self._volume = 80
        self._muted = False
        self._frame_debt = 0.0
        self._rate = 1.0

    # -- the interface the session uses ---------------------------------------------------
    def open(self, mrl: str, options: tuple[str, ...] = ()) -> None:
        self.generation += 1
        self.frames.reset()
        self.opened.append(mrl)
        self.running = False
        self.paused = False
        self.position = None

    def stop(self) -> None:
        self.generation += 1
        self.stops += 1
        self.running = False

    def pause(self) -> None:
        self.paused = True
        self.emit(EventKind.PAUSED)

    def resume(self) -> None:
        self.paused = False
        self.emit(EventKind.PLAYING)

    def seek_s(self, seconds: float) -> None:
        self.position = seconds

    def time_s(self) -> float | None:
        return self.position

    def set_volume(self, percent: int) -> None:
        self._volume = percent

    def volume(self) -> int:
        return self._volume

    def set_muted(self, muted: bool) -> None:
        self._muted = muted

    def muted(self) -> bool:
        return self._muted

    def reapply_audio(self) -> None:
        pass

    def video_size(self) -> tuple[int, int]:
        return self.size

    def track_codecs(self) -> list[tuple[str, str]]:
        return list(self.codecs)

    def stats(self) -> dict:
        return {"lost_pictures": self.lost_pictures}

    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float) -> bool:
        """As VlcPlayer: clamped to what libVLC's audio output plays."""
        self._rate = max(MIN_RATE, min(MAX_RATE, float(rate)))
        return True

    def latest_frame(self, after_seq: int = 0) -> None:
        return None

    def release(self) -> None:
        self.running = False

    # -- what libVLC would do ---------------------------------------------------------------
    def emit(
        self, kind: EventKind, value: float | None = None, generation: int | None = None
    ) -> None:
        gen = self.generation if generation is None else generation
        self.events.put(PlayerEvent(kind, at=self.clock(), value=value, generation=gen))

    def playing(self, length_s: float | None = None, seekable: bool = True) -> None:
        """libVLC starts playing: Playing, then the length and seekability it found."""
        self.running = True
        self.position = 0.0 if self.position is None else self.position
        self.emit(EventKind.PLAYING)
        if length_s is not None:
            self.emit(EventKind.LENGTH_CHANGED, length_s)
        self.emit(EventKind.SEEKABLE_CHANGED, 1.0 if seekable else 0.0)

    def advance(self, dt: float, limit_s: float | None = None) -> None:
        """Play ``dt`` wall seconds (``dt`` x the rate of media) if running (stops at
        ``limit_s``: a frozen picture)."""
        if not self.running or self.paused or self.position is None:
            return
        target = self.position + dt * self._rate
        if limit_s is not None:
            target = min(target, max(self.position, limit_s))
        played = target - self.position
        if played <= 0:
            return
        self.position = target
        self._frame_debt += played * self.fps
        while self._frame_debt >= 1.0:
            self._frame_debt -= 1.0
            self.frames.distinct_frames += 1
            self.frames.distinct_times.append(self.clock())


class FakeGateway:
    """The part of the Gateway API the session uses, driven by the test (no sockets).

    Built by :class:`FakeNetwork` with the session's ``on_event`` and ``rendition_chooser``.
    ``stop()`` blocks on ``stop_gate`` when one is given (a gateway slow to stop)."""

    def __init__(
        self,
        clock: FakeClock,
        *,
        on_event: Callable[[object], None],
        rendition_chooser: Callable[[int], int],
        stop_gate: threading.Event | None = None,
    ) -> None:
        self.clock = clock
        self.on_event = on_event
        self.rendition_chooser = rendition_chooser
        self.stop_gate = stop_gate
        self.mode = gw.Mode.PENDING
        self.url: str | None = None
        self.started = False
        self.stop_called = threading.Event()
        self.stopped = threading.Event()
        self.locked: int | None = None
        self.media_duration: float | None = None
        self.rendition_list: list[gw.Rendition] = []
        self.current: int | None = None
        self.segment_s: float | None = None
        self.delivered_s: float | None = None
        self.is_starving = False
        self.delivered_bytes = 0
        self.flights: list[InFlightTransfer] = []
        self.served: list[tuple[int, int]] = []  # (seq, rendition index)

    # -- the interface the session uses ---------------------------------------------------
    def start(self) -> FakeGateway:
        self.started = True
        return self

    def open(self, url: str, kind: str | None = None) -> str:
        self.url = url
        return f"http://127.0.0.1:1/fake-secret/{len(url)}/open/index.m3u8"

    def stop(self) -> None:
        self.stop_called.set()
        if self.stop_gate is not None:
            self.stop_gate.wait()
        self.stopped.set()

    def lock_rendition(self, index: int | None) -> None:
        self.locked = index

    def set_media_duration(self, seconds: float | None) -> None:
        self.media_duration = seconds

    def renditions(self) -> list[gw.Rendition]:
        return list(self.rendition_list)

    def current_rendition(self) -> int | None:
        return self.current

    def segment_duration_s(self) -> float | None:
        return self.segment_s

    def delivered_until_s(self) -> float | None:
        return self.delivered_s

    def starving(self) -> bool:
        return self.is_starving

    def bytes_delivered(self) -> int:
        return self.delivered_bytes

    def open_requests(self) -> int:
        return len(self.flights)

    def inflight(self) -> list[InFlightTransfer]:
        return list(self.flights)

    # -- what the gateway's threads would do ----------------------------------------------
    def load_playlist(
        self,
        renditions: list[tuple[int, int]],
        segment_s: float = 2.0,
        mode: gw.Mode = gw.Mode.HLS_VIRTUAL,
    ) -> None:
        """VLC fetched the master: ``renditions`` as (bandwidth, height) in master order."""
        self.mode = mode
        self.segment_s = segment_s
        self.rendition_list = [
            gw.Rendition(i, bw, (h * 16 // 9, h), f"https://cdn.example/{h}p.m3u8")
            for i, (bw, h) in enumerate(renditions)
        ]
        self.on_event(gw.PlaylistLoaded(mode, tuple(self.rendition_list), False, None))

    def choose(self, seq: int) -> int:
        """Which rendition serves segment ``seq``: the lock, else the session's chooser."""
        return self.locked if self.locked is not None else self.rendition_chooser(seq)

    def serve_segment(
        self, seq: int, *, size: int = 250_000, ttfb_ms: float = 40.0, transfer_ms: float = 200.0
    ) -> int:
        """Serve segment ``seq`` (as the gateway's relay thread): choose, fetch, record."""
        index = self.choose(seq)
        self.current = index
        self.served.append((seq, index))
        now = self.clock()
        rend = self.rendition_list[index] if 0 <= index < len(self.rendition_list) else None
        fetch = Fetch(
            url=f"https://cdn.example/seg{seq}.ts",
            kind=FetchKind.SEGMENT,
            started_at=now - (ttfb_ms + transfer_ms) / 1000.0,
            host="cdn.example",
            rendition_bitrate_bps=rend.bandwidth if rend else None,
            media_sequence=seq,
            media_duration_s=self.segment_s,
            status=200,
            bytes=size,
            connect_ms=3.0,
            ttfb_ms=ttfb_ms,
            transfer_ms=transfer_ms,
            reused_connection=seq > 0,
            finished_at=now,
        )
        self.delivered_bytes += size
        self.on_event(gw.FetchRecorded(fetch))
        return index


class FakeTraffic:
    """The interface counter and the player's own bytes, as the test sets them (None: not
    readable, the default, so no session test depends on this machine's own traffic)."""

    def __init__(self) -> None:
        self.reading: Callable[[], TrafficReading | None] = lambda: None
        self.reads = 0

    def read(self) -> TrafficReading | None:
        self.reads += 1
        return self.reading()


class FakePathMonitor:
    """A path monitor that probes nothing; its snapshot is whatever the test sets."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        is_loaded: Callable[[], bool],
        namer: object,
        namer_key: tuple,
    ) -> None:
        self.host = host
        self.port = port
        self.is_loaded = is_loaded
        self.started = False
        self.stopped = False
        self.budget_checks: list[int] = []
        self.snap = PathSnapshot(
            host=host, status=ProbeStatus.NOT_PERMITTED, reason="fake: no probes"
        )

    def start(self) -> FakePathMonitor:
        self.started = True
        return self

    def discovering(self) -> None:
        """Probing is allowed and the path is still being discovered (no evidence yet)."""
        self.snap = PathSnapshot(host=self.host, status=ProbeStatus.OK, ready=False, method="udp")

    def discovered(
        self, hops: list[Hop], samples: list[ProbeSample], destination: str | None
    ) -> None:
        """Discovery is done and probes ran: ``samples`` are the idle and loaded RTTs."""
        self.snap = PathSnapshot(
            host=self.host,
            ready=True,
            method="udp",
            reached=True,
            status=ProbeStatus.OK,
            hops=hops,
            samples=samples,
            destination=destination,
            probe_bytes=64 * len(samples),
        )

    def stop(self) -> None:
        self.stopped = True

    def snapshot(self) -> PathSnapshot:
        return self.snap

    def fit_budget(self, video_bytes: int) -> None:
        self.budget_checks.append(video_bytes)


# A 6-hop path: the home router, two hops of the ISP, three of the CDN (the last is the server).
PATH_HOPS = (
    (1, "192.168.1.1", "home", Segment.HOME_NETWORK, 1.0),
    (2, "203.0.113.1", "Verizon", Segment.ISP, 8.0),
    (3, "203.0.113.9", "Verizon", Segment.ISP, 10.0),
    (4, "198.51.100.1", "ExampleCDN", Segment.INTERCONNECT, 15.0),
    (5, "198.51.100.7", "ExampleCDN", Segment.SERVER, 16.0),
    (6, "198.51.100.9", "ExampleCDN", Segment.SERVER, 17.0),
)
PATH_DESTINATION = "198.51.100.9"


def queued_path(
    idle_at: float, loaded_at: float, from_hop: int, queue_ms: float = 300.0, n: int = 10
) -> tuple[list[Hop], list[ProbeSample]]:
    """The hops of PATH_HOPS and probe samples: ``n`` idle ones per hop from ``idle_at``
    (before our download: the baselines), ``n`` loaded ones from ``loaded_at`` with a queue
    of ``queue_ms`` at ``from_hop`` and every hop after it (where the congested link is)."""
    rng = random.Random(7)
    hops = [Hop(hop, addr, None, org, seg) for hop, addr, org, seg, _base in PATH_HOPS]
    samples = []
    for hop, _addr, _org, _seg, base in PATH_HOPS:
        extra = queue_ms if hop >= from_hop else 0.0
        for i in range(n):
            samples.append(ProbeSample(hop, idle_at + i * 0.5, base + rng.uniform(0.0, 0.3), False))
            jitter = rng.uniform(0.0, 0.3 + extra * 0.1)
            samples.append(ProbeSample(hop, loaded_at + i * 0.5, base + extra + jitter, True))
    return hops, samples


class FakeCpu:
    """A steady, idle machine."""

    def __init__(self, process_pct: float = 5.0, system_pct: float = 10.0, cores: int = 4) -> None:
        self.reading = (process_pct, system_pct)
        self.cores = cores

    def sample(self) -> tuple[float, float] | None:
        return self.reading

    def count(self) -> int:
        return self.cores


def run_inline(target: Callable[[], None], name: str) -> None:
    """``spawn`` that runs the work at once on the caller's thread (nothing to join)."""
    target()


@dataclass
class FakeNetwork:
    """Makes the session's gateways, path monitors and preflight answers; remembers them.

    ``stop_gate``: every gateway made while it is set blocks in ``stop()`` until the gate
    is set (the Event); ``kinds``: preflight's classification per source (default "hls");
    ``refusals``: sources preflight turns down, with the reason the viewer reads."""

    clock: FakeClock
    stop_gate: threading.Event | None = None
    kinds: dict[str, str] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)
    gateways: list[FakeGateway] = field(default_factory=list)
    monitors: list[FakePathMonitor] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    traffic: FakeTraffic = field(default_factory=FakeTraffic)

    def gateway(
        self, on_event: Callable[[object], None], rendition_chooser: Callable[[int], int]
    ) -> FakeGateway:
        g = FakeGateway(
            self.clock,
            on_event=on_event,
            rendition_chooser=rendition_chooser,
            stop_gate=self.stop_gate,
        )
        self.gateways.append(g)
        return g

    def path_monitor(self, host: str, port: int, **kwargs: object) -> FakePathMonitor:
        m = FakePathMonitor(host, port, **kwargs)  # type: ignore[arg-type]
        self.monitors.append(m)
        return m

    def preflight(self, source: str, timeout: float) -> PreflightResult:
        self.checked.append(source)
        if source in self.refusals:
            return PreflightResult(False, "unknown", self.refusals[source])
        return PreflightResult(True, self.kinds.get(source, "hls"), "")

    def factories(self, cpu: FakeCpu | None = None) -> SessionFactories:
        return SessionFactories(
            gateway=self.gateway,
            path_monitor=self.path_monitor,
            cpu=lambda: cpu or FakeCpu(),
            traffic=lambda: self.traffic,
            preflight=self.preflight,
            clock=self.clock,
            spawn=run_inline,
        )
