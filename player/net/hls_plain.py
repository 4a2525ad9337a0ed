"""A fast reading of *plain* HLS media playlists, read exactly as the m3u8 library reads them.

Why: the m3u8 library is pure Python, ~45 us a segment, and turning its objects into ours
cost as much again: a 50 000-segment rendition took 3-5 s of CPU on a gateway thread
(rewriting one, ~5 s), a thread that hands the GIL to the GUI thread only once a switch
interval, so the window's event loop ran late all that time (issue 12: heartbeat lag p99 ~200 ms
while a 2 x 50 000-segment master loaded). This reads one in ~0.5 s of CPU on the same
loaded machine, pacing itself (:mod:`player.net.pacing`).

The plain subset is what VOD and live playlists are nearly always made of. Line by line,
split and stripped as the m3u8 library does (``text.strip().splitlines()``, each line
``strip()``-ed):

- a blank line; a line starting ``#EXTM3U``; ``#EXT-X-INDEPENDENT-SEGMENTS``
- ``#EXT-X-VERSION:n``, ``#EXT-X-TARGETDURATION:n``, ``#EXT-X-MEDIA-SEQUENCE:n``,
  ``#EXT-X-DISCONTINUITY-SEQUENCE:n`` (integers) and ``#EXT-X-PLAYLIST-TYPE:t``
- ``#EXT-X-ENDLIST`` and ``#EXT-X-DISCONTINUITY``
- ``#EXTINF:duration[,title]`` followed, later, by its URI line (a line not starting ``#``;
  one with no ``#EXTINF`` before it is ignored, as the m3u8 library ignores it)

:func:`scan_plain_media` returns None for anything else (another tag, a comment, a value
the m3u8 library would refuse, an ``#EXTINF`` left without a URI): the caller then reads
the text with the m3u8 library, so such a playlist reads, or fails, exactly as before.
tests/net/test_hls_plain.py checks both readings agree on generated playlists.

:func:`dump_plain_media` writes what the m3u8 library's ``dumps()`` wrote for such a
playlist (the rewritten text VLC gets). :class:`RefResolver` resolves segment references
as fast: a plain relative path (no
scheme, query, fragment, ``;``, empty or dot segments) resolves against the playlist's
URL exactly as :func:`~player.net.url_policy.absolute_http_url` does it, by one string
concatenation; any other reference goes through that function.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from m3u8.model import number_to_string

from player.net.pacing import Pacer
from player.net.url_policy import BadUrl, absolute_http_url

_INT_TAGS = {  # tag -> PlainMedia field, each read as the m3u8 library reads it: int()
    "#EXT-X-VERSION": "version",
    "#EXT-X-TARGETDURATION": "target_duration",
    "#EXT-X-MEDIA-SEQUENCE": "media_sequence",
    "#EXT-X-DISCONTINUITY-SEQUENCE": "discontinuity_sequence",
}
_EXTINF = "#EXTINF:"
# Characters of a plain reference (RFC 3986 unreserved, sub-delims but ";", "@", "%" and
# "/"): no scheme (":"), query, fragment, parameters or white space. is_plain_ref adds: no
# empty segment ("//", which also starts a network path) and no dot segment.
_PLAIN_CHARS = re.compile(r"[A-Za-z0-9_.~!$&'()*+,=@%/-]+")


# One segment as read: (duration as float() reads it, title, URI as written, discontinuity),
# neither checked nor resolved yet. A plain tuple, not a NamedTuple: the garbage collector
# stops tracking a tuple of strings and numbers, so 50 000 of them alive during a read do
# not add to the objects each full collection walks (a full pass holds the GIL too).
PlainSegment = tuple[float, str, str, bool]


@dataclass(slots=True)
class PlainMedia:
    """What the m3u8 library would have read from a plain media playlist."""

    segments: list[PlainSegment] = field(default_factory=list)
    media_sequence: int = 0
    target_duration: int | None = None
    version: int | None = None
    playlist_type: str | None = None  # lower-case, as the m3u8 library gives it
    discontinuity_sequence: int | None = None
    is_endlist: bool = False
    is_independent_segments: bool = False


def scan_plain_media(text: str, base_url: str) -> PlainMedia | None:
    """``text`` read as the m3u8 library reads it, or None when it is not plain (see the
    module doc) or the m3u8 library would raise on it (the caller reads it with that)."""
    try:
        urllib.parse.urljoin(base_url, ".")  # m3u8.loads does, and raises on a bad base
    except ValueError:
        return None
    out = PlainMedia()
    segments = out.segments
    pending: tuple[float, str] | None = None  # the #EXTINF waiting for its URI
    discontinuity = False
    pace = Pacer()  # a gateway thread: give the GIL away every few ms (player.net.pacing)
    for raw in text.strip().splitlines():
        pace()
        line = raw.strip()
        if not line:
            continue
        if line[0] != "#":
            if pending is not None:
                segments.append((pending[0], pending[1], line, discontinuity))
                pending, discontinuity = None, False
            continue
        if line.startswith(_EXTINF):
            body = line[len(_EXTINF) :]
            if _EXTINF in body:  # the m3u8 library removes every "#EXTINF:" of the line
                return None
            duration, _, title = body.partition(",")
            try:
                pending = (float(duration), title)
            except ValueError:
                return None
        elif line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line == "#EXT-X-ENDLIST":
            out.is_endlist = True
        elif line == "#EXT-X-INDEPENDENT-SEGMENTS":
            out.is_independent_segments = True
        elif line.startswith("#EXTM3U"):
            pass
        elif not _read_value_tag(line, out):
            return None
    if pending is not None:
        return None
    return out


def _read_value_tag(line: str, out: PlainMedia) -> bool:
    """``#EXT-X-NAME:value`` of the plain subset into ``out``; False for any other line."""
    tag, sep, value = line.partition(":")
    if not sep:
        return False
    value = value.strip().lower()  # as the m3u8 library's _parse_simple_parameter does
    if tag == "#EXT-X-PLAYLIST-TYPE":
        out.playlist_type = value
        return True
    name = _INT_TAGS.get(tag)
    if name is None:
        return False
    try:
        setattr(out, name, int(value))
    except ValueError:
        return False
    return True


