"""Segment addressing of one representation (pure): ``SegmentTemplate``,
``SegmentList`` and ``SegmentBase``, inherited Period -> AdaptationSet -> Representation,
turned into its segments at a wall-clock time (live) within the MPD's segment budget."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from player.net.dash.model import ByteRange, MpdError, SegmentRef
from player.net.dash.values import (
    absolute,
    child,
    children,
    expand_template,
    parse_int,
    parse_signed_int,
)

__all__ = ["MAX_SEGMENTS", "MAX_TOTAL_SEGMENTS", "Addressing", "Budget", "Ctx", "segments"]

#: Segments listed for one representation of one period (20 000 x 2 s = 11 hours):
#: also bounds ``r`` repeats and ``@duration`` arithmetic.
MAX_SEGMENTS = 20_000
#: Segments made for the whole MPD (all periods and representations expanded): the
#: per-representation and per-period caps multiply (100 x 100 x 20 000 = 200 million
#: segments from a few KB of text; one period of 100 representations took ~59 s CPU and
#: 521 MB). A segment costs ~33 us and ~0.5 KB to make (measured: 200 000 took 6.5 s and
#: ~100 MB), so 100 000 bounds one parse to ~3 s and ~50 MB while still holding eight
#: representations of a 7-hour VOD in 2 s segments, far beyond a real MPD's served sets.
#: Only the served sets (first video, first audio) are expanded at all; live lists are
#: windowed (parse.MAX_LIVE_WINDOW_S), so a live re-read makes far fewer.
MAX_TOTAL_SEGMENTS = 100_000


@dataclass(slots=True)
class Addressing:
    """The merged ``SegmentTemplate`` / ``SegmentList`` / ``SegmentBase`` of a representation."""

    kind: str | None = None  # "template" | "list" | "base"
    attrs: dict[str, str] | None = None
    timeline: Element | None = None
    init: Element | None = None
    urls: list[Element] | None = None

    def inherit(self, e: Element) -> None:
        for kind, name in (
            ("template", "SegmentTemplate"),
            ("list", "SegmentList"),
            ("base", "SegmentBase"),
        ):
            el = child(e, name)
            if el is None:
                continue
            if self.kind != kind:
                self.kind, self.attrs, self.timeline, self.init, self.urls = (
                    kind,
                    {},
                    None,
                    None,
                    None,
                )
            assert self.attrs is not None
            self.attrs.update(el.attrib)
            tl, init = child(el, "SegmentTimeline"), child(el, "Initialization")
            self.timeline = tl if tl is not None else self.timeline
            self.init = init if init is not None else self.init
            if kind == "list":
                self.urls = children(el, "SegmentURL") or self.urls
            return

    def copy(self) -> Addressing:
        return Addressing(
            self.kind,
            dict(self.attrs or {}),
            self.timeline,
            self.init,
            list(self.urls or []) or None,
        )


class Budget:
    """Segments still allowed for the whole MPD (:data:`MAX_TOTAL_SEGMENTS`)."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_TOTAL_SEGMENTS

    def take(self, n: int) -> None:
        """Account for ``n`` segments about to be made; MpdError beyond the budget."""
        if n > self.left:
            raise MpdError(f"MPD lists more than {MAX_TOTAL_SEGMENTS} segments in all")
        self.left -= n


@dataclass(slots=True)
class Ctx:
    """What a representation's segments depend on besides its own element."""

    mpd_live: bool
    period_start: float
    period_end: float | None  # media time where the period ends (None: open-ended live)
    now_rel: float | None  # live: seconds since availabilityStartTime
    window_s: float
    what: str
    budget: Budget


