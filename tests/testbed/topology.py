"""Network-namespace testbed: routers, links, bottlenecks and silent hops, as root.

A :class:`Topology` is a tree of nodes (network namespaces) joined by veth links. Every
node gets static routes to every subnet (computed over the tree), routers forward and
answer with ICMP time exceeded without rate limit (``icmp_ratelimit=0``), and every
namespace resolves the nodes' names through its own ``/etc/netns/<ns>/hosts`` (with
``hosts: files`` only, and a resolver pointing at its own loopback, so no lookup ever
leaves the namespace). Leaf hosts get a default route via their only neighbour; routers
have no default route, so traffic to anything outside the testbed dies inside it.

Typical use::

    topo = reference_topology()          # client - home - access - core - peer - edge - server
    with topo:                           # build() ... teardown(), also on errors
        topo.shape("access", "home", rate="8mbit", latency="200ms")   # downstream queue
        topo.block_probes("core")        # core stops sending time exceeded
        proc = topo.run_in("client", ["python3", "script.py"])

Names: namespaces are ``<prefix><node>`` with a prefix ``sw<pid>-<n>-`` unique per run;
:func:`cleanup_stale` deletes namespaces (and their ``/etc/netns`` directories) whose
prefix names a process that no longer exists, and every built topology is torn down at
interpreter exit too (``atexit``).

Silent routers: :meth:`Topology.block_probes` sets the node's ``icmp_ratelimit`` to the
maximum, so with the default ``icmp_ratemask`` the kernel never sends ICMP time exceeded
or destination unreachable (echo replies are unaffected). This needs neither iptables nor
tc actions (the kernel here has no ``act_gact``).

Propagation delay: the kernel has no ``sch_netem``, so ``Link(a, b, delay_ms=15)`` is built
as a userspace delay line (:mod:`tests.testbed.delay_line`: a TAP end in each namespace and
one forwarder process, stopped at teardown) instead of a veth pair; a link's own ``rate``
is what :meth:`Topology.unshape` and :meth:`Topology.reset` return it to.
"""

from __future__ import annotations

import atexit
import ipaddress
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .delay_line import DelayLine, LineSpec

log = logging.getLogger(__name__)

# --- constants ------------------------------------------------------------------------
NETNS_ETC = Path("/etc/netns")
PREFIX_RE = re.compile(r"^sw(\d+)-(\d+)-")
DEFAULT_POOL = "198.18.0.0/15"  # RFC 2544 benchmarking range: never routed on the internet
LINK_PREFIXLEN = 24
IFNAME_MAX = 15
ICMP_SILENT_RATELIMIT = 2_147_483_647  # ms between ICMP errors: i.e. never
#: Linux's default icmp_ratelimit (ms): one ICMP error per second per destination, with a
#: burst of 6 (XRLIM_BURST_FACTOR); most real routers limit their answers similarly.
ICMP_REAL_RATELIMIT_MS = 1000
CMD_TIMEOUT_S = 20.0
KILL_GRACE_S = 1.0
NSSWITCH = (
    "passwd: files\ngroup: files\nshadow: files\ngshadow: files\nhosts: files\n"
    "networks: files\nprotocols: files\nservices: files\n"
)
RESOLV_CONF = (
    "# stallwatch testbed: no DNS leaves this namespace\nnameserver 127.0.0.1\n"
    "options timeout:1 attempts:1\n"
)
ROUTER_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.icmp_ratelimit": "0",
    "net.ipv4.icmp_msgs_per_sec": "100000",
    "net.ipv4.icmp_msgs_burst": "100000",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
}
HOST_SYSCTLS = {
    "net.ipv4.icmp_ratelimit": "0",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
}

_counter_lock = threading.Lock()
_counter = 0
_live: list[Topology] = []


def is_root() -> bool:
    return os.geteuid() == 0


def tools_available() -> tuple[bool, str]:
    """Whether this machine can build a testbed, and why not."""
    if not is_root():
        return False, "network-namespace testbed needs root"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return False, f"'{tool}' (iproute2) is not installed"
    return True, ""


