"""The DASH side of one gateway session (:class:`DashState`): the MPD, its tracks (and
the previous ones, while a live re-read is being applied), the init segments' bytes
(bounded) and the refresh pacing; plus the leaf names of the audio group."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from player.net.dash import Mpd, SegmentRef
from player.net.gateway.dash_plan import Tracks

if TYPE_CHECKING:
    from player.net.gateway.dash_readahead import ReadAhead

__all__ = [
    "AUDIO_PLAYLIST",
    "DEFAULT_UPDATE_S",
    "MAX_INIT_CACHE_BYTES",
    "MIN_UPDATE_S",
    "PREFIX",
    "REEXPAND_S",
    "DashState",
    "audio_init_leaf",
    "audio_segment_leaf",
]

#: Leaf names under the entry URL's directory (``SID/open/...``) for the audio group. A
#: "~" never appears in an entry name (:func:`~player.net.gateway.routes.name_for`).
PREFIX = "dash~"
AUDIO_PLAYLIST = PREFIX + "a.m3u8"
#: Re-read a live MPD's segment list from its text at most this often (s): the list only
#: changes per segment (seconds), VLC may ask several times per second.
REEXPAND_S = 0.5
#: A live MPD without minimumUpdatePeriod is still re-fetched this often (s): the
#: template's list moves with the clock, and the text may change at a period boundary.
DEFAULT_UPDATE_S = 10.0
#: A live MPD is never re-fetched more often than this (s), whatever its
#: minimumUpdatePeriod says: ``PT0.001S`` would mean a fetch for every VLC request, and
#: segments (the unit a live list moves by) last seconds.
MIN_UPDATE_S = 1.0
#: Initialisation segments kept per session (bytes of bodies, oldest dropped first): a
#: few KiB each, so this holds thousands; it only bounds a hostile MPD's many inits.
MAX_INIT_CACHE_BYTES = 32 * 1024 * 1024


def audio_init_leaf(k: int) -> str:
    return f"{PREFIX}ai~{k}.mp4"


def audio_segment_leaf(seq: int) -> str:
    return f"{PREFIX}a~{seq}.mp4"


class DashState:
    """The DASH side of one session: the MPD, its tracks and the init segments' bytes.

    Written from the gateway's request threads (one lock). ``wall`` is epoch seconds
    (live availability), ``clock`` monotonic seconds (refresh pacing).
    """

    def __init__(
        self,
        mpd: Mpd,
        text: str,
        tracks: Tracks,
        clock: Callable[[], float],
    ) -> None:
        self.lock = threading.RLock()
        self.mpd, self.text, self.tracks = mpd, text, tracks
        # the tracks before the last live re-read: a request that saw the old playlist
        # (the plan is updated just after the tracks) still finds its segment here
        self.previous: Tracks | None = None
        self.clock = clock
        self.fetched_at = self.expanded_at = clock()
        self.reloading = threading.Lock()  # one live reload at a time
        self.inits: OrderedDict[tuple[str, int | None, int | None], bytes] = OrderedDict()
        self.init_bytes = 0  # sum of the kept bodies (MAX_INIT_CACHE_BYTES)
        self.audio_inits: list[SegmentRef] = []  # append-only: map URIs stay stable
        self.readahead: ReadAhead | None = None  # video read-ahead (set by DashServer)

    @property
    def is_live(self) -> bool:
        return self.mpd.is_live

    def update_due(self) -> bool:
        """A live MPD's text should be fetched again (minimumUpdatePeriod)."""
        period = self.mpd.min_update_s if self.mpd.min_update_s else DEFAULT_UPDATE_S
        period = max(period, MIN_UPDATE_S)
        return self.is_live and self.clock() - self.fetched_at >= period

    def fetch_attempted(self) -> None:
        with self.lock:
            self.fetched_at = self.clock()

    def reexpand_due(self) -> bool:
        return self.is_live and self.clock() - self.expanded_at >= REEXPAND_S

    def replace(self, mpd: Mpd, tracks: Tracks, text: str | None) -> None:
        with self.lock:
            if tracks is not self.tracks:
                self.previous = self.tracks
            self.mpd, self.tracks = mpd, tracks
            self.expanded_at = self.clock()
            if text is not None:
                self.text = text

    def video(self, rendition: int, seq: int) -> tuple[SegmentRef, SegmentRef | None] | None:
        with self.lock:
            for tracks in (self.tracks, self.previous):
                v = tracks.video if tracks is not None else []
                pair = v[rendition].segments.get(seq) if 0 <= rendition < len(v) else None
                if pair is not None:
                    return pair
            return None

    def audio(self, seq: int) -> tuple[SegmentRef, SegmentRef | None] | None:
        with self.lock:
            for tracks in (self.tracks, self.previous):
                a = tracks.audio if tracks is not None else None
                pair = a.segments.get(seq) if a is not None else None
                if pair is not None:
                    return pair
            return None

    def audio_init(self, k: int) -> SegmentRef | None:
        with self.lock:
            return self.audio_inits[k] if 0 <= k < len(self.audio_inits) else None

    def cached_init(self, ref: SegmentRef) -> bytes | None:
        with self.lock:
            key = _init_key(ref)
            body = self.inits.get(key)
            if body is not None:
                self.inits.move_to_end(key)  # recently used: dropped last
            return body

    def keep_init(self, ref: SegmentRef, body: bytes) -> None:
        """Keep ``body``, dropping the oldest kept ones beyond :data:`MAX_INIT_CACHE_BYTES`."""
        with self.lock:
            key = _init_key(ref)
            old = self.inits.pop(key, None)
            self.init_bytes -= len(old) if old is not None else 0
            if len(body) > MAX_INIT_CACHE_BYTES:
                return
            self.inits[key] = body
            self.init_bytes += len(body)
            while self.init_bytes > MAX_INIT_CACHE_BYTES:
                _k, dropped = self.inits.popitem(last=False)
                self.init_bytes -= len(dropped)

    def audio_playlist(self, leaf_url: Callable[[str], str]) -> str | None:
        """The audio media playlist (URIs from ``leaf_url(leaf)``); None without audio."""
        with self.lock:
            a = self.tracks.audio
            if a is None:
                return None
            mp = a.playlist
            target = max(
                1, math.ceil(max([mp.target_duration] + [s.duration for s in mp.segments]))
            )
            lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{target}"]
            lines.append(f"#EXT-X-MEDIA-SEQUENCE:{mp.media_sequence}")
            if not mp.is_live:
                lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
            current = None
            for s in mp.segments:
                init = a.segments[s.seq][1]
                if s.discontinuity:
                    lines.append("#EXT-X-DISCONTINUITY")
                if init is not None and init != current:
                    lines.append(
                        f'#EXT-X-MAP:URI="{leaf_url(audio_init_leaf(self._init_no(init)))}"'
                    )
                    current = init
                lines.append(f"#EXTINF:{s.duration:.6f},")
                lines.append(leaf_url(audio_segment_leaf(s.seq)))
            if not mp.is_live:
                lines.append("#EXT-X-ENDLIST")
            return "\n".join(lines) + "\n"

    def _init_no(self, init: SegmentRef) -> int:
        for i, r in enumerate(self.audio_inits):
            if r == init:
                return i
        self.audio_inits.append(init)
        return len(self.audio_inits) - 1


def _init_key(ref: SegmentRef) -> tuple[str, int | None, int | None]:
    br = ref.byte_range
    return (ref.url, br.start if br else None, br.end if br else None)
