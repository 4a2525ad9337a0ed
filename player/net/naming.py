"""Hop name -> organisation, and hops -> network segments.

How a hop gets its organisation (first match wins; see :meth:`OrgNamer.lookup`):

1. the user's override mapping (``{"examplenet.net": "ExampleNet", "198.51.100.0/24":
   "My ISP"}``; IP prefixes by longest prefix, domains by longest suffix);
2. the bundled table ``assets/isp_names.json`` (schema below), matched on the hop's
   reverse-DNS name by longest domain suffix (``ae1.bras1.verizon-gni.net`` -> Verizon);
3. ``"home"`` for private (RFC 1918, link-local, IPv6 ULA/link-local) addresses;
4. the registered domain of the name (public suffix list, offline, ICANN section only)
   when it is not in the table (``core1.examplenet-isp.net`` -> ``examplenet-isp.net``);
5. an opt-in RDAP lookup for public hops without a usable name (disabled by default: it
   needs a configured RDAP base URL and a ``requests.Session``);
6. None.

Display names never contain an address: names, domains and RDAP answers that look like one
are dropped.

Table schema (``assets/isp_names.json``)::

    {
      "schema": "stallwatch-isp-names/1",
      "entries": [
        {"name": "Verizon",                      # display name shown to the user
         "kind": "isp",                          # isp | transit | cdn | content | cloud | ixp
         "country": "US",                        # ISO 3166 code of the home market, or "global"
         "domains": ["verizon-gni.net", "..."],  # registered domains (or deeper suffixes)
         "source": "..."}                        # short provenance of the domain list
      ]
    }

A domain may appear in one entry only.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from player import data
from player.core.model import Hop, Segment

log = logging.getLogger(__name__)

# --- constants ------------------------------------------------------------------------
TABLE_NAME = "isp_names.json"  # in player/data (package data)
TABLE_SCHEMA = "stallwatch-isp-names/1"
TABLE_KINDS = frozenset({"isp", "transit", "cdn", "content", "cloud", "ixp"})
HOME_ORG = "home"
MAX_DISPLAY_LEN = 64
RDAP_TIMEOUT_S = 3.0
RDAP_ACCEPT = "application/rdap+json, application/json;q=0.9"
RDAP_ROLE_PREFERENCE = ("registrant", "administrative", "technical", "abuse")
HOME_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
    )
)
_HOST_LABELS = re.compile(
    r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$"
)
_ADDRESS_LIKE = re.compile(
    r"(?<![0-9])\d{1,3}([.\-_])\d{1,3}\1\d{1,3}\1\d{1,3}(?![0-9])"  # 192.0.2.1, 192-0-2-1
    r"|[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}",  # IPv6-ish
    re.IGNORECASE,
)


# --- addresses and domains ------------------------------------------------------------
def is_home_address(address: str | None) -> bool:
    """True for addresses only a home/LAN uses: RFC 1918, link-local, IPv6 ULA/link-local.

    Carrier-grade NAT space (100.64.0.0/10) is the ISP's, not home.
    """
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in HOME_NETWORKS if net.version == ip.version)


def looks_like_address(text: str) -> bool:
    """Whether ``text`` contains something that reads as an IP address."""
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        pass
    if _ADDRESS_LIKE.search(text):
        return True
    for label in re.split(r"[.\s]+", text):
        if label.count("-") >= 2:  # an IPv6 address written with dashes: 2001-db8--1
            try:
                ipaddress.IPv6Address(label.replace("-", ":"))
                return True
            except ValueError:
                pass
    return False


def safe_display(text: str | None) -> str | None:
    """``text`` trimmed for display, or None if empty, too long or address-like."""
    if not text:
        return None
    t = " ".join(str(text).split())
    if not t or len(t) > MAX_DISPLAY_LEN or looks_like_address(t):
        return None
    return t


@functools.lru_cache(maxsize=1)
def _psl() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(only_icann=True)  # offline list bundled with the package


def registered_domain(name: str | None) -> str | None:
    """The registered domain ("public suffix + 1") of a host name, offline.

    Unknown top-level names (``.example``, ``.home``) count as a one-label suffix. Returns
    None for address literals, reverse-zone names and names without a registrable part.
    """
    if not name:
        return None
    n = name.strip().rstrip(".").lower()
    if not n or not _HOST_LABELS.match(n) or n.endswith(".arpa"):
        return None
    if n.rsplit(".", 1)[-1].isdigit():  # no top-level domain is numeric: a mangled address
        return None
    dom = _psl().privatesuffix(n)
    if not dom:
        return None
    return dom if safe_display(dom) else None


def _suffixes(name: str) -> list[str]:
    labels = name.strip().rstrip(".").lower().split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


# --- the bundled table ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrgEntry:
    name: str
    kind: str
    country: str
    domains: tuple[str, ...]
    source: str


class NameTable:
    """Domain -> organisation entries, matched by longest domain suffix."""

    def __init__(self, entries: Iterable[OrgEntry]) -> None:
        self.entries: list[OrgEntry] = list(entries)
        self._by_domain: dict[str, OrgEntry] = {}
        for e in self.entries:
            for d in e.domains:
                key = d.lower().strip(".")
                if key in self._by_domain:
                    raise ValueError(
                        f"domain {key} listed twice ({self._by_domain[key].name}, {e.name})"
                    )
                self._by_domain[key] = e

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NameTable:
        if data.get("schema") != TABLE_SCHEMA:
            raise ValueError(f"unknown name table schema {data.get('schema')!r}")
        entries = []
        for raw in data["entries"]:
            name = safe_display(raw["name"])
            if name is None:
                raise ValueError(f"bad display name {raw['name']!r}")
            kind = raw.get("kind", "isp")
            if kind not in TABLE_KINDS:
                raise ValueError(f"{name}: unknown kind {kind!r}")
            source = str(raw.get("source", "")).strip()
            if not source:
                raise ValueError(f"{name}: missing source")
            domains = tuple(str(d).lower().strip(".") for d in raw["domains"])
            if not domains:
                raise ValueError(f"{name}: no domains")
            entries.append(OrgEntry(name, kind, str(raw.get("country", "")), domains, source))
        return cls(entries)

    @classmethod
    def load(cls, path: Path | str | None = None) -> NameTable:
        """The table in ``path``, or the bundled one (package data) when None."""
        if path is None:
            return cls.from_dict(json.loads(data.read_text(TABLE_NAME)))
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    def domains(self) -> list[str]:
        return sorted(self._by_domain)

    def lookup(self, name: str | None) -> OrgEntry | None:
        """The entry whose domain is the longest suffix of ``name``."""
        if not name:
            return None
        for suffix in _suffixes(name):
            e = self._by_domain.get(suffix)
            if e is not None:
                return e
        return None


@functools.lru_cache(maxsize=1)
def default_table() -> NameTable:
    """The bundled table; an empty table (logged) if the asset is missing or broken."""
    try:
        return NameTable.load()
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ISP name table unavailable (%s): showing domains only", exc)
        return NameTable([])


# --- user overrides -------------------------------------------------------------------
class Overrides:
    """The user's mapping: keys are domains (suffix match) or IP prefixes (longest match)."""

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        self.prefixes: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = []
        self.domains: dict[str, str] = {}
        for key, value in (mapping or {}).items():
            display = safe_display(value)
            if display is None:
                log.warning("ignoring override %r -> %r: not a usable display name", key, value)
                continue
            try:
                net = ipaddress.ip_network(key.strip(), strict=False)
            except ValueError:
                self.domains[key.strip().strip(".").lower()] = display
            else:
                self.prefixes.append((net, display))
        self.prefixes.sort(key=lambda p: p[0].prefixlen, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.prefixes or self.domains)

    def lookup(self, name: str | None, address: str | None) -> str | None:
        if address and self.prefixes:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                ip = None
            if ip is not None:
                for net, display in self.prefixes:
                    if ip.version == net.version and ip in net:
                        return display
        if name and self.domains:
            for suffix in _suffixes(name):
                if suffix in self.domains:
                    return self.domains[suffix]
        return None


