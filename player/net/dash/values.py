"""Small MPD value parsers (pure): ISO durations, date-times, whole numbers, element
access, URL resolution and ``SegmentTemplate`` identifiers. Each raises
:class:`~player.net.dash.model.MpdError` with a message naming ``what`` was bad."""

from __future__ import annotations

import datetime as dt
import math
import re
from xml.etree.ElementTree import Element

from player.net.dash.model import MpdError
from player.net.url_policy import BadUrl, absolute_http_url

__all__ = [
    "MAX_DURATION_S",
    "absolute",
    "child",
    "children",
    "expand_template",
    "parse_datetime",
    "parse_duration",
    "parse_int",
    "parse_signed_int",
    "tag",
]

#: Longest duration accepted anywhere (seconds; a year): beyond it the text is nonsense.
MAX_DURATION_S = 365 * 24 * 3600.0

_DURATION_RE = re.compile(
    r"^(-)?P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
_TEMPLATE_RE = re.compile(
    r"\$(RepresentationID|Number|Bandwidth|Time|)(?:%0?(\d{1,2})([diuxXo]))?\$"
)
_INT_RE = re.compile(r"^\s*\d{1,18}\s*$")


def parse_duration(text: str | None, what: str) -> float | None:
    """ISO 8601 ``xs:duration`` (``PT1H2M3.5S``) in seconds; None when absent."""
    if text is None:
        return None
    m = _DURATION_RE.match(text.strip())
    if not m or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        raise MpdError(f"{what} is not a duration: {text[:40]!r}")
    if m.group(1):
        raise MpdError(f"{what} is negative: {text[:40]!r}")
    y, mo, d, h, mi, s = (float(g) if g else 0.0 for g in m.groups()[1:])
    seconds = ((y * 365 + mo * 30 + d) * 24 + h) * 3600 + mi * 60 + s
    if not math.isfinite(seconds) or seconds > MAX_DURATION_S:
        raise MpdError(f"{what} is out of range: {text[:40]!r}")
    return seconds


def parse_datetime(text: str | None, what: str) -> float | None:
    """``xs:dateTime`` in epoch seconds (no zone: UTC, as DASH-IF guidelines assume)."""
    if text is None:
        return None
    s = text.strip().replace("Z", "+00:00")
    try:
        t = dt.datetime.fromisoformat(s)
    except ValueError:
        raise MpdError(f"{what} is not a date and time: {text[:40]!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def parse_int(v: str | None, what: str, default: int | None = None, minimum: int = 0) -> int | None:
    if v is None:
        return default
    if not _INT_RE.match(v):
        raise MpdError(f"{what} is not a whole number: {v[:40]!r}")
    n = int(v)
    if n < minimum:
        raise MpdError(f"{what} must be at least {minimum}: {v[:40]!r}")
    return n


def parse_signed_int(v: str | None, what: str, default: int) -> int:
    if v is None:
        return default
    t = v.strip()
    neg = t.startswith("-")
    n = parse_int(t[1:] if neg else t, what)
    assert n is not None
    return -n if neg else n


def tag(e: Element) -> str:
    return e.tag.rsplit("}", 1)[-1] if isinstance(e.tag, str) else ""


def children(e: Element | None, name: str) -> list[Element]:
    return [c for c in e if tag(c) == name] if e is not None else []


def child(e: Element | None, name: str) -> Element | None:
    kids = children(e, name)
    return kids[0] if kids else None


def absolute(base: str, uri: str, what: str) -> str:
    """``uri`` resolved against ``base`` by the one rule for every manifest
    (:func:`player.net.url_policy.absolute_http_url`); MpdError unless http(s)."""
    try:
        return absolute_http_url(base, uri)
    except BadUrl as exc:
        raise MpdError(f"{what} has an {exc}" if exc.malformed else f"{what} {exc}") from None


def expand_template(template: str, rep_id: str, bandwidth: int, number: int, time_: int) -> str:
    """A ``SegmentTemplate`` URL with its ``$...$`` identifiers substituted."""
    values = {"RepresentationID": rep_id, "Number": number, "Bandwidth": bandwidth, "Time": time_}

    def sub(m: re.Match[str]) -> str:
        name, width, conv = m.group(1), m.group(2), m.group(3)
        if name == "":
            return "$"
        v = values[name]
        if name == "RepresentationID" or conv is None:
            return str(v)
        fmt = "%0" + (width or "1") + ("d" if conv in "iu" else conv)
        return fmt % int(v)

    if _TEMPLATE_RE.sub("", template).count("$"):
        raise MpdError(f"SegmentTemplate has an unknown identifier: {template[:80]!r}")
    return _TEMPLATE_RE.sub(sub, template)
