"""Audio and subtitle tracks of the playing media, as libVLC lists them.

libVLC describes the tracks of the current input (embedded ones, external subtitle files
added as slaves, and the audio/subtitle renditions an HLS or DASH stream exposes) as
``(id, name)`` pairs, with id -1 for "Disable". This module wraps that description and the
selection calls of a ``vlc.MediaPlayer`` handed in by :mod:`player.playback.vlc`; it does
not import ``vlc`` itself (that module stays the only one). Owner thread only: never call
it from a libVLC callback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

OFF = -1  # libVLC's track id for "no track" (its "Disable" entry)


@dataclass(frozen=True, slots=True)
class Track:
    """One selectable track: libVLC's id and the name it gives (from the media: plain text)."""

    id: int
    name: str


def _decode(name: Any) -> str:
    if isinstance(name, bytes):
        return name.decode("utf-8", "replace")
    return str(name or "")


def _tracks(description: Sequence | None) -> list[Track]:
    """libVLC's description without its "Disable" entry."""
    out = []
    for item in description or ():
        try:
            tid, name = int(item[0]), _decode(item[1])
        except (TypeError, ValueError, IndexError):  # defensive: an odd entry is skipped
            continue
        if tid != OFF:
            out.append(Track(tid, name or f"Track {len(out) + 1}"))
    return out


def cycle(tracks: Sequence[Track], current: int, *, with_off: bool) -> int | None:
    """The id after ``current`` in ``tracks`` (wrapping), passing through :data:`OFF` when
    ``with_off``; None when there is nothing else to choose."""
    ids = [t.id for t in tracks]
    if with_off:
        ids = [OFF, *ids]
    if not ids or (len(ids) == 1 and ids[0] == current):
        return None
    if current not in ids:
        return ids[1] if with_off and len(ids) > 1 else ids[0]
    return ids[(ids.index(current) + 1) % len(ids)]


def track_name(tracks: Sequence[Track], track_id: int) -> str:
    """The name of ``track_id`` in ``tracks`` ("Off" for :data:`OFF`)."""
    if track_id == OFF:
        return "Off"
    return next((t.name for t in tracks if t.id == track_id), f"Track {track_id}")


class TrackControl:
    """Lists and selects the audio and subtitle tracks of a ``vlc.MediaPlayer``."""

    def __init__(self, mp: Any) -> None:
        self._mp = mp

    def audio(self) -> list[Track]:
        return _tracks(self._mp.audio_get_track_description())

    def audio_id(self) -> int:
        """The selected audio track's id (:data:`OFF` when none)."""
        return int(self._mp.audio_get_track())

    def set_audio(self, track_id: int) -> bool:
        ok = self._mp.audio_set_track(int(track_id)) == 0
        log.info("audio track %s: %s", track_id, "selected" if ok else "refused")
        return ok

    def subtitles(self) -> list[Track]:
        return _tracks(self._mp.video_get_spu_description())

    def subtitle_id(self) -> int:
        """The shown subtitle track's id (:data:`OFF` when subtitles are off)."""
        return int(self._mp.video_get_spu())

    def set_subtitle(self, track_id: int) -> bool:
        ok = self._mp.video_set_spu(int(track_id)) == 0
        log.info("subtitle track %s: %s", track_id, "selected" if ok else "refused")
        return ok
