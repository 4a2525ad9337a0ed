"""HLS planning (pure): the virtual media playlist, which rendition serves a segment, substitutes.

Virtual mode (gateway-side ABR): when a master's renditions share segment timing
(:func:`aligned`), VLC gets a one-variant master (:func:`build_single_variant_master`)
whose media playlist lists *virtual* segments (:func:`build_virtual_media`). For each
virtual sequence number :meth:`HlsPlan.choose` picks the rendition (the pin, else the
chooser, else the current one) and :meth:`HlsPlan.candidates` lists the segment of that
rendition followed by the same segment of up to :data:`MAX_SUBSTITUTES` renditions
nearest in bandwidth, tried when it is missing. Live playlists are refreshed through a
``refresh(rendition)`` callback (the caller's I/O) when a segment is not listed yet.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

from player.net.gateway.model import Rendition, RenditionSwitched
from player.net.manifests import MasterPlaylist, MediaPlaylist, MediaSegment, Variant
from player.net.pacing import Pacer

__all__ = [
    "ALIGN_TOLERANCE_S",
    "MAX_SUBSTITUTES",
    "HlsPlan",
    "aligned",
    "build_single_variant_master",
    "build_virtual_media",
    "virtual_blocker",
]

log = logging.getLogger(__name__)

#: Renditions are "aligned" when their segment durations differ by at most this (s).
ALIGN_TOLERANCE_S = 0.25
#: Other renditions tried for a missing segment (virtual mode): the nearest in bandwidth
#: first; more would delay VLC further for a segment that is probably gone everywhere.
MAX_SUBSTITUTES = 2

#: ``refresh(rendition) -> its latest media playlist`` (None: keep the old one).
Refresh = Callable[[int], MediaPlaylist | None]
#: ``chooser(seq) -> rendition index`` (the session's ABR).
Chooser = Callable[[int], int]


def aligned(
    playlists: Sequence[MediaPlaylist],
    tolerance_s: float = ALIGN_TOLERANCE_S,
    *,
    self_init: bool = False,
) -> str | None:
    """None when all renditions share segment timing, else the reason they do not.

    ``self_init``: the virtual segments will carry their own initialisation segment and
    are fetched by the gateway (DASH, :mod:`player.net.gateway.dash_plan`), so byte
    ranges and initialisation sections are fine; only the timing must agree.

    Required for the virtual playlist: same media sequence numbers and durations, no
    byte ranges, no encryption keys, no per-rendition initialisation sections. (fMP4
    renditions cannot simply be served self-initialising as DASH is: with the audio in
    the same segments, libVLC 3.0.24 resets its clock at every ``EXT-X-DISCONTINUITY``
    and plays 12 s in ~7.5 s, half the pictures dropped; see gateway/dash_plan.py.)
    """
    if not playlists:
        return "no renditions"
    ref = playlists[0]
    pace = Pacer()  # a gateway thread: give the GIL away every few ms (player.net.pacing)
    for i, p in enumerate(playlists):
        if p.has_byteranges and not self_init:
            return f"rendition {i} uses byte ranges"
        if p.has_keys:
            return f"rendition {i} is encrypted"
        if p.init_uris and not self_init:
            return f"rendition {i} uses initialisation sections (fMP4)"
        if p.is_live != ref.is_live:
            return "renditions disagree on live/VOD"
        if not p.is_live:
            if len(p.segments) != len(ref.segments) or p.media_sequence != ref.media_sequence:
                return (
                    f"rendition {i} has {len(p.segments)} segments, rendition 0 {len(ref.segments)}"
                )
        common = {s.seq for s in p.segments} & {s.seq for s in ref.segments}
        if ref.segments and p.segments and not common:
            return f"rendition {i} shares no media sequence numbers with rendition 0"
        for seq in common:
            pace()
            a, b = p.segment(seq), ref.segment(seq)
            if a is None or b is None or abs(a.duration - b.duration) > tolerance_s:
                return f"rendition {i} segment {seq} has a different duration"
    return None


def build_virtual_media(
    ref: MediaPlaylist,
    seg_uri: Callable[[MediaSegment], str],
    version: int | None = 3,
    *,
    self_init: bool = False,
) -> str:
    """A media playlist with ``ref``'s timing whose segment URIs are ``seg_uri(segment)``.

    ``self_init``: every segment carries its own initialisation segment (fMP4 from any
    rendition), so each one follows an ``EXT-X-DISCONTINUITY`` and libVLC restarts its
    mp4 demuxer there (live: before every listed segment, and the discontinuity
    sequence is the media sequence, so that refreshes agree).
    """
    target = max(1, math.ceil(max([ref.target_duration] + [s.duration for s in ref.segments])))
    if self_init:
        version = max(version or 3, 6)
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{max(3, version or 3)}", f"#EXT-X-TARGETDURATION:{target}"]
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{ref.media_sequence}")
    every = self_init and ref.is_live
    if every:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{ref.media_sequence}")
    elif ref.discontinuity_sequence:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{ref.discontinuity_sequence}")
    if not ref.is_live:
        lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    pace = Pacer()  # a gateway thread: give the GIL away every few ms (player.net.pacing)
    for i, s in enumerate(ref.segments):
        pace()
        if s.discontinuity or every or (self_init and i > 0):
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{s.duration:.6f},")
        lines.append(seg_uri(s))
    if not ref.is_live:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def build_single_variant_master(variant: Variant | None, uri: str) -> str:
    """A master playlist with one variant pointing at ``uri`` (the virtual media playlist)."""
    bw = variant.bandwidth if variant and variant.bandwidth > 0 else 1_000_000
    attrs = [f"BANDWIDTH={bw}"]
    if variant and variant.codecs and '"' not in variant.codecs:
        attrs.append(f'CODECS="{variant.codecs}"')
    return "#EXTM3U\n#EXT-X-VERSION:3\n" + f"#EXT-X-STREAM-INF:{','.join(attrs)}\n{uri}\n"


def virtual_blocker(master: MasterPlaylist, virtual_enabled: bool = True) -> str:
    """Why the master's renditions cannot be served virtually before fetching them ("" if
    nothing in the master itself rules it out)."""
    if not virtual_enabled:
        return "gateway-side ABR disabled"
    if master.has_alternate_media:
        return "separate audio/subtitle renditions"
    if master.has_session_keys:
        return "encrypted"
    return ""


class HlsPlan:
    """The HLS state of one session: renditions, latest media playlists, current rendition.

    ``media`` keeps the latest media playlist per rendition index (``-1``: a media
    playlist opened directly). Written from the gateway's request threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.variants: list[Variant] = []
        self.media: dict[int, MediaPlaylist] = {}
        self.master_text: str | None = None  # what VLC gets for the entry URL (virtual mode)
        self.is_live = False
        self.current: int | None = None  # rendition of the last segment served
        self.dash: Any = None  # a DASH session's DashState (player.net.gateway.dash_state)

    # --- what the master and the media playlists said -----------------------------------
    def set_variants(self, variants: Sequence[Variant]) -> None:
        with self._lock:
            self.variants = list(variants)

    def renditions(self) -> list[Rendition]:
        return [
            Rendition(v.index, v.bandwidth, v.resolution, v.uri, v.codecs) for v in self.variants
        ]

    def bandwidth(self, rendition: int | None) -> int | None:
        """The rendition's declared bandwidth (bits/s; None when unknown or 0)."""
        if rendition is None or not 0 <= rendition < len(self.variants):
            return None
        return self.variants[rendition].bandwidth or None

    def update(self, rendition: int, mp: MediaPlaylist, *, live_from_it: bool = False) -> None:
        """``mp`` is now rendition ``rendition``'s media playlist (``live_from_it``: it also
        decides whether the session is live, as in rewrite mode)."""
        with self._lock:
            self.media[rendition] = mp
            if live_from_it:
                self.is_live = mp.is_live

    def go_virtual(
        self, playlists: Sequence[MediaPlaylist], index_uri: str, master_text: str | None = None
    ) -> str:
        """Virtual mode with these (aligned) media playlists, one per variant; returns the
        one-variant master VLC gets, naming ``index_uri`` (or ``master_text`` as given)."""
        with self._lock:
            for i, mp in enumerate(playlists):
                self.media[i] = mp
            self.is_live = playlists[0].is_live
            if master_text is None:
                top = max(self.variants, key=lambda v: v.bandwidth)
                master_text = build_single_variant_master(Variant(0, "", top.bandwidth), index_uri)
            self.master_text = master_text
            return self.master_text

    def duration_s(self) -> float | None:
        """VOD duration from the playlists (None while live or before any playlist)."""
        if self.media and not self.is_live:
            return next(iter(self.media.values())).duration_s
        return None

    # --- rendition choice -----------------------------------------------------------------
    def choose(self, seq: int, locked: int | None, chooser: Chooser | None) -> int:
        """The rendition for virtual segment ``seq``: the pin, else the chooser, else the
        current one (a failing chooser keeps the current one)."""
        n = len(self.variants)
        if locked is not None:
            return min(max(locked, 0), n - 1)
        current = self.current if self.current is not None else 0
        if chooser is None:
            return current
        try:
            idx = int(chooser(seq))
        except Exception:
            log.exception("rendition_chooser failed; keeping rendition %d", current)
            return current
        return min(max(idx, 0), n - 1)

    def order(self, chosen: int) -> list[int]:
        """``chosen``, then up to MAX_SUBSTITUTES other renditions nearest in bandwidth."""
        bw = self.variants[chosen].bandwidth
        others = sorted(
            (i for i in range(len(self.variants)) if i != chosen),
            key=lambda i: abs(self.variants[i].bandwidth - bw),
        )
        return [chosen] + others[:MAX_SUBSTITUTES]

    def served(self, seq: int, index: int) -> RenditionSwitched | None:
        """Segment ``seq`` is served from rendition ``index``; the switch, if it is one."""
        with self._lock:
            prev = self.current
            self.current = index
        if prev is not None and prev != index:
            return RenditionSwitched(seq, prev, index)
        return None

    # --- segments -------------------------------------------------------------------------
    def segment(self, rendition: int, seq: int, refresh: Refresh | None) -> MediaSegment | None:
        """Rendition ``rendition``'s segment ``seq``; a live playlist that does not list it
        yet is refreshed once."""
        mp = self.media.get(rendition)
        seg = mp.segment(seq) if mp else None
        if seg is None and self.is_live and refresh is not None:
            mp = refresh(rendition)
            seg = mp.segment(seq) if mp else None
        return seg

    def candidates(
        self, seq: int, chosen: int, refresh: Refresh | None = None
    ) -> list[tuple[int, MediaSegment]]:
        """``(rendition, segment)`` to try for virtual segment ``seq``, chosen one first."""
        out: list[tuple[int, MediaSegment]] = []
        for r in self.order(chosen):
            seg = self.segment(r, seq, refresh)
            if seg is not None:
                out.append((r, seg))
        return out

    def index_playlist(
        self, locked: int | None, chooser: Chooser | None, refresh: Refresh | None = None
    ) -> MediaPlaylist | None:
        """The media playlist whose timing the virtual playlist shows: the current
        rendition's (refreshed when live), else rendition 0's."""
        rendition = self.current if self.current is not None else self.choose(-1, locked, chooser)
        if self.is_live and refresh is not None:
            mp = refresh(rendition)
        else:
            mp = self.media.get(rendition)
        return mp or self.media.get(0)