# --- RDAP (opt-in) --------------------------------------------------------------------
def _vcard_value(vcard: Any, field_name: str) -> str | None:
    try:
        props = vcard[1]
    except (IndexError, KeyError, TypeError):
        return None
    for prop in props:
        if isinstance(prop, list) and len(prop) >= 4 and prop[0] == field_name:
            value = prop[3]
            if isinstance(value, list):
                value = " ".join(str(v) for v in value if v)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _walk_entities(entities: Any) -> Iterable[dict]:
    for ent in entities or []:
        if isinstance(ent, dict):
            yield ent
            yield from _walk_entities(ent.get("entities"))


def parse_rdap_org(doc: Mapping[str, Any]) -> str | None:
    """Organisation name from an RDAP IP-network object (registrant first, else the
    network's name)."""
    entities = list(_walk_entities(doc.get("entities")))
    for role in RDAP_ROLE_PREFERENCE:
        for ent in entities:
            if role in (ent.get("roles") or []):
                v = ent.get("vcardArray")
                name = _vcard_value(v, "fn") or _vcard_value(v, "org")
                if safe_display(name):
                    return safe_display(name)
    return safe_display(doc.get("name"))


_rdap_base_url: str | None = None  # opt-in: None disables RDAP everywhere


def set_rdap_base_url(url: str | None) -> None:
    """Configure (or with None disable) the RDAP service used by :func:`rdap_org`."""
    global _rdap_base_url
    _rdap_base_url = url or None


