"""Real test media made with ffmpeg (cache it per session in the caller's fixtures).

Thin wrappers around :mod:`player.demo_media`, which the app's demo also uses.
"""

from __future__ import annotations

from player.demo_media import (
    DEFAULT_RENDITIONS,
    MediaError,
    ffmpeg_available,
    make_hls,
    make_mp4,
    make_not_video,
)

__all__ = [
    "DEFAULT_RENDITIONS",
    "MediaError",
    "ffmpeg_available",
    "make_hls",
    "make_mp4",
    "make_not_video",
]