def _run(
    argv: Sequence[str],
    *,
    input_text: str | None = None,
    check: bool = True,
    timeout: float = CMD_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    log.debug("run: %s", " ".join(argv))
    cp = subprocess.run(
        list(argv), input=input_text, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and cp.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({cp.returncode}): {cp.stderr.strip()}")
    return cp


def list_namespaces() -> list[str]:
    cp = _run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in cp.stdout.splitlines() if line.strip()]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete_namespace(ns: str) -> None:
    """Kill what runs inside one of our namespaces, then delete it and its /etc/netns dir."""
    cp = _run(["ip", "netns", "pids", ns], check=False)
    for tok in cp.stdout.split():
        if tok.isdigit() and int(tok) != os.getpid():
            try:
                os.kill(int(tok), signal.SIGKILL)
            except ProcessLookupError:
                pass
    _run(["ip", "netns", "del", ns], check=False)
    shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)


def cleanup_stale(pattern: re.Pattern[str] = PREFIX_RE) -> list[str]:
    """Delete testbed namespaces left by runs whose process is gone; return their names."""
    removed = []
    names = set(list_namespaces())
    if NETNS_ETC.is_dir():
        names |= {p.name for p in NETNS_ETC.iterdir()}
    for ns in sorted(names):
        m = pattern.match(ns)
        if m and not _pid_alive(int(m.group(1))):
            _delete_namespace(ns)
            removed.append(ns)
    if removed:
        log.info("removed %d stale testbed namespaces", len(removed))
    return removed


def new_prefix() -> str:
    """A namespace-name prefix unique to this process and topology: ``sw<pid>-<n>-``."""
    global _counter
    with _counter_lock:
        _counter += 1
        return f"sw{os.getpid()}-{_counter}-"


# --- model ----------------------------------------------------------------------------
@dataclass
class Node:
    """A namespace. ``dns_name`` is what reverse lookups of its addresses return."""

    name: str
    dns_name: str | None = None
    org: str | None = None  # expected organisation (for test assertions only)
    router: bool = True
    sysctls: dict[str, str] = field(default_factory=dict)


@dataclass
class Link:
    """A veth pair between ``a`` and ``b``; ``subnet`` defaults to the next /24 of the pool.

    Address order: ``a`` gets ``.1`` and ``b`` ``.2``, except when ``a`` is a host and
    ``b`` a router (the router gets ``.1``, like a LAN gateway).

    ``rate`` (tc syntax, e.g. ``"20mbit"``) shapes the direction toward the client (the
    downstream of video data) at build time, ``up_rate`` the other direction; ``burst`` and
    ``latency`` are the tbf's (see :meth:`Topology.shape`).

    ``delay_ms`` (one-way propagation delay, each way) and ``jitter_ms`` (extra delay of
    uniform(0, jitter), never reordering) build the link as a userspace delay line (two TAP
    ends and a forwarder process, :mod:`tests.testbed.delay_line`) instead of a veth pair;
    addresses, routes, shaping and teardown are the same.
    """

    a: str
    b: str
    subnet: str | None = None
    rate: str | None = None
    up_rate: str | None = None
    burst: str = "16kb"
    latency: str = "200ms"
    delay_ms: float = 0.0
    jitter_ms: float = 0.0

    @property
    def delayed(self) -> bool:
        return self.delay_ms > 0 or self.jitter_ms > 0


@dataclass(frozen=True)
class Shaping:
    """A ``tbf`` on the egress of ``src``'s interface toward ``dst``."""

    src: str
    dst: str
    rate: str
    burst: str
    latency: str


@dataclass(frozen=True)
class Iface:
    node: str
    peer: str
    ifname: str
    address: str
    prefixlen: int


