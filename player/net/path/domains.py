"""Text checks for what a hop may be called: address-like text, display-safe names, and
the registered domain of a reverse-DNS name (public suffix list, offline)."""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any

MAX_DISPLAY_LEN = 64  # longer "names" are junk (or an attack on the layout): not shown
_HOST_LABELS = re.compile(
    r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$"
)
_ADDRESS_LIKE = re.compile(
    r"(?<![0-9])\d{1,3}([.\-_])\d{1,3}\1\d{1,3}\1\d{1,3}(?![0-9])"  # 192.0.2.1, 192-0-2-1
    r"|[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}",  # IPv6-ish
    re.IGNORECASE,
)


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


def suffixes(name: str) -> list[str]:
    labels = name.strip().rstrip(".").lower().split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]
