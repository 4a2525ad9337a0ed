"""The gateway's public value types: routing modes, renditions, its own events, in-flight requests."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from player.core.model import FetchKind

__all__ = ["InFlight", "Mode", "PlaylistLoaded", "Rendition", "RenditionSwitched"]


class Mode(StrEnum):
    """How the current session is routed (see the package doc)."""

    PENDING = "pending"
    HLS_VIRTUAL = "hls-virtual"
    HLS_REWRITE = "hls-rewrite"
    PROGRESSIVE = "progressive"
    DIRECT = "direct"


@dataclass(frozen=True, slots=True)
class Rendition:
    """One selectable rendition (index = position in the master playlist)."""

    index: int
    bandwidth: int
    resolution: tuple[int, int] | None
    url: str
    codecs: str | None = None


@dataclass(frozen=True, slots=True)
class PlaylistLoaded:
    """The session's stream is understood: mode, renditions and timing."""

    mode: Mode
    renditions: tuple[Rendition, ...]
    is_live: bool
    duration_s: float | None
    note: str = ""  # e.g. why virtual mode was not possible


@dataclass(frozen=True, slots=True)
class RenditionSwitched:
    """The gateway served segment ``seq`` from a different rendition than the previous one."""

    seq: int
    from_index: int | None
    to_index: int


@dataclass(frozen=True, slots=True)
class InFlight:
    """A media request VLC is waiting on right now (for evidence during a stall)."""

    kind: FetchKind
    started_at: float  # monotonic: VLC asked
    first_byte_at: float | None  # monotonic: the upstream body's first byte, if any yet
    received: int  # body bytes received from upstream so far
