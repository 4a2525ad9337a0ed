"""A real-world-like testbed: propagation delay, realistic rates, other names and addresses.

:func:`realistic_topology` is a tree unlike the reference one (other node names, hop names
in other domains, CGNAT and 10/8 addresses inside the ISP)::

    viewer - cpe =(access: 4 ms, 20/5 Mbit/s)= bng - backbone - transit
           =(long haul: 30 ms, 50 Mbit/s)= cdnedge - cdnlb - vod

plus crowding hosts: ``phone`` (another device at home), ``cust-b`` (another customer
behind the BNG), ``isp-probe`` (a host in the ISP's backbone), ``cdn-peer`` (a host in the
video network). ``=`` links are delay lines (:mod:`tests.testbed.delay_line`), ``-`` veth.

:func:`make_realistic_stream` encodes renditions of 1, 3 and 6 Mbit/s (padded to their
bitrate, so a segment weighs what the playlist says).

``python -m tests.testbed.realistic validate [--only a,b]`` (root) runs
:func:`tests.testbed.scenarios.validate` for the default scenarios on this topology: hop
RTTs idle / under a download, and the download rate, per scenario, without the player.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from .scenarios import (
    Roles,
    StreamInfo,
    _fmt,
    default_scenarios,
    roles_for,
    validate,
)
from .topology import Link, Node, Topology

log = logging.getLogger(__name__)

#: (height, video bit/s): a typical ABR ladder's low, middle and high steps.
REALISTIC_RENDITIONS: tuple[tuple[int, int], ...] = (
    (360, 1_000_000),
    (720, 3_000_000),
    (1080, 6_000_000),
)
REALISTIC_SECONDS = 20  # 10 segments: validation fetches one, a player a few dozen s
REALISTIC_SEGMENT_S = 2
ACCESS_DOWN = "20mbit"  # a mid-range DSL/cable line: 3x the top rendition
ACCESS_UP = "5mbit"
ACCESS_DELAY_MS = 4.0  # access line: serialisation + interleaving of DSL/DOCSIS
LONG_HAUL_DELAY_MS = 30.0  # ISP's transit to the video network's far-away data centre
CORE_RATE = "50mbit"  # the testbed's ceiling per link (a delay line carries it easily)
ISP_DOMAIN = "tellus-broadband.example"
TRANSIT_DOMAIN = "carrierone.example"
CDN_DOMAIN = "streamcdn.example"
HOME_LAN = "192.168.178.0/24"
HOME_LAN_2 = "192.168.188.0/24"
VOD_LAN = "198.51.100.0/24"  # TEST-NET-2
OUTSIDE_POOL = "198.19.128.0/17"  # links outside the ISP (benchmarking range)
SERVER = "vod"
CROWD_ROLES = {
    "subscriber": "cust-b",
    "isp_neighbour": "isp-probe",
    "server_neighbour": "cdn-peer",
    "housemate": "phone",
}


def realistic_topology(prefix: str | None = None) -> Topology:
    nodes = [
        Node("viewer", "viewer.fritz.box", router=False),
        Node("phone", "phone.fritz.box", router=False),
        Node("cpe", "fritz.box", "home"),
        Node("bng", f"bng2.muc.{ISP_DOMAIN}", ISP_DOMAIN),
        Node("cust-b", f"cust-100-64-38-2.{ISP_DOMAIN}", router=False),
        Node("backbone", f"bb1.fra.{ISP_DOMAIN}", ISP_DOMAIN),
        Node("isp-probe", f"speedtest.fra.{ISP_DOMAIN}", router=False),
        Node("transit", f"ae7.fra-ix.{TRANSIT_DOMAIN}", TRANSIT_DOMAIN),
        Node("cdnedge", f"edge4.ams.{CDN_DOMAIN}", CDN_DOMAIN),
        Node("cdn-peer", f"fill3.ams.{CDN_DOMAIN}", router=False),
        Node("cdnlb", f"lb2.ams.{CDN_DOMAIN}", CDN_DOMAIN),
        Node(SERVER, f"vod7.ams.{CDN_DOMAIN}", CDN_DOMAIN, router=False),
    ]
    links = [
        Link("viewer", "cpe", HOME_LAN),
        Link("phone", "cpe", HOME_LAN_2),
        # the CPE's WAN side and the other customer: carrier-grade NAT space (RFC 6598)
        Link("bng", "cpe", "100.64.37.0/24", rate=ACCESS_DOWN, up_rate=ACCESS_UP,
             delay_ms=ACCESS_DELAY_MS),
        Link("bng", "cust-b", "100.64.38.0/24", rate=ACCESS_DOWN, up_rate=ACCESS_UP),
        # the ISP's internal links: private 10/8 point-to-point subnets
        Link("backbone", "bng", "10.44.0.0/30", rate=CORE_RATE),
        Link("backbone", "isp-probe", "10.44.9.0/30"),
        # the peering link: numbered from the transit provider's (public) space
        Link("transit", "backbone", rate=CORE_RATE),
        Link("cdnedge", "transit", rate=CORE_RATE, delay_ms=LONG_HAUL_DELAY_MS),
        Link("cdnedge", "cdn-peer"),
        Link("cdnlb", "cdnedge"),
        Link("cdnlb", SERVER, VOD_LAN),
    ]  # fmt: skip
    return Topology(nodes, links, client="viewer", prefix=prefix, pool=OUTSIDE_POOL)


def realistic_roles(topo: Topology) -> Roles:
    return roles_for(topo, server=SERVER, **CROWD_ROLES)


def make_realistic_stream(media_dir: Path) -> StreamInfo:
    """Encode the 1/3/6 Mbit/s ladder into ``media_dir`` (cached: skipped when present)."""
    from player.demo.media import ladder_args, run_ffmpeg

    media_dir = Path(media_dir)
    if not (media_dir / "master.m3u8").exists():
        media_dir.mkdir(parents=True, exist_ok=True)
        n = len(REALISTIC_RENDITIONS)
        args = ladder_args(
            REALISTIC_SECONDS, REALISTIC_RENDITIONS, REALISTIC_SEGMENT_S, 25, True,
            constant_bitrate=True,
        )  # fmt: skip
        args += [
            "-f", "hls", "-hls_time", str(REALISTIC_SEGMENT_S), "-hls_playlist_type", "vod",
            "-hls_segment_filename", str(media_dir / "v%v" / "seg_%03d.ts"),
            "-master_pl_name", "master.m3u8",
            "-var_stream_map", " ".join(f"v:{i},a:{i}" for i in range(n)),
            str(media_dir / "v%v" / "index.m3u8"),
        ]  # fmt: skip
        run_ffmpeg(args, timeout=600)
    return StreamInfo.from_dir(media_dir)


def hop_table(topo: Topology) -> list[tuple[int, str, str, str]]:
    """(ttl, node, address, name) of every hop from the viewer to the server."""
    return [(k, n, a, d or "") for k, (n, a, d) in enumerate(topo.expected_hops(SERVER), start=1)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="validate the scenarios on the realistic testbed")
    p.add_argument("command", choices=["validate"])
    p.add_argument("--only", default="", help="comma-separated scenario names")
    p.add_argument("--cc", default="cubic")
    p.add_argument("--idle-s", type=float, default=4.0)
    p.add_argument("--load-s", type=float, default=8.0)
    p.add_argument("--media", type=Path, default=Path(tempfile.gettempdir()) / "sw-realistic-media")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    stream = make_realistic_stream(a.media)
    big = a.media / "validate.bin"  # enough for a whole loaded window at 20 Mbit/s
    if not big.exists() or big.stat().st_size < 64 << 20:
        big.write_bytes(bytes(64 << 20))
    only = {n for n in a.only.split(",") if n}
    topo = realistic_topology()
    with topo:
        roles = realistic_roles(topo)
        print("hops:", flush=True)
        for ttl, node, addr, name in hop_table(topo):
            print(f"  {ttl}: {node:<9} {addr:<15} {name}", flush=True)
        print(f"stream: {[b // 1000 for b in stream.bitrates]} kbit/s", flush=True)
        for sc in default_scenarios():
            if only and sc.name not in only:
                continue
            v = validate(topo, roles, sc, a.media, stream, cc=a.cc, idle_s=a.idle_s,
                         load_s=a.load_s)  # fmt: skip
            print(
                f"{sc.name:<30} idle ms [{_fmt(v.idle_ms)}]  loaded ms [{_fmt(v.loaded_ms)}]"
                f"  download {v.download_kbps or 0:.0f} kbit/s (lowest rendition "
                f"{v.lowest_kbps:.0f})  ttfb {v.ttfb_ms or 0:.0f} ms",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
