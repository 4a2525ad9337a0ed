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
_V6_CANDIDATE = re.compile(
    r"\[?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%[\w.-]+)?\]?(?::\d{1,5})?"
)
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
    segments = [
        TOKEN if looks_like_token(s) else redact_addresses(s) for s in m.group("path").split("/")
    ]
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


# --- what the player itself keeps and logs of a URL -------------------------------------
#: Query parameters that carry credentials or signatures. A name is secret when, lower-case
#: and with its punctuation removed, it *contains* one of SECRET_PARAM_PARTS (so
#: ``__token__`` (Akamai), ``X-Amz-Signature``, ``hdnts``, ``Key-Pair-Id``, ``auth_key``,
#: ``sessionid``, ``Expires`` all are), or is one of the short names SECRET_PARAM_NAMES
#: (too short to match by substring without hiding harmless names). Hiding a harmless
#: parameter costs nothing; keeping a signature leaks it, so the match is deliberately wide.
SECRET_PARAM_PARTS = (
    "token", "sig", "auth", "hmac", "key", "secret", "pass", "pwd", "cred", "sess",
    "expire", "policy", "hash", "jwt", "hdn", "acl", "nonce", "ticket", "otp",
)  # fmt: skip
SECRET_PARAM_NAMES = frozenset({"st", "e", "s", "t", "sid", "exp", "h", "k", "p", "pw"})
SECRET_PARAM_PREFIXES = ("x-amz-", "x-goog-")
_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#\s@]*@")


def without_credentials(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it removed."""
    return _USERINFO.sub(r"\1", text)


def _unquote(text: str) -> str:
    """Query-string decoding (``+`` and ``%XX``), without urllib (core stays pure)."""
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text.replace("+", " "))


def _secret_param(name: str, value: str) -> bool:
    low = _unquote(name).lower()
    squeezed = re.sub(r"[^a-z0-9]", "", low)
    return (
        squeezed in SECRET_PARAM_NAMES
        or any(part in squeezed for part in SECRET_PARAM_PARTS)
        or low.startswith(SECRET_PARAM_PREFIXES)
        or looks_like_token(_unquote(value))
    )


def safe_url(url: str, *, keep_query: bool = False) -> str:
    """What the player keeps of a URL it was given (recent list, logs): no credentials,
    no fragment, token-like path segments as ``…``, and either no query at all or
    (``keep_query``) only its parameters that are not credentials or signatures.
    Addresses and host names stay (this is the viewer's own record, not a screenshot).
    Anything that is not a URL (a local path) is returned unchanged."""
    if "://" not in url:
        return url
    url = without_credentials(url.strip())
    m = _URL_PARTS.match(url)
    if m is None:
        return url.split("?")[0].split("#")[0]
    port = m.group("port")
    netloc = m.group("host") if port is None else f"{m.group('host')}:{port}"
    path = "/".join(TOKEN if looks_like_token(s) else s for s in m.group("path").split("/"))
    out = f"{m.group('scheme')}://{netloc}{path}"
    rest = url[m.end() :]
    if keep_query and rest.startswith("?"):
        pairs = [p for p in rest[1:].split("#", 1)[0].split("&") if p]
        kept = [p for p in pairs if not _secret_param(*(p.split("=", 1) + [""])[:2])]
        if kept:
            out += "?" + "&".join(kept)
    return out


def loggable(url: str) -> str:
    """A URL for a log line: :func:`safe_url` without any query."""
    return safe_url(url)


def redact_urls_in_text(text: str) -> str:
    """``text`` (a whole log line, a traceback) with every URL in it made :func:`loggable`:
    the one log policy, for lines whose URLs were not passed through ``loggable`` already
    (an exception's message quoting a URL, a library's own log line)."""
    return _URL.sub(lambda m: loggable(m.group(0)), text) if "://" in text else text
