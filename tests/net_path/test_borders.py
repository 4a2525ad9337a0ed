"""Borders by network (issue 8): the names table's kind reaches the one path classifier.

The real bundled table and the real net-side adapter (player.net.path.segments); RDAP is
off (no network): names come from the hops' reverse-DNS names given here.
"""

from __future__ import annotations

from player.core.model import Hop
from player.net.path.naming import NameTable, OrgEntry, OrgNamer, default_table
from player.net.path.segments import classify_path


def _hops(*rows: tuple[str | None, str | None]) -> list[Hop]:
    return [Hop(hop=i, address=a, name=n) for i, (a, n) in enumerate(rows, start=1)]


def _segs(hops: list[Hop]) -> list[str]:
    return [h.segment.value for h in hops]


def test_the_table_lookup_carries_the_kind() -> None:
    namer = OrgNamer(default_table())
    assert namer.lookup("be2.ccr41.cogentco.com", "198.51.100.7").kind == "transit"
    assert namer.lookup("ae1.bras1.verizon-gni.net", "198.51.100.8").kind == "isp"
    assert namer.lookup("core1.examplenet-isp.net", "198.51.100.9").kind is None  # a domain


def test_unnamed_isp_hops_behind_a_named_transit_are_not_the_transits() -> None:
    # before: Cogent, the first name past home, was taken for the viewer's ISP
    hops = _hops(
        ("192.168.1.1", "router.home"),
        ("198.51.100.1", None),  # the ISP's access router, no name
        ("198.51.100.2", None),
        ("198.51.100.7", "be2.ccr41.cogentco.com"),
        ("203.0.113.9", "edge.videocdn.example"),
    )
    out = classify_path(hops, "192.168.1.1", destination="203.0.113.9")
    assert _segs(out) == ["home_network", "isp", "unknown", "interconnect", "server"]


def test_an_isp_named_interface_past_a_transit_hop_is_the_peer() -> None:
    hops = _hops(
        ("192.168.1.1", "router.home"),
        ("198.51.100.1", "po-1.bras1.comcast.net"),
        ("198.51.100.2", "be-2.core1.comcast.net"),
        ("198.51.100.3", "ae-4.level3.net"),
        ("198.51.100.4", "peer-ae9.comcast.net"),  # the far end of the peering link
        ("203.0.113.9", "cache1.nflxvideo.net"),
    )
    out = classify_path(hops, "192.168.1.1", destination="203.0.113.9")
    assert _segs(out) == ["home_network", "isp", "isp", "interconnect", "interconnect", "server"]
    assert out[4].org == "Comcast"  # the name stays, the segment is the interconnect's


def test_an_exchange_point_or_a_vpn_endpoint_is_never_the_isp() -> None:
    table = NameTable(
        [
            OrgEntry("DE-CIX", "ixp", "global", ("de-cix.net",), "test"),
            OrgEntry("ExampleVPN", "vpn", "global", ("examplevpn.example",), "test"),
        ]
    )
    for name, seg in (("fra.de-cix.net", "interconnect"), ("exit1.examplevpn.example", "unknown")):
        hops = _hops(
            ("192.168.1.1", "router.home"),
            ("198.51.100.1", name),
            ("203.0.113.9", "edge.videocdn.example"),
        )
        out = classify_path(hops, "192.168.1.1", namer=OrgNamer(table), destination="203.0.113.9")
        assert _segs(out) == ["home_network", seg, "server"], name


def test_a_private_isp_hop_named_in_the_isps_domain_is_the_isps() -> None:
    # many ISPs number internal links from 10/8 and name them in their own domain; the
    # testbed's realistic tree showed such a hop classified "unknown" (its org dropped)
    hops = _hops(
        ("192.168.1.1", "router.home"),
        ("100.64.0.1", "bng1.tellus-broadband.example"),
        ("10.44.0.2", "bb1.fra.tellus-broadband.example"),
        ("198.51.100.7", "ae3.carrierone.example"),
        ("203.0.113.9", "edge.videocdn.example"),
    )
    out = classify_path(hops, "192.168.1.1", destination="203.0.113.9")
    assert _segs(out) == ["home_network", "isp", "isp", "interconnect", "server"]
    assert out[2].org == "tellus-broadband.example"


def test_a_private_hop_is_not_named_by_a_domain_no_public_hop_carries() -> None:
    # a second home router past the gateway (or a misleading local name) stays unnamed
    hops = _hops(
        ("192.168.1.1", "router.home"),
        ("10.0.0.1", "fritz.box"),
        ("198.51.100.2", "bras1.examplenet-isp.net"),
        ("203.0.113.9", "edge.videocdn.example"),
    )
    out = classify_path(hops, "192.168.1.1", destination="203.0.113.9")
    assert out[1].org is None
    assert _segs(out) == ["home_network", "isp", "isp", "server"]
    # the gateway itself stays home whatever public hop shares its name's domain
    hops = _hops(
        ("192.168.1.1", "cpe.examplenet-isp.net"),
        ("198.51.100.2", "bras1.examplenet-isp.net"),
        ("203.0.113.9", "edge.videocdn.example"),
    )
    out = classify_path(hops, "192.168.1.1", destination="203.0.113.9")
    assert _segs(out) == ["home_network", "isp", "server"]
    assert out[0].org == "home"


def test_a_private_hops_name_must_match_its_neighbouring_public_hop_not_any() -> None:
    # a transit's name on a private hop in front of the ISP's own router is not taken: the
    # ISP stays the ISP (with the name taken, the transit became "the ISP" and the ISP's
    # router "the interconnect")
    hops = _hops(
        ("192.168.1.1", "router.home"),
        ("10.20.0.1", "xe-1-0.gw.transitco.net"),
        ("198.51.100.2", "bras1.homeisp.net"),
        ("198.51.100.66", "ae1.cr1.transitco.net"),
        ("203.0.113.9", "edge.videocdn.example"),
    )
    out = classify_path(hops, "192.168.1.1", destination="203.0.113.9")
    assert out[1].org is None
    assert _segs(out) == ["home_network", "isp", "isp", "interconnect", "server"]


def test_private_hops_in_the_servers_domain_stay_unplaced() -> None:
    # a data centre's internal hop (or a company's own network) named like the server is
    # not placed by its name: a queue in front of it is not put on the peering link
    hops = _hops(
        ("192.168.1.1", "router.home"),
        ("100.64.0.1", "bng1.homeisp.net"),
        ("198.51.100.2", "cr1.homeisp.net"),
        ("10.9.9.9", "lb3.videocdn.example"),
        ("203.0.113.9", "edge.videocdn.example"),
    )
    out = classify_path(hops, "192.168.1.1", destination="203.0.113.9")
    assert out[3].org is None and _segs(out)[3] == "unknown"
    corporate = _hops(
        ("10.0.0.1", "gw.office.acme.example"),
        ("10.1.0.1", "core1.acme.example"),
        ("10.2.0.1", "dc-sw1.acme.example"),
        ("192.0.2.10", "video.acme.example"),
    )
    out = classify_path(corporate, "10.0.0.1", destination="192.0.2.10")
    assert [h.org for h in out[1:3]] == [None, None]
