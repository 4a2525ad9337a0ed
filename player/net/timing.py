"""Connection set-up timing for requests: DNS, TCP connect and TLS of each new connection.

requests does not expose connection-level timings, so :class:`TimedAdapter` installs
urllib3 connection subclasses that time ``getaddrinfo``, the TCP ``connect`` and the
TLS handshake themselves (``_new_conn`` / ``connect``) and leave the result on the
connection. After each request the adapter takes that result off the connection
that served it: a connection with a fresh result was opened for this request; one
without (an already connected, pooled socket) was *reused*. Every connection can be
:meth:`~TimedConnection.abort`-ed from another thread (its socket is shut down, so a
blocked read returns at once).

Address policy: the :class:`~player.net.url_policy.AddressPolicy` of the request being
sent, set per request with :func:`policy_scope` (a context variable, so concurrent
requests of different sessions each get their own), else the adapter's
:class:`PolicyHolder` default (None: no restriction).
A new connection resolves the host itself and connects only to addresses the policy
permits (every resolved address is checked, so DNS rebinding cannot slip through); a
pooled connection is checked again when it is taken from the pool (it may have been
opened under another session's policy) and closed, so it reconnects with the check,
when its peer is no longer permitted. A refusal raises
:class:`~player.net.url_policy.AddressRefused` before anything is sent.
"""

from __future__ import annotations

import socket
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.util.connection import allowed_gai_family

from player.net.rx_meter import RECEIVED
from player.net.url_policy import AddressPolicy, AddressRefused

__all__ = [
    "ConnTiming",
    "PolicyHolder",
    "TimedAdapter",
    "TimedConnection",
    "TimedHTTPConnection",
    "TimedHTTPSConnection",
    "abort_connection_of",
    "policy_adapter",
    "policy_scope",
    "scoped_policy",
]


@dataclass(frozen=True, slots=True)
class ConnTiming:
    """Set-up cost of one new connection (milliseconds)."""

    dns_ms: float | None
    connect_ms: float | None
    tls_ms: float | None


class PolicyHolder:
    """A fetcher's default address policy (None: unrestricted), used by a request made
    outside any :func:`policy_scope`."""

    def __init__(self) -> None:
        self.policy: AddressPolicy | None = None


#: The policy of the request being sent on this thread (see :func:`policy_scope`). A
#: context variable, not a fetcher attribute: the gateway's handler threads serve requests
#: of different sessions at the same time (an old session's segment still downloading
#: when the next session opens), and each is checked against its own session's policy.
_REQUEST_POLICY: ContextVar[AddressPolicy | None] = ContextVar("sw_request_policy", default=None)


@contextmanager
def policy_scope(policy: AddressPolicy | None) -> Iterator[None]:
    """Connections made (or taken from the pool) inside the block, on this thread, are
    checked against ``policy`` instead of the fetcher's default (None: no change)."""
    if policy is None:
        yield
        return
    token = _REQUEST_POLICY.set(policy)
    try:
        yield
    finally:
        _REQUEST_POLICY.reset(token)


def scoped_policy() -> AddressPolicy | None:
    """The policy set by the innermost :func:`policy_scope` of this thread, if any."""
    return _REQUEST_POLICY.get()


def _policy_for(holder: PolicyHolder | None) -> AddressPolicy | None:
    scoped = _REQUEST_POLICY.get()
    if scoped is not None:
        return scoped
    return holder.policy if holder is not None else None


