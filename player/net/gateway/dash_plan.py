"""DASH planning (pure): an MPD as the gateway's virtual HLS (the gateway chooses).

libVLC plays fMP4 HLS whose every segment follows an ``EXT-X-DISCONTINUITY`` and
carries its own initialisation segment: the mp4 demuxer restarts at each one, so the
gateway may serve any representation for any segment (measured with libVLC 3.0.24:
both resolutions decode without errors; without the discontinuity the decoder uses the
old SPS/PPS and paints garbage, and a DASH MPD with one "virtual" representation does
the same). The clock must come from a stream without those restarts: with the video
alone (or audio muxed into the video segments) libVLC resets its clock at every
discontinuity and plays too fast, dropping half the pictures, so an MPD without a
separate audio adaptation set is left to VLC's own DASH (:data:`NO_AUDIO`). So an MPD
becomes:

* video: one variant whose virtual media playlist (:func:`build_virtual_media` with
  ``self_init``) lists virtual segments; each :class:`Track` knows, for its rendition
  (a video representation of the first video adaptation set) and each virtual sequence
  number, the upstream segment (URL, byte range) and its initialisation segment
  (kept per session by :class:`~player.net.gateway.dash_state.DashState`);
* audio: the first audio adaptation set's highest-bandwidth representation as an
  ``EXT-X-MEDIA`` audio group with an ordinary media playlist (``EXT-X-MAP``) whose
  URIs are the gateway's (:mod:`player.net.gateway.dash_state` names them).

Virtual sequence numbers: VOD counts segments from 0 across periods (a new period
starts with a discontinuity anyway); live uses the DASH segment number of the last
period that has started.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from player.core.wording import dash as wording
from player.net.dash import Mpd, Period, Representation, SegmentRef, segments_from_sidx
from player.net.gateway.planner import aligned
from player.net.manifests import MediaPlaylist, MediaSegment, Variant

__all__ = [
    "MAX_INDEX_FETCHES",
    "NO_AUDIO",
    "DashUnsupported",
    "Track",
    "Tracks",
    "build_master",
    "build_tracks",
    "resolve_indexes",
]

#: ``sidx`` indexes fetched while setting up (VLC's first request waits for them, one
#: after another): one per representation of the served sets of every period; a real
#: MPD needs a few to a few dozen. Beyond this the stream is left to VLC's own DASH.
MAX_INDEX_FETCHES = 200


#: Segments whose file timestamps are this close (s) follow on (no discontinuity).
TIMESTAMP_SLACK_S = 0.1
log = logging.getLogger(__name__)

#: Why an MPD without a separate audio track is left to VLC: the per-segment demuxer
#: restarts then reset libVLC's clock (3.0.24 played 12 s in ~7.3 s, half the pictures
#: dropped); with audio in its own playlist the clock follows the audio and all is well.
NO_AUDIO = wording.NO_AUDIO


class DashUnsupported(Exception):
    """An MPD the gateway cannot serve virtually: ``str(e)`` says why in plain words (for
    the viewer, :mod:`player.core.wording.dash`), ``detail`` the technical reason (logs)."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.detail = detail or reason


@dataclass(frozen=True, slots=True)
class Track:
    """One served stream: per virtual seq, the upstream segment and its init segment."""

    segments: dict[int, tuple[SegmentRef, SegmentRef | None]]
    playlist: MediaPlaylist
    bandwidth: int


@dataclass(slots=True)
class Tracks:
    variants: list[Variant]
    video: list[Track]  # one per rendition (variant index)
    audio: Track | None
    codecs: str | None = None
    notes: list[str] = field(default_factory=list)


def _video_set(p: Period) -> tuple[Representation, ...]:
    a = p.first("video")
    return a.representations if a is not None else ()


def _audio_rep(p: Period) -> Representation | None:
    a = p.first("audio")
    if a is None:
        return None
    return max(a.representations, key=lambda r: r.bandwidth)


def _nearest(reps: tuple[Representation, ...], bandwidth: int) -> Representation:
    return min(reps, key=lambda r: abs(r.bandwidth - bandwidth))


