"""The one HLS / DASH sniffer: is this text or Content-Type a playlist or an MPD? (pure).

Used by the manifest parser (``#EXTM3U`` check), by the gateway when VLC first asks for
the entry URL, and by preflight. The text signature decides before the Content-Type:
a body that starts with ``#EXTM3U`` is HLS whatever the server calls it.
"""

from __future__ import annotations

import re
from typing import Literal

#: Content-Type fragments of HLS playlists (application/vnd.apple.mpegurl,
#: application/x-mpegurl, audio/mpegurl: every variant contains "mpegurl").
HLS_CONTENT_TYPES = ("mpegurl",)
#: Content-Type fragment of DASH manifests (application/dash+xml).
DASH_CONTENT_TYPES = ("dash+xml",)
#: How much of a body the DASH check looks at (an MPD names its root within the XML
#: prologue and comments; 4 KiB is what preflight reads anyway).
SNIFF_CHARS = 4096

ManifestKind = Literal["hls", "dash"]

_MPD_ROOT_RE = re.compile(
    r"(?:\s*(?:<\?[^>]*\?>|<!--.*?-->))*\s*<(?:[A-Za-z_][\w.-]*:)?MPD[\s>/]", re.DOTALL
)


def strip_bom(text: str) -> str:
    """``text`` without a leading byte-order mark and whitespace."""
    return text.lstrip("\ufeff").lstrip()


def is_hls_text(text: str) -> bool:
    """True when ``text`` starts like an HLS playlist."""
    return strip_bom(text).startswith("#EXTM3U")


def is_dash_text(text: str) -> bool:
    """True when ``text`` looks like a DASH MPD: an ``MPD`` root element (namespace prefix
    allowed) after an optional XML declaration, comments and processing instructions."""
    return _MPD_ROOT_RE.match(strip_bom(text)[:SNIFF_CHARS]) is not None


def is_master_text(text: str) -> bool:
    """True when an HLS text names variants (``EXT-X-STREAM-INF``)."""
    return "#EXT-X-STREAM-INF" in text


def is_hls_type(content_type: str | None) -> bool:
    """True when a Content-Type says HLS playlist."""
    ctype = (content_type or "").lower()
    return any(t in ctype for t in HLS_CONTENT_TYPES)


def is_dash_type(content_type: str | None) -> bool:
    """True when a Content-Type says DASH manifest."""
    ctype = (content_type or "").lower()
    return any(t in ctype for t in DASH_CONTENT_TYPES)


def manifest_kind(head: bytes | str, content_type: str | None) -> ManifestKind | None:
    """``"hls"`` / ``"dash"`` from the first bytes of a body and its Content-Type, else None.

    The text signature wins over the Content-Type; a Content-Type alone is enough when the
    text says neither (the caller may still find the text unusable).
    """
    text = head if isinstance(head, str) else head[:SNIFF_CHARS].decode("utf-8", "replace")
    if is_hls_text(text):
        return "hls"
    if is_dash_text(text):
        return "dash"
    if is_hls_type(content_type):
        return "hls"
    if is_dash_type(content_type):
        return "dash"
    return None