def dump_plain_media(p: PlainMedia, uris: list[str]) -> str:
    """The text the m3u8 library's ``dumps()`` writes for ``p`` with its segments' URIs
    replaced by ``uris`` (for the rewritten playlist VLC gets)."""
    out = ["#EXTM3U"]
    if p.media_sequence:
        out.append(f"#EXT-X-MEDIA-SEQUENCE:{p.media_sequence}")
    if p.discontinuity_sequence:
        out.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{p.discontinuity_sequence}")
    if p.version:
        out.append(f"#EXT-X-VERSION:{p.version}")
    if p.is_independent_segments:
        out.append("#EXT-X-INDEPENDENT-SEGMENTS")
    if p.target_duration:
        out.append("#EXT-X-TARGETDURATION:" + number_to_string(p.target_duration))
    if p.playlist_type:
        out.append(f"#EXT-X-PLAYLIST-TYPE:{p.playlist_type.upper()}")
    written: dict[str, str] = {}  # str(duration) -> its text (number_to_string is slow)
    pace = Pacer()  # a gateway thread: give the GIL away every few ms (player.net.pacing)
    lines = []
    for (seconds, title, _, discontinuity), uri in zip(p.segments, uris, strict=True):
        pace()
        if not uri:  # as dumps(): a segment without a URI is left out, leaving its line
            lines.append("#EXT-X-DISCONTINUITY\n" if discontinuity else "")
            continue
        key = str(seconds)  # what number_to_string reads (-0.0 and 0.0 differ)
        duration = written.get(key)
        if duration is None:
            duration = written[key] = number_to_string(seconds)
        lines.append(
            ("#EXT-X-DISCONTINUITY\n" if discontinuity else "")
            + f"#EXTINF:{duration},{title}\n{uri}"
        )
    out.append("\n".join(lines))
    if p.is_endlist:
        out.append("#EXT-X-ENDLIST")
    if out[-1] and not out[-1].endswith("\n"):
        out.append("")
    return "\n".join(out)


class RefResolver:
    """``resolve(ref)``: :func:`absolute_http_url` ``(base_url, ref)``, fast for plain
    relative paths (see the module doc); raises :class:`BadUrl` as that function does."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        try:  # what a one-name reference resolves to, less the name: the base's directory
            self._dir: str | None = absolute_http_url(base_url, "a")[:-1]
            self._root: str | None = absolute_http_url(base_url, "/a")[:-2]
        except BadUrl:
            self._dir = self._root = None

    def __call__(self, ref: str) -> str:
        if self._dir is not None and self._root is not None and is_plain_ref(ref):
            return self._root + ref if ref[0] == "/" else self._dir + ref
        return absolute_http_url(self.base_url, ref)


def is_plain_ref(ref: str) -> bool:
    """A relative path that resolves by concatenation (see :class:`RefResolver`); a few
    plain ones (a name starting with ".") are refused too, and take the general way."""
    return (
        _PLAIN_CHARS.fullmatch(ref) is not None
        and "//" not in ref
        and "/." not in ref
        and ref[0] != "."
    )
