"""Every URL an MPD makes a DASH player fetch (pure): for checking before VLC gets it.

When the gateway cannot serve a DASH stream itself it hands VLC the MPD and VLC fetches
the segments without the session's address policy (:mod:`player.net.url_policy`). So
before that, every URL the MPD can lead to is listed here: all ``BaseURL`` elements
(each relative to the chain above it), the ``SegmentTemplate`` / ``SegmentList`` /
``SegmentBase`` attributes naming objects, ``Location`` / ``PatchLocation`` (live
updates) and ``xlink:href`` (remote periods). A URL that is not http(s), or whose host
is made by a template (``$...$``), raises :class:`~player.net.dash.MpdError`.
"""

from __future__ import annotations

import urllib.parse
from xml.etree.ElementTree import Element

from player.net.dash.model import MpdError
from player.net.dash.parse import load_mpd_tree
from player.net.dash.values import absolute, children, tag

__all__ = ["MAX_HOSTS", "mpd_hosts", "mpd_urls"]

#: Distinct hosts accepted in one MPD handed to VLC (each is resolved and checked before
#: VLC gets the MPD): a real MPD names one or two (origin, CDN); more is refused.
MAX_HOSTS = 16
#: Distinct base URLs at one level of the BaseURL chain (alternatives multiply down the
#: chain; real MPDs give one or two per level).
MAX_BASES = 8
#: Attributes that name an object to fetch (relative to the element's BaseURL chain).
URL_ATTRS = ("media", "initialization", "index", "sourceURL")
#: Elements whose text is a URL to fetch (live MPD updates).
URL_ELEMENTS = ("Location", "PatchLocation")


def mpd_urls(text: str, url: str) -> list[str]:
    """The absolute URLs ``text`` (fetched from ``url``) may make a player fetch."""
    root = load_mpd_tree(text)
    out: list[str] = [absolute(url, url, "MPD")]
    _walk(root, [out[0]], out)
    return out


def mpd_hosts(text: str, url: str) -> list[str]:
    """The distinct hosts of :func:`mpd_urls`, lower-case, in order of appearance."""
    hosts: dict[str, None] = {}
    for u in mpd_urls(text, url):
        host = (urllib.parse.urlsplit(u).hostname or "").lower()
        if "$" in host or not host:
            raise MpdError(f"MPD has a URL whose host is not fixed: {u[:80]!r}")
        hosts[host] = None
        if len(hosts) > MAX_HOSTS:
            raise MpdError(f"MPD names more than {MAX_HOSTS} hosts")
    return list(hosts)


def _same_host(ref: str) -> bool:
    """A relative reference that keeps its base's scheme and host (a path, a query)."""
    ref = ref.strip()
    if ref.startswith("//"):
        return False
    head = ref.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return ":" not in head  # "http:..." / "file:..." name a scheme; "a/b" does not


def _add(bases: list[str], ref: str, what: str, out: list[str]) -> None:
    if _same_host(ref):
        for b in bases:  # the bases are listed already; only check the reference itself
            absolute(b, ref, what)
            break
        return
    out.extend(absolute(b, ref, what) for b in bases)


def _walk(e: Element, bases: list[str], out: list[str]) -> None:
    """Add ``e``'s URLs; ``bases``: the URLs relative ones resolve against (any may be used)."""
    own: dict[str, None] = {}
    for el in children(e, "BaseURL"):
        if (el.text or "").strip():
            for b in bases:
                own[absolute(b, el.text or "", f"{tag(e)} BaseURL")] = None
    if len(own) > MAX_BASES:
        raise MpdError(f"MPD has more than {MAX_BASES} base URLs at one level")
    out.extend(own)
    bases = list(own) or bases
    for k, v in e.attrib.items():
        name = k.rsplit("}", 1)[-1]
        if (name in URL_ATTRS or name == "href") and v.strip():
            _add(bases, v, f"{tag(e)} @{name}", out)
    for kid in e:
        name = tag(kid)
        if name == "BaseURL":
            continue
        if name in URL_ELEMENTS and (kid.text or "").strip():
            _add(bases, kid.text or "", name, out)
            continue
        _walk(kid, bases, out)
