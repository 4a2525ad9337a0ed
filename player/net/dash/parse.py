"""MPD text -> :class:`~player.net.dash.model.Mpd` (pure, safe against hostile XML).

XML comes from the network, so it is parsed with ``defusedxml`` with DTDs forbidden
(no entity expansion: "billion laughs" and external entities are refused) and with
caps on size, element count, periods, representations and segments. Every URL is
resolved against the ``BaseURL`` chain (MPD -> Period -> AdaptationSet ->
Representation, each relative to the one above, the first relative to the MPD's own
URL) and must be http(s). Only the sets the gateway serves (the first video and the
first audio adaptation set of each period) have their segments listed, within a
whole-MPD budget (:data:`~player.net.dash.addressing.MAX_TOTAL_SEGMENTS`); the other
sets keep their representations' metadata only.

Segment addressing (:mod:`player.net.dash.addressing`; values in
:mod:`player.net.dash.values`): ``SegmentTemplate`` (``$Number$``, ``$Time$``,
``$RepresentationID$``, ``$Bandwidth$`` with ``%0Nd`` widths; ``@duration`` or a
``SegmentTimeline`` with ``S@t/@d/@r`` including ``r="-1"``), ``SegmentList``
(``SegmentURL@media/@mediaRange``) and ``SegmentBase`` (``@indexRange``: the
segments come from the ``sidx`` box, see :mod:`player.net.dash.sidx`). Addressing
elements inherit from Period to AdaptationSet to Representation, as the standard says.

Live (``type="dynamic"``): the segments listed are those available at ``now`` (epoch
seconds): ended by ``now - availabilityStartTime`` and, with ``timeShiftBufferDepth``,
no older than that window.
"""

from __future__ import annotations

import logging
import re
import time
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from player.core.wording import dash as wording
from player.net.dash.addressing import (
    MAX_SEGMENTS,
    MAX_TOTAL_SEGMENTS,
    Addressing,
    Budget,
    Ctx,
    segments,
)
from player.net.dash.model import AdaptationSet, Mpd, MpdError, Period, Representation
from player.net.dash.values import (
    absolute,
    child,
    children,
    expand_template,
    parse_datetime,
    parse_duration,
    parse_int,
    tag,
)

__all__ = [
    "MAX_ELEMENTS",
    "MAX_MPD_CHARS",
    "MAX_PERIODS",
    "MAX_REPRESENTATIONS",
    "MAX_SEGMENTS",
    "MAX_TOTAL_SEGMENTS",
    "expand_template",
    "load_mpd_tree",
    "parse_duration",
    "parse_mpd",
]

log = logging.getLogger(__name__)

#: Content types whose first adaptation set is served (and so has its segments listed).
SERVED_TYPES = ("video", "audio")

#: An MPD larger than this (characters) is refused: real ones are well under 1 MB.
MAX_MPD_CHARS = 4 * 1024 * 1024
#: XML elements in one MPD (a 2 h SegmentList of 2 s segments has ~4 000 per track).
MAX_ELEMENTS = 200_000
#: Periods in one MPD: real multi-period MPDs (ad insertion, chapters) have a few to a few
#: dozen; more is a hostile or broken text (each period is walked on every live re-read).
MAX_PERIODS = 100
#: Representations in one period (all adaptation sets).
MAX_REPRESENTATIONS = 100
#: Without ``timeShiftBufferDepth`` a live window of this many seconds is listed.
DEFAULT_LIVE_WINDOW_S = 120.0
#: The longest live window listed even when ``timeShiftBufferDepth`` is longer (s; 20 min):
#: VLC starts near the live edge and seeks back little; a day-long window would make every
#: live re-read (twice a second) expand tens of thousands of segments.
MAX_LIVE_WINDOW_S = 1200.0


def _base(parent: str, e: Element, what: str) -> str:
    """``parent`` resolved through ``e``'s first ``BaseURL`` (if any)."""
    b = child(e, "BaseURL")
    if b is None or not (b.text or "").strip():
        return parent
    return absolute(parent, b.text or "", f"{what} BaseURL")


