"""Hops -> network segments: the net side of :mod:`player.core.path_segments`.

The one classifier is core's :func:`~player.core.path_segments.classify_segments`; this
adapter does what needs the network's knowledge: the organisation of every hop (through
:class:`~player.net.path.naming.OrgNamer`: override, table, home, domain, RDAP), whether
that organisation is known (table or override), which hop is the destination, and the
server's organisation from the media host name. It hands core plain per-hop facts and writes
the result into copies of the hops (``org`` and ``segment``).

A private-address hop (RFC 1918: the namer says "home") whose reverse-DNS name is in the
registered domain of its neighbouring public hop is that network's router: many ISPs
number their internal links from 10/8 and name them in their own domain
(``bb1.fra.isp.example`` at 10.44.0.1 after ``bng1.isp.example`` at 100.64.0.1). The name
alone is not enough (it is whatever the viewer's resolver says): it must match the nearest
public named hop before it (or, with none before it, the nearest one after it), and never
the video server's domain (a data centre's or a company's internal hops stay unplaced, as
before). A home router's own name (``router.home``, ``fritz.box``) never makes it an ISP,
and a transit's name on a hop in front of the ISP's own routers is not taken. Where such
a hop sits is still decided by the one classifier (inside the home network it stays home).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from player.core.model import Hop
from player.core.path_segments import HopFacts, classify_segments, normalize_address
from player.net.path.domains import registered_domain
from player.net.path.naming import OrgMatch, OrgNamer

KNOWN_SOURCES = frozenset({"table", "override"})  # an org the viewer or the table vouches for


def classify_path(
    hops: Sequence[Hop],
    default_gateway: str | None,
    *,
    namer: OrgNamer | None = None,
    server_name: str | None = None,
    destination: str | None = None,
) -> list[Hop]:
    """Return copies of ``hops`` (in TTL order) with ``org`` and ``segment`` filled in.

    ``default_gateway`` is the client's gateway address; ``destination`` the server's
    address when it answered (the last hop is then the server); ``server_name`` the host
    name of the media URL, naming the server's organisation when the destination hop has
    none. The segment rules are :func:`player.core.path_segments.classify_segments`'.
    """
    namer = namer or OrgNamer()
    out = [replace(h) for h in sorted(hops, key=lambda h: h.hop)]
    if not out:
        return out
    dest = normalize_address(destination)
    last = len(out) - 1
    matches = [
        namer.lookup(h.name, h.address) if h.address else OrgMatch(None, "none") for h in out
    ]
    server_domains = {
        d for d in (registered_domain(server_name), registered_domain(out[last].name)) if d
    }
    matches = _corroborate_private_names(out, matches, server_domains)
    facts = []
    for i, (h, m) in enumerate(zip(out, matches, strict=True)):
        facts.append(
            HopFacts(
                h.hop,
                h.address,
                m.org,
                m.source in KNOWN_SOURCES,
                is_destination=i == last
                and dest is not None
                and normalize_address(h.address) == dest,
                org_kind=m.kind,  # a transit / IXP / VPN org is never the ISP
            )
        )
    server_org = namer.org_for(server_name, None) if server_name else None
    result = classify_segments(facts, server_org=server_org, gateway_address=default_gateway)
    for h, segment, org in zip(out, result.segments, result.orgs, strict=True):
        h.segment, h.org = segment, org
    return out


def _corroborate_private_names(
    hops: Sequence[Hop], matches: list[OrgMatch], server_domains: set[str]
) -> list[OrgMatch]:
    """A "home" match becomes its name's domain when the nearest public named hop before
    it (with none before it: after it) is named in that same domain, other than the
    server's (module doc); every other match is kept."""
    public = [m.org if m.source == "domain" else None for m in matches]
    out = []
    for i, (h, m) in enumerate(zip(hops, matches, strict=True)):
        dom = registered_domain(h.name) if m.source == "home" else None
        if dom is None or dom in server_domains:
            out.append(m)
            continue
        before = next((o for o in reversed(public[:i]) if o), None)
        after = next((o for o in public[i + 1 :] if o), None)
        out.append(OrgMatch(dom, "domain") if dom == (before or after) else m)
    return out
