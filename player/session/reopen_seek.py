"""A seek made by reopening the source at the target, where libVLC refuses a seek.

libVLC 3 refuses every seek in the gateway's DASH ("adaptive demux warning: not
seekable"): the gateway serves DASH as virtual HLS with an ``EXT-X-DISCONTINUITY`` before
every self-initialising segment, and libVLC's stream is draining at one nearly all the
time. A refused seek only flushes and rebuffers. The same gateway URL opened again with
``:start-time`` lands (the gateway session and its read-ahead stay; libVLC asks for the
target's segment and the read-ahead refills from there), so the session seeks that way:

- :meth:`ReopenSeek.request` on every seek; quick repeated seeks (an arrow key held down)
  coalesce: :meth:`ReopenSeek.due` gives the last target once none came for
  :data:`COALESCE_S` (at the latest :data:`COALESCE_MAX_S` after the first);
- from the first request until the reopened input shows pictures the position shown is
  the target (the slider does not jump back) and the buffer model is told "seeking",
  so the reopen's rebuffer is a seek, never a stall.

Pure bookkeeping (times are the session's clock); the session does the reopen.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Seeks closer together than this are one: a held arrow key repeats every ~30-40 ms
#: and the viewer wants the last target; 250 ms is below what reads as lag after a key
#: is let go, and each reopen costs libVLC a new input (playlists, a segment).
COALESCE_S = 0.25
#: A key held down (or a slider scrubbed) for longer still moves the picture once a second.
COALESCE_MAX_S = 1.0
#: The reopened input has landed when it shows this many new pictures (as the buffer
#: model's end of a seek, one picture decoded before the input settled does not count)
#: with its playhead within a segment (``near_s``) of the target: libVLC's new input
#: starts with segment 0 and may show a picture of it before it moves to the target.
LANDED_PICTURES = 2
#: ... or, whatever its playhead, once it showed this many (two seconds at 25 fps): an
#: input that did not go where it was asked shows where it really plays.
LANDED_ANYWAY_PICTURES = 50


@dataclass(slots=True)
class _Pending:
    target_s: float
    first_at: float
    last_at: float


@dataclass(slots=True)
class _Landing:
    target_s: float
    frames_at_reopen: int


class ReopenSeek:
    """The seek in progress (if any) of one open; cleared by the next open."""

    def __init__(self) -> None:
        self._pending: _Pending | None = None
        self._landing: _Landing | None = None

    def clear(self) -> None:
        self._pending = None
        self._landing = None

    def request(self, target_s: float, now: float) -> None:
        """The viewer seeks to ``target_s``: the last request wins."""
        if self._pending is None:
            self._pending = _Pending(target_s, now, now)
        else:
            self._pending.target_s, self._pending.last_at = target_s, now

    def due(self, now: float) -> float | None:
        """The target to reopen at now (once per coalesced run of requests), else None."""
        p = self._pending
        if p is None or (now - p.last_at < COALESCE_S and now - p.first_at < COALESCE_MAX_S):
            return None
        self._pending = None
        return p.target_s

    def reopened(self, target_s: float, frames: int) -> None:
        """The source was reopened at ``target_s``; ``frames``: distinct pictures so far."""
        self._landing = _Landing(target_s, frames)

    def observe(self, playhead_s: float | None, frames: int, near_s: float) -> None:
        """libVLC's playhead and picture count now: the reopened input may have landed
        (``near_s``: how far before the target it may start, a segment's duration)."""
        landing = self._landing
        if landing is None or self._pending is not None or playhead_s is None:
            return
        new = frames - landing.frames_at_reopen
        near = landing.target_s - near_s <= playhead_s <= landing.target_s + near_s
        if (near and new >= LANDED_PICTURES) or new >= LANDED_ANYWAY_PICTURES:
            self._landing = None

    @property
    def target_s(self) -> float | None:
        """Where the seek in progress goes (None: none in progress)."""
        if self._pending is not None:
            return self._pending.target_s
        return self._landing.target_s if self._landing is not None else None

    def view(self, playhead_s: float | None) -> tuple[float | None, bool]:
        """(the playhead to show and measure, seeking?): the target while a seek lasts."""
        target = self.target_s
        return (playhead_s, False) if target is None else (target, True)
