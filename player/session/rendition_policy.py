"""Which rendition the gateway serves next: ABR, the viewer's pin and the buffer level.

The one object the gateway's thread calls (:meth:`RenditionPolicy.choose`,
:meth:`RenditionPolicy.add_fetch`); everything it reads or writes is behind one lock. The
gateway numbers renditions in master-playlist order, ABR in ascending bitrate: the mapping
between the two lives here and nowhere else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Protocol

from player.core.abandon import InFlight
from player.core.abr import AbrController
from player.core.model import Fetch, FetchKind

log = logging.getLogger(__name__)

DEFAULT_SEGMENT_S = 2.0  # ABR's segment length when the playlist does not say


class _Bandwidth(Protocol):
    bandwidth: int


class RenditionSource(Protocol):
    """Where the renditions come from (the gateway of the current open)."""

    def renditions(self) -> Sequence[_Bandwidth]: ...
    def segment_duration_s(self) -> float | None: ...


class RenditionPolicy:
    """ABR plus pin, per open generation; stale generations get no say and no effect."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gen = -1  # the open whose gateway may ask; -1: none
        self._source: RenditionSource | None = None
        self._abr: AbrController | None = None
        self._order: list[int] = []  # ABR index (ascending bitrate) -> gateway index
        self._pinned: int | None = None  # gateway rendition index, None = Auto (survives opens)
        self._buffer_ahead_s: float | None = None
        self._fallback: int | None = None  # the rendition playing, until ABR can start

    # -- owner thread -------------------------------------------------------------------
    def reset(self, gen: int, source: RenditionSource | None = None) -> None:
        """A new open (``gen``): forget ABR; ``source`` is its gateway once it exists."""
        with self._lock:
            self._gen = gen
            self._source = source
            self._abr = None
            self._order = []
            self._buffer_ahead_s = None
            self._fallback = None

    def attach(self, gen: int, source: RenditionSource) -> None:
        """The gateway of open ``gen`` is up (ignored if another open came since)."""
        with self._lock:
            if gen == self._gen:
                self._source = source

    @property
    def pinned(self) -> int | None:
        return self._pinned

    @property
    def estimate_bps(self) -> float | None:
        """ABR's throughput estimate for the current open (None before ABR started)."""
        with self._lock:
            return self._abr.estimate_bps() if self._abr is not None else None

    def pin(self, index: int | None) -> None:
        """Serve only gateway rendition ``index`` from now on; None: Auto."""
        with self._lock:
            self._pinned = index
            if self._abr is not None:
                self._abr.pin(None if index is None else self._abr_index_for(index))

    def observe(self, buffer_ahead_s: float | None, playing: int | None) -> None:
        """The latest buffer level and the rendition playing (owner's sampling)."""
        with self._lock:
            self._buffer_ahead_s = buffer_ahead_s
            if playing is not None:
                self._fallback = playing

    def on_seek(self) -> None:
        with self._lock:
            if self._abr is not None:
                self._abr.on_seek()

    # -- the gateway's threads ----------------------------------------------------------
    def add_fetch(self, gen: int, fetch: Fetch) -> None:
        """A video segment download of open ``gen`` finished: a throughput sample for ABR.

        Segments without a rendition bitrate (an audio group's, a lone media playlist's)
        are skipped: audio segments are small, so their rate would understate the path."""
        if fetch.kind is not FetchKind.SEGMENT or not fetch.rendition_bitrate_bps:
            return
        with self._lock:
            if gen == self._gen and self._abr is not None:
                self._abr.add_fetch(fetch)

    def chooser(self, gen: int) -> GenChooser:
        """The ``rendition_chooser`` for the gateway of open ``gen`` (it also answers the
        read-ahead's :meth:`GenChooser.abandon`)."""
        return GenChooser(self, gen)

    def choose(self, gen: int, seq: int) -> int:
        """Which gateway rendition serves segment ``seq`` (the gateway's thread)."""
        with self._lock:
            if gen != self._gen:
                return 0  # a stopping gateway of an earlier open: its stream is gone
            abr = self._ensure_abr()
            if abr is None:
                return self._fallback or 0
            # the true buffer: libVLC's plus what the gateway read ahead for it
            vlc_s, held_s = self._buffer_ahead_s or 0.0, self._held_s()
            decision = abr.choose(vlc_s + held_s)
            if decision.switched:
                log.info(
                    "ABR: segment %d -> %.0f kbit/s (%s; libVLC %.1f s + read ahead %.1f s)",
                    seq,
                    decision.bitrate_bps / 1e3,
                    decision.reason,
                    vlc_s,
                    held_s,
                )
            return self._order[decision.index]

    def abandon(self, gen: int, rendition: int, seq: int, flight: InFlight) -> int | None:
        """The gateway's read-ahead is downloading segment ``seq`` from gateway rendition
        ``rendition``: the lower rendition to fetch it from instead, or None to go on."""
        with self._lock:
            if gen != self._gen or self._abr is None or rendition not in self._order:
                return None
            vlc_s, held_s = self._buffer_ahead_s or 0.0, self._held_s()
            decision = self._abr.abandon(self._order.index(rendition), flight, vlc_s + held_s)
            if decision is None:
                return None
            log.info(
                "ABR: segment %d abandoned for %.0f kbit/s (%s; libVLC %.1f s + read ahead %.1f s)",
                seq,
                self._abr.bitrates[decision.index] / 1e3,
                decision.reason,
                vlc_s,
                held_s,
            )
            return self._order[decision.index]

    # -- internals (lock held) ----------------------------------------------------------
    def _held_s(self) -> float:
        """Media the gateway read ahead (a DASH gateway's readahead_s(); sources without
        one hold nothing ahead)."""
        ahead = getattr(self._source, "readahead_s", None)
        return ahead() if callable(ahead) else 0.0

    def _abr_index_for(self, gateway_index: int) -> int:
        return self._order.index(gateway_index) if gateway_index in self._order else 0

    def _ensure_abr(self) -> AbrController | None:
        if self._abr is not None:
            return self._abr
        src = self._source
        rends = list(src.renditions()) if src is not None else []
        if not rends:
            return None
        order = sorted(range(len(rends)), key=lambda i: rends[i].bandwidth)
        seg_s = (src.segment_duration_s() if src is not None else None) or DEFAULT_SEGMENT_S
        self._abr = AbrController([rends[i].bandwidth for i in order], seg_s)
        self._order = order
        if self._pinned is not None:
            self._abr.pin(self._abr_index_for(self._pinned))
        return self._abr


class GenChooser:
    """The gateway's rendition chooser for one open: ``chooser(seq)`` picks a rendition,
    :meth:`abandon` judges a read-ahead download in flight."""

    def __init__(self, policy: RenditionPolicy, gen: int) -> None:
        self._policy = policy
        self._gen = gen

    def __call__(self, seq: int) -> int:
        return self._policy.choose(self._gen, seq)

    def abandon(self, rendition: int, seq: int, flight: InFlight) -> int | None:
        return self._policy.abandon(self._gen, rendition, seq, flight)
