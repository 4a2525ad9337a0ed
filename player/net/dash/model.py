"""The typed DASH model: MPD -> periods -> adaptation sets -> representations -> segments."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AdaptationSet",
    "ByteRange",
    "Mpd",
    "MpdError",
    "Period",
    "Representation",
    "SegmentRef",
]


class MpdError(ValueError):
    """An MPD (or its segment index) that cannot be used; ``str(err)`` is for humans."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``start``..``end`` inclusive (as in an HTTP ``Range`` header)."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @classmethod
    def parse(cls, text: str, what: str) -> ByteRange:
        """``"N-M"`` (MPD ``range`` / ``mediaRange`` / ``indexRange``)."""
        a, sep, b = text.strip().partition("-")
        if not sep or not a.isdigit() or not b.isdigit() or len(a) > 15 or len(b) > 15:
            raise MpdError(f"{what} has an invalid byte range {text[:40]!r}")
        r = cls(int(a), int(b))
        if r.end < r.start:
            raise MpdError(f"{what} has an empty byte range {text[:40]!r}")
        return r


@dataclass(frozen=True, slots=True)
class SegmentRef:
    """One media segment (or the initialisation segment, with ``number`` -1)."""

    number: int  # DASH segment number ($Number$, or startNumber + position)
    url: str  # absolute http(s) URL
    start_s: float  # media time of its start (period start included)
    duration_s: float
    byte_range: ByteRange | None = None


@dataclass(frozen=True, slots=True)
class Representation:
    """One representation with its segments (or, for ``SegmentBase``, its index range)."""

    id: str
    bandwidth: int  # bits/s
    width: int | None = None
    height: int | None = None
    codecs: str | None = None
    mime_type: str | None = None
    init: SegmentRef | None = None
    segments: tuple[SegmentRef, ...] = ()
    index: SegmentRef | None = None  # SegmentBase: the sidx byte range still to be fetched
    timescale: int = 1
    presentation_time_offset: int = 0


@dataclass(frozen=True, slots=True)
class AdaptationSet:
    """Representations of one content type (``"video"``, ``"audio"``, ``"text"``, ...)."""

    content_type: str
    representations: tuple[Representation, ...]
    lang: str | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Period:
    id: str | None
    start_s: float
    duration_s: float | None
    adaptation_sets: tuple[AdaptationSet, ...]

    def first(self, content_type: str) -> AdaptationSet | None:
        """The first adaptation set of ``content_type`` that has representations."""
        return next(
            (
                a
                for a in self.adaptation_sets
                if a.content_type == content_type and a.representations
            ),
            None,
        )


@dataclass(frozen=True, slots=True)
class Mpd:
    url: str
    is_live: bool  # type="dynamic"
    duration_s: float | None  # mediaPresentationDuration (VOD)
    periods: tuple[Period, ...]
    min_update_s: float | None = None  # minimumUpdatePeriod (live: refresh this often)
    availability_start: float | None = None  # epoch seconds (live)
    time_shift_s: float | None = None  # timeShiftBufferDepth (live window)
    min_buffer_s: float | None = None
    notes: tuple[str, ...] = field(default=())  # things ignored while parsing
