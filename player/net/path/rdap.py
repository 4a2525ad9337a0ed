"""Opt-in RDAP lookups: who holds a public address, for hops without a usable name.

Off unless a base URL is configured (here globally, or per :class:`OrgNamer`) and the
caller passes a ``requests.Session`` it owns. Home, loopback and multicast addresses are
never sent.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from player.core.path_segments import is_home_address
from player.net.path.domains import safe_display

log = logging.getLogger(__name__)

RDAP_TIMEOUT_S = 3.0
RDAP_ACCEPT = "application/rdap+json, application/json;q=0.9"
RDAP_ROLE_PREFERENCE = ("registrant", "administrative", "technical", "abuse")


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