class TimedConnection:
    """Mixin: times DNS, TCP connect and TLS of urllib3 connections (see module doc)."""

    registry: weakref.WeakSet[Any] | None = None  # set per adapter (dynamic subclass)
    holder: PolicyHolder | None = None  # set per adapter (dynamic subclass)

    # attributes of urllib3.connection.HTTPConnection used below
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        self._sw_dns_ms: float | None = None
        self._sw_connect_ms: float | None = None
        host = self._dns_host.strip("[]")
        t0 = time.perf_counter()
        try:
            infos = socket.getaddrinfo(host, self.port, allowed_gai_family(), socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise NameResolutionError(self.host, self, e) from e  # type: ignore[arg-type]
        t1 = time.perf_counter()
        self._sw_dns_ms = (t1 - t0) * 1000.0
        policy = _policy_for(type(self).holder)
        if policy is not None:  # before any connect: every resolved address is checked
            ok = set(policy.permitted(host, [str(sa[0]) for *_, sa in infos]))
            infos = [i for i in infos if str(i[4][0]) in ok]
        err: OSError | None = None
        for af, socktype, proto, _canon, sa in infos:
            sock = None
            try:
                sock = socket.socket(af, socktype, proto)
                self._sw_pending_sock = sock  # lets abort() reach a socket still connecting
                for opt in self.socket_options or ():
                    sock.setsockopt(*opt)
                if isinstance(self.timeout, int | float):
                    sock.settimeout(self.timeout)
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect(sa)
                self._sw_connect_ms = (time.perf_counter() - t1) * 1000.0
                self._sw_peer = str(sa[0])  # checked again when reused from the pool
                RECEIVED.note_peer(self._sw_peer)  # the interface toward it (host_counters)
                return sock
            except OSError as e:
                err = e
                if sock is not None:
                    sock.close()
        if isinstance(err, TimeoutError | socket.timeout):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from err
        raise NewConnectionError(
            self,  # type: ignore[arg-type]
            f"Failed to establish a new connection: {err or 'no address'}",
        ) from err

    def connect(self) -> None:
        self._sw_fresh: ConnTiming | None = None
        reg = type(self).registry
        if reg is not None:
            reg.add(self)
        t0 = time.perf_counter()
        super().connect()  # type: ignore[misc]
        self._sw_pending_sock = None
        total = (time.perf_counter() - t0) * 1000.0
        dns = getattr(self, "_sw_dns_ms", None)
        tcp = getattr(self, "_sw_connect_ms", None)
        tls = None
        if isinstance(self, HTTPSConnection):
            tls = max(0.0, total - (dns or 0.0) - (tcp or 0.0))
        self._sw_fresh = ConnTiming(dns, tcp, tls)

    def take_fresh_timing(self) -> ConnTiming | None:
        """Timing of the connect made for the current request, or None if reused."""
        t = getattr(self, "_sw_fresh", None)
        self._sw_fresh = None
        return t

    def abort(self) -> None:
        """Shut the socket down so that a blocked read/write returns immediately."""
        sock = getattr(self, "sock", None) or getattr(self, "_sw_pending_sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class TimedHTTPConnection(TimedConnection, HTTPConnection):
    """Plain-HTTP connection with set-up timing."""


class TimedHTTPSConnection(TimedConnection, HTTPSConnection):
    """HTTPS connection with set-up timing (TLS = connect() total - DNS - TCP)."""


class GuardedPool:
    """Mixin for connection pools: a pooled connection whose peer the current policy no
    longer permits is closed before use (it then reconnects through ``_new_conn``)."""

    holder: PolicyHolder | None = None  # set per adapter (dynamic subclass)
    host: str

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        policy = _policy_for(type(self).holder)
        peer = getattr(conn, "_sw_peer", None)
        if policy is not None and peer is not None and getattr(conn, "sock", None) is not None:
            try:
                policy.permitted(self.host.strip("[]"), [peer])
            except AddressRefused:
                conn.close()
                conn._sw_peer = None
        return conn


class TimedAdapter(HTTPAdapter):
    """HTTPAdapter whose pools use timed, policy-checked connections; annotates responses.

    Each response gets ``sw_timing`` (:class:`ConnTiming` or None) and
    ``sw_reused`` (bool) attributes.
    """

    def __init__(
        self, registry: weakref.WeakSet[Any], holder: PolicyHolder | None = None, **kw: Any
    ) -> None:
        self._registry = registry
        attrs = {"registry": registry, "holder": holder}
        http_conn = type("SwHTTPConnection", (TimedHTTPConnection,), attrs)
        https_conn = type("SwHTTPSConnection", (TimedHTTPSConnection,), attrs)
        self._pool_classes = {
            "http": type(
                "SwHTTPPool",
                (GuardedPool, HTTPConnectionPool),
                {"ConnectionCls": http_conn, "holder": holder},
            ),
            "https": type(
                "SwHTTPSPool",
                (GuardedPool, HTTPSConnectionPool),
                {"ConnectionCls": https_conn, "holder": holder},
            ),
        }
        super().__init__(**kw)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self._pool_classes
        return manager

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        resp = super().send(request, **kwargs)
        raw = resp.raw
        conn = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
        timing = conn.take_fresh_timing() if isinstance(conn, TimedConnection) else None
        resp.sw_timing = timing  # type: ignore[attr-defined]
        resp.sw_reused = conn is not None and timing is None  # type: ignore[attr-defined]
        return resp


def abort_connection_of(resp: Any) -> None:
    """Shut down the socket of the connection a response still holds (if timed)."""
    conn = getattr(getattr(resp, "raw", None), "connection", None)
    if isinstance(conn, TimedConnection):
        conn.abort()


def policy_adapter(policy: AddressPolicy) -> TimedAdapter:
    """An adapter whose connections are checked against ``policy`` (for a plain
    ``requests.Session``, e.g. preflight's)."""
    holder = PolicyHolder()
    holder.policy = policy
    return TimedAdapter(weakref.WeakSet(), holder, max_retries=0)