class Topology:
    """A tree of namespaces with static routing, names, shaping and silent routers."""

    def __init__(
        self,
        nodes: Iterable[Node],
        links: Iterable[Link],
        *,
        client: str = "client",
        prefix: str | None = None,
        pool: str = DEFAULT_POOL,
    ) -> None:
        self.nodes: dict[str, Node] = {}
        for n in nodes:
            if n.name in self.nodes:
                raise ValueError(f"duplicate node {n.name}")
            self.nodes[n.name] = n
        self.links: list[Link] = list(links)
        for link in self.links:
            for end in (link.a, link.b):
                if end not in self.nodes:
                    raise ValueError(f"link to unknown node {end}")
        if client not in self.nodes:
            raise ValueError(f"client node {client} not in topology")
        self.client = client
        self.prefix = prefix or new_prefix()
        self._pool = ipaddress.ip_network(pool)
        self._adj: dict[str, list[tuple[str, int]]] = {n: [] for n in self.nodes}
        for i, link in enumerate(self.links):
            self._adj[link.a].append((link.b, i))
            self._adj[link.b].append((link.a, i))
        self._check_tree()
        self.ifaces: dict[tuple[str, str], Iface] = {}
        self._plan_addresses()
        self.shaping: dict[tuple[str, str], Shaping] = {}
        # the links' own rates (Link.rate/up_rate): what unshape()/reset() return to
        self.base_shaping: dict[tuple[str, str], Shaping] = {}
        self.silent: set[str] = set()
        self._procs: list[subprocess.Popen] = []
        self.delay_lines: dict[tuple[str, str], DelayLine] = {}  # (link.a, link.b) -> line
        self.built = False
        self._lock = threading.Lock()

    # --- planning ---------------------------------------------------------------------
    def _check_tree(self) -> None:
        seen = {self.client}
        todo = deque([self.client])
        while todo:
            cur = todo.popleft()
            for nxt, _ in self._adj[cur]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        if seen != set(self.nodes):
            raise ValueError(f"nodes not connected to {self.client}: {set(self.nodes) - seen}")
        if len(self.links) != len(self.nodes) - 1:
            raise ValueError("the topology must be a tree (one path between any two nodes)")

    def _plan_addresses(self) -> None:
        subnets = self._pool.subnets(new_prefix=LINK_PREFIXLEN)
        used = {ipaddress.ip_network(link.subnet) for link in self.links if link.subnet}
        for link in self.links:
            if link.subnet:
                net = ipaddress.ip_network(link.subnet)
            else:
                net = next(s for s in subnets if not any(s.overlaps(u) for u in used))
                used.add(net)
            hosts = list(net.hosts())[:2]
            a_first = not (not self.nodes[link.a].router and self.nodes[link.b].router)
            first, second = (link.a, link.b) if a_first else (link.b, link.a)
            for node, peer, addr in ((first, second, hosts[0]), (second, first, hosts[1])):
                self.ifaces[(node, peer)] = Iface(
                    node, peer, self._ifname(node, peer), str(addr), net.prefixlen
                )

    def _ifname(self, node: str, peer: str) -> str:
        taken = {i.ifname for (n, _p), i in self.ifaces.items() if n == node}
        base = f"to-{peer}"[:IFNAME_MAX]
        name, k = base, 1
        while name in taken:
            suffix = f"-{k}"
            name = base[: IFNAME_MAX - len(suffix)] + suffix
            k += 1
        return name

    def ns(self, node: str) -> str:
        """The namespace name of a node."""
        if node not in self.nodes:
            raise KeyError(node)
        return self.prefix + node

    def path(self, src: str, dst: str) -> list[str]:
        """Node names from ``src`` to ``dst`` (both included)."""
        prev: dict[str, str | None] = {src: None}
        todo = deque([src])
        while todo:
            cur = todo.popleft()
            for nxt, _ in self._adj[cur]:
                if nxt not in prev:
                    prev[nxt] = cur
                    todo.append(nxt)
        out = [dst]
        while prev[out[-1]] is not None:
            out.append(prev[out[-1]])  # type: ignore[arg-type]
        return out[::-1]

    def iface(self, node: str, peer: str) -> Iface:
        return self.ifaces[(node, peer)]

    def addr(self, node: str, toward: str | None = None) -> str:
        """A node's address on the link toward ``toward`` (default: toward the client,
        the address its ICMP answers to the client come from)."""
        if toward is None:
            if node == self.client:
                toward = self._adj[node][0][0]
            else:
                toward = self.path(node, self.client)[1]
        return self.ifaces[(node, toward)].address

    def expected_hops(self, dst: str) -> list[tuple[str, str, str | None]]:
        """(node, address, dns_name) per hop from the client to ``dst``."""
        return [(n, self.addr(n), self.nodes[n].dns_name) for n in self.path(self.client, dst)[1:]]

    def hosts_file(self) -> str:
        lines = ["127.0.0.1 localhost", "::1 localhost"]
        for (node, _peer), i in sorted(self.ifaces.items()):
            name = self.nodes[node].dns_name
            if name:
                lines.append(f"{i.address} {name}")
        return "\n".join(lines) + "\n"

    def _routes(self, node: str) -> list[str]:
        """``ip route`` commands for every non-connected subnet, via the tree."""
        cmds = []
        nbrs = {p: self.ifaces[(node, p)] for p, _ in self._adj[node]}
        for link in self.links:
            if node in (link.a, link.b):
                continue
            a_path = self.path(node, link.a)
            nh = a_path[1]
            via = self.ifaces[(nh, node)].address
            net = ipaddress.ip_network(
                f"{self.ifaces[(link.a, link.b)].address}/{self.ifaces[(link.a, link.b)].prefixlen}",
                strict=False,
            )
            cmds.append(f"route add {net} via {via} dev {nbrs[nh].ifname}")
        if not self.nodes[node].router and len(nbrs) == 1:
            ((peer, i),) = nbrs.items()
            cmds.append(f"route add default via {self.ifaces[(peer, node)].address} dev {i.ifname}")
        return cmds

    # --- build / teardown -------------------------------------------------------------
    def build(self) -> Topology:
        """Create everything; idempotent (a built topology is left as it is)."""
        with self._lock:
            if self.built:
                return self
            ok, why = tools_available()
            if not ok:
                raise RuntimeError(why)
            cleanup_stale()
            _live.append(self)
            self.built = True  # from here on teardown() has something to undo
            t0 = time.monotonic()
            try:
                self._build()
            except BaseException:
                self._teardown_locked()
                raise
            log.info(
                "testbed %s built: %d namespaces in %.2f s",
                self.prefix,
                len(self.nodes),
                time.monotonic() - t0,
            )
        return self

    def _build(self) -> None:
        hosts = self.hosts_file()
        nsswitch = NSSWITCH
        for name in self.nodes:
            ns = self.ns(name)
            _run(["ip", "netns", "add", ns])
            etc = NETNS_ETC / ns
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "hosts").write_text(hosts)
            (etc / "resolv.conf").write_text(RESOLV_CONF)
            (etc / "nsswitch.conf").write_text(nsswitch)
        for link in self.links:
            ia, ib = self.ifaces[(link.a, link.b)], self.ifaces[(link.b, link.a)]
            if link.delayed:
                spec = LineSpec(link.delay_ms / 1000.0, link.jitter_ms / 1000.0)
                line = DelayLine(self.ns(link.a), ia.ifname, self.ns(link.b), ib.ifname, spec)
                self.delay_lines[(link.a, link.b)] = line
                line.start()
                continue
            _run(
                [
                    "ip",
                    "link",
                    "add",
                    ia.ifname,
                    "netns",
                    self.ns(link.a),
                    "type",
                    "veth",
                    "peer",
                    "name",
                    ib.ifname,
                    "netns",
                    self.ns(link.b),
                ]
            )
        for name, node in self.nodes.items():
            cmds = ["link set lo up"]
            for (n, _p), i in self.ifaces.items():
                if n == name:
                    cmds.append(f"addr add {i.address}/{i.prefixlen} dev {i.ifname}")
                    cmds.append(f"link set {i.ifname} up")
            cmds += self._routes(name)
            _run(["ip", "-n", self.ns(name), "-batch", "-"], input_text="\n".join(cmds) + "\n")
            sysctls = dict(ROUTER_SYSCTLS if node.router else HOST_SYSCTLS)
            sysctls.update(node.sysctls)
            self._sysctl(name, sysctls)
        for link in self.links:
            near, far = self.orient(link)
            if link.rate:
                s = self.shape(far, near, link.rate, burst=link.burst, latency=link.latency)
                self.base_shaping[(far, near)] = s
            if link.up_rate:
                s = self.shape(near, far, link.up_rate, burst=link.burst, latency=link.latency)
                self.base_shaping[(near, far)] = s

    def orient(self, link: Link) -> tuple[str, str]:
        """(end nearer the client, farther end) of a link."""
        if len(self.path(self.client, link.a)) <= len(self.path(self.client, link.b)):
            return link.a, link.b
        return link.b, link.a

    def _sysctl(self, node: str, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            cp = _run(
                ["ip", "netns", "exec", self.ns(node), "sysctl", "-qw", f"{key}={value}"],
                check=False,
            )
            if cp.returncode != 0:
                log.debug("sysctl %s=%s in %s: %s", key, value, node, cp.stderr.strip())

    def sysctl(self, node: str, key: str, value: str) -> None:
        """Set one sysctl inside a node's namespace (raises on failure)."""
        _run(["ip", "netns", "exec", self.ns(node), "sysctl", "-qw", f"{key}={value}"])

    def read_sysctl(self, node: str, key: str) -> str:
        cp = _run(["ip", "netns", "exec", self.ns(node), "sysctl", "-n", key])
        return cp.stdout.strip()

    def teardown(self) -> None:
        """Stop started processes, delete the namespaces; idempotent."""
        with self._lock:
            self._teardown_locked()

    def _teardown_locked(self) -> None:
        if not self.built:
            return
        for p in self._procs:
            _stop_process(p)
        self._procs.clear()
        for line in self.delay_lines.values():
            line.stop()
        self.delay_lines.clear()
        for name in self.nodes:
            _delete_namespace(self.ns(name))
        self.built = False
        self.shaping.clear()
        self.base_shaping.clear()
        self.silent.clear()
        if self in _live:
            _live.remove(self)
        log.info("testbed %s torn down", self.prefix)

    def __enter__(self) -> Topology:
        return self.build()

    def __exit__(self, *exc: object) -> None:
        self.teardown()

    # --- processes --------------------------------------------------------------------
    def netns_argv(self, node: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns(node), *argv]

    def run_in(self, node: str, argv: Sequence[str], **popen_kwargs: object) -> subprocess.Popen:
        """Start ``argv`` inside a node's namespace (no shell); stopped at teardown."""
        popen_kwargs.setdefault("start_new_session", True)
        p = subprocess.Popen(self.netns_argv(node, argv), **popen_kwargs)  # type: ignore[call-overload]
        self._procs.append(p)
        return p

    def exec_in(
        self,
        node: str,
        argv: Sequence[str],
        *,
        timeout: float = CMD_TIMEOUT_S,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` to completion inside a node's namespace and capture its output."""
        cp = subprocess.run(
            self.netns_argv(node, argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=dict(env) if env else None,
        )
        if check and cp.returncode != 0:
            raise RuntimeError(
                f"{argv[0]} in {node} failed ({cp.returncode}): {cp.stderr.strip()[-2000:]}"
            )
        return cp

    def stop(self, proc: subprocess.Popen) -> None:
        _stop_process(proc)
        if proc in self._procs:
            self._procs.remove(proc)

    # --- impairments ------------------------------------------------------------------
    def shape(
        self, src: str, dst: str, rate: str, *, burst: str = "16kb", latency: str = "200ms"
    ) -> Shaping:
        """Put a ``tbf`` bottleneck on the egress of ``src``'s interface toward ``dst``.

        For the downstream data of the link between the home router and the ISP access
        router, ``shape("access", "home", ...)``. ``latency`` bounds the queue (tbf's
        limit = rate x latency + burst): the extra delay a full queue adds.
        """
        i = self.ifaces[(src, dst)]
        _run(
            [
                "tc",
                "-n",
                self.ns(src),
                "qdisc",
                "replace",
                "dev",
                i.ifname,
                "root",
                "tbf",
                "rate",
                rate,
                "burst",
                burst,
                "latency",
                latency,
            ]
        )
        s = Shaping(src, dst, rate, burst, latency)
        self.shaping[(src, dst)] = s
        return s

    def unshape(self, src: str, dst: str) -> None:
        """Remove a bottleneck; a link built with a rate gets that rate back."""
        base = self.base_shaping.get((src, dst))
        if base is not None:
            self.shape(src, dst, base.rate, burst=base.burst, latency=base.latency)
            return
        i = self.ifaces[(src, dst)]
        _run(["tc", "-n", self.ns(src), "qdisc", "del", "dev", i.ifname, "root"], check=False)
        self.shaping.pop((src, dst), None)

    def qdisc_stats(self, src: str, dst: str) -> str:
        i = self.ifaces[(src, dst)]
        return _run(["tc", "-n", self.ns(src), "-s", "qdisc", "show", "dev", i.ifname]).stdout

    def block_probes(self, node: str) -> None:
        """Make ``node`` silent: it stops sending ICMP time exceeded and unreachable."""
        self.sysctl(node, "net.ipv4.icmp_ratelimit", str(ICMP_SILENT_RATELIMIT))
        self.silent.add(node)

    def rate_limit_probes(self, node: str, interval_ms: int = ICMP_REAL_RATELIMIT_MS) -> None:
        """Make ``node`` answer as real routers do: ICMP errors rate-limited per destination
        (undone by :meth:`unblock_probes`)."""
        self.sysctl(node, "net.ipv4.icmp_ratelimit", str(interval_ms))

    def unblock_probes(self, node: str) -> None:
        self.sysctl(node, "net.ipv4.icmp_ratelimit", "0")
        self.silent.discard(node)

    def set_ping_group_range(self, node: str, low: int, high: int) -> None:
        """Allow (``0 2147483647``) or forbid (``1 0``) unprivileged ICMP echo sockets."""
        self.sysctl(node, "net.ipv4.ping_group_range", f"{low} {high}")

    def reset(self) -> None:
        """Remove every bottleneck and silence (processes keep running); links built
        with a rate keep it."""
        for key, s in list(self.shaping.items()):
            if s != self.base_shaping.get(key):
                self.unshape(*key)
        for node in list(self.silent):
            self.unblock_probes(node)


def _stop_process(p: subprocess.Popen) -> None:
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        p.terminate()
    try:
        p.wait(KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            p.kill()
        p.wait(KILL_GRACE_S)


@atexit.register
def _teardown_all() -> None:
    for topo in list(_live):
        try:
            topo.teardown()
        except Exception as exc:  # noqa: BLE001 - best effort at exit
            log.warning("teardown of %s failed: %s", topo.prefix, exc)


# --- the reference topology -----------------------------------------------------------
HOME_LAN = "192.168.77.0/24"
SERVER_LAN = "203.0.113.0/24"  # TEST-NET-3: documentation range, never routed


def reference_topology(prefix: str | None = None, **names: str) -> Topology:
    """client - home - access - core - peer - edge - server, plus crowding hosts.

    ``neighbour`` hangs off the ISP core router and ``far`` off the server network's edge
    router: bulk traffic from ``far`` to ``neighbour`` crowds the downstream direction of
    peer->core (the interconnect); from ``far`` to the client, every downstream link.
    Keyword arguments replace DNS names (``access="ae1.bras1.other.net"``).
    """
    dns = {
        "home": "router.home",
        "access": "ae1.bras1.examplenet-isp.net",
        "core": "core1.examplenet-isp.net",
        "peer": "peer1.transitco.example",
        "edge": "edge1.videocdn.example",
        "server": "cache1.videocdn.example",
        "neighbour": "neighbour.examplenet-isp.net",
        "far": "far.videocdn.example",
        "client": "laptop.home",
    }
    dns.update(names)
    orgs = {
        "home": "home",
        "access": "examplenet-isp.net",
        "core": "examplenet-isp.net",
        "peer": "transitco.example",
        "edge": "videocdn.example",
        "server": "videocdn.example",
    }
    nodes = [
        Node("client", dns["client"], router=False),
        Node("home", dns["home"], orgs["home"]),
        Node("access", dns["access"], orgs["access"]),
        Node("core", dns["core"], orgs["core"]),
        Node("peer", dns["peer"], orgs["peer"]),
        Node("edge", dns["edge"], orgs["edge"]),
        Node("server", dns["server"], orgs["server"], router=False),
        Node("neighbour", dns["neighbour"], router=False),
        Node("far", dns["far"], router=False),
    ]
    links = [
        Link("client", "home", HOME_LAN),
        Link("home", "access"),
        Link("access", "core"),
        Link("core", "peer"),
        Link("peer", "edge"),
        Link("edge", "server", SERVER_LAN),
        Link("core", "neighbour"),
        Link("edge", "far"),
    ]
    return Topology(nodes, links, client="client", prefix=prefix)
