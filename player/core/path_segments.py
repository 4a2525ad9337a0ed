"""The one path classifier: which network segment each hop on the path belongs to.

Both the path discovery (``player.net``: hops with addresses, names and the default
gateway) and the attribution (``player.core.attribution``: hops as evidence) classify with
:func:`classify_segments`; the organisation lookups stay with the caller, which hands in
plain per-hop facts (:class:`HopFacts`). The one "home address" test is
:func:`is_home_address`.

Which addresses are home (:data:`HOME_NETWORKS`)
------------------------------------------------
Only address space a home LAN uses and no ISP hands out as a router address on its own
behalf: RFC 1918 (10/8, 172.16/12, 192.168/16), IPv4 link-local (169.254/16), IPv6 unique
local (fc00::/7) and IPv6 link-local (fe80::/10).

* Carrier-grade NAT shared space (100.64.0.0/10, RFC 6598) is the ISP's by definition:
  it is never home, whatever its position on the path.
* Loopback is this computer, not a router between it and the server: not home.
* ``ipaddress``'s ``is_private`` is *not* used: it also covers loopback, documentation
  and benchmarking space (192.0.2/24, 198.51.100/24, 203.0.113/24, 198.18/15, which test
  networks use as public addresses), while 100.64/10 is neither private nor global there
  (so a rule built on it silently misses CGNAT whichever way it is meant).

Position decides as much as the address: the home network ends at the default gateway
(DESIGN.md, "home_network: between this computer and the home gateway"). Private hops
*after* the gateway are not automatically home: they are placed like unnamed hops (many
ISPs number their access network from RFC 1918).

Borders by network, not only by name (issue 8)
----------------------------------------------
* An organisation whose kind (the names table's ``kind``, :data:`NOT_ISP_KINDS`) says it is
  a transit provider, an exchange point, a VPN, a CDN, a content or a cloud network is never
  "the ISP", even when it is the first name past home; transit and IXP hops are the
  interconnect (the networks between the ISP and the video's network), a VPN endpoint's
  hop cannot be placed (the tunnel hides the route before it).
* A hop named in the ISP's domain *after* a hop of another network sits at the far end of
  a peering link (interconnect addresses are often numbered from one party's space): it is
  the peer's interface, the interconnect, not the ISP.
* Unnamed hops past the ISP's last named hop are never the ISP's: they stay ``unknown``
  unless both neighbours agree on another segment.
* The destination is the server even when it is the first hop (a one-hop or loopback
  path): it is never home.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from player.core.model import Segment

HOME_ORG = "home"  # Hop.org / HopEvidence.org value for the LAN
HOME_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",  # RFC 1918
        "172.16.0.0/12",  # RFC 1918
        "192.168.0.0/16",  # RFC 1918
        "169.254.0.0/16",  # IPv4 link-local (a LAN without DHCP)
        "fc00::/7",  # IPv6 unique local
        "fe80::/10",  # IPv6 link-local
    )
)
#: RFC 6598 shared space for carrier-grade NAT: the ISP's, never home (kept for reference
#: and tests; it is simply not in HOME_NETWORKS)
CGNAT_NETWORK = ipaddress.ip_network("100.64.0.0/10")
#: names-table kinds (player/data/isp_names.json) of organisations that are never the
#: viewer's ISP; an org of unknown kind (None: not in the table) or "isp" may be
NOT_ISP_KINDS = frozenset({"transit", "ixp", "vpn", "cdn", "content", "cloud"})
#: of those, the kinds that carry traffic between networks: their hops are the interconnect
BETWEEN_KINDS = frozenset({"transit", "ixp"})
#: a VPN endpoint: what lies before it is hidden in the tunnel, its hop cannot be placed
VPN_KIND = "vpn"


def is_home_address(address: str | None) -> bool:
    """True for addresses only a home/LAN uses (:data:`HOME_NETWORKS`); CGNAT is not."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in HOME_NETWORKS if net.version == ip.version)


def is_loopback_host(host: str | None) -> bool:
    """True for a loopback address literal or ``localhost``: this computer itself."""
    if not host:
        return False
    text = host.strip().strip("[]").lower()
    if text == "localhost" or text.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


def is_home_org(org: str | None) -> bool:
    """Whether an organisation name is the LAN's (:data:`HOME_ORG`)."""
    return org is not None and org.strip().lower() == HOME_ORG


