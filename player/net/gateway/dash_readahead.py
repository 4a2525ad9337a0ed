"""Bounded read-ahead of a DASH session's video segments (:class:`ReadAhead`).

libVLC drains its demuxer at every ``EXT-X-DISCONTINUITY`` of the virtual playlist
(every self-initialising segment has one) and asks for one segment per segment played,
so it never holds more than a few seconds. While it plays segment ``N`` a worker thread
fetches ``N+1 .. N+READAHEAD_SEGMENTS`` (the rendition of each chosen by the session's
ABR, which sees libVLC's buffer plus :meth:`ReadAhead.held_s`) into memory, bounded by
:data:`MAX_READAHEAD_BYTES` and :data:`MAX_READAHEAD_S`; libVLC's later request is
answered from memory. Each prefetch is one recorded fetch with its real timing (the
relay records it when it ends); answering from memory records nothing more. A prefetch
the session's chooser abandons while it arrives (:class:`Abandoner`: the rest would come
later than the buffer ahead of it lasts; ``player.core.abandon``) is recorded as an
abandoned fetch and the same segment is fetched from the lower rendition it names.

Only segments the current playlist lists are fetched (never past a live edge). The
cache is dropped when libVLC asks for a segment other than the next one (a seek), when
the plan changes (:meth:`ReadAhead.drop`: live re-read, pin) and when the session ends
or the gateway stops (the worker ends; a stopping gateway aborts its fetch).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from player.core.abandon import InFlight, ProgressMeter
from player.core.model import FetchKind
from player.core.wording.errors import http_reason
from player.net.dash import SegmentRef
from player.net.gateway.dash_objects import InitCache, UpstreamObjects
from player.net.gateway.media import Policy
from player.net.gateway.routes import Session
from player.net.manifests import MediaSegment
from player.net.timing import policy_scope
from player.net.transfer import FetchAborted, FetchFailed, Transfer

__all__ = [
    "ABANDON_CHECK_S",
    "MAX_READAHEAD_BYTES",
    "MAX_READAHEAD_S",
    "READAHEAD_SEGMENTS",
    "Abandoner",
    "Prefetched",
    "ReadAhead",
]

log = logging.getLogger(__name__)

#: Segments fetched ahead of libVLC's request (at most; :data:`MAX_READAHEAD_S` usually
#: binds first): 6 x 2 s segments = 12 s, with libVLC's own ~3.5 s a ~15 s buffer, as
#: dash.js (12 s stable) and Shaka (10 s goal) keep; the ABR's look-ahead plan needs that
#: depth to ride out a dip (3 segments, ~9.5 s in all, stalled where 15 s did not in
#: simulate() on seeded LTE-like traces). A seek drops at most these.
READAHEAD_SEGMENTS = 6
#: Bytes held per session (bodies with their init prefixes): 12 s of a 1080p rung
#: (~8 Mbit/s x 12 s = 12 MB) fit twice over; a hostile ladder cannot make it hold more.
MAX_READAHEAD_BYTES = 24 * 1024 * 1024
#: Media seconds held per session: what a player keeps ahead anyway (dash.js's default
#: stable buffer is 12 s); long segments stop read-ahead early instead of holding minutes.
MAX_READAHEAD_S = 12.0
#: How long a request waits for the same segment's prefetch to end before fetching it
#: itself (s): ends a hang only; a fetch has its own timeouts and is aborted on stop.
WAIT_PREFETCH_S = 60.0
#: An idle worker looks again this often (s) whether its session is still the current
#: one (a new open replaces it without telling it): it ends within this after that.
IDLE_CHECK_S = 1.0

#: How often (s) a download in flight is judged for abandoning (at a chunk's arrival):
#: a few times per 2 s segment; each judgement takes the policy's lock.
ABANDON_CHECK_S = 0.2

#: ``lookup(rendition, seq) -> (segment, init)`` of the current tracks, or None.
Lookup = Callable[[int, int], "tuple[SegmentRef, SegmentRef | None] | None"]


@runtime_checkable
class Abandoner(Protocol):
    """A chooser that also judges downloads in flight (the session's GenChooser)."""

    def abandon(self, rendition: int, seq: int, flight: InFlight) -> int | None: ...


@dataclass(frozen=True, slots=True)
class _Abandoned:
    """A download given up for the same segment from ``rendition``."""

    rendition: int
    reason: str


@dataclass(frozen=True, slots=True)
class Prefetched:
    """One segment read ahead: its body (init prefix + media) or why it failed."""

    seq: int
    rendition: int
    duration_s: float
    body: bytes | None
    reason: str = ""


class ReadAhead:
    """The read-ahead of one DASH session (see module doc). Thread-safe."""

    def __init__(
        self,
        sess: Session,
        objects: UpstreamObjects,
        policy: Policy,
        inits: InitCache,
        lookup: Lookup,
        is_current: Callable[[], bool],
    ) -> None:
        self.sess = sess
        self.objects = objects
        self.relay = objects.relay
        self.policy = policy
        self.inits = inits
        self.lookup = lookup
        self.is_current = is_current
        self._cond = threading.Condition()
        self._held: OrderedDict[int, Prefetched] = OrderedDict()
        self._bytes = 0
        self._next: int | None = None  # the segment libVLC should ask for next
        self._inflight: int | None = None
        self._paused = False  # nothing more to fetch until libVLC's next request
        self._epoch = 0  # bumped by drop(): a fetch of an older epoch is discarded
        self._closed = False
        self._worker: threading.Thread | None = None
        self.peak_bytes = 0  # the most ever held (tests check the cap)

    # --- what the gateway's request threads call ---------------------------------------
    def take(self, seq: int) -> Prefetched | None:
        """libVLC asks for ``seq``: its prefetched entry (removed) or None. A request
        for anything but the next segment drops the cache (a seek)."""
        with self._cond:
            if self._next is not None and seq != self._next:
                self._drop_locked(f"libVLC asked for {seq}, not {self._next}")
            if self._inflight == seq:
                self._cond.wait_for(lambda: self._inflight != seq, WAIT_PREFETCH_S)
            entry = self._held.pop(seq, None)
            if entry is not None and entry.body is not None:
                self._bytes -= len(entry.body)
            for stale in [k for k in self._held if k < seq]:  # passed by: never asked again
                gone = self._held.pop(stale)
                self._bytes -= len(gone.body) if gone.body is not None else 0
            self._next = seq + 1
            return entry

    def served(self, seq: int) -> None:
        """``seq`` is being answered: read ahead from ``seq + 1``."""
        with self._cond:
            if self._closed or self.depth() == 0:
                return
            self._next = seq + 1
            self._paused = False
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name="gateway-readahead", daemon=True
                )
                self._worker.start()
            self._cond.notify_all()

    def depth(self) -> int:
        """Segments to hold ahead (the policy's, else :data:`READAHEAD_SEGMENTS`)."""
        n = self.policy.readahead
        return READAHEAD_SEGMENTS if n is None else max(0, n)

    def held_s(self) -> float:
        """Media seconds held in memory, not yet asked for (the ABR adds it to libVLC's)."""
        with self._cond:
            return self._held_s_locked()

    def idle(self) -> bool:
        """Nothing being fetched and nothing more wanted (caps, end, or a live edge)."""
        with self._cond:
            return self._inflight is None and self._wanted_locked() is None

    def held_bytes(self) -> int:
        with self._cond:
            return self._bytes

    def drop(self, why: str) -> None:
        """Forget everything held (the plan changed)."""
        with self._cond:
            self._drop_locked(why)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._drop_locked("session ended")
            self._cond.notify_all()

    # --- the worker --------------------------------------------------------------------
    def _drop_locked(self, why: str) -> None:
        if self._held:
            log.info("DASH read-ahead: dropping %d segment(s) (%s)", len(self._held), why)
        self._held.clear()
        self._bytes = 0
        self._epoch += 1
        self._cond.notify_all()

    def _wanted_locked(self) -> int | None:
        """The next segment to fetch, or None (caps reached, nothing to do)."""
        if self._closed or self._paused or self._next is None:
            return None
        if self._bytes >= MAX_READAHEAD_BYTES or self._held_s_locked() >= MAX_READAHEAD_S:
            return None
        for seq in range(self._next, self._next + self.depth()):
            if seq not in self._held:
                return seq
        return None

    def _held_s_locked(self) -> float:
        return sum(e.duration_s for e in self._held.values() if e.body is not None)

    def _run(self) -> None:
        try:
            with policy_scope(self.sess.policy):
                self._loop()
        except FetchAborted:
            log.debug("DASH read-ahead: gateway stopping")
        except Exception:
            log.exception("DASH read-ahead failed; libVLC's requests fetch for themselves")
        finally:
            with self._cond:
                self._closed = True
                self._inflight = None
                self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._closed or self._wanted_locked() is not None, IDLE_CHECK_S
                )
                if self._closed or not self.is_current():
                    return
                seq = self._wanted_locked()
                if seq is None:
                    continue
                self._inflight, epoch = seq, self._epoch
            entry = None
            try:
                entry = self._fetch(seq)
            finally:  # one step: a request waiting for this segment finds it held
                with self._cond:
                    self._inflight = None
                    if entry is None:  # not listed (live edge, end) or over a cap
                        self._paused = True  # until libVLC's next request
                    elif epoch == self._epoch and not self._closed:
                        self._held[seq] = entry
                        self._bytes += len(entry.body) if entry.body is not None else 0
                        self.peak_bytes = max(self.peak_bytes, self._bytes)
                    self._cond.notify_all()

    def _fetch(self, seq: int) -> Prefetched | None:
        """Fetch ``seq`` from the rendition the ABR chooses; None when it is not listed.
        A download the chooser abandons (too slow for the buffer ahead of it) ends
        recorded as abandoned and the same segment is fetched from the lower rendition
        it names (each time lower, so this ends)."""
        plan = self.sess.plan
        # checked before the ABR is asked: it chooses once per segment, so a segment not
        # read ahead is chosen when libVLC asks for it
        listed = plan.segment(plan.current or 0, seq, None)  # listed only: not past a live edge
        if listed is None:
            return None
        held_s = self.held_s()
        if held_s > 0 and held_s + listed.duration > MAX_READAHEAD_S:
            return None  # long segments: hold fewer rather than minutes of media
        chosen = plan.choose(seq, self.policy.locked, self.policy.chooser)
        candidates = plan.candidates(seq, chosen, None)
        if not candidates or candidates[0][0] != chosen:
            return None
        r, seg = candidates[0]
        while True:
            got = self._fetch_from(seq, r, seg)
            if not isinstance(got, _Abandoned):
                return got
            lower = plan.segment(got.rendition, seq, None)
            if lower is None:
                return None  # libVLC's request fetches it itself
            r, seg = got.rendition, lower

    def _fetch_from(self, seq: int, r: int, seg: MediaSegment) -> Prefetched | _Abandoned | None:
        plan = self.sess.plan
        pair = self.lookup(r, seq)
        if pair is None:
            return None
        ref, init = pair
        prefix = b""
        if init is not None:
            got = self.objects.init_bytes(self.inits, init, None)
            if got is None:
                return Prefetched(seq, r, seg.duration, None, "initialisation segment failed")
            prefix = got
        kw: dict[str, Any] = {
            "rendition_bitrate_bps": plan.bandwidth(r),
            "media_sequence": seq,
            "media_duration_s": seg.duration,
        }
        if ref.byte_range is not None:
            kw["range_start"], kw["range_end"] = ref.byte_range.start, ref.byte_range.end
        tr, failure = self.relay.open(ref.url, FetchKind.SEGMENT, None, **kw)
        if tr is None:
            return Prefetched(seq, r, seg.duration, None, failure)
        reason = None
        if not tr.ok:
            reason = http_reason(tr.status)
        elif ref.byte_range is not None and tr.status != 206:
            reason = "the server ignored the byte range"
        room = MAX_READAHEAD_BYTES - self.held_bytes() - len(prefix)
        if reason is None and tr.content_length is not None and tr.content_length > room:
            reason = "too large to read ahead"
        if reason is not None:
            self.relay.finish(tr, error=reason)
            if reason == "too large to read ahead":
                return None  # libVLC's request fetches it itself (a new fetch)
            return Prefetched(seq, r, seg.duration, None, reason)
        try:
            body = self._read(tr, seq, r, max(room, 0))
        except FetchFailed as e:
            self.relay.finish(tr, error=e.reason)
            return Prefetched(seq, r, seg.duration, None, e.reason)
        except FetchAborted:
            self.relay.finish(tr, error="gateway stopped")
            raise
        if isinstance(body, _Abandoned):
            self.relay.finish(tr, error=body.reason)
            return body
        self.relay.finish(tr)
        return Prefetched(seq, r, seg.duration, prefix + body)

    def _read(self, tr: Transfer, seq: int, r: int, limit: int) -> bytes | _Abandoned:
        """The body, or :class:`_Abandoned` when the chooser abandons it on the way (only
        an identity-coded body of known length can be judged; others are read whole)."""
        judge = self.policy.chooser
        coded = (tr.headers.get("Content-Encoding") or "identity").strip().lower()
        total = tr.content_length
        if not isinstance(judge, Abandoner) or coded != "identity" or not total:
            return tr.read_all(limit=limit)
        meter = ProgressMeter(tr.fetch.started_at, total)
        parts: list[bytes] = []
        got = 0
        judged_at = 0.0
        for data in tr.chunks():
            got += len(data)
            if got > limit:
                raise FetchFailed(tr.url, "too large to read ahead")
            parts.append(data)
            now = time.monotonic()
            meter.update(now, got)
            if got >= total or now - judged_at < ABANDON_CHECK_S:
                continue
            judged_at = now
            flight = meter.snapshot()
            lower = judge.abandon(r, seq, flight) if flight is not None else None
            if lower is not None and lower != r:
                why = f"abandoned for rendition {lower}: {flight.remaining_s:.1f} s left"  # type: ignore[union-attr]
                log.info("DASH read-ahead: segment %d %s", seq, why)
                return _Abandoned(lower, why)
        return b"".join(parts)
