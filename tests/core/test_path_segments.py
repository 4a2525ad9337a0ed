"""The one path classifier and the one home-address test (player.core.path_segments)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from player.core.model import Segment
from player.core.path_segments import (
    CGNAT_NETWORK,
    HOME_ORG,
    HopFacts,
    classify_segments,
    is_home_address,
    is_home_org,
    normalize_address,
)

S = Segment  # H home, P provider (ISP), X interconnect, V video server, U unknown
H, P, X, V, U = S.HOME_NETWORK, S.ISP, S.INTERCONNECT, S.SERVER, S.UNKNOWN


# --- home addresses ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "address",
    ["10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1", "169.254.7.7", "fd00::1",
     "fc12::9", "fe80::1", "[fe80::2]"],
)  # fmt: skip
def test_home_addresses(address: str) -> None:
    assert is_home_address(address)


@pytest.mark.parametrize(
    "address",
    [None, "", "not an address", "100.64.0.1", "100.127.255.254", "127.0.0.1", "::1",
     "172.32.0.1", "8.8.8.8", "198.18.0.2", "198.51.100.1", "203.0.113.2", "192.0.2.1",
     "2001:db8::1"],
)  # fmt: skip
def test_not_home_addresses(address: str | None) -> None:
    # CGNAT is the ISP's, loopback is this computer, documentation/benchmark space is public
    assert not is_home_address(address)


def test_cgnat_is_documented_and_never_home() -> None:
    assert str(CGNAT_NETWORK) == "100.64.0.0/10"
    # a strided sample (every 2**14th address, ends included), not the 4 million hosts
    first, last = int(CGNAT_NETWORK.network_address), int(CGNAT_NETWORK.broadcast_address)
    sample = [*range(first, last + 1, 2**14), last]
    assert len(sample) > 200
    assert not any(is_home_address(str(ipaddress.ip_address(a))) for a in sample)


def test_helpers() -> None:
    assert is_home_org("home") and is_home_org(" Home ") and not is_home_org(None)
    assert not is_home_org("Verizon")
    assert normalize_address("2001:DB8::01") == "2001:db8::1"
    assert normalize_address("x") is None and normalize_address(None) is None


# --- the classifier on net-side facts (addresses, gateway, org known) --------------------
def _f(hop: int, address: str | None, org: str | None = None, known: bool = False,
       **kw: object) -> HopFacts:  # fmt: skip
    return HopFacts(hop, address, org, known, **kw)  # type: ignore[arg-type]


def test_reference_path() -> None:
    hops = [
        _f(1, "192.168.1.1", HOME_ORG),
        _f(2, "198.18.0.2", "examplenet-isp.net"),
        _f(3, "198.18.1.2", "examplenet-isp.net"),
        _f(4, "198.18.2.2", "transitco.example"),
        _f(5, "198.18.3.2", "videocdn.example"),
        _f(6, "203.0.113.2", "videocdn.example", is_destination=True),
    ]
    r = classify_segments(hops, gateway_address="192.168.1.1")
    assert r.segments == [H, P, P, X, V, V]
    assert r.orgs[0] == HOME_ORG and r.orgs[1] == "examplenet-isp.net"
    assert (r.isp_org, r.server_org) == ("examplenet-isp.net", "videocdn.example")


def test_direct_peering_marks_the_first_server_hop_interconnect() -> None:
    hops = [
        _f(1, "192.168.1.1", HOME_ORG),
        _f(2, "198.51.100.1", "Verizon", True),
        _f(3, "198.51.100.2", "Verizon", True),
        _f(4, "203.0.113.1", "Netflix", True),
        _f(5, "203.0.113.9", "Netflix", True, is_destination=True),
    ]
    assert classify_segments(hops, gateway_address="192.168.1.1").segments == [H, P, P, X, V]


def test_silent_and_unnamed_hops_take_agreeing_neighbours() -> None:
    hops = [
        _f(1, "192.168.1.1", HOME_ORG),
        _f(2, "100.64.0.1"),  # CGNAT: the ISP's access, no name
        _f(3, None),
        _f(4, "198.51.100.1", "examplenet-isp.net"),
        _f(5, None),  # between the ISP and a transit hop: cannot tell
        _f(6, "198.51.100.9", "transitco.example"),
        _f(7, None),  # between transit and the server: cannot tell
        _f(8, "203.0.113.2", "videocdn.example", is_destination=True),
    ]
    r = classify_segments(hops, gateway_address="192.168.1.1")
    assert r.segments == [H, P, P, P, U, X, U, V]
    assert r.orgs[2] is None and r.orgs[4] is None


def test_private_hops_after_the_gateway_are_the_isps() -> None:
    hops = [
        _f(1, "192.168.1.1", HOME_ORG),
        _f(2, "10.20.0.1", HOME_ORG),  # the namer says "home" for any private address
        _f(3, "198.51.100.1", "Comcast", True),
        _f(4, "203.0.113.2", "videocdn.example", is_destination=True),
    ]
    r = classify_segments(hops, gateway_address="192.168.1.1")
    assert r.segments == [H, P, P, V] and r.orgs[1] is None


def test_public_gateway_of_a_known_isp_is_the_isp() -> None:
    hops = [
        _f(1, "198.51.100.1", "Comcast", True),
        _f(2, "198.51.100.5", "Comcast", True),
        _f(3, "203.0.113.2", "videocdn.example", is_destination=True),
    ]
    assert classify_segments(hops, gateway_address="198.51.100.1").segments == [P, P, V]
    # the same gateway named only by its domain (not the table): home
    hops[0] = _f(1, "198.51.100.1", "comcast.net")
    assert classify_segments(hops, gateway_address="198.51.100.1").segments[0] is H
    # is_gateway is the same as gateway_address
    flagged = [HopFacts(1, "198.51.100.1", "Comcast", True, is_gateway=True), *hops[1:]]
    assert classify_segments(flagged).segments[0] is P


def test_silent_first_hop_is_home_while_the_gateway_is_private() -> None:
    hops = [_f(1, None), _f(2, "198.51.100.1", "Comcast", True), _f(3, "203.0.113.2")]
    hops[2] = _f(3, "203.0.113.2", is_destination=True)
    r = classify_segments(hops, gateway_address="192.168.1.1", server_org="videocdn.example")
    assert r.segments == [H, P, V] and r.orgs[0] is None and r.orgs[2] is None
    assert r.server_org == "videocdn.example"
    r = classify_segments(hops, gateway_address="100.64.0.1", server_org="videocdn.example")
    assert r.segments[0] is P  # a CGNAT gateway is not home: the ISP's access hop


def test_without_any_names_only_home_the_access_hop_and_server_are_placed() -> None:
    hops = [_f(1, "192.168.1.1", HOME_ORG), _f(2, "198.51.100.1"), _f(3, "198.51.100.2"),
            _f(4, "203.0.113.2", is_destination=True)]  # fmt: skip
    # hop 2 is the ISP's access router whatever its name; hop 3 may be an interconnect
    assert classify_segments(hops, gateway_address="192.168.1.1").segments == [H, P, U, V]
    # silent access hop: the same
    hops[1] = _f(2, None)
    assert classify_segments(hops, gateway_address="192.168.1.1").segments == [H, P, U, V]


def test_the_access_hop_rule_needs_home_and_an_unnamed_hop() -> None:
    # no home identified (a public first hop, no gateway known): nothing is the ISP's
    hops = [_f(1, "198.51.100.1"), _f(2, "198.51.100.2"), _f(3, "203.0.113.2", is_destination=True)]
    assert classify_segments(hops).segments == [U, U, V]
    # a public gateway of a known org (bridged modem): not home, so no access-hop default
    hops = [_f(1, "198.51.100.1", "Transit", True), _f(2, "198.51.100.2"),
            _f(3, "203.0.113.2", is_destination=True)]  # fmt: skip
    assert classify_segments(hops, gateway_address="198.51.100.1").segments[1] is not P
    # a named first hop keeps its own org's segment (here the server's network first)
    hops = [_f(1, "192.168.1.1", HOME_ORG), _f(2, "203.0.113.1", "CDN", True),
            _f(3, "203.0.113.2", "CDN", True, is_destination=True)]  # fmt: skip
    assert classify_segments(hops, gateway_address="192.168.1.1").segments == [H, X, V]
    # an explicit segment on the access hop wins
    hops = [HopFacts(1, org="home"), HopFacts(2, segment=X), HopFacts(3, is_destination=True)]
    assert classify_segments(hops).segments == [H, X, V]
    # only the first unnamed hop: two more unnamed hops before the server stay unknown
    hops = [HopFacts(1, org="home"), HopFacts(2), HopFacts(3), HopFacts(4),
            HopFacts(5, org="CDN", is_destination=True)]  # fmt: skip
    assert classify_segments(hops, server_org="CDN").segments == [H, P, U, U, V]


def test_unreached_destination_uses_the_server_org() -> None:
    hops = [
        _f(1, "192.168.1.1", HOME_ORG),
        _f(2, "198.51.100.1", "Comcast", True),
        _f(3, "198.51.100.7", "Cogent", True),
        _f(4, "203.0.113.1", "videocdn.example"),
        _f(5, "203.0.113.5", "videocdn.example"),
    ]
    r = classify_segments(hops, gateway_address="192.168.1.1", server_org="videocdn.example")
    assert r.segments == [H, P, X, V, V]
    # unnamed hops after the server's last named hop, destination not reached: the server's
    r = classify_segments([*hops, _f(6, None)], server_org="videocdn.example")
    assert r.segments[-1] is V


def test_server_network_first_names_no_isp() -> None:
    hops = [
        _f(1, "192.168.1.1", HOME_ORG),
        _f(2, "203.0.113.1", "Netflix", True),
        _f(3, "198.51.100.1", "Transit", True),
        _f(4, "203.0.113.9", "Netflix", True),
    ]
    r = classify_segments(hops, server_org="Netflix")
    assert r.isp_org is None and r.segments == [H, X, X, V]


# --- the classifier on attribution evidence (no addresses) --------------------------------
def test_evidence_without_addresses() -> None:
    hops = [
        HopFacts(1, home_address=True),
        HopFacts(2, home_address=True),  # private, but past the gateway: the ISP's
        HopFacts(3),
        HopFacts(4, org="Verizon"),
        HopFacts(5),
        HopFacts(6, org="Verizon"),
        HopFacts(7, org="Level3"),
        HopFacts(8),
        HopFacts(9, org="Netflix"),
        HopFacts(10, is_destination=True),
    ]
    r = classify_segments(hops, server_org="Netflix")
    assert r.isp_org == "Verizon"
    assert r.segments == [H, P, P, P, P, P, X, U, V, V]


def test_home_org_alone_makes_the_first_hop_home() -> None:
    r = classify_segments([HopFacts(1, org="home"), HopFacts(2, org="Verizon")])
    assert r.segments == [H, P]


def test_explicit_isp_org_and_explicit_segments() -> None:
    r = classify_segments([HopFacts(1), HopFacts(2, org="Campus"), HopFacts(3, org="Comcast")],
                          isp_org="Campus")  # fmt: skip
    assert r.isp_org == "Campus" and r.segments[1:] == [P, X]
    hops = [HopFacts(1, org="home"), HopFacts(2, org="Verizon"), HopFacts(3, segment=V)]
    assert classify_segments(hops).segments == [H, P, V]
    # an explicit segment does not move its neighbours
    hops = [HopFacts(1, org="home"), HopFacts(2, segment=X), HopFacts(3, org="Verizon")]
    assert classify_segments(hops).segments == [H, X, P]


def test_empty_and_unsorted_input() -> None:
    r = classify_segments([], server_org="x", isp_org="y")
    assert (r.segments, r.orgs, r.isp_org, r.server_org) == ([], [], "y", "x")
    hops = [HopFacts(3, org="CDN", is_destination=True), HopFacts(1, org="home"),
            HopFacts(2, org="Verizon")]  # fmt: skip
    assert classify_segments(hops, server_org="CDN").segments == [V, H, P]


ORG = st.sampled_from([None, "home", "Verizon", "Level3", "Netflix"])


@given(
    st.lists(st.tuples(ORG, st.booleans(), st.booleans()), min_size=1, max_size=8),
    st.sampled_from([None, "Netflix", "Level3"]),
)
def test_properties(rows: list[tuple[str | None, bool, bool]], server_org: str | None) -> None:
    hops = [
        HopFacts(i, org=o, answered=a, home_address=p, is_destination=i == len(rows))
        for i, (o, a, p) in enumerate(rows, start=1)
    ]
    r = classify_segments(hops, server_org=server_org)
    assert len(r.segments) == len(r.orgs) == len(hops)
    assert r.segments[-1] is V or (len(hops) == 1 and r.segments[0] is H)
    homes = [k for k, s in enumerate(r.segments) if s is H]
    assert homes in ([], [0])  # without a gateway only the first hop can be home
    assert r.isp_org is None or r.isp_org != r.server_org
    assert all(o != HOME_ORG for k, o in enumerate(r.orgs) if k not in homes)
