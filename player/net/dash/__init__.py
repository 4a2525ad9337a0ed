"""MPEG-DASH manifests (pure): a typed model, a safe MPD parser and a ``sidx`` reader.

:func:`parse_mpd` turns MPD text into an :class:`Mpd` whose representations list their
segments (URL, optional byte range, media time) at a given wall-clock time (live
``type="dynamic"`` MPDs list the segments available then). ``SegmentBase``
representations name an index byte range instead; :func:`segments_from_sidx` turns the
fetched ``sidx`` box into segments; :func:`~player.net.dash.hosts.mpd_hosts` lists every
host an MPD can make a player fetch from (checked before VLC gets an MPD itself). Anything malformed or hostile raises
:class:`MpdError` with a message for humans; nothing else escapes.
"""

from player.net.dash.model import (
    AdaptationSet,
    ByteRange,
    Mpd,
    MpdError,
    Period,
    Representation,
    SegmentRef,
)
from player.net.dash.parse import parse_mpd
from player.net.dash.sidx import SidxError, SidxReference, parse_sidx, segments_from_sidx

__all__ = [
    "AdaptationSet",
    "ByteRange",
    "Mpd",
    "MpdError",
    "Period",
    "Representation",
    "SegmentRef",
    "SidxError",
    "SidxReference",
    "parse_mpd",
    "parse_sidx",
    "segments_from_sidx",
]
