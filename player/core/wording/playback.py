"""What the session tells the viewer about a stream: failures, an early end, stream notes.

Plain functions of plain values (names, codecs, positions, reasons), so every sentence the
session shows lives here and can be read and tested without playing anything.
"""

from __future__ import annotations

from player.core.units import fmt_clock

FALLBACK_NAME = "this input"  # when the source has no usable title
NO_SEGMENT_DATA = "Per-segment data is unavailable for this stream (VLC fetches it directly)."
# Why there are no hop probes for a verdict (AttributionInput.probe_reason).
PROBE_LOCAL_MEDIA = "no network path to probe (local media)"
PROBE_OFF = "path probing is off"
PROBE_DISCOVERING = "path discovery still running"


def undecodable(name: str, codecs: list[tuple[str, str]], from_url: bool) -> str:
    """libVLC could not play ``name``: say what we know about why (``codecs``: (kind, fourcc))."""
    name = name or FALLBACK_NAME
    video = [c for kind, c in codecs if kind == "video"]
    if video:
        return (
            f"Could not play {name}: its video format ({', '.join(video)}) is not supported "
            "by this player."
        )
    if codecs:
        formats = ", ".join(c for _, c in codecs)
        return f"Could not play {name}: it has no video Stallwatch can decode ({formats})."
    if from_url:
        return f"Could not play {name}: the server's answer is not a video format Stallwatch can play."
    return f"Could not play {name}: it is not a video, or its format is not supported."


def source_failed(name: str, reason: str) -> str:
    """The gateway could not use the source itself (a playlist too large, a bad playlist,
    the origin failing for good): ``reason`` is its short reason."""
    return f"Could not play {name or FALLBACK_NAME}: {reason}."


def open_crashed(name: str, error: object) -> str:
    """A check before playing failed unexpectedly (a bug, said plainly)."""
    return f"Could not open {name}: {error}"


def ended_early(at_s: float | None, length_s: float | None) -> str:
    """Playback stopped well before the known end of the media."""
    return (
        f"Playback ended early at {fmt_clock(at_s)} of {fmt_clock(length_s)}: "
        "the stream was cut off or a part of it is missing."
    )


def segment_missing(reason: str) -> str:
    return f"A part of the video is missing ({reason}); skipping it."


def resumed() -> str:
    return "The connection to the server dropped; resumed where it stopped."


def retrying(reason: str) -> str:
    return f"The server did not answer properly ({reason}); retrying."


def upstream_failed(reason: str) -> str:
    return f"The server failed: {reason}"


def rendition_label(index: int, bandwidth_bps: float, height: int | None) -> str:
    """The quality menu's entry for one rendition: '720p · 2.27 Mbit/s'."""
    res = f"{height}p" if height else f"rendition {index + 1}"
    return f"{res} · {bandwidth_bps / 1e6:.2f} Mbit/s"


def rendition_position(index: int, count: int, pinned: bool) -> str:
    """The statistics panel's rendition line: '2 of 3 (auto)'."""
    return f"{index + 1} of {count}" + (" (pinned)" if pinned else " (auto)")
