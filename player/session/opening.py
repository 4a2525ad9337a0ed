"""Opening and teardown order: the preflight check, the generation counter, the network parts.

Every open (and close) bumps the generation; results of a worker, a gateway or a path
monitor of an earlier generation are dropped, so a reopen while the old parts are still
stopping cannot mix two sources. Teardown stops the gateway BEFORE libVLC (see
:meth:`Opener.teardown`) and never waits on a stopping part unless asked.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from player.core.wording import playback as say
from player.net import gateway as gw
from player.net.events import CertificateNotVerified
from player.net.path.monitor import host_port
from player.net.preflight import PreflightResult
from player.net.tls_policy import TlsExemptions
from player.session.factories import GatewayLike, PathMonitorLike, SessionFactories
from player.session.lifecycle import PlayerLifecycle
from player.session.media import OpenMedia, is_url, title_for
from player.session.network_events import ExemptionUnusable
from player.session.rendition_policy import RenditionPolicy

log = logging.getLogger(__name__)

PREFLIGHT_TIMEOUT_S = 1.5
LIBVLC_SCHEMES = ("rtsp", "rtmp", "mms", "udp")  # libVLC opens these itself, unchecked
TEARDOWN_JOIN_S = 1.0  # close(): how long to wait for the network parts to stop
WORKER_JOIN_S = 0.2  # preflight has its own short timeouts; never wait long


class Opener:
    """Owns the network parts of the current open and the order they start and stop in.

    ``on_net_event(event)`` gets the current generation's gateway events on the owner's
    thread (from :meth:`drain_net`)."""

    def __init__(
        self,
        factories: SessionFactories,
        lifecycle: PlayerLifecycle,
        policy: RenditionPolicy,
        *,
        use_gateway: bool = True,
        probe_path: bool = True,
        tls: TlsExemptions | None = None,
    ) -> None:
        self._factories = factories
        self.tls = tls  # the viewer's certificate exceptions (None: none)
        self._lifecycle = lifecycle
        self._policy = policy
        self.use_gateway = use_gateway
        self.probe_path = probe_path
        self.namer: object | None = None
        self.namer_key: tuple = ()
        self.gen = 0  # bumps on every open/close: late results are dropped
        self.closed = False
        self.gateway: GatewayLike | None = None
        self.path: PathMonitorLike | None = None
        self._probe_target: tuple[int, str, int, GatewayLike | None] | None = None  # gen, host, port, gateway
        self._results: queue.Queue[tuple[int, str, PreflightResult]] = queue.Queue()
        self._net_events: queue.Queue[tuple[int, object]] = queue.Queue()
        self._workers: list[threading.Thread] = []

    # -- owner thread -------------------------------------------------------------------
    def begin(self) -> int:
        """Tear the current open down; returns the generation of the next one."""
        self.teardown()
        self.gen += 1
        self._policy.reset(self.gen)
        return self.gen

    def check(self, gen: int, source: str, prepare: Callable[[], str] | None) -> None:
        """Start checking ``source`` for open ``gen`` off the owner's thread.

        ``prepare`` (optional, blocking) runs first in the worker and returns the real
        source: the demo uses it to generate and serve its stream."""
        worker = self._factories.spawn(lambda: self._preflight(gen, source, prepare), "stallwatch-preflight")
        self._workers = [w for w in self._workers if w.is_alive()] + ([worker] if worker else [])

    def close(self) -> None:
        """Stop everything; returns quickly even while a stream is stalled."""
        self.closed = True
        self.gen += 1
        self._policy.reset(self.gen)
        self.teardown(wait=True)
        for w in self._workers:
            w.join(timeout=WORKER_JOIN_S)

    def teardown(self, wait: bool = False) -> None:
        """Stop the gateway and probes, then libVLC.

        Order matters: libVLC's HLS module blocks ``stop()`` while it reads a stalled
        segment, so the gateway is told to stop first (it closes VLC's connections at
        once and VLC's read fails); the slower parts of its shutdown (joining its
        threads) run in the background unless ``wait``. Real threads, whatever the
        factories say: a stop that blocks must never block the owner."""
        gateway, path = self.gateway, self.path
        self.gateway = None
        self.path = None
        self._probe_target = None
        stops = [s.stop for s in (path, gateway) if s is not None]
        threads = [threading.Thread(target=s, name="stallwatch-teardown", daemon=True) for s in stops]
        for t in threads:
            t.start()
        self._lifecycle.stop_player()
        if wait:
            for t in threads:
                t.join(TEARDOWN_JOIN_S)

    def drain_preflight(self, media: OpenMedia) -> None:
        """Hand the checked source of the current open to libVLC (through the gateway)."""
        while True:
            try:
                gen, source, result = self._results.get_nowait()
            except queue.Empty:
                return
            if gen != self.gen or self.closed:
                continue
            media.source = source
            if not result.ok:
                self._lifecycle.fail(result.message, result.tls_origin)
                continue
            mrl = source
            if not is_url(source):
                mrl = Path(source).resolve().as_uri()
            elif urlparse(source).scheme in ("http", "https"):
                mrl = self._start_network(gen, source, result.kind, media)
            self._lifecycle.play(mrl, gen)

    def drain_net(self, handle: Callable[[object], None]) -> None:
        """Pass the current open's gateway events to ``handle``; drop older ones."""
        while True:
            try:
                gen, ev = self._net_events.get_nowait()
            except queue.Empty:
                return
            if gen == self.gen:
                handle(ev)

    def lock_rendition(self, index: int | None) -> None:
        if self.gateway is not None:
            self.gateway.lock_rendition(index)

    # -- internals ----------------------------------------------------------------------
    def _preflight(self, gen: int, source: str, prepare: Callable[[], str] | None) -> None:
        """Worker thread: prepare and check ``source``; the result goes to the owner's queue."""
        try:
            if prepare is not None:
                source = prepare()
            if urlparse(source).scheme in LIBVLC_SCHEMES:
                result = PreflightResult(True, "unknown", "")
            else:  # http(s), file:// URLs and local paths
                result = self._factories.preflight(source, PREFLIGHT_TIMEOUT_S)
        except Exception as exc:  # a bug in a check must not lose the session
            log.exception("preflight crashed")
            result = PreflightResult(False, "unknown", say.open_crashed(title_for(source), exc))
        for label in result.unverified:  # recorded with the gateway's own (drain_net)
            self._net_events.put((gen, CertificateNotVerified(label)))
        self._results.put((gen, source, result))

    def _start_network(self, gen: int, url: str, kind: str, media: OpenMedia) -> str:
        """Route ``url`` through a fresh gateway and start watching the path."""
        mrl = url
        gateway: GatewayLike | None = None
        if self.use_gateway:
            gateway = self._factories.gateway(
                on_event=lambda ev, g=gen: self._on_gateway_event(g, ev),
                rendition_chooser=self._policy.chooser(gen),
            )
            try:
                gateway.start()
                mrl = gateway.open(url, kind=None if kind == "unknown" else kind)
                if self._policy.pinned is not None:
                    gateway.lock_rendition(self._policy.pinned)
                self.gateway = gateway
                self._policy.attach(gen, gateway)
            except (OSError, RuntimeError) as exc:
                log.warning("gateway unavailable, VLC fetches directly: %s", exc)
                gateway.stop()
                gateway = None
                media.per_segment_data = False
                mrl = url
        else:
            media.per_segment_data = False
        exempted = self.tls.covers(url) if self.tls is not None else None
        if gateway is None and exempted is not None:  # libVLC verifies its own requests
            self._net_events.put((gen, ExemptionUnusable(exempted.label)))
        hp = host_port(url)
        if hp is not None:
            self._probe_target = (gen, hp[0], hp[1], gateway)
            if self.probe_path:
                self._start_probing()
        return mrl

    def set_probe_path(self, enabled: bool) -> None:
        """Diagnostics on/off, live: off lets go of the current open's path monitor and stops
        it (its threads end after the probe round in flight; no new probe is sent); on starts
        one for the current open."""
        self.probe_path = enabled
        if not enabled and self.path is not None:
            path, self.path = self.path, None
            threading.Thread(target=path.stop, name="stallwatch-teardown", daemon=True).start()
        elif enabled and self.path is None:
            self._start_probing()

    def _start_probing(self) -> None:
        target = self._probe_target
        if target is None or target[0] != self.gen or self.closed:
            return
        _gen, host, port, gateway = target
        path = self._factories.path_monitor(
            host, port, is_loaded=_downloading(gateway), namer=self.namer, namer_key=self.namer_key
        )
        path.start()
        self.path = path

    def _on_gateway_event(self, gen: int, ev: object) -> None:
        """The gateway's threads: ABR gets fetches at once, the owner the rest via the queue."""
        if isinstance(ev, gw.FetchRecorded):
            self._policy.add_fetch(gen, ev.fetch)
        self._net_events.put((gen, ev))


def _downloading(gateway: GatewayLike | None) -> Callable[[], bool]:
    """For the prober's thread: is our own download (of this open) in flight right now?"""
    return lambda: gateway is not None and gateway.open_requests() > 0