def _periods(mpd: Mpd) -> tuple[Period, ...]:
    if mpd.is_live:
        return mpd.periods[-1:]
    return mpd.periods


def _track(
    parts: list[tuple[Period, Representation]],
    mpd: Mpd,
    bandwidth: int,
    seq0: list[int],
    by_number: bool,
) -> Track:
    """The segments of one rendition across ``parts`` (one representation per period)."""
    segs: dict[int, tuple[SegmentRef, SegmentRef | None]] = {}
    listed: list[MediaSegment] = []
    seq = 0
    raw_end: float | None = None  # the previous segment's end in the files' own timestamps
    init: SegmentRef | None = None
    for pi, (p, rep) in enumerate(parts):
        offset = rep.presentation_time_offset / rep.timescale - p.start_s  # media -> file time
        for k, s in enumerate(rep.segments):
            seq = s.number if by_number else seq0[pi] + k
            segs[seq] = (s, rep.init)
            br = s.byte_range
            # a new period is a discontinuity only where the decoder would notice: another
            # init segment, or timestamps that do not follow on (a needless one upsets
            # libVLC's clock: measured, see the module doc)
            jump = raw_end is not None and abs(s.start_s + offset - raw_end) > TIMESTAMP_SLACK_S
            disc = k == 0 and pi > 0 and (rep.init != init or jump)
            raw_end, init = s.start_s + offset + s.duration_s, rep.init
            listed.append(
                MediaSegment(
                    seq=seq,
                    uri=s.url,
                    duration=s.duration_s,
                    start_s=s.start_s,
                    discontinuity=disc,
                    byterange=f"{br.length}@{br.start}" if br else None,
                )
            )
    first = listed[0].seq if listed else 0
    mp = MediaPlaylist(
        url=mpd.url,
        segments=listed,
        media_sequence=first,
        target_duration=max([s.duration for s in listed], default=0.0),
        is_live=mpd.is_live,
        playlist_type=None if mpd.is_live else "VOD",
    )
    return Track(segs, mp, bandwidth)


def build_tracks(mpd: Mpd, by_number: bool | None = None) -> Tracks:
    """The video renditions and the audio track of ``mpd`` (its SegmentBase
    representations already resolved from their index); :class:`DashUnsupported` if not
    servable virtually. ``by_number``: virtual sequence numbers are the DASH segment
    numbers (default: for live MPDs; a live MPD that turns static keeps them)."""
    if by_number is None:
        by_number = mpd.is_live
    periods = [p for p in _periods(mpd) if _video_set(p)]
    if not periods:
        raise DashUnsupported(wording.NO_VIDEO, "the MPD has no video adaptation set")
    first = _video_set(periods[0])
    for p in periods:
        for r in _video_set(p):
            if r.index is not None and not r.segments:
                raise DashUnsupported(
                    wording.INDEX_FAILED, f"representation {r.id!r} index was not read"
                )
    seq0, n = [], 0
    for p in periods:
        seq0.append(n)
        n += len(_video_set(p)[0].segments)
    video = []
    for r0 in first:
        parts = [
            (p, r0 if p is periods[0] else _nearest(_video_set(p), r0.bandwidth)) for p in periods
        ]
        video.append(_track(parts, mpd, r0.bandwidth, seq0, by_number))
    reason = aligned([t.playlist for t in video], self_init=True)
    if reason:
        raise DashUnsupported(wording.NOT_ALIGNED, f"representations are not aligned: {reason}")
    if not video[0].playlist.segments and not mpd.is_live:
        raise DashUnsupported(wording.NO_SEGMENTS, "the MPD lists no video segments")
    audio = None
    aparts = [(p, a) for p in periods if (a := _audio_rep(p)) is not None]
    notes = list(mpd.notes)
    if aparts:
        if len(aparts) != len(periods):
            log.info("DASH: audio is missing in some periods")
            notes.append(wording.AUDIO_MISSING)
        else:
            audio = _track(aparts, mpd, aparts[0][1].bandwidth, _audio_seq0(aparts), by_number)
    if audio is None:
        raise DashUnsupported(NO_AUDIO, "no separate audio adaptation set")
    variants = [
        Variant(
            index=i,
            uri=f"{mpd.url}#{r.id}",
            bandwidth=r.bandwidth,
            resolution=(r.width, r.height) if r.width and r.height else None,
            codecs=r.codecs,
        )
        for i, r in enumerate(first)
    ]
    codecs = [first[0].codecs or ""] + ([aparts[0][1].codecs or ""] if audio else [])
    return Tracks(variants, video, audio, ",".join(c for c in codecs if c) or None, notes)


