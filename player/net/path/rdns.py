"""Reverse DNS names of hop addresses, looked up in parallel with a deadline."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from player.net.path.hosts import is_host_name, is_ip_literal

log = logging.getLogger(__name__)

RDNS_TIMEOUT_S = 2.0  # a hop whose name has not come back by then stays unnamed
RDNS_WORKERS = 8  # parallel lookups: a 30-hop path is named in a few round trips

Resolver = Callable[[str], str | None]


def system_reverse_name(address: str) -> str | None:
    """Reverse DNS through the system resolver (``/etc/hosts``, then DNS); None if none."""
    try:
        name = socket.gethostbyaddr(address)[0]
    except (OSError, UnicodeError):
        return None
    return name


def clean_name(name: str | None) -> str | None:
    """A usable host name, or None for empty names and address literals."""
    if not name:
        return None
    n = name.strip().rstrip(".").lower()
    if not n or is_ip_literal(n) or not is_host_name(n):
        return None
    return n


def reverse_names(
    addresses: Iterable[str],
    resolver: Resolver | None = None,
    timeout_s: float = RDNS_TIMEOUT_S,
) -> dict[str, str | None]:
    """Reverse-resolve addresses in parallel, giving up on the slow ones after ``timeout_s``."""
    addrs = sorted({a for a in addresses if a})
    res = resolver or system_reverse_name
    out: dict[str, str | None] = dict.fromkeys(addrs)
    if not addrs:
        return out
    pool = ThreadPoolExecutor(
        max_workers=min(RDNS_WORKERS, len(addrs)), thread_name_prefix="stallwatch-rdns"
    )
    try:
        futures = {a: pool.submit(res, a) for a in addrs}
        deadline = time.monotonic() + timeout_s
        for a, fut in futures.items():
            try:
                out[a] = clean_name(fut.result(timeout=max(0.0, deadline - time.monotonic())))
            except Exception as exc:  # noqa: BLE001 - a resolver failure is just "no name"
                log.debug("reverse lookup of %s failed: %s", a, exc)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return out
