"""Redaction of what leaves the player (screenshot cards, exports, logs, window titles).

Pure: ``redact_text(text, home_names=...)`` hides IP addresses (IPv4, IPv6, and the dashed
forms inside host names such as ``192-0-2-7.isp.example``), home host names (the names of
hops in the home network, and any ``*.lan`` / ``*.home`` / ``*.local`` name), and URLs'
query strings and path tokens; ``redact_url(url)`` does the URL part for one URL, and
``redact_source(source)`` is what the history keeps of a source (its host and redacted URL,
or a local file's name).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

ADDRESS = "[address]"
HOME_HOST = "[home device]"
TOKEN = "…"
# A path segment of at least this many characters from the token alphabet, with both
# letters and digits mixed at random (or 24+ hex digits), is a token or a signature.
TOKEN_MIN_CHARS = 16
HEX_TOKEN_MIN_CHARS = 24
TOKEN_CLASS_CHANGES = 5  # ... and whose letters/digits/case change this often
HOME_SUFFIXES = (".lan", ".home", ".local", ".localdomain", ".home.arpa", ".internal")

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>\"']+")
_V4 = r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}"
_V4_RE = re.compile(rf"(?<![\w.]){_V4}(?::\d{{1,5}})?(?![\w.]*\d)")
_DASHED_V4 = re.compile(r"(?<![\d.])(?<!\d-)(?:\d{1,3}-){3}\d{1,3}(?!\d)(?=[.\w-]*\.[a-zA-Z])")
_V6_CANDIDATE = re.compile(r"\[?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%[\w.-]+)?\]?(?::\d{1,5})?")
_HOSTNAME = re.compile(r"(?<![\w.-])[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*")
_URL_PARTS = re.compile(
    r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://(?:[^/?#]*@)?"
    r"(?P<host>\[[^\]]*\]|[^:/?#]*)(?::(?P<port>\d{1,5}))?(?P<path>[^?#]*)"
)
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_\-=~%+]+$")
_NETLOC_END = re.compile(r"[/?#]")


def _is_v6(text: str) -> bool:
    core = text.strip("[]")
    if "]" in text:
        core = text[text.index("[") + 1 if "[" in text else 0 : text.index("]")]
    core = core.split("%")[0]
    try:
        return isinstance(ipaddress.ip_address(core), ipaddress.IPv6Address)
    except ValueError:
        return False


def _dashed_ok(m: re.Match[str]) -> str:
    parts = m.group(0).split("-")
    return ADDRESS if all(0 <= int(p) <= 255 for p in parts) else m.group(0)


def _class_changes(text: str) -> int:
    """How often the character class (lower / upper / digit) changes: random strings
    change class constantly, names a person chose (``big-buck-bunny-1080p``) rarely."""
    classes = ["d" if c.isdigit() else "u" if c.isupper() else "l" for c in text if c.isalnum()]
    return sum(1 for a, b in zip(classes, classes[1:], strict=False) if a != b)


def looks_like_token(segment: str) -> bool:
    """'a9f3c2e1b7d4...' or 'Zx81_kq93LmPq20aa': random-looking, not a name a person chose."""
    stem = segment.rsplit(".", 1)[0] if "." in segment[-6:] else segment
    if not _TOKEN_CHARS.match(stem):
        return False
    if len(stem) >= HEX_TOKEN_MIN_CHARS and re.fullmatch(r"[0-9a-fA-F-]+", stem):
        return True
    return len(stem) >= TOKEN_MIN_CHARS and _class_changes(stem) >= TOKEN_CLASS_CHANGES


def _is_home_name(name: str, home_names: Iterable[str]) -> bool:
    low = name.lower().rstrip(".")
    if low.endswith(HOME_SUFFIXES):
        return True
    return any(low == h.lower().rstrip(".") for h in home_names if h)


def redact_addresses(text: str) -> str:
    """IPv4/IPv6 literals (with ports, zones, brackets) and dashed IPv4 in host names."""
    text = _V6_CANDIDATE.sub(lambda m: ADDRESS if _is_v6(m.group(0)) else m.group(0), text)
    text = _V4_RE.sub(ADDRESS, text)
    return _DASHED_V4.sub(_dashed_ok, text)


def redact_url(url: str, *, home_names: Iterable[str] = ()) -> str:
    """Scheme, host and path without query, fragment, credentials or token-like segments;
    an address or home host name in place of the host is hidden too."""
    m = _URL_PARTS.match(url)
    if m is None:
        return redact_addresses(url.split("?")[0].split("#")[0])
    host, port = m.group("host"), m.group("port")
    if _is_home_name(host, home_names):
        host = HOME_HOST
    else:
        host = redact_addresses(host)
    netloc = host if port is None else f"{host}:{port}"
    segments = [TOKEN if looks_like_token(s) else redact_addresses(s) for s in m.group("path").split("/")]
    return f"{m.group('scheme')}://{netloc}{'/'.join(segments)}"


def redact_text(text: str, *, home_names: Iterable[str] = ()) -> str:
    """Any text: URLs (as :func:`redact_url`), then addresses, then home host names."""
    names = tuple(home_names)
    text = _URL.sub(lambda m: redact_url(m.group(0), home_names=names), text)
    text = redact_addresses(text)

    def host(m: re.Match[str]) -> str:
        word = m.group(0)
        return HOME_HOST if ("." in word or word in names) and _is_home_name(word, names) else word

    return _HOSTNAME.sub(host, text)


def url_host(url: str) -> str:
    """A URL's host name, lower-case, without credentials, port or IPv6 brackets ('' if it
    has none): ``https://u:p@CDN.example:8443/x`` gives ``cdn.example``."""
    if "://" not in url:
        return ""
    netloc = _NETLOC_END.split(url.split("://", 1)[1], maxsplit=1)[0]
    host = netloc.rpartition("@")[2]
    host = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
    return host.lower()


def redact_source(source: str) -> tuple[str, str]:
    """What the history keeps of a source, ``(host, redacted source)``:
    ``https://cdn.example/v/abc123...xyz/index.m3u8?sig=1`` becomes
    ``("cdn.example", "https://cdn.example/v/…/index.m3u8")`` (:func:`redact_url`); a local
    file ``("", "clip.mp4")``, by name only (the folder may carry the viewer's name)."""
    if "://" not in source or source.startswith("file://"):
        return "", source.removeprefix("file://").rstrip("/").rsplit("/", 1)[-1]
    return url_host(source), redact_url(source)
