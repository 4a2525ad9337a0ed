"""The delivery ledger: what VLC asked for and was given, as the numbers the buffer model reads.

Pure bookkeeping (no sockets, no threads; one lock because the gateway's request threads
write while the session's thread reads) with an injected ``clock`` (monotonic seconds):

* open requests (:class:`Delivery`): since when each waits on upstream, so that
  :meth:`DeliveryLedger.starving` is true when VLC has an open request that has had no
  byte for more than ``starving_after_s`` while the gateway waited for upstream (a
  player that stops reading because its buffer is full is *not* starving);
* per-sequence media timing learned from playlists (stable across live refreshes);
* the delivery run: :meth:`DeliveryLedger.delivered_media_s` is the media seconds in
  segments fully delivered, contiguous from the first segment VLC asked for or from the
  last seek (a request for a sequence number other than the last one or its successor
  starts a new run); :meth:`DeliveryLedger.delivered_until_s` is the same as a media
  position (run start + that). For a progressive file both are estimated from
  contiguous bytes when the duration is known (constant bitrate), else None;
* the total body bytes written to VLC.

Session-scoped numbers live in a :class:`MediaRun` (one per :meth:`new_run`): a request
of an older session that finishes late updates its own run, never the current one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from player.core.model import FetchKind
from player.core.stats import median
from player.net.gateway.model import InFlight, Mode
from player.net.manifests import MediaSegment

__all__ = ["STARVING_AFTER_S", "DeliveryLedger", "Delivery", "MediaRun", "Upstream"]

log = logging.getLogger(__name__)

#: VLC waiting this long (s) for a byte while we wait on upstream counts as starving:
#: longer than a healthy origin's gap between chunks, short enough to mark a stall early.
STARVING_AFTER_S = 0.3
SEQ_TIMING_KEEP = 5000  # live: how many sequence numbers of timing to remember


class Upstream(Protocol):
    """What the ledger needs of an upstream transfer (a :class:`~player.net.transfer.Transfer`)."""

    received: int

    @property
    def first_byte_at(self) -> float | None: ...

    def cancel(self) -> None: ...


@dataclass(slots=True)
class Delivery:
    """One open request from VLC."""

    kind: FetchKind
    started_at: float
    waiting_since: float | None  # clock: blocked on upstream since
    bytes: int = 0
    seq: int | None = None
    client: object | None = None  # VLC's connection (opaque here; the server checks it)
    transfer: Upstream | None = None  # the upstream transfer, once open
    gone: bool = False  # VLC hung up while we waited for upstream


@dataclass(slots=True)
class MediaRun:
    """Delivery state of one session: sequence timing, the HLS run, the progressive run."""

    # timing of sequence numbers (media position), learned from playlists
    seq_start: dict[int, float] = field(default_factory=dict)
    seq_dur: dict[int, float] = field(default_factory=dict)
    # delivery run (HLS)
    run_start_seq: int | None = None
    last_seq: int | None = None
    delivered: set[int] = field(default_factory=set)
    # delivery run (progressive)
    prog_size: int | None = None
    prog_run_start: int = 0
    prog_run_bytes: int = 0


class DeliveryLedger:
    """Open requests, media timing, the delivery run and bytes delivered (see module doc)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        starving_after_s: float = STARVING_AFTER_S,
    ) -> None:
        self.clock = clock
        self.starving_after_s = starving_after_s
        self._lock = threading.RLock()
        self._ids = 0
        self._deliveries: dict[int, Delivery] = {}
        self._bytes = 0
        self._run: MediaRun | None = None
        self._media_duration_s: float | None = None

    # --- sessions -----------------------------------------------------------------------
    def new_run(self) -> MediaRun:
        """A new session: forget open requests and the duration; its run becomes current."""
        run = MediaRun()
        with self._lock:
            self._run = run
            self._deliveries.clear()
            self._media_duration_s = None
        return run

    def set_media_duration(self, seconds: float | None) -> None:
        """A progressive file's duration (for delivered_media_s); reset by :meth:`new_run`."""
        self._media_duration_s = seconds

    @property
    def media_duration_s(self) -> float | None:
        return self._media_duration_s

    # --- open requests ------------------------------------------------------------------
    def begin(self, kind: FetchKind, seq: int | None = None, client: object | None = None) -> int:
        """VLC asked for something: a new open request, waiting on upstream from now."""
        now = self.clock()
        d = Delivery(kind=kind, started_at=now, waiting_since=now, seq=seq, client=client)
        with self._lock:
            key = self._ids = self._ids + 1
            self._deliveries[key] = d
        return key

    def end(self, key: int) -> None:
        with self._lock:
            self._deliveries.pop(key, None)

    def get(self, key: int | None) -> Delivery | None:
        if key is None:
            return None
        with self._lock:
            return self._deliveries.get(key)

    def attach(self, key: int | None, transfer: Upstream) -> bool:
        """The upstream transfer of request ``key`` is open; True if VLC already hung up."""
        with self._lock:
            d = self._deliveries.get(key) if key is not None else None
            if d is not None:
                d.transfer = transfer
        return d is not None and d.gone

    def waiting(self, d: Delivery | None, waiting: bool) -> None:
        """Request ``d`` starts (True) or stops (False) waiting for an upstream byte."""
        if d is not None:
            d.waiting_since = self.clock() if waiting else None

    def wrote(self, d: Delivery | None, n: int) -> None:
        """``n`` body bytes of request ``d`` (None: a generated body) went to VLC."""
        with self._lock:
            self._bytes += n
            if d is not None:
                d.bytes += n
                if d.kind is FetchKind.PROGRESSIVE and self._run is not None:
                    self._run.prog_run_bytes += n

    def hung_up(self, d: Delivery) -> Upstream | None:
        """VLC closed request ``d`` while it waited; returns the transfer to cancel."""
        d.gone = True
        return d.transfer

    def blocked(self, longer_than_s: float) -> list[Delivery]:
        """Open requests waiting on upstream for more than ``longer_than_s``."""
        now = self.clock()
        with self._lock:
            return [
                d
                for d in self._deliveries.values()
                if d.waiting_since is not None
                and not d.gone
                and now - d.waiting_since > longer_than_s
            ]

    def open_requests(self) -> int:
        with self._lock:
            return len(self._deliveries)

    def inflight(self) -> list[InFlight]:
        """Segment and progressive requests being answered now (oldest first)."""
        with self._lock:
            deliveries = list(self._deliveries.values())
        out = []
        for d in deliveries:
            if d.kind not in (FetchKind.SEGMENT, FetchKind.PROGRESSIVE) or d.gone:
                continue
            tr = d.transfer
            first = getattr(tr, "first_byte_at", None) if tr is not None else None
            out.append(InFlight(d.kind, d.started_at, first, tr.received if tr is not None else 0))
        return sorted(out, key=lambda f: f.started_at)

    def starving_for_s(self) -> float:
        """How long the longest-waiting open request has had no byte (0 if none waits)."""
        now = self.clock()
        with self._lock:
            waits = [
                now - d.waiting_since
                for d in self._deliveries.values()
                if d.waiting_since is not None and not d.gone
            ]
        return max(waits, default=0.0)

    def starving(self) -> bool:
        """VLC waits on an open request that had no byte for > ``starving_after_s``."""
        return self.starving_for_s() > self.starving_after_s

    def bytes_delivered(self) -> int:
        """Total body bytes written to VLC (every session of this gateway)."""
        return self._bytes

    # --- media timing and the delivery run ----------------------------------------------
    def learn_timing(self, run: MediaRun, segments: Iterable[MediaSegment]) -> None:
        """Remember the media position of each sequence number (stable across refreshes)."""
        segs = list(segments)
        with self._lock:
            offset = None
            for seg in segs:
                if seg.seq in run.seq_start:
                    offset = run.seq_start[seg.seq] - seg.start_s
                    break
            if offset is None:
                if run.seq_start:
                    last = max(run.seq_start)
                    offset = run.seq_start[last] + run.seq_dur.get(last, 0.0)
                else:
                    offset = 0.0
            for seg in segs:
                run.seq_start.setdefault(seg.seq, seg.start_s + offset)
                run.seq_dur[seg.seq] = seg.duration
            if len(run.seq_start) > SEQ_TIMING_KEEP:
                for k in sorted(run.seq_start)[: len(run.seq_start) - SEQ_TIMING_KEEP]:
                    run.seq_start.pop(k, None)
                    run.seq_dur.pop(k, None)

    def segment_requested(self, run: MediaRun, seq: int) -> bool:
        """VLC asked for segment ``seq``; True when that starts a new run (a seek)."""
        with self._lock:
            last = run.last_seq
            restart = run.run_start_seq is None or last is None or seq not in (last, last + 1)
            if restart:
                if run.run_start_seq is not None:
                    log.debug("delivery run restarts at seq %d (last %s)", seq, last)
                run.run_start_seq = seq
                run.delivered.clear()
            run.last_seq = seq
        return restart

    def segment_delivered(self, run: MediaRun, seq: int, duration: float | None) -> None:
        """Segment ``seq`` was delivered whole (or skipped: VLC moves past its time)."""
        with self._lock:
            run.delivered.add(seq)
            if duration is not None:
                run.seq_dur.setdefault(seq, duration)

    def progressive_started(self, run: MediaRun, size: int | None, body_start: int) -> None:
        """A progressive response starts at byte ``body_start`` of a ``size``-byte file."""
        with self._lock:
            run.prog_size = size or run.prog_size
            run.prog_run_start = body_start
            run.prog_run_bytes = 0

    def segment_duration_s(self) -> float | None:
        """Median segment duration of the current session (None before playlists)."""
        with self._lock:
            run = self._run
            durs = list(run.seq_dur.values()) if run is not None else []
        return median(durs)

    def delivered_media_s(self, mode: Mode) -> float | None:
        """Media seconds fully delivered to VLC in the current run (see module doc)."""
        with self._lock:
            run = self._run
            if run is None:
                return None
            if mode is Mode.PROGRESSIVE:
                if not self._media_duration_s or not run.prog_size:
                    return None
                return self._media_duration_s * run.prog_run_bytes / run.prog_size
            if run.run_start_seq is None:
                return 0.0 if mode in (Mode.HLS_VIRTUAL, Mode.HLS_REWRITE) else None
            total, seq = 0.0, run.run_start_seq
            while seq in run.delivered:
                total += run.seq_dur.get(seq, 0.0)
                seq += 1
            return total

    def delivered_until_s(self, mode: Mode) -> float | None:
        """Media position up to which VLC has been given data (run start + delivered)."""
        d = self.delivered_media_s(mode)
        with self._lock:
            run = self._run
            if run is None or d is None:
                return None
            if mode is Mode.PROGRESSIVE:
                if not self._media_duration_s or not run.prog_size:
                    return None
                return self._media_duration_s * run.prog_run_start / run.prog_size + d
            if run.run_start_seq is None:
                return d
            return run.seq_start.get(run.run_start_seq, 0.0) + d
