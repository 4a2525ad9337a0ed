"""Stall scenarios as data, and running ``stallwatch diagnose`` through one of them.

A :class:`Scenario` names *roles*, not namespaces: ``home`` (the client's gateway),
``isp_access`` / ``isp_core`` (the ISP's routers), ``interconnect`` (the first router
outside the ISP), ``server_edge`` (the video network's border), ``server`` (the origin),
and crowding hosts ``subscriber`` (another customer behind the access router),
``isp_neighbour`` (a host in the ISP's core) and ``server_neighbour`` (a host in the video
network). :class:`Roles` maps them onto a :class:`~tests.testbed.topology.Topology`, so the
same scenarios run on any topology that has those roles (:func:`roles_for` derives them
from the client -> server path of a tree like the reference one).

Rates are relative to the stream (:class:`StreamInfo`, read from the master playlist):

* "too slow for the stream": the link carries ``SLOW_FACTOR`` x the *lowest* rendition,
  so even the ABR's lowest step cannot keep up and playback must stall;
* "crowded": the link alone carries ``CROWD_LINK_FACTOR`` x the *highest* rendition (the
  stream would play fine on it), but ``CROWD_FLOWS`` bulk cubic flows of neighbours share
  it, so our share falls below the lowest rendition.

The queue is always on the downstream side of a link (the egress of the router farther
from the client toward the nearer one), which is where video data queues; by the rule of
thumb in DESIGN.md it inflates the RTT of the farther router and of every hop after it.

``python -m tests.testbed.scenarios validate`` (root) builds the topology and, for every
scenario, measures the hop RTTs while idle / while downloading and the download rate in
the client namespace, without the player: the check that the scenarios do what they say.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .harness import NOBODY, REPO, UNPRIVILEGED, agent_argv, start_agent
from .harness import _env as agent_env
from .topology import Link, Node, Topology, reference_topology

STREAM_SERVER = Path(__file__).resolve().parent / "stream_server.py"
HTTP_PORT = 8080
CROWD_PORT = 5101

# --- the stream -----------------------------------------------------------------------
#: small renditions keep the decoder cheap on 2 cores: (height, video bit/s)
STREAM_RENDITIONS: tuple[tuple[int, int], ...] = ((180, 250_000), (270, 500_000), (360, 900_000))
STREAM_SECONDS = 40
STREAM_SEGMENT_S = 2

# --- how hard the scenarios hit ----------------------------------------------------------
#: a "too slow" link carries this fraction of the lowest rendition: a 2 s segment takes
#: ~2.4 s (plus probe and header overhead), so the buffer drains whatever the ABR does,
#: yet playback moves on between stalls (a short run still plays its seconds).
SLOW_FACTOR = 0.85
#: a crowded link would carry the top rendition twice over on its own ...
CROWD_LINK_FACTOR = 2.0
#: ... but this many neighbours' bulk flows share it (our fair share: 1/(flows+1) of it,
#: about the lowest rendition; loss-based flows with full windows take more than the
#: video's on-off flow). At least: a wider ladder needs more (:meth:`Crowd.flows_for`).
CROWD_FLOWS = 6
#: bulk flows of the household's own downloads: our fair share of the access link (1/13 of
#: 2x the top rendition) is well below the lowest rendition whatever the flows' timing.
HOUSEHOLD_FLOWS = 12
#: our fair share of a crowded link, as a share of the lowest rendition, that the crowd is
#: sized for (:meth:`Crowd.flows_for`): CROWD_FLOWS and HOUSEHOLD_FLOWS on the reference
#: ladder (0.25-0.9 Mbit/s, BANDWIDTH 345-1060 kbit/s: ratio 3.07) give 1.0 and 0.5; the
#: realistic 1/3/6 Mbit/s ladder (ratio 5.7) needs 11 and 22 flows for the same share
#: (with 6 and 12 its share stayed above the lowest rendition and nothing stalled).
CROWD_SHARE_OF_LOWEST = 1.0
HOUSEHOLD_SHARE_OF_LOWEST = 0.5
#: tbf parameters. ``latency`` bounds the standing queue a full buffer adds; it stays below
#: the prober's timeout so loaded probes are answered late, not lost. ``burst`` is a couple
#: of full-size packets (a large burst at a low rate would be a second queue of its own).
QUEUE_LATENCY = "200ms"
#: a policer rather than a shaper: a tbf queue of ~5 ms drops what exceeds the rate
POLICER_LATENCY = "5ms"
BURST = "3kb"
#: crowding flows start this long before the player, so the queue is standing when it starts
CROWD_WARMUP_S = 3.0
#: server application slowness: first byte of every media segment held back this long.
#: Longer than a segment's media duration, so no rendition can keep up.
SERVER_DELAY_FACTOR = 1.25  # x segment duration


@dataclass(frozen=True)
class StreamInfo:
    """What the scenarios need to know of the stream: bitrates and segment length."""

    master: str  # path relative to the served directory
    bitrates: tuple[int, ...]  # BANDWIDTH of every rendition, ascending
    segment_s: float

    @property
    def lowest_bps(self) -> int:
        return self.bitrates[0]

    @property
    def highest_bps(self) -> int:
        return self.bitrates[-1]

    @classmethod
    def from_dir(cls, media_dir: Path, master: str = "master.m3u8") -> StreamInfo:
        text = (media_dir / master).read_text()
        rates = sorted(int(m) for m in re.findall(r"BANDWIDTH=(\d+)", text))
        if not rates:
            raise ValueError(f"no BANDWIDTH in {media_dir / master}")
        seg = STREAM_SEGMENT_S
        for variant in sorted(media_dir.glob("*/index.m3u8"))[:1]:
            m = re.search(r"#EXT-X-TARGETDURATION:(\d+)", variant.read_text())
            if m:
                seg = int(m.group(1))
        return cls(master, tuple(rates), float(seg))


def make_stream(media_dir: Path) -> StreamInfo:
    """Generate the test stream into ``media_dir`` (cached: skipped when present)."""
    media_dir = Path(media_dir)
    if not (media_dir / "master.m3u8").exists():
        from player.demo.media import make_hls

        make_hls(media_dir, STREAM_SECONDS, STREAM_RENDITIONS, STREAM_SEGMENT_S)
    return StreamInfo.from_dir(media_dir)


# --- scenarios as data ------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """A tbf on the downstream side of the link between two roles (``near`` is the end
    nearer the client). ``rate_of`` is ``"lowest"`` or ``"highest"`` rendition bitrate,
    multiplied by ``factor``."""

    near: str
    far: str
    factor: float
    rate_of: str = "lowest"
    burst: str = BURST
    latency: str = QUEUE_LATENCY

    def rate_bps(self, stream: StreamInfo) -> int:
        base = stream.lowest_bps if self.rate_of == "lowest" else stream.highest_bps
        return int(base * self.factor)


@dataclass(frozen=True)
class Crowd:
    """Bulk TCP flows from ``sender`` to ``receiver`` (roles) with the given CC."""

    sender: str
    receiver: str
    flows: int = CROWD_FLOWS  # at least (flows_for)
    cc: str = "cubic"
    share_of_lowest: float = CROWD_SHARE_OF_LOWEST

    def flows_for(self, stream: StreamInfo) -> int:
        """Flows enough that our fair share of a link of CROWD_LINK_FACTOR x the top
        rendition is ``share_of_lowest`` x the lowest (never fewer than ``flows``)."""
        link = CROWD_LINK_FACTOR * stream.highest_bps
        need = math.ceil(round(link / (self.share_of_lowest * stream.lowest_bps), 6)) - 1
        return max(self.flows, need)


@dataclass(frozen=True)
class Scenario:
    name: str
    expected: str  # segment (DESIGN.md vocabulary)
    shapes: tuple[Shape, ...] = ()
    crowds: tuple[Crowd, ...] = ()
    server_delay_s: float = 0.0  # first-byte delay per media segment (application)
    server_rate_factor: float = 0.0  # app-level pacing, x lowest rendition (0: off)
    silent: tuple[str, ...] = ()  # roles whose routers answer no probes
    # roles whose routers rate-limit ICMP like most real routers (Linux's default: one reply
    # per second per destination, a burst of 6); the testbed's others answer every probe
    rate_limited: tuple[str, ...] = ()
    ccs: tuple[str, ...] = ("cubic",)  # congestion controls of the stream server to run
    stall: bool = True  # a stall is intended
    note: str = ""
    accept_low_confidence: bool = False  # "unknown", or a non-ISP verdict with conf < 0.5
    max_accepted_confidence: float = 0.5
    # words the overall verdict's notice must hold when its segment is right (the wording is
    # judged too: e.g. this computer's own downloads must be named, not left unsaid)
    says: str = ""

    @property
    def slow_link(self) -> bool:
        return bool(self.shapes) and not self.crowds

    def judge(self, report: Mapping[str, Any] | None) -> tuple[bool, str]:
        """(correct, why) for one diagnose report."""
        if not report or "verdict" not in report:
            return False, "no report"
        seg = report["verdict"]["segment"]
        conf = float(report["verdict"].get("confidence") or 0.0)
        stalls = len(report.get("stalls") or [])
        if self.expected == "none":
            if stalls:
                return False, f"{stalls} stall(s) where none was intended"
            return seg == "none", f"verdict {seg}"
        if seg == self.expected:
            message = str(report["verdict"].get("message") or "")
            if self.says and self.says not in message:
                return False, f"{seg}, but the notice lacks {self.says!r}: {message!r}"
            return True, "expected segment"
        if self.accept_low_confidence and seg not in ("isp", "none") and (
            conf < self.max_accepted_confidence
        ):
            return True, f"{seg} with low confidence {conf:.2f}"
        if not stalls:
            return False, "no stall detected"
        return False, f"got {seg} ({conf:.2f})"


BOTH_CC = ("cubic", "bbr")
ROUTERS = ("home", "isp_access", "isp_core", "interconnect", "server_edge")


def default_scenarios() -> list[Scenario]:
    """The acceptance matrix (issue): the causes, each placed on its own link, and some as real routers answer."""
    return [
        Scenario("none", "none", stall=False, note="no impairment"),
        Scenario(
            "home_lan_slow", "home_network",
            shapes=(Shape("client", "home", SLOW_FACTOR),), ccs=BOTH_CC,
            note="home router -> client link below the lowest rendition",
        ),
        Scenario(
            "isp_access_slow", "isp",
            shapes=(Shape("home", "isp_access", SLOW_FACTOR),), ccs=BOTH_CC,
            note="access -> home link below the lowest rendition",
        ),
        Scenario(
            "isp_core_crowded", "isp",
            shapes=(Shape("isp_access", "isp_core", CROWD_LINK_FACTOR, "highest"),),
            crowds=(Crowd("isp_neighbour", "subscriber"),),
            note="core -> access link carries the top rendition 2x, shared with neighbours' flows",
        ),
        Scenario(
            "own_downloads", "isp",
            shapes=(Shape("home", "isp_access", CROWD_LINK_FACTOR, "highest"),),
            crowds=(Crowd("server_neighbour", "client", HOUSEHOLD_FLOWS,
                           share_of_lowest=HOUSEHOLD_SHARE_OF_LOWEST),),
            says="This computer was also receiving other data",
            note="this computer's own bulk downloads fill the access link beside the video",
        ),
        Scenario(
            "household_downloads", "isp",
            shapes=(Shape("home", "isp_access", CROWD_LINK_FACTOR, "highest"),),
            crowds=(Crowd("server_neighbour", "housemate", HOUSEHOLD_FLOWS,
                           share_of_lowest=HOUSEHOLD_SHARE_OF_LOWEST),),
            says="It may be other devices at home or a limit set in your router.",  # measured quiet
            note="another device at home fills the access link: 'full', never 'crowded'",
        ),
        Scenario(
            "interconnect_slow", "interconnect",
            shapes=(Shape("isp_core", "interconnect", SLOW_FACTOR),), ccs=BOTH_CC,
            note="interconnect -> core link below the lowest rendition",
        ),
        Scenario(
            "interconnect_crowded", "interconnect",
            shapes=(Shape("isp_core", "interconnect", CROWD_LINK_FACTOR, "highest"),),
            crowds=(Crowd("server_neighbour", "isp_neighbour"),),
            note="interconnect -> core link shared with bulk flows from the video network",
        ),
        Scenario(
            "isp_access_slow_icmp_limited", "isp",
            shapes=(Shape("home", "isp_access", SLOW_FACTOR),), rate_limited=ROUTERS,
            note="access link too slow; every router rate-limits its ICMP answers",
        ),
        Scenario(
            "interconnect_slow_icmp_limited", "interconnect",
            shapes=(Shape("isp_core", "interconnect", SLOW_FACTOR),), rate_limited=ROUTERS,
            note="interconnect too slow; every router rate-limits its ICMP answers",
        ),
        Scenario(
            "isp_access_policer", "isp",
            shapes=(Shape("home", "isp_access", SLOW_FACTOR, latency=POLICER_LATENCY),),
            ccs=BOTH_CC,
            note="the access link polices: a tbf whose queue holds ~5 ms, so it drops",
        ),
        Scenario(
            "server_app_slow", "server", server_delay_s=SERVER_DELAY_FACTOR,
            note="origin holds every segment's first byte back 1.25 segment durations",
        ),
        Scenario(
            "server_egress_slow", "server",
            shapes=(Shape("interconnect", "server_edge", SLOW_FACTOR),), ccs=BOTH_CC,
            note="video network's edge -> interconnect link below the lowest rendition",
        ),
        Scenario(
            "silent_routers", "unknown",
            shapes=(Shape("home", "isp_access", SLOW_FACTOR),), silent=ROUTERS,
            accept_low_confidence=True,
            note="access link too slow, but no router answers probes: never blame the ISP",
        ),
    ]


def scenario(name: str) -> Scenario:
    for s in default_scenarios():
        if s.name == name:
            return s
    raise KeyError(name)


# --- roles ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Roles:
    """Role -> node name in a topology."""

    nodes: Mapping[str, str]

    def __getitem__(self, role: str) -> str:
        try:
            return self.nodes[role]
        except KeyError:
            raise KeyError(f"topology has no node for role {role!r}") from None

    def __contains__(self, role: object) -> bool:
        return role in self.nodes


def roles_for(topo: Topology, server: str = "server", **extra: str) -> Roles:
    """Roles along the client -> ``server`` path of a topology with at least six nodes on it:
    client, home, the ISP's routers (first = access, last = core), the first router outside
    the ISP (interconnect), the video network's routers (first = edge), the server.

    The ISP is the organisation of the router after home (``Node.org``); the video network
    is the server's. Crowding hosts are passed as keywords (``subscriber="x"``) or taken
    from the reference topology's names when present. Node names are roles of their own,
    so a scenario may also name a node directly (``Shape("isp_access", "agg2", ...)``).
    """
    path = topo.path(topo.client, server)
    if len(path) < 6:
        raise ValueError(f"path {path} too short for the scenario roles")
    isp_org = topo.nodes[path[2]].org
    server_org = topo.nodes[server].org
    isp = [n for n in path[2:-1] if topo.nodes[n].org == isp_org]
    video = [n for n in path[2:-1] if topo.nodes[n].org == server_org and server_org]
    between = [n for n in path[2:-1] if n not in isp and n not in video]
    if not isp or not video or not between:
        raise ValueError("path needs ISP routers, a router between networks and server routers")
    roles = {n: n for n in topo.nodes}  # a node's own name works as a role too
    roles |= {
        "client": path[0],
        "home": path[1],
        "isp_access": isp[0],
        "isp_core": isp[-1],
        "interconnect": between[0],
        "server_edge": video[0],
        "server": server,
    }
    defaults = {"subscriber": "subscriber", "isp_neighbour": "neighbour",
                "server_neighbour": "far", "housemate": "housemate"}
    for role, name in defaults.items():
        if name in topo.nodes:
            roles[role] = name
    roles.update(extra)
    return Roles(roles)


def matrix_topology(prefix: str | None = None) -> Topology:
    """The reference topology plus ``subscriber``: another customer of the same ISP behind
    the access router (the receiver of neighbours' traffic across the ISP's core), and
    ``housemate``: another device behind the home router (the household's own traffic)."""
    ref = reference_topology(prefix)
    nodes = [*ref.nodes.values(), Node("subscriber", "cust2.examplenet-isp.net", router=False),
             Node("housemate", "tablet.home", router=False)]  # another device at home
    links = [*ref.links, Link("access", "subscriber"), Link("home", "housemate")]
    return Topology(nodes, links, client=ref.client, prefix=ref.prefix)


# --- applying a scenario -------------------------------------------------------------------
def _stream_env() -> dict[str, str]:
    env = agent_env()
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    return env


def start_stream_server(
    topo: Topology, roles: Roles, media_dir: Path, *, cc: str, delay_ms: float = 0.0,
    rate_kbit: float = 0.0, port: int = HTTP_PORT, max_seconds: float = 600.0,
) -> subprocess.Popen:
    """Start :mod:`stream_server` in the server's namespace and wait for ``ready``."""
    argv = [sys.executable, str(STREAM_SERVER), str(media_dir), "--port", str(port),
            "--cc", cc, "--max-seconds", str(max_seconds)]
    if delay_ms:
        argv += ["--delay-ms", str(delay_ms)]
    if rate_kbit:
        argv += ["--rate-kbit", str(rate_kbit)]
    p = topo.run_in(roles["server"], argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    text=True)
    assert p.stdout is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if line.startswith("ready"):
            if f"cc={cc}" not in line:
                topo.stop(p)
                raise RuntimeError(f"stream server runs {line.strip()}, not cc={cc}")
            return p
        if not line and p.poll() is not None:
            break
    err = p.stderr.read() if p.stderr and p.poll() is not None else ""
    topo.stop(p)
    raise RuntimeError(f"stream server did not start: {err[-2000:]}")


@contextlib.contextmanager
def crowding(topo: Topology, roles: Roles, crowds: Sequence[Crowd], seconds: float,
             port: int = CROWD_PORT, stream: StreamInfo | None = None
             ) -> Iterator[list[subprocess.Popen]]:
    """Bulk flows for every :class:`Crowd` (as many as :meth:`Crowd.flows_for` the
    ``stream``; without one, ``Crowd.flows``); all stopped when the block ends."""
    procs: list[subprocess.Popen] = []
    try:
        for k, c in enumerate(crowds):
            sender, receiver = roles[c.sender], roles[c.receiver]
            p = port + k
            procs.append(start_agent(topo, receiver, "sink", "--port", str(p),
                                     "--max-seconds", str(seconds + 15)))
            to = topo.addr(receiver, topo.path(receiver, sender)[1])
            argv = agent_argv("send", "--to", to, "--port", str(p), "--seconds", str(seconds),
                              "--cc", c.cc)
            senders = [topo.run_in(sender, argv, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True, env=agent_env())
                       for _ in range(c.flows_for(stream) if stream else c.flows)]
            procs.extend(senders)
            for snd in senders:
                assert snd.stdout is not None
                if snd.stdout.readline().strip() != "ready":
                    raise RuntimeError(f"crowd sender in {sender} did not start")
        yield procs
    finally:
        for proc in reversed(procs):
            topo.stop(proc)


@contextlib.contextmanager
def applied(topo: Topology, roles: Roles, sc: Scenario, stream: StreamInfo,
            seconds: float) -> Iterator[dict[str, Any]]:
    """Shapes, silent routers and crowding of a scenario (the server is separate); undone
    when the block ends, also on errors."""
    info: dict[str, Any] = {"shapes": []}
    try:
        for s in sc.shapes:
            near, far = roles[s.near], roles[s.far]
            rate = s.rate_bps(stream)
            topo.shape(far, near, f"{rate}bit", burst=s.burst, latency=s.latency)
            info["shapes"].append(f"{far}->{near} {rate / 1000:.0f} kbit/s")
        for r in sc.silent:
            topo.block_probes(roles[r])
        for r in sc.rate_limited:
            topo.rate_limit_probes(roles[r])
        with crowding(topo, roles, sc.crowds, seconds, stream=stream) as procs:
            if procs:
                time.sleep(CROWD_WARMUP_S)
            info["crowd_flows"] = sum(c.flows_for(stream) for c in sc.crowds)
            yield info
    finally:
        for s in sc.shapes:
            topo.unshape(roles[s.far], roles[s.near])
        for r in sc.silent:
            topo.unblock_probes(roles[r])
        for r in sc.rate_limited:
            topo.unblock_probes(roles[r])


def stream_url(topo: Topology, roles: Roles, stream: StreamInfo, port: int = HTTP_PORT) -> str:
    host = topo.nodes[roles["server"]].dns_name or topo.addr(roles["server"])
    return f"http://{host}:{port}/{stream.master}"


def diagnose_argv(url: str, duration: float, *, unprivileged: bool = False,
                  python: str | None = None) -> list[str]:
    argv = [python or sys.executable, "-m", "player", "diagnose", url,
            "--duration", str(duration), "--json"]
    return [*UNPRIVILEGED, *argv] if unprivileged else argv


def run_diagnose(topo: Topology, roles: Roles, url: str, duration: float, *,
                 unprivileged: bool = False, timeout: float | None = None) -> dict[str, Any]:
    """Run ``python -m player diagnose URL --duration S --json`` in the client namespace.

    Returns ``{"rc", "report", "stderr", "elapsed_s"}``; ``report`` is None when no JSON
    came out.
    """
    env = _stream_env()
    if unprivileged:
        home = Path(tempfile.gettempdir()) / f"stallwatch-nobody-{os.getpid()}"
        home.mkdir(exist_ok=True)
        os.chown(home, NOBODY, NOBODY)
        env.update(HOME=str(home), XDG_RUNTIME_DIR=str(home), XDG_CACHE_HOME=str(home / "cache"),
                   XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
    t0 = time.monotonic()
    cp = subprocess.run(
        topo.netns_argv(roles["client"], diagnose_argv(url, duration, unprivileged=unprivileged)),
        capture_output=True, text=True, cwd=str(REPO), env=env,
        timeout=timeout or duration + 90, check=False,
    )
    elapsed = time.monotonic() - t0
    report = None
    text = cp.stdout.strip()
    try:
        report = json.loads(text) if text else None
    except json.JSONDecodeError:
        lines = [ln for ln in text.splitlines() if ln.startswith("{")]
        with contextlib.suppress(json.JSONDecodeError, IndexError):
            report = json.loads(lines[-1])
    return {"rc": cp.returncode, "report": report, "stderr": cp.stderr[-3000:],
            "elapsed_s": elapsed}


def top_evidence(report: Mapping[str, Any] | None) -> str:
    if not report:
        return ""
    ev = (report.get("verdict") or {}).get("evidence") or []
    return ev[0]["text"] if ev else ""


def run_scenario(topo: Topology, scenario: Scenario, media_dir: Path, cc: str = "cubic",
                 duration: float = 20.0, *, roles: Roles | None = None,
                 stream: StreamInfo | None = None, unprivileged: bool = False) -> dict[str, Any]:
    """Start the origin, apply ``scenario``, run diagnose in the client, undo everything.

    Returns a flat result: scenario, cc, expected, got, confidence, correct, why, stalls,
    top evidence, the whole report and timings.
    """
    roles = roles or roles_for(topo)
    stream = stream or StreamInfo.from_dir(Path(media_dir))
    delay_ms = scenario.server_delay_s * stream.segment_s * 1000.0
    rate_kbit = scenario.server_rate_factor * stream.lowest_bps / 1000.0
    t0 = time.monotonic()
    server = start_stream_server(topo, roles, Path(media_dir), cc=cc, delay_ms=delay_ms,
                                 rate_kbit=rate_kbit, max_seconds=duration + 180)
    try:
        with applied(topo, roles, scenario, stream, duration + 60) as info:
            out = run_diagnose(topo, roles, stream_url(topo, roles, stream), duration,
                               unprivileged=unprivileged)
    finally:
        topo.stop(server)
    report = out["report"]
    verdict = (report or {}).get("verdict") or {}
    correct, why = scenario.judge(report)
    return {
        "scenario": scenario.name,
        "cc": cc,
        "expected": scenario.expected,
        "got": verdict.get("segment", "error"),
        "confidence": float(verdict.get("confidence") or 0.0),
        "correct": correct,
        "why": why,
        "stalls": len((report or {}).get("stalls") or []),
        "evidence": top_evidence(report) or (report or {}).get("error", ""),
        "rc": out["rc"],
        "stderr": out["stderr"] if report is None or out["rc"] != 0 or "error" in report else "",
        "elapsed_s": round(time.monotonic() - t0, 1),
        "applied": info,
        "report": report,
    }


# --- summaries --------------------------------------------------------------------------------
SEGMENTS = ("none", "device", "home_network", "isp", "interconnect", "server", "unknown", "error")


def confusion_matrix(results: Sequence[Mapping[str, Any]]) -> str:
    """Expected segment (rows) x verdict segment (columns) as a text table."""
    expected = [s for s in SEGMENTS if any(r["expected"] == s for r in results)]
    got = [s for s in SEGMENTS if any(r["got"] == s for r in results) or s in expected]
    w = max(len(s) for s in SEGMENTS) + 1
    lines = ["expected \\ got".ljust(w + 2) + "".join(s[:12].rjust(13) for s in got)]
    for e in expected:
        row = [sum(1 for r in results if r["expected"] == e and r["got"] == g) for g in got]
        lines.append(e.ljust(w + 2) + "".join(str(n).rjust(13) for n in row))
    return "\n".join(lines)


def result_line(r: Mapping[str, Any]) -> str:
    mark = "ok " if r["correct"] else "BAD"
    return (f"{mark} {r['scenario']:<22} {r['cc']:<5} got={r['got']:<13} "
            f"conf={r['confidence']:.2f} stalls={r['stalls']} {r['elapsed_s']:5.1f}s  "
            f"{r['evidence'][:110]}")


def accuracy(results: Sequence[Mapping[str, Any]]) -> float:
    return sum(1 for r in results if r["correct"]) / len(results) if results else 0.0


def false_isp(results: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in results if r["got"] == "isp" and r["expected"] != "isp"]


#: segments a verdict can accuse (``unknown`` and ``none`` accuse no one)
ACCUSED = ("device", "home_network", "isp", "interconnect", "server")


def false_accusations(results: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Per accused segment: runs that named it where the cause lay elsewhere (issue 8)."""
    out = dict.fromkeys(ACCUSED, 0)
    for r in results:
        if r["got"] in out and r["got"] != r["expected"]:
            out[r["got"]] += 1
    return out


# --- validation without the player -----------------------------------------------------------
@dataclass
class Validation:
    scenario: str
    idle_ms: dict[int, float | None] = field(default_factory=dict)
    loaded_ms: dict[int, float | None] = field(default_factory=dict)
    download_kbps: float | None = None
    ttfb_ms: float | None = None
    lowest_kbps: float = 0.0


def validate(topo: Topology, roles: Roles, sc: Scenario, media_dir: Path, stream: StreamInfo,
             cc: str = "cubic", idle_s: float = 4.0, load_s: float = 8.0) -> Validation:
    """Hop RTTs idle / under a download of the lowest rendition's segments, and the rate of
    that download, measured by ``agent.py probe`` in the client namespace."""
    delay_ms = sc.server_delay_s * stream.segment_s * 1000.0
    server = start_stream_server(topo, roles, media_dir, cc=cc, delay_ms=delay_ms)
    big = media_dir / "validate.bin"
    if not big.exists():
        big.write_bytes(os.urandom(8 << 20))
    try:
        with applied(topo, roles, sc, stream, idle_s + load_s + 30):
            host = topo.addr(roles["server"])
            url = f"http://{host}:{HTTP_PORT}/validate.bin"
            argv = [sys.executable, str(Path(__file__).parent / "agent.py"), "probe",
                    "--host", host, "--port", str(HTTP_PORT), "--interval", "0.4",
                    "--probe-timeout", "0.38", "--idle-s", str(idle_s), "--load-s",
                    str(load_s), "--url", url]
            cp = topo.exec_in(roles["client"], argv, timeout=idle_s + load_s + 60,
                              env=agent_env(), check=False)
            lines = [ln for ln in cp.stdout.splitlines() if ln.startswith("{")]
            res = json.loads(lines[-1]) if lines else {}
            v = Validation(sc.name, lowest_kbps=stream.lowest_bps / 1000)
            for k, st in (res.get("stats") or {}).items():
                v.idle_ms[int(k)] = st["idle"]["median_ms"]
                v.loaded_ms[int(k)] = st["loaded"]["median_ms"]
            if res.get("downloaded"):
                v.download_kbps = res["downloaded"] * 8 / load_s / 1000
            seg = f"http://{host}:{HTTP_PORT}/" + _first_segment(media_dir)
            curl = topo.exec_in(roles["client"], [
                "curl", "-s", "-o", "/dev/null", "-w", "%{time_starttransfer}", seg,
            ], timeout=30, check=False)
            with contextlib.suppress(ValueError):
                v.ttfb_ms = float(curl.stdout.strip()) * 1000
            return v
    finally:
        topo.stop(server)


def _first_segment(media_dir: Path) -> str:
    seg = sorted(media_dir.glob("*/*.ts"))[0]
    return str(seg.relative_to(media_dir))


def _fmt(d: Mapping[int, float | None]) -> str:
    return " ".join(f"{k}:{v:.0f}" if v is not None else f"{k}:-" for k, v in sorted(d.items()))


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description="validate the scenarios without the player")
    p.add_argument("command", choices=["validate", "run"])
    p.add_argument("--only", default="", help="comma-separated scenario names")
    p.add_argument("--cc", default="cubic")
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--reports", type=Path, default=None, help="write every result here")
    p.add_argument("--media", type=Path, default=Path(tempfile.gettempdir()) / "sw-matrix-media")
    a = p.parse_args(argv)
    stream = make_stream(a.media)
    only = {n for n in a.only.split(",") if n}
    topo = matrix_topology()
    with topo:
        roles = roles_for(topo)
        for sc in default_scenarios():
            if only and sc.name not in only:
                continue
            if a.command == "validate":
                v = validate(topo, roles, sc, a.media, stream, cc=a.cc)
                print(f"{sc.name:<22} idle ms [{_fmt(v.idle_ms)}]  loaded ms [{_fmt(v.loaded_ms)}]"
                      f"  download {v.download_kbps or 0:.0f} kbit/s (lowest rendition "
                      f"{v.lowest_kbps:.0f})  ttfb {v.ttfb_ms or 0:.0f} ms", flush=True)
            else:
                r = run_scenario(topo, sc, a.media, a.cc, a.duration, roles=roles, stream=stream)
                print(result_line(r), flush=True)
                if r["stderr"]:
                    print(r["stderr"][-1500:], flush=True)
                if a.reports:
                    a.reports.mkdir(parents=True, exist_ok=True)
                    out = a.reports / f"{sc.name}-{a.cc}-{int(time.time())}.json"
                    out.write_text(json.dumps(r, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
