"""Hop name -> organisation: overrides, the bundled table, home, domain, RDAP.

How a hop gets its organisation (first match wins; see :meth:`OrgNamer.lookup`):

1. the user's override mapping (``{"examplenet.net": "ExampleNet", "198.51.100.0/24":
   "My ISP"}``; IP prefixes by longest prefix, domains by longest suffix);
2. the bundled table ``player/data/isp_names.json`` (package data, schema below), matched on the hop's
   reverse-DNS name by longest domain suffix (``ae1.bras1.verizon-gni.net`` -> Verizon);
3. ``"home"`` for home addresses (:func:`player.core.path_segments.is_home_address`:
   RFC 1918, link-local, IPv6 ULA/link-local; not carrier-grade NAT);
4. the registered domain of the name (public suffix list, offline, ICANN section only)
   when it is not in the table (``core1.examplenet-isp.net`` -> ``examplenet-isp.net``);
5. an opt-in RDAP lookup for public hops without a usable name (disabled by default: it
   needs a configured RDAP base URL and a ``requests.Session``);
6. None.

Display names never contain an address: names, domains and RDAP answers that look like one
are dropped.

Table schema (``isp_names.json``)::

    {
      "schema": "stallwatch-isp-names/1",
      "entries": [
        {"name": "Verizon",                      # display name shown to the user
         "kind": "isp",                          # isp | transit | cdn | content | cloud | ixp | vpn
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
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from player import data
from player.core.model import Hop
from player.core.path_segments import HOME_ORG, is_home_address
from player.net.path import rdap
from player.net.path.domains import registered_domain, safe_display, suffixes

log = logging.getLogger(__name__)

TABLE_NAME = "isp_names.json"  # in player/data (package data)
TABLE_SCHEMA = "stallwatch-isp-names/1"
TABLE_KINDS = frozenset({"isp", "transit", "cdn", "content", "cloud", "ixp", "vpn"})


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
        for suffix in suffixes(name):
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
            for suffix in suffixes(name):
                if suffix in self.domains:
                    return self.domains[suffix]
        return None


# --- the namer ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrgMatch:
    org: str | None
    source: str  # override | table | home | domain | rdap | none
    kind: str | None = None  # the table entry's kind (isp, transit, ixp, ...); None otherwise


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
        return bool(self.rdap_base_url or rdap.rdap_base_url()) and self.session is not None

    def lookup(self, name: str | None, address: str | None) -> OrgMatch:
        o = self.overrides.lookup(name, address)
        if o:
            return OrgMatch(o, "override")
        entry = self.table.lookup(name)
        if entry is not None:
            return OrgMatch(entry.name, "table", entry.kind)
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
                org = rdap.rdap_org(address, self.session, self.rdap_base_url)
                with self._lock:
                    self._rdap_cache[address] = org
            if org:
                return OrgMatch(org, "rdap")
        return OrgMatch(None, "none")

    def org_for(self, name: str | None, address: str | None) -> str | None:
        return self.lookup(name, address).org


def display_org(hop: Hop) -> str:
    """Human wording for a hop's organisation ("your home network", "Verizon", ...)."""
    if hop.org == HOME_ORG:
        return "your home network"
    return hop.org or "an unnamed network"
