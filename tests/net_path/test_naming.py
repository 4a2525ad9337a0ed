"""Hop naming: bundled table, public suffix list, overrides, RDAP (loopback fake), segments."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from player import data
from player.core import path_segments
from player.core.model import Hop, Segment
from player.net.path import domains, naming
from player.net.path import rdap as rdap_lookup
from player.net.path.naming import NameTable, OrgNamer, Overrides
from player.net.path.segments import classify_path

TABLE = naming.default_table()


# --- the bundled table ------------------------------------------------------------------
def test_table_is_large_documented_and_consistent() -> None:
    raw = json.loads(data.read_text(naming.TABLE_NAME))
    assert raw["schema"] == naming.TABLE_SCHEMA
    assert len(TABLE.entries) >= 100
    for e in TABLE.entries:
        assert e.source and e.domains and e.kind in naming.TABLE_KINDS
        assert domains.safe_display(e.name) == e.name
    assert len(TABLE.domains()) == sum(len(e.domains) for e in TABLE.entries)  # no duplicates


@pytest.mark.parametrize(
    ("name", "org"),
    [
        ("ae1.bras1.verizon-gni.net", "Verizon"),
        ("pool-1.verizon.net", "Verizon"),
        ("0.xe-1-0-0.gw.alter.net", "Verizon"),
        ("be-1.ar01.comcast.net", "Comcast"),
        ("ae-1-3502.edge7.Dallas1.Level3.net", "Lumen (Level 3)"),
        ("ae1.lumen.com", "Lumen (Level 3)"),
        ("be2345.ccr21.cogentco.com", "Cogent"),
        ("100ge1-1.core1.he.net", "Hurricane Electric"),
        ("ldn-bb1-link.ip.twelve99.telia.net", "Arelion (Telia)"),
        ("x.arelion.net", "Arelion (Telia)"),
        ("a23-1-2-3.deploy.static.akamaitechnologies.com", "Akamai"),
        ("one.cloudflare.com", "Cloudflare"),
        ("ipv4-c001.isp.nflxvideo.net", "Netflix"),
        ("netflix.com", "Netflix"),
        ("lhr25s10-in-f14.1e100.net", "Google"),
        ("core1.bt.net", "BT"),
        ("f-ed11-i.F.DE.NET.DTAG.DE", "Deutsche Telekom"),
        ("x.telekom.de", "Deutsche Telekom"),
        ("ae-2.r20.tokyjp05.jp.bb.gin.ntt.net", "NTT"),
    ],
)
def test_known_operators(name: str, org: str) -> None:
    assert OrgNamer().org_for(name, "198.51.100.7") == org


def test_table_rejects_duplicates_and_missing_source() -> None:
    good = {"name": "A", "kind": "isp", "country": "US", "domains": ["a.net"], "source": "s"}
    with pytest.raises(ValueError, match="twice"):
        NameTable.from_dict(
            {"schema": naming.TABLE_SCHEMA, "entries": [good, dict(good, name="B")]}
        )
    with pytest.raises(ValueError, match="source"):
        NameTable.from_dict({"schema": naming.TABLE_SCHEMA, "entries": [dict(good, source="")]})


# --- public suffix list and fallbacks ---------------------------------------------------
@pytest.mark.parametrize(
    ("name", "domain"),
    [
        ("core1.examplenet-isp.net", "examplenet-isp.net"),
        ("r1.lon.bbc.co.uk", "bbc.co.uk"),
        ("peer1.transitco.example", "transitco.example"),
        ("ec2-1-2-3-4.compute-1.amazonaws.com", "amazonaws.com"),  # ICANN section only
        ("host.192.0.2.1", None),
        ("192.0.2.1", None),
        ("1.2.0.192.in-addr.arpa", None),
        ("", None),
        (None, None),
    ],
)
def test_registered_domain(name: str | None, domain: str | None) -> None:
    assert domains.registered_domain(name) == domain


def test_unknown_domain_is_shown_as_the_domain() -> None:
    assert (
        OrgNamer().org_for("xe-0-1.edge3.tiny-regional-isp.co.uk", "198.51.100.1")
        == "tiny-regional-isp.co.uk"
    )


def test_private_addresses_are_home_but_cgnat_is_not() -> None:
    namer = OrgNamer()
    assert namer.org_for(None, "192.168.1.1") == "home"
    assert namer.org_for("fritz.box", "192.168.178.1") == "home"
    assert namer.org_for(None, "fd00::1") == "home"
    assert namer.org_for(None, "100.64.0.1") is None  # carrier-grade NAT: the ISP's
    assert namer.org_for(None, "198.51.100.1") is None  # no name, RDAP off
    assert not path_segments.is_home_address("100.64.0.1")


def test_overrides_take_precedence() -> None:
    namer = OrgNamer(
        overrides={
            "verizon-gni.net": "Big Telco",
            "198.51.100.0/24": "My ISP",
            "198.51.100.128/25": "My ISP core",
            "router.home": "Attic",
        }
    )
    assert namer.org_for("x.verizon-gni.net", "203.0.113.9") == "Big Telco"  # over the table
    assert namer.org_for("x.verizon-gni.net", "198.51.100.200") == "My ISP core"  # prefix first
    assert namer.org_for(None, "198.51.100.3") == "My ISP"
    assert namer.org_for("router.home", "192.168.1.1") == "Attic"  # over "home"
    assert namer.lookup("x.comcast.net", "203.0.113.9").source == "table"


def test_override_values_with_addresses_are_ignored() -> None:
    ov = Overrides({"a.net": "Router 192.0.2.1", "b.net": "Fine"})
    assert ov.lookup("x.a.net", None) is None
    assert ov.lookup("x.b.net", None) == "Fine"


ADDRESSES = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    addr=ADDRESSES,
    labels=st.lists(LABEL, min_size=0, max_size=3),
    tld=st.sampled_from(["net", "com", "example", "co.uk", "de", "1"]),
    embed=st.sampled_from(["dots", "dashes", "none"]),
)
def test_no_address_in_display_names(addr: str, labels: list[str], tld: str, embed: str) -> None:
    """Whatever the reverse name looks like, the org shown never contains an address."""
    parts = list(labels)
    if embed == "dots":
        parts.append(addr)
    elif embed == "dashes":
        parts.append(addr.replace(".", "-").replace(":", "-"))
    name = ".".join([*parts, tld]) if parts else None
    org = OrgNamer().org_for(name, addr)
    if org is not None:
        assert addr not in org
        assert addr.replace(".", "-").replace(":", "-") not in org
        assert not domains.looks_like_address(org), (name, org)


# --- RDAP against a loopback fake ------------------------------------------------------
RDAP_DOC = {
    "objectClassName": "ip network",
    "name": "EXAMPLE-TRANSIT-NET",
    "entities": [
        {"roles": ["abuse"], "vcardArray": ["vcard", [["fn", {}, "text", "Abuse Desk"]]]},
        {
            "roles": ["registrant"],
            "vcardArray": [
                "vcard",
                [["version", {}, "text", "4.0"], ["fn", {}, "text", "Example Transit Inc."]],
            ],
        },
    ],
}


class FakeRdap:
    def __init__(self) -> None:
        self.paths: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                fake.paths.append(self.path)
                if self.path == "/rdap/ip/198.51.100.7":
                    body = json.dumps(RDAP_DOC).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rdap+json")
                elif self.path == "/rdap/ip/198.51.100.8":
                    body = json.dumps({"name": "NET-ONLY-NAME"}).encode()
                    self.send_response(200)
                elif self.path == "/rdap/ip/198.51.100.9":
                    body = b"not json"
                    self.send_response(200)
                else:
                    body = b"{}"
                    self.send_response(404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/rdap"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rdap() -> Iterator[FakeRdap]:
    fake = FakeRdap()
    try:
        yield fake
    finally:
        fake.close()


def test_rdap_org_against_a_loopback_fake(rdap: FakeRdap) -> None:
    with requests.Session() as s:
        s.trust_env = False  # never a proxy: the fake is on loopback
        assert rdap_lookup.rdap_org("198.51.100.7", s, rdap.base) == "Example Transit Inc."
        assert rdap_lookup.rdap_org("198.51.100.8", s, rdap.base) == "NET-ONLY-NAME"
        assert rdap_lookup.rdap_org("198.51.100.9", s, rdap.base) is None  # bad JSON
        assert rdap_lookup.rdap_org("198.51.100.10", s, rdap.base) is None  # 404
        assert rdap_lookup.rdap_org("192.168.1.1", s, rdap.base) is None  # never sent
        assert rdap_lookup.rdap_org("not-an-ip", s, rdap.base) is None
    assert "/rdap/ip/192.168.1.1" not in rdap.paths


def test_rdap_is_off_by_default_and_only_fills_nameless_hops(rdap: FakeRdap) -> None:
    with requests.Session() as s:
        s.trust_env = False
        assert OrgNamer(session=s).org_for(None, "198.51.100.7") is None  # no base URL: off
        assert rdap.paths == []
        namer = OrgNamer(session=s, rdap_base_url=rdap.base)
        assert namer.org_for("x.comcast.net", "198.51.100.7") == "Comcast"  # table first
        assert rdap.paths == []
        m = namer.lookup(None, "198.51.100.7")
        assert (m.org, m.source) == ("Example Transit Inc.", "rdap")
        namer.org_for(None, "198.51.100.7")  # cached
        assert rdap.paths == ["/rdap/ip/198.51.100.7"]


# --- segments ---------------------------------------------------------------------------
def _hops(*rows: tuple[str | None, str | None]) -> list[Hop]:
    return [Hop(hop=i, address=a, name=n) for i, (a, n) in enumerate(rows, start=1)]


REFERENCE = _hops(
    ("192.168.1.1", "router.home"),
    ("198.18.0.2", "ae1.bras1.examplenet-isp.net"),
    ("198.18.1.2", "core1.examplenet-isp.net"),
    ("198.18.2.2", "peer1.transitco.example"),
    ("198.18.3.2", "edge1.videocdn.example"),
    ("203.0.113.2", "cache1.videocdn.example"),
)


def _segs(hops: list[Hop]) -> list[str]:
    return [h.segment.value for h in hops]


def test_classify_reference_path() -> None:
    out = classify_path(REFERENCE, "192.168.1.1", destination="203.0.113.2")
    assert _segs(out) == ["home_network", "isp", "isp", "interconnect", "server", "server"]
    assert [h.org for h in out] == [
        "home",
        "examplenet-isp.net",
        "examplenet-isp.net",
        "transitco.example",
        "videocdn.example",
        "videocdn.example",
    ]
    assert REFERENCE[0].segment is Segment.UNKNOWN  # inputs untouched


def test_classify_direct_peering_marks_the_first_cdn_hop_interconnect() -> None:
    hops = _hops(
        ("192.168.1.1", None),
        ("198.51.100.1", "a.verizon-gni.net"),
        ("198.51.100.2", "b.alter.net"),
        ("203.0.113.1", "x.nflxvideo.net"),
        ("203.0.113.2", "y.nflxvideo.net"),
        ("203.0.113.9", "ipv4-c1.nflxvideo.net"),
    )
    out = classify_path(hops, "192.168.1.1", destination="203.0.113.9")
    assert _segs(out) == ["home_network", "isp", "isp", "interconnect", "server", "server"]
    assert out[1].org == out[2].org == "Verizon" and out[3].org == "Netflix"


def test_classify_silent_and_unnamed_hops() -> None:
    hops = _hops(
        ("192.168.1.1", None),
        ("100.64.0.1", None),
        (None, None),
        ("198.51.100.1", "c1.examplenet-isp.net"),
        (None, None),
        ("198.51.100.9", "p.transitco.example"),
        (None, None),
        ("203.0.113.2", "cache1.videocdn.example"),
    )
    out = classify_path(hops, "192.168.1.1", destination="203.0.113.2")
    assert _segs(out) == [
        "home_network",
        "isp",
        "isp",
        "isp",
        "unknown",
        "interconnect",
        "unknown",
        "server",
    ]
    assert out[2].org is None and out[4].org is None


def test_classify_private_isp_hops_after_the_gateway_are_not_home() -> None:
    hops = _hops(
        ("192.168.1.1", None),
        ("10.20.0.1", None),
        ("198.51.100.1", "x.comcast.net"),
        ("203.0.113.2", "srv.videocdn.example"),
    )
    out = classify_path(hops, "192.168.1.1", destination="203.0.113.2")
    assert _segs(out) == ["home_network", "isp", "isp", "server"]
    assert out[1].org is None


def test_classify_public_gateway_of_a_known_isp_is_the_isp() -> None:
    hops = _hops(
        ("198.51.100.1", "cmts1.comcast.net"),
        ("198.51.100.5", "core.comcast.net"),
        ("203.0.113.2", "srv.videocdn.example"),
    )
    out = classify_path(hops, "198.51.100.1", destination="203.0.113.2")
    assert _segs(out) == ["isp", "isp", "server"]


def test_classify_silent_first_hop_with_private_gateway_is_home() -> None:
    hops = _hops((None, None), ("198.51.100.1", "x.comcast.net"), ("203.0.113.2", None))
    out = classify_path(
        hops, "192.168.1.1", destination="203.0.113.2", server_name="video.videocdn.example"
    )
    assert _segs(out) == ["home_network", "isp", "server"]
    assert out[2].org is None


def test_classify_silent_first_hop_with_cgnat_gateway_is_not_home() -> None:
    """One home rule (core's): carrier-grade NAT space is the ISP's, never home."""
    hops = _hops((None, None), ("198.51.100.1", "x.comcast.net"), ("203.0.113.2", None))
    out = classify_path(hops, "100.64.0.1", destination="203.0.113.2")
    assert _segs(out) == ["isp", "isp", "server"]
    assert naming.is_home_address is path_segments.is_home_address
    assert rdap_lookup.is_home_address is path_segments.is_home_address


def test_classify_without_any_names_places_only_the_access_hop() -> None:
    # the hop right after the home gateway is the ISP's access router whatever its name
    # (the viewer's access link is their ISP's); the next unnamed hop, between it and the
    # server, may be an interconnect: unknown
    hops = _hops(
        ("192.168.1.1", None), ("198.51.100.1", None), ("198.51.100.2", None), ("203.0.113.2", None)
    )
    out = classify_path(hops, "192.168.1.1", destination="203.0.113.2")
    assert _segs(out) == ["home_network", "isp", "unknown", "server"]


def test_classify_unreached_destination_uses_the_server_name() -> None:
    hops = _hops(
        ("192.168.1.1", None),
        ("198.51.100.1", "a.comcast.net"),
        ("198.51.100.7", "x.cogentco.com"),
        ("203.0.113.1", "e1.videocdn.example"),
        ("203.0.113.5", "e2.videocdn.example"),
    )
    out = classify_path(hops, "192.168.1.1", server_name="media.videocdn.example")
    assert _segs(out) == ["home_network", "isp", "interconnect", "server", "server"]


def test_display_org() -> None:
    assert naming.display_org(Hop(1, "192.168.1.1", org="home")) == "your home network"
    assert naming.display_org(Hop(2, None)) == "an unnamed network"
    assert naming.display_org(Hop(3, "198.51.100.1", org="Verizon")) == "Verizon"


def test_rdap_base_url_can_be_configured_globally(rdap: FakeRdap) -> None:
    assert rdap_lookup.rdap_base_url() is None  # off by default
    with requests.Session() as s:
        s.trust_env = False
        assert rdap_lookup.rdap_org("198.51.100.7", s) is None and rdap.paths == []
        rdap_lookup.set_rdap_base_url(rdap.base)
        try:
            assert rdap_lookup.rdap_org("198.51.100.7", s) == "Example Transit Inc."
            assert OrgNamer(session=s).org_for(None, "198.51.100.7") == "Example Transit Inc."
        finally:
            rdap_lookup.set_rdap_base_url(None)
    assert rdap_lookup.rdap_base_url() is None
