"""A tiny ISO-BMFF box reader for the segment index (``sidx``) of ``SegmentBase`` DASH.

``sidx`` (ISO/IEC 14496-12 8.16.3): version, reference_ID, timescale,
earliest_presentation_time and first_offset (32 bits in version 0, 64 in version 1),
then ``reference_count`` references of (type:1 | size:31, subsegment_duration:32,
SAP flags:32). Byte offsets count from the first byte after the ``sidx`` box (the
anchor) plus ``first_offset``. Hierarchical indexes (references to other ``sidx``
boxes, type 1) are refused: rare, and they need more fetches.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from player.net.dash.model import ByteRange, MpdError, SegmentRef

__all__ = ["MAX_REFERENCES", "SidxError", "SidxReference", "parse_sidx", "segments_from_sidx"]

#: More references than this is not a real index (20 000 x 2 s = 11 hours).
MAX_REFERENCES = 20_000


class SidxError(MpdError):
    """A segment index that cannot be read."""


@dataclass(frozen=True, slots=True)
class SidxReference:
    offset: int  # absolute byte offset in the file
    size: int
    duration: int  # in the sidx timescale
    start: int  # presentation time, in the sidx timescale


@dataclass(frozen=True, slots=True)
class Sidx:
    timescale: int
    references: tuple[SidxReference, ...]


def _find_sidx(data: bytes) -> tuple[int, int]:
    """(offset, size) of the first top-level ``sidx`` box in ``data``."""
    i = 0
    while i + 8 <= len(data):
        size, typ = struct.unpack_from(">I4s", data, i)
        header = 8
        if size == 1:
            if i + 16 > len(data):
                break
            size = struct.unpack_from(">Q", data, i + 8)[0]
            header = 16
        elif size == 0:
            size = len(data) - i
        if size < header:
            raise SidxError(f"box at byte {i} has an invalid size {size}")
        if typ == b"sidx":
            return i, size
        i += size
    raise SidxError("no sidx box in the index range")


def parse_sidx(data: bytes, data_offset: int) -> Sidx:
    """The ``sidx`` box in ``data`` (which starts at byte ``data_offset`` of the file)."""
    box, size = _find_sidx(data)
    if box + size > len(data):
        raise SidxError("the sidx box is cut short")
    body = data[box : box + size]
    p = 16 if struct.unpack_from(">I", body, 0)[0] == 1 else 8
    try:
        version = body[p]
        p += 4  # version + flags
        _ref_id, timescale = struct.unpack_from(">II", body, p)
        p += 8
        if version == 0:
            earliest, first_offset = struct.unpack_from(">II", body, p)
            p += 8
        else:
            earliest, first_offset = struct.unpack_from(">QQ", body, p)
            p += 16
        _reserved, count = struct.unpack_from(">HH", body, p)
        p += 4
    except (struct.error, IndexError):
        raise SidxError("the sidx header is cut short") from None
    if timescale == 0:
        raise SidxError("the sidx timescale is 0")
    if count > MAX_REFERENCES:
        raise SidxError(f"the sidx lists {count} references")
    if p + 12 * count > len(body):
        raise SidxError("the sidx references are cut short")
    offset = data_offset + box + size + first_offset
    t = earliest
    refs = []
    for _ in range(count):
        word, duration, _sap = struct.unpack_from(">III", body, p)
        p += 12
        if word >> 31:
            raise SidxError("hierarchical segment indexes are not supported")
        ref_size = word & 0x7FFFFFFF
        if ref_size == 0:
            raise SidxError("a sidx reference has size 0")
        refs.append(SidxReference(offset, ref_size, duration, t))
        offset += ref_size
        t += duration
    return Sidx(timescale, tuple(refs))


def segments_from_sidx(
    data: bytes,
    index: ByteRange,
    url: str,
    period_start_s: float = 0.0,
    presentation_time_offset: int = 0,
) -> tuple[SegmentRef, ...]:
    """The media segments a fetched index range (``data`` = bytes ``index``) describes."""
    sidx = parse_sidx(data, index.start)
    out = []
    for n, r in enumerate(sidx.references):
        start = period_start_s + (r.start - presentation_time_offset) / sidx.timescale
        out.append(
            SegmentRef(
                number=n,
                url=url,
                start_s=start,
                duration_s=r.duration / sidx.timescale,
                byte_range=ByteRange(r.offset, r.offset + r.size - 1),
            )
        )
    return tuple(out)
