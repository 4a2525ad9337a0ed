"""What the viewer reads about a DASH stream (the Statistics note, refusals).

Plain words only: the technical reason (which period, which representation) goes to the
log, never here.
"""

from __future__ import annotations

__all__ = [
    "ABR_OFF",
    "AUDIO_MISSING",
    "DIRECT",
    "ENCRYPTED",
    "INDEX_FAILED",
    "NOT_ALIGNED",
    "NO_AUDIO",
    "NO_SEGMENTS",
    "NO_VIDEO",
    "TOO_MANY_INDEXES",
    "VIRTUAL",
    "direct",
    "refused",
]

#: Stallwatch serves the stream and picks the quality of every piece.
VIRTUAL = "Stallwatch picks the quality of this DASH stream"
#: VLC fetches the stream itself (the gateway only hands it the manifest).
DIRECT = "This DASH stream plays in VLC's own player, so per-download details are not available"

# Why a DASH stream is left to VLC (shown in brackets after DIRECT).
ABR_OFF = "Stallwatch's own quality choice is turned off"
NO_AUDIO = "its sound is not separate from the picture"
NO_VIDEO = "it has no video"
NO_SEGMENTS = "it lists no video pieces"
NOT_ALIGNED = "its qualities are not cut into the same pieces"
INDEX_FAILED = "its index could not be downloaded"
TOO_MANY_INDEXES = "it has too many separate index files to read before playing"

# Notes about parts that are left out.
ENCRYPTED = "part of this stream is encrypted and is left out"
AUDIO_MISSING = "some parts of this stream have no sound"


def direct(reason: str) -> str:
    """The note of a DASH stream VLC plays itself, and why."""
    return f"{DIRECT} ({reason})"


def refused(reason: str) -> str:
    """A DASH stream refused because VLC would fetch from an address the session may not use."""
    return f"This DASH stream was not played: {reason}"