def _audio_seq0(parts: list[tuple[Period, Representation]]) -> list[int]:
    out, n = [], 0
    for _p, r in parts:
        out.append(n)
        n += len(r.segments)
    return out


def build_master(tracks: Tracks, index_uri: str, audio_uri: str | None) -> str:
    """The one-variant master VLC gets (with the audio group when there is audio)."""
    top = max(tracks.variants, key=lambda v: v.bandwidth).bandwidth or 1_000_000
    bw = top + (tracks.audio.bandwidth if tracks.audio else 0)
    lines = ["#EXTM3U", "#EXT-X-VERSION:7"]
    attrs = [f"BANDWIDTH={bw}"]
    if tracks.codecs and '"' not in tracks.codecs:
        attrs.append(f'CODECS="{tracks.codecs}"')
    if tracks.audio is not None and audio_uri:
        lines.append(
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,'
            f'URI="{audio_uri}"'
        )
        attrs.append('AUDIO="audio"')
    lines += [f"#EXT-X-STREAM-INF:{','.join(attrs)}", index_uri]
    return "\n".join(lines) + "\n"


def with_segments(rep: Representation, segments: tuple[SegmentRef, ...]) -> Representation:
    """``rep`` with the segments read from its index."""
    return dataclasses.replace(rep, segments=segments)


def resolve_indexes(mpd: Mpd, fetch: Callable[[SegmentRef], bytes | None]) -> Mpd:
    """``mpd`` with the SegmentBase representations of the sets served (first video, first
    audio) given their segments from the ``sidx`` that ``fetch(index_ref)`` returns.
    A failed fetch is :class:`DashUnsupported`; a bad index is :class:`~player.net.dash.MpdError`.
    More than :data:`MAX_INDEX_FETCHES` indexes is :class:`DashUnsupported` before any fetch."""
    needed = sum(
        1
        for p in mpd.periods
        for a in (p.first("video"), p.first("audio"))
        if a is not None
        for r in a.representations
        if r.index is not None and r.index.byte_range is not None and not r.segments
    )
    if needed > MAX_INDEX_FETCHES:
        raise DashUnsupported(
            wording.TOO_MANY_INDEXES,
            f"{needed} segment indexes to fetch (at most {MAX_INDEX_FETCHES})",
        )
    periods = []
    for p in mpd.periods:
        used = {id(a) for a in (p.first("video"), p.first("audio")) if a is not None}
        sets = []
        for a in p.adaptation_sets:
            if id(a) in used and any(r.index is not None for r in a.representations):
                reps = []
                for r in a.representations:
                    if r.index is not None and r.index.byte_range is not None and not r.segments:
                        data = fetch(r.index)
                        if data is None:
                            raise DashUnsupported(
                                wording.INDEX_FAILED,
                                f"the index of representation {r.id!r} could not be fetched",
                            )
                        segs = segments_from_sidx(
                            data,
                            r.index.byte_range,
                            r.index.url,
                            p.start_s,
                            r.presentation_time_offset,
                        )
                        r = with_segments(r, segs)
                    reps.append(r)
                a = dataclasses.replace(a, representations=tuple(reps))
            sets.append(a)
        periods.append(dataclasses.replace(p, adaptation_sets=tuple(sets)))
    return dataclasses.replace(mpd, periods=tuple(periods))
