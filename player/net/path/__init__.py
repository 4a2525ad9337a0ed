"""The network path to the media host: hop discovery, per-hop probing, naming, segments.

One job per module:

``hosts``      host name validation and resolution
``routes``     the local routing table, default gateway and route fingerprint
``sockets``    probe sockets, ``IP_RECVERR`` error-queue parsing, ICMP permission
``engine``     one round of parallel probes and their answers
``flows``      one flow identity per target (Paris traceroute): shared sockets, probe ids
``late``       samples still waiting for a late answer (a deep queue's)
``discovery``  the TTL sweep with fallback methods -> :class:`PathResult`
``cache``      paths once per host, re-discovered on route change
``rdns``       reverse DNS names of the hops
``rtt``        per-hop RTT summaries (idle / loaded)
``prober``     :class:`HopProber`, background probing while the video plays
``gaps``       probe rounds in the gateway's deliberate idle gaps
``monitor``    :class:`PathMonitor`, the session's view of all of the above
``domains``    address-like text, display-safe names, registered domains
``naming``     hop -> organisation (overrides, bundled table, domain, RDAP)
``rdap``       the opt-in RDAP lookup
``segments``   hops -> home / ISP / interconnect / server
"""

from __future__ import annotations

from player.core.path_segments import HOME_ORG
from player.net.path.cache import PathCache
from player.net.path.discovery import DEFAULT_METHODS, METHODS, PathResult, discover_path
from player.net.path.engine import run_probes
from player.net.path.hosts import DEFAULT_PORT, is_ip_literal, resolve, validate_host
from player.net.path.monitor import PathMonitor, PathSnapshot, build_namer, host_port
from player.net.path.naming import NameTable, OrgMatch, OrgNamer, Overrides, display_org
from player.net.path.prober import HopProber, tcp_connect_rtt
from player.net.path.rdns import Resolver, reverse_names
from player.net.path.routes import default_gateway, route_fingerprint, route_for
from player.net.path.rtt import HopStats, RttStats, rtt_stats
from player.net.path.segments import classify_path
from player.net.path.sockets import MethodUnavailable, ProbeReply, ProbeSpec, ping_permission

__all__ = [
    "DEFAULT_METHODS",
    "DEFAULT_PORT",
    "HOME_ORG",
    "METHODS",
    "HopProber",
    "HopStats",
    "MethodUnavailable",
    "NameTable",
    "OrgMatch",
    "OrgNamer",
    "Overrides",
    "PathCache",
    "PathMonitor",
    "PathResult",
    "PathSnapshot",
    "ProbeReply",
    "ProbeSpec",
    "Resolver",
    "RttStats",
    "build_namer",
    "classify_path",
    "default_gateway",
    "discover_path",
    "display_org",
    "host_port",
    "is_ip_literal",
    "ping_permission",
    "resolve",
    "reverse_names",
    "route_fingerprint",
    "route_for",
    "rtt_stats",
    "run_probes",
    "tcp_connect_rtt",
    "validate_host",
]