def rdap_base_url() -> str | None:
    return _rdap_base_url


def rdap_org(
    ip: str, session: Any, base_url: str | None = None, timeout_s: float = RDAP_TIMEOUT_S
) -> str | None:
    """Ask the configured RDAP service who holds ``ip``; None on any failure or when off.

    ``base_url`` defaults to the one set with :func:`set_rdap_base_url` (none by default:
    RDAP is opt-in). ``session`` is a ``requests.Session`` owned by the caller.
    Home/loopback/multicast addresses are never sent.
    """
    base_url = base_url or _rdap_base_url
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if is_home_address(ip) or addr.is_loopback or addr.is_multicast or addr.is_unspecified:
        return None
    if not base_url:
        return None
    url = f"{base_url.rstrip('/')}/ip/{addr}"
    try:
        resp = session.get(url, timeout=timeout_s, headers={"Accept": RDAP_ACCEPT})
        if resp.status_code != 200:
            log.debug("RDAP %s -> HTTP %s", url, resp.status_code)
            return None
        doc = resp.json()
    except Exception as exc:  # noqa: BLE001 - network or JSON failure: no answer
        log.debug("RDAP lookup of %s failed: %s", ip, exc)
        return None
    return parse_rdap_org(doc) if isinstance(doc, dict) else None


# --- the namer ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrgMatch:
    org: str | None
    source: str  # override | table | home | domain | rdap | none


class OrgNamer:
    """Names the organisation behind a hop (see the module docstring for the order)."""

    def __init__(
        self,
        table: NameTable | None = None,
        overrides: Mapping[str, str] | Overrides | None = None,
        *,
        rdap_base_url: str | None = None,
        session: Any = None,
    ) -> None:
        self.table = table if table is not None else default_table()
        self.overrides = overrides if isinstance(overrides, Overrides) else Overrides(overrides)
        self.rdap_base_url = rdap_base_url
        self.session = session
        self._rdap_cache: dict[str, str | None] = {}
        self._lock = threading.Lock()

    @property
    def rdap_enabled(self) -> bool:
        return bool(self.rdap_base_url or _rdap_base_url) and self.session is not None

    def lookup(self, name: str | None, address: str | None) -> OrgMatch:
        o = self.overrides.lookup(name, address)
        if o:
            return OrgMatch(o, "override")
        entry = self.table.lookup(name)
        if entry is not None:
            return OrgMatch(entry.name, "table")
        if is_home_address(address):
            return OrgMatch(HOME_ORG, "home")
        dom = registered_domain(name)
        if dom:
            return OrgMatch(dom, "domain")
        if address and self.rdap_enabled:
            with self._lock:
                known = address in self._rdap_cache
                org = self._rdap_cache.get(address)
            if not known:
                org = rdap_org(address, self.session, self.rdap_base_url)
                with self._lock:
                    self._rdap_cache[address] = org
            if org:
                return OrgMatch(org, "rdap")
        return OrgMatch(None, "none")

    def org_for(self, name: str | None, address: str | None) -> str | None:
        return self.lookup(name, address).org