def normalize_address(address: str | None) -> str | None:
    """The canonical text of an IP address (``2001:DB8::01`` -> ``2001:db8::1``), else None."""
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address.strip("[]")))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class HopFacts:
    """What the caller knows about one hop; nothing here needs a lookup or I/O."""

    hop: int  # TTL
    address: str | None = None  # None: silent (or not given, see ``answered``)
    org: str | None = None  # organisation name; None unknown; "home" the LAN
    org_known: bool = False  # org came from the bundled table or the user's override
    answered: bool | None = None  # None: derived from ``address``
    home_address: bool | None = None  # None: derived with is_home_address(address)
    is_gateway: bool = False  # the client's default gateway
    is_destination: bool = False  # the media server itself (normally the last hop)
    segment: Segment | None = None  # an explicit segment wins over the classification
    org_kind: str | None = None  # the names table's kind of ``org`` (None: not known)

    @property
    def has_answered(self) -> bool:
        return self.answered if self.answered is not None else self.address is not None

    @property
    def home(self) -> bool:
        """A home address, or an org that says "home"."""
        private = (
            self.home_address if self.home_address is not None else is_home_address(self.address)
        )
        return private or is_home_org(self.org)


@dataclass(frozen=True, slots=True)
class PathSegments:
    """The classification, aligned with the input hops."""

    segments: list[Segment]
    orgs: list[str | None]  # "home" on answering home hops; None for private hops past it
    isp_org: str | None
    server_org: str | None


