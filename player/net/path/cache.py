"""Discovered paths kept once per host and session, re-discovered when the route changes.

Each :meth:`PathCache.get` recomputes a cheap *local* route fingerprint
(:func:`player.net.path.routes.route_fingerprint`: source address chosen by the kernel for
the destination plus the matching ``/proc/net/route`` entry, gateway and interface); no
packet is sent for it. A different fingerprint (Wi-Fi change, VPN up/down, new DHCP lease)
triggers a new discovery. Changes beyond the first hop cannot be seen locally;
:class:`player.net.path.prober.HopProber` notices them (the routers answering its
TTL-limited probes no longer match the known hops) and calls back, and the caller then
calls :meth:`PathCache.invalidate`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from player.net.path.discovery import PathResult, discover_path
from player.net.path.hosts import DEFAULT_PORT, validate_host
from player.net.path.routes import route_fingerprint

log = logging.getLogger(__name__)


class PathCache:
    """Paths discovered once per host and session, re-discovered when the route changes.

    :meth:`get` compares the cached result's local route fingerprint with the current one
    (a few microseconds, no packets) and re-discovers on change; :meth:`invalidate` drops a
    host, e.g. from :class:`player.net.path.prober.HopProber`'s ``on_route_change`` callback.
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