def _content_type(aset: Element, reps: list[Element]) -> str:
    ct = (aset.get("contentType") or "").lower()
    if ct:
        return ct
    mime = (
        aset.get("mimeType")
        or next((r.get("mimeType") for r in reps if r.get("mimeType")), "")
        or ""
    )
    kind = mime.split("/", 1)[0].lower()
    if kind in ("video", "audio", "text"):
        return kind
    if mime.lower() == "application/mp4" or kind == "application":
        return "text"
    if any(r.get("width") for r in reps) or aset.get("width"):
        return "video"
    return kind or "other"


def _representation(
    r: Element, aset: Element, add: Addressing, base: str, ctx: Ctx, n: int, expand: bool
) -> Representation:
    """One representation; its segments only when ``expand`` (a set that is served)."""
    rep_id = r.get("id") or str(n)
    if not re.fullmatch(r"[^\s$/\\?#]{1,128}", rep_id):
        raise MpdError(f"{ctx.what} has an invalid Representation@id {rep_id[:40]!r}")
    what = f"{ctx.what} representation {rep_id!r}"
    bandwidth = parse_int(r.get("bandwidth"), what + " @bandwidth", 0) or 0
    rbase = _base(base, r, what)
    radd = add.copy()
    radd.inherit(r)
    c = Ctx(
        ctx.mpd_live, ctx.period_start, ctx.period_end, ctx.now_rel, ctx.window_s, what, ctx.budget
    )
    init, segs, index, ts, pto = None, (), None, 1, 0
    if expand:
        init, segs, index, ts, pto = segments(radd, rbase, rep_id, bandwidth, c)
    return Representation(
        id=rep_id,
        bandwidth=bandwidth,
        width=parse_int(r.get("width") or aset.get("width"), what + " @width", None),
        height=parse_int(r.get("height") or aset.get("height"), what + " @height", None),
        codecs=r.get("codecs") or aset.get("codecs"),
        mime_type=r.get("mimeType") or aset.get("mimeType"),
        init=init,
        segments=segs,
        index=index,
        timescale=ts,
        presentation_time_offset=pto,
    )


def _check_tree(root: Element) -> None:
    n = 0
    for _ in root.iter():
        n += 1
        if n > MAX_ELEMENTS:
            raise MpdError(f"MPD has more than {MAX_ELEMENTS} elements")


def load_mpd_tree(text: object) -> Element:
    if not isinstance(text, str):
        raise MpdError("MPD is not text")
    if len(text) > MAX_MPD_CHARS:
        raise MpdError(f"MPD is too large ({len(text)} characters)")
    if "\x00" in text:
        raise MpdError("MPD contains binary data")
    try:
        root = fromstring(text.lstrip("\ufeff").lstrip(), forbid_dtd=True)
    except DefusedXmlException as exc:
        raise MpdError(
            f"MPD refused: {type(exc).__name__} (DTDs and entities are not allowed)"
        ) from None
    except (ParseError, ValueError, SyntaxError) as exc:
        raise MpdError(f"malformed MPD: {exc}") from None
    if tag(root) != "MPD":
        raise MpdError(f"not a DASH MPD (root element {tag(root)[:40]!r})")
    _check_tree(root)
    return root


def parse_mpd(text: str, url: str, now: float | None = None) -> Mpd:
    """Parse an MPD fetched from ``url`` (its final URL); ``now``: epoch seconds (live)."""
    root = load_mpd_tree(text)
    try:
        return _mpd(root, url, time.time() if now is None else now)
    except MpdError:
        raise
    except RecursionError:
        raise MpdError("malformed MPD: nested too deeply") from None
    except Exception as exc:  # safety net: hostile input must never crash the gateway
        raise MpdError(f"malformed MPD: {type(exc).__name__}: {exc}") from None