def classify_segments(
    hops: Sequence[HopFacts],
    *,
    server_org: str | None = None,
    isp_org: str | None = None,
    gateway_address: str | None = None,
) -> PathSegments:
    """Segment and organisation of every hop, and the ISP's and the server's org names.

    * home_network: the hops up to and including the default gateway (a hop with
      ``is_gateway`` or whose address is ``gateway_address``). When the gateway is not
      among the hops: the first hop if its address is a home one (or its org is "home"),
      or if it is silent while ``gateway_address`` is a home address. A public gateway
      whose org is known (table/override) is that organisation's, not home: with a
      bridged modem the first router is the ISP's.
    * Past home, an org of "home" (a private address) counts as no org: the ISP's
      internal hops.
    * server's org: the destination hop's org, else ``server_org`` (the caller's name for
      the media host). Without a flagged destination, a last hop of the server's org is
      the destination.
    * isp: hops whose org is the ISP's, up to the first hop of another network:
      ``isp_org`` when given, else the first org past home that is not the server's and
      whose kind is not in :data:`NOT_ISP_KINDS` (none when the server's org comes first),
      plus unnamed hops between the home network and the ISP's hops. A hop of the ISP's
      org after a hop of another network is the peer's interface: interconnect.
    * the ISP's access router: when the home network was identified, the hop right after
      it (answering or silent) that has no org of its own and no explicit segment is the
      ISP's, even when no ISP can be named: the viewer's access link always belongs to
      their ISP. Only that hop: further unnamed hops are placed by their neighbours (the
      link past it may already be an interconnect; past the ISP's last named hop nothing
      is the ISP's by default).
    * interconnect: the first hop outside the ISP's org (even if it belongs to the
      server's org: a queue on the peering link first shows at that hop), any further
      transit hops before the server's network, and every hop of a transit or IXP kind.
      A hop of a VPN kind is unknown (the tunnel hides what lies before it).
    * server: the server's org hops after that, and the destination itself (also when
      it is the first hop: the destination is never home).
    * unknown: named hops when no ISP can be named and no boundary was seen, and
      silent/unnamed hops whose neighbours disagree.

    An explicit ``HopFacts.segment`` wins (it does not change its neighbours'). The
    result is aligned with ``hops`` (which need not be sorted: they are read in TTL order).
    """
    n = len(hops)
    order = sorted(range(n), key=lambda k: hops[k].hop)
    hs = [hops[k] for k in order]
    if not hs:
        return PathSegments([], [], isp_org, server_org)
    gw = normalize_address(gateway_address)

    # 1. home extent
    home_end = -1
    gw_idx = next(
        (
            i
            for i, h in enumerate(hs)
            if h.is_gateway or (gw is not None and normalize_address(h.address) == gw)
        ),
        None,
    )
    if gw_idx is not None:
        home_end = gw_idx
        if (not hs[gw_idx].home and hs[gw_idx].org_known) or hs[gw_idx].is_destination:
            home_end = gw_idx - 1
    elif (hs[0].home or (not hs[0].has_answered and is_home_address(gw))) and not (
        hs[0].is_destination
    ):
        home_end = 0  # the destination is the server, never home (a one-hop path)
    orgs: list[str | None] = [None] * n
    seg: list[Segment | None] = [None] * n
    for i in range(home_end + 1):
        orgs[i] = HOME_ORG if hs[i].has_answered else None
        seg[i] = Segment.HOME_NETWORK
    rest = range(home_end + 1, n)
    for i in rest:
        orgs[i] = None if is_home_org(hs[i].org) else hs[i].org

    # 2. the server's org and the destination
    dest_idx = next((i for i in range(n - 1, -1, -1) if hs[i].is_destination), None)
    srv = orgs[dest_idx] if dest_idx is not None and dest_idx > home_end else None
    if srv is None:
        srv = server_org
    if dest_idx is None and srv is not None and orgs[-1] == srv and n - 1 > home_end:
        dest_idx = n - 1

    # 3. the ISP's org: first org past home that is not the server's and whose kind does
    # not rule it out (a transit provider, an IXP, a VPN, a CDN/cloud is never the ISP)
    kinds = {orgs[i]: hs[i].org_kind for i in rest if orgs[i] and hs[i].org_kind}
    isp = isp_org
    if isp is None:
        isp = next(
            (
                orgs[i]
                for i in rest
                if orgs[i] and orgs[i] != srv and kinds.get(orgs[i]) not in NOT_ISP_KINDS
            ),
            None,
        )
        if isp is not None:
            first_isp = next(i for i in rest if orgs[i] == isp)
            if srv and any(orgs[i] == srv for i in range(home_end + 1, first_isp)):
                isp = None  # the server's network comes first: no ISP org can be named

    # 4. hops with an org
    outside_seen = False
    for i in rest:
        o = orgs[i]
        if i == dest_idx:
            seg[i] = Segment.SERVER
            continue
        if o is None:
            continue
        kind = kinds.get(o)
        if isp is not None and o == isp and not outside_seen:
            seg[i] = Segment.ISP
        elif isp is not None and o == isp:
            seg[i] = Segment.INTERCONNECT  # the ISP's name past another network: the peer's
        elif kind == VPN_KIND:
            seg[i] = Segment.UNKNOWN  # a tunnel's endpoint: the route before it is hidden
        elif kind in BETWEEN_KINDS and o != srv:
            seg[i] = Segment.INTERCONNECT
            outside_seen = True
        elif isp is None and not outside_seen and o != srv:
            seg[i] = Segment.UNKNOWN
        elif not outside_seen:
            seg[i] = Segment.INTERCONNECT
            outside_seen = True
        elif o == srv:
            seg[i] = Segment.SERVER
        else:
            seg[i] = Segment.INTERCONNECT
        if isp is not None and o != isp:
            outside_seen = True

    # 5. the viewer's access link: the first hop past an identified home network that has
    # no org of its own is the ISP's access router (the access link always belongs to the
    # viewer's ISP). Only that one hop: further unnamed hops are left to their neighbours.
    access = home_end + 1
    if (
        home_end >= 0
        and access < n
        and seg[access] is None
        and orgs[access] is None
        and hs[access].segment is None
    ):
        seg[access] = Segment.ISP

    # 6. hops without an org: the neighbours' segment when both sides agree
    for i in rest:
        if seg[i] is not None:
            continue
        prev = next((seg[j] for j in range(i - 1, home_end, -1) if seg[j] is not None), None)
        nxt = next((seg[j] for j in range(i + 1, n) if seg[j] is not None), None)
        if prev is not None and prev == nxt:
            seg[i] = prev
        elif prev is None and isp is not None and nxt is Segment.ISP:
            seg[i] = Segment.ISP  # access hops before the first named ISP router
        elif prev is Segment.SERVER and nxt is None and dest_idx is None:
            seg[i] = Segment.SERVER
        else:
            seg[i] = Segment.UNKNOWN

    segments: list[Segment] = [Segment.UNKNOWN] * n
    out_orgs: list[str | None] = [None] * n
    for i, k in enumerate(order):
        explicit = hs[i].segment
        segments[k] = explicit if explicit is not None else (seg[i] or Segment.UNKNOWN)
        out_orgs[k] = orgs[i]
    return PathSegments(segments, out_orgs, isp, srv)
