"""Hops -> network segments: the net side of :mod:`player.core.path_segments`.

The one classifier is core's :func:`~player.core.path_segments.classify_segments`; this
adapter does what needs the network's knowledge: the organisation of every hop (through
:class:`~player.net.path.naming.OrgNamer`: override, table, home, domain, RDAP), whether
that organisation is known (table or override), which hop is the destination, and the
server's organisation from the media host name. It hands core plain per-hop facts and writes
the result into copies of the hops (``org`` and ``segment``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from player.core.model import Hop
from player.core.path_segments import HopFacts, classify_segments, normalize_address
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
    facts = []
    for i, h in enumerate(out):
        m = namer.lookup(h.name, h.address) if h.address else OrgMatch(None, "none")
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