# --- segments -------------------------------------------------------------------------
def _norm(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def classify_path(
    hops: Sequence[Hop],
    default_gateway: str | None,
    *,
    namer: OrgNamer | None = None,
    server_name: str | None = None,
    destination: str | None = None,
) -> list[Hop]:
    """Return copies of ``hops`` with ``org`` and ``segment`` filled in.

    * home_network: the hops up to and including the default gateway (when the gateway is
      not among the hops: hop 1 if it is private, or silent while the gateway is private).
      A public gateway whose name maps to a known organisation (table/override) is that
      organisation's, not home: with a bridged modem the first router is the ISP's.
    * isp: hops whose org equals the ISP's (the first public org that is not the server's),
      plus unnamed hops between home and the ISP's last hop.
    * interconnect: the first hop outside the ISP's org (even if it belongs to the
      server's org: a queue on the peering link first shows at that hop), and any further
      transit hops before the server's network.
    * server: the server's org hops after that, and the destination itself (``destination``
      or, if not given, a last hop whose org is the server's).
    * unknown: silent/unnamed hops whose neighbours disagree.

    The server's org comes from the destination hop's name, else from ``server_name`` (the
    host name of the media URL).
    """
    namer = namer or OrgNamer()
    out = [replace(h) for h in sorted(hops, key=lambda h: h.hop)]
    if not out:
        return out
    gw = _norm(default_gateway)
    dest = _norm(destination)
    matches = [
        namer.lookup(h.name, h.address) if h.address else OrgMatch(None, "none") for h in out
    ]

    # 1. home extent
    home_end = -1
    gw_idx = next((i for i, h in enumerate(out) if gw and _norm(h.address) == gw), None)
    if gw_idx is not None:
        home_end = gw_idx
        if not is_home_address(gw) and matches[gw_idx].source in ("table", "override"):
            home_end = gw_idx - 1
    elif is_home_address(out[0].address) or (out[0].address is None and is_home_address(gw)):
        home_end = 0
    for i in range(home_end + 1):
        out[i].org = HOME_ORG if out[i].address else None
        out[i].segment = Segment.HOME_NETWORK

    rest = range(home_end + 1, len(out))
    # Private addresses past the gateway are the ISP's internal hops: no org of their own.
    orgs: list[str | None] = [None] * len(out)
    for i in rest:
        m = matches[i]
        orgs[i] = None if m.source == "home" else m.org
        out[i].org = orgs[i]

    # 2. server org
    dest_idx: int | None = None
    if dest is not None and _norm(out[-1].address) == dest:
        dest_idx = len(out) - 1
    server_org = orgs[dest_idx] if dest_idx is not None and dest_idx > home_end else None
    if server_org is None and server_name:
        server_org = namer.org_for(server_name, None)
    if (
        dest_idx is None
        and server_org is not None
        and orgs[-1] == server_org
        and len(out) - 1 > home_end
    ):
        dest_idx = len(out) - 1

    # 3. ISP org: first public org that is not the server's
    isp_org = next((orgs[i] for i in rest if orgs[i] and orgs[i] != server_org), None)
    if isp_org is not None:
        first_isp = next(i for i in rest if orgs[i] == isp_org)
        if any(orgs[i] == server_org and server_org for i in range(home_end + 1, first_isp)):
            isp_org = None  # the server's network comes first: no ISP org can be named

    # 4. segments of hops with a known org
    seg: list[Segment | None] = [None] * len(out)
    outside_seen = False
    for i in rest:
        o = orgs[i]
        if i == dest_idx:
            seg[i] = Segment.SERVER
            continue
        if o is None:
            continue
        if isp_org is not None and o == isp_org:
            seg[i] = Segment.ISP
        elif isp_org is None and not outside_seen and o != server_org:
            seg[i] = Segment.UNKNOWN
        elif not outside_seen:
            seg[i] = Segment.INTERCONNECT
            outside_seen = True
        elif o == server_org:
            seg[i] = Segment.SERVER
        else:
            seg[i] = Segment.INTERCONNECT
        if isp_org is not None and o != isp_org:
            outside_seen = True

    # 5. hops without an org: take the neighbours' segment when both sides agree
    for i in rest:
        if seg[i] is not None:
            continue
        prev = next((seg[j] for j in range(i - 1, home_end, -1) if seg[j] is not None), None)
        nxt = next((seg[j] for j in range(i + 1, len(out)) if seg[j] is not None), None)
        if prev is not None and prev == nxt:
            seg[i] = prev
        elif prev is None and isp_org is not None and nxt == Segment.ISP:
            seg[i] = Segment.ISP  # access hops before the first named ISP router
        elif prev == Segment.SERVER and nxt is None and dest_idx is None:
            seg[i] = Segment.SERVER
        else:
            seg[i] = Segment.UNKNOWN
    for i in rest:
        out[i].segment = seg[i] or Segment.UNKNOWN
    return out


def display_org(hop: Hop) -> str:
    """Human wording for a hop's organisation ("your home network", "Verizon", ...)."""
    if hop.org == HOME_ORG:
        return "your home network"
    return hop.org or "an unnamed network"