def _mpd(root: Element, url: str, now: float) -> Mpd:
    absolute(url, url, "MPD")
    live = (root.get("type") or "static").strip() == "dynamic"
    total = parse_duration(root.get("mediaPresentationDuration"), "MPD@mediaPresentationDuration")
    ast = parse_datetime(root.get("availabilityStartTime"), "MPD@availabilityStartTime")
    if live and ast is None:
        raise MpdError("live MPD has no availabilityStartTime")
    tsb = parse_duration(root.get("timeShiftBufferDepth"), "MPD@timeShiftBufferDepth")
    mup = parse_duration(root.get("minimumUpdatePeriod"), "MPD@minimumUpdatePeriod")
    mbt = parse_duration(root.get("minBufferTime"), "MPD@minBufferTime")
    now_rel = (now - ast) if live and ast is not None else None
    window = min(tsb, MAX_LIVE_WINDOW_S) if tsb else DEFAULT_LIVE_WINDOW_S
    base = _base(url, root, "MPD")
    pels = children(root, "Period")
    if not pels:
        raise MpdError("MPD has no Period")
    if len(pels) > MAX_PERIODS:
        raise MpdError(f"MPD has more than {MAX_PERIODS} periods")
    starts: list[float] = []
    for i, p in enumerate(pels):
        s = parse_duration(p.get("start"), f"period {i} @start")
        if s is None:
            if i == 0:
                s = 0.0
            else:
                prev_d = parse_duration(pels[i - 1].get("duration"), f"period {i - 1} @duration")
                if prev_d is None:
                    raise MpdError(f"period {i} has no start and period {i - 1} no duration")
                s = starts[-1] + prev_d
        if starts and s < starts[-1]:
            raise MpdError(f"period {i} starts before period {i - 1}")
        starts.append(s)
    periods = []
    notes: list[str] = []
    budget = Budget()
    for i, p in enumerate(pels):
        what = f"period {i}"
        d = parse_duration(p.get("duration"), what + " @duration")
        if d is None:
            if i + 1 < len(starts):
                d = starts[i + 1] - starts[i]
            elif total is not None:
                d = max(0.0, total - starts[i])
        pend = None if d is None else starts[i] + d
        if live and now_rel is not None and starts[i] > now_rel:
            continue  # a period announced for the future
        pbase = _base(base, p, what)
        padd = Addressing()
        padd.inherit(p)
        sets = []
        nreps = 0
        served: set[str] = set()  # content types whose first usable set was expanded
        for j, a in enumerate(children(p, "AdaptationSet")):
            reps_el = children(a, "Representation")
            nreps += len(reps_el)
            if nreps > MAX_REPRESENTATIONS:
                raise MpdError(f"{what} has more than {MAX_REPRESENTATIONS} representations")
            abase = _base(pbase, a, f"{what} adaptation set {j}")
            aadd = padd.copy()
            aadd.inherit(a)
            actx = Ctx(live, starts[i], pend, now_rel, window, f"{what} adaptation set {j}", budget)
            kind = _content_type(a, reps_el)
            if child(a, "ContentProtection") is not None or any(
                child(r, "ContentProtection") is not None for r in reps_el
            ):
                log.info("DASH: %s adaptation set %d is encrypted: ignored", what, j)
                notes.append(wording.ENCRYPTED)
                continue
            # only the sets the gateway serves (Period.first: the first video and the first
            # audio set with representations) list segments; the others stay unexpanded
            expand = bool(reps_el) and kind in SERVED_TYPES and kind not in served
            if expand:
                served.add(kind)
            reps = tuple(
                _representation(r, a, aadd, abase, actx, n, expand) for n, r in enumerate(reps_el)
            )
            sets.append(AdaptationSet(kind, reps, a.get("lang"), a.get("id")))
        periods.append(Period(p.get("id"), starts[i], d, tuple(sets)))
    if not periods:
        raise MpdError("MPD has no period available now")
    return Mpd(
        url=url,
        is_live=live,
        duration_s=None
        if live
        else (
            total if total is not None else periods[-1].start_s + (periods[-1].duration_s or 0.0)
        ),
        periods=tuple(periods),
        min_update_s=mup,
        availability_start=ast,
        time_shift_s=tsb,
        min_buffer_s=mbt,
        notes=tuple(dict.fromkeys(notes)),
    )