def timeline(
    tl: Element, end_t: int | None, ctx: Ctx, min_t: int | None = None
) -> Iterator[tuple[int, int, int]]:
    """``(position, t, d)`` of every segment of a ``SegmentTimeline``; with ``min_t``
    (live: the window's start) segments ending before it are skipped, not listed."""
    ss = children(tl, "S")
    t = 0
    pos = 0  # position in the whole timeline (numbering)
    count = 0  # segments listed
    for i, s in enumerate(ss):
        what = f"{ctx.what} SegmentTimeline S[{i}]"
        if s.get("t") is not None:
            t = parse_int(s.get("t"), what + "@t") or 0
        d = parse_int(s.get("d"), what + "@d", minimum=1)
        if d is None:
            raise MpdError(f"{what} has no @d")
        r = parse_signed_int(s.get("r"), what + "@r", 0)
        if r < -1:
            raise MpdError(f"{what} has an invalid @r {r}")
        if r == -1:
            nxt = ss[i + 1].get("t") if i + 1 < len(ss) else None
            stop = parse_int(nxt, what) if nxt is not None else end_t
            if stop is None:
                raise MpdError(f"{what} repeats without an end (r=-1 with no end)")
            r = max(0, math.ceil((stop - t) / d) - 1)
        if min_t is not None and t + d <= min_t:  # fast-forward to the window
            skip = min(r + 1, (min_t - t) // d)
            t, pos, r = t + skip * d, pos + skip, r - skip
            if r < 0:
                continue
        if r + 1 > MAX_SEGMENTS - count:
            raise MpdError(f"{ctx.what} lists more than {MAX_SEGMENTS} segments")
        ctx.budget.take(r + 1)
        for _ in range(r + 1):
            yield pos, t, d
            t += d
            pos += 1
            count += 1


def segments(
    add: Addressing, base: str, rep_id: str, bandwidth: int, ctx: Ctx
) -> tuple[SegmentRef | None, tuple[SegmentRef, ...], SegmentRef | None, int, int]:
    """(init, segments, index, timescale, presentationTimeOffset) of one representation."""
    a = add.attrs or {}
    w = ctx.what
    timescale = parse_int(a.get("timescale"), w + " @timescale", 1, minimum=1) or 1
    pto = parse_int(a.get("presentationTimeOffset"), w + " @presentationTimeOffset", 0) or 0
    start_number = parse_int(a.get("startNumber"), w + " @startNumber", 1) or 0
    end_number = parse_int(a.get("endNumber"), w + " @endNumber", None)
    dur = parse_int(a.get("duration"), w + " @duration", None, minimum=1)

    def media_time(t: int) -> float:
        return ctx.period_start + (t - pto) / timescale

    end_t = None
    if ctx.period_end is not None:
        end_t = pto + round((ctx.period_end - ctx.period_start) * timescale)
    if ctx.now_rel is not None:
        now_t = pto + math.floor((ctx.now_rel - ctx.period_start) * timescale)
        end_t = now_t if end_t is None else min(end_t, now_t)

    def available(t: int, d: int) -> bool:
        if ctx.now_rel is None:
            return True
        end = media_time(t + d)
        return end <= ctx.now_rel and end >= ctx.now_rel - ctx.window_s

    def timing() -> list[tuple[int, int, int]]:
        """``(number, t, d)`` of every listed segment."""
        out: list[tuple[int, int, int]] = []
        if add.timeline is not None:
            min_t = None
            if ctx.now_rel is not None:
                min_t = pto + math.floor(
                    (ctx.now_rel - ctx.window_s - ctx.period_start) * timescale
                )
            for k, t, d in timeline(add.timeline, end_t, ctx, min_t):
                if available(t, d):
                    out.append((start_number + k, t, d))
            return out
        if dur is None:
            return out
        if end_t is None:
            raise MpdError(f"{w} has segments but no period duration")
        count = max(0, math.ceil((end_t - pto) / dur - 1e-9))
        first = 0
        if ctx.now_rel is not None:  # live: only the window, never the whole history
            first = max(0, count - math.ceil(ctx.window_s * timescale / dur) - 1)
        if count - first > MAX_SEGMENTS:
            raise MpdError(f"{w} lists more than {MAX_SEGMENTS} segments")
        ctx.budget.take(count - first)
        for k in range(first, count):
            t = pto + k * dur
            if available(t, dur):
                out.append((start_number + k, t, dur))
        return out

    init = None
    if add.kind == "template":
        media = a.get("media")
        if not media:
            raise MpdError(f"{w} SegmentTemplate has no @media")
        init_t = a.get("initialization")
        if init_t:
            url = absolute(
                base, expand_template(init_t, rep_id, bandwidth, 0, 0), w + " initialization"
            )
            init = SegmentRef(-1, url, 0.0, 0.0)
        segs = []
        for number, t, d in timing():
            if end_number is not None and number > end_number:
                break
            url = absolute(
                base, expand_template(media, rep_id, bandwidth, number, t), w + " segment"
            )
            segs.append(SegmentRef(number, url, media_time(t), d / timescale))
        return init, tuple(segs), None, timescale, pto

    if add.init is not None:
        src = add.init.get("sourceURL")
        rng = add.init.get("range")
        url = absolute(base, src, w + " Initialization") if src else base
        init = SegmentRef(
            -1, url, 0.0, 0.0, ByteRange.parse(rng, w + " Initialization") if rng else None
        )

    if add.kind == "list":
        urls = add.urls or []
        if len(urls) > MAX_SEGMENTS:
            raise MpdError(f"{w} lists more than {MAX_SEGMENTS} segments")
        if add.timeline is None:  # a timeline is counted while it is walked
            ctx.budget.take(len(urls))
        times = (
            timing()
            if add.timeline is not None
            else [(start_number + k, pto + k * (dur or 0), dur or 0) for k in range(len(urls))]
        )
        if dur is None and add.timeline is None:
            raise MpdError(f"{w} SegmentList has neither @duration nor a SegmentTimeline")
        segs = []
        for (number, t, d), u in zip(times, urls, strict=False):
            src = u.get("media")
            rng = u.get("mediaRange")
            url = absolute(base, src, w + " SegmentURL") if src else base
            br = ByteRange.parse(rng, w + " SegmentURL") if rng else None
            segs.append(SegmentRef(number, url, media_time(t), d / timescale, br))
        return init, tuple(segs), None, timescale, pto

    if add.kind == "base" or add.kind is None:
        rng = a.get("indexRange")
        if not rng:
            raise MpdError(f"{w} has no segment information (no template, list or index range)")
        index = SegmentRef(-1, base, 0.0, 0.0, ByteRange.parse(rng, w + " @indexRange"))
        if init is None:  # the bytes before the index are the initialisation segment
            if index.byte_range is None or index.byte_range.start == 0:
                raise MpdError(f"{w} SegmentBase has no Initialization range")
            init = SegmentRef(-1, base, 0.0, 0.0, ByteRange(0, index.byte_range.start - 1))
        return init, (), index, timescale, pto
    raise MpdError(f"{w} has unknown segment addressing")
