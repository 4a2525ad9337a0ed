"""The gateway's DASH read-ahead under real libVLC (the product's headless
:class:`~player.playback.vlc.VlcPlayer`: video and audio callbacks): a jump forward and
one back while segments are held, and a stop while a prefetch is stalled at the origin.
ffmpeg-made DASH (40 s, 2 s segments) on the loopback origin; the test's chooser stands
in for the session's ABR. Nothing is mocked; a spy only records what the read-ahead is
asked and what it drops (:class:`ReadAheadSpy`).

libVLC 3.0.24 refuses a seek in the gateway's DASH ("adaptive demux warning: not
seekable"): its video stream drains at the ``EXT-X-DISCONTINUITY`` before every
self-initialising segment (``AbstractStream::seekAble`` is false while the commands queue
drains or the demuxer is gone), which is nearly all the time, with or without the
read-ahead. Each refused seek only flushes and rebuffers (libVLC then asks for the next
segment at once). libVLC does take a new position as the start time of an open
(``:start-time``) of the same gateway URL: the gateway session and its read-ahead stay,
libVLC's new input asks for segment 0 first (to learn the format), then for the
target's segment, as after a seek. The session seeks that way in the gateway's DASH
(player/session/reopen_seek.py; ``Gateway.reopened`` makes the gateway answer that first
request without the read-ahead, so nothing is read ahead from segment 0):
``test_the_products_seek_lands_in_gateway_dash_forward_and_back`` plays through the
product's Session; the other tests open at ``:start-time`` themselves.

``test_no_prefetch_runs_beside_libvlcs_own_fetch_after_a_jump`` (strict xfail) pins a
read-ahead bug: after a drop its worker prefetches while the request that caused the
drop fetches its own segment (see its reason).
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from player.core.model import FetchKind
from player.net.gateway import FetchRecorded, Gateway
from player.net.gateway import dash_readahead as ra_mod
from player.net.gateway.dash_readahead import Prefetched, ReadAhead
from tests.support.media import make_dash
from tests.support.origin import OriginServer

pytestmark = pytest.mark.vlc

SECONDS = 40
SEGMENT_S = 2.0
SEGMENTS = 20
DIR = "dash_ra"  # under media_dir: the other DASH tests' 12 s stream is too short to seek in
#: Only ends a hang: conditions are polled (CPU is shared, libVLC starts slowly under load).
WAIT_S = 20.0
POLL_S = 0.02
TICK_S = 0.05  # the session's heartbeat, as the GUI's (player/ui/bridge.py)
#: Playhead tolerance around a seek target: libVLC starts at the start of the segment
#: holding the target (or the one before, when the target is a boundary).
NEAR_S = SEGMENT_S + 0.5
#: Distinct pictures that must follow a seek: one second of the 25 fps test card
#: (testsrc2 changes every frame), so the picture advances, not repaints.
MIN_NEW_PICTURES = 25
#: The stalled prefetch in the stop test: libVLC's request for it waits on it.
STOP_SEQ = 2
PAUSE_AFTER_BYTES = 1024  # mid-body: the response head and a little of the body sent

VIDEO_PATH = re.compile(rf"/{DIR}/chunk-stream([01])-(\d{{5}})\.m4s$")


@pytest.fixture(scope="module")
def dash_dir(media_dir: Path) -> Path:
    d = media_dir / DIR
    if not (d / "manifest.mpd").exists():
        make_dash(d, seconds=SECONDS, segment_s=SEGMENT_S, layout="template")
    return d


@pytest.fixture
def player(gateway: Gateway) -> Iterator[Any]:
    """The product's libVLC player, headless (silent audio sink, video callbacks).

    It depends on ``gateway`` so that it is released first (libVLC is not left asking a
    stopped gateway)."""
    pytest.importorskip("vlc")
    from player.playback.vlc import VlcPlayer

    try:
        p = VlcPlayer(audio=False)
    except RuntimeError as e:
        pytest.skip(str(e))
    try:
        yield p
    finally:
        p.release()


# --- what the read-ahead is asked ------------------------------------------------------
@dataclass(frozen=True)
class Take:
    """libVLC asked for ``seq``; ``entry`` is what the read-ahead held for it (None: not
    held, so the request fetched for itself); ``mark`` is len(origin.requests) then;
    ``thread`` is the gateway's thread for libVLC's connection (one per connection)."""

    seq: int
    entry: Prefetched | None
    mark: int
    thread: threading.Thread | None = None

    @property
    def from_memory(self) -> bool:
        return self.entry is not None and self.entry.body is not None


@dataclass(frozen=True)
class Drop:
    """The read-ahead forgot ``entries`` (``why``) when the origin had seen ``mark`` requests."""

    why: str
    entries: tuple[Prefetched, ...]
    mark: int


@dataclass
class ReadAheadSpy:
    """Records every :meth:`ReadAhead.take` and drop (appended from gateway threads)."""

    origin: OriginServer
    takes: list[Take] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    waiting: set[int] = field(default_factory=set)  # takes entered and not returned
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_take, real_drop = ReadAhead.take, ReadAhead._drop_locked  # noqa: SLF001

        def take(ra: ReadAhead, seq: int) -> Prefetched | None:
            mark = len(self.origin.requests)
            with self.lock:
                self.waiting.add(seq)
            try:
                entry = real_take(ra, seq)
            finally:
                with self.lock:
                    self.waiting.discard(seq)
            self.takes.append(Take(seq, entry, mark, threading.current_thread()))
            return entry

        def drop(ra: ReadAhead, why: str) -> None:
            held = tuple(ra._held.values())  # noqa: SLF001 (called with its lock held)
            self.drops.append(Drop(why, held, len(self.origin.requests)))
            real_drop(ra, why)

        monkeypatch.setattr(ReadAhead, "take", take)
        monkeypatch.setattr(ReadAhead, "_drop_locked", drop)

    def is_waiting(self, seq: int) -> bool:
        with self.lock:
            return seq in self.waiting


@pytest.fixture
def spy(origin: OriginServer, monkeypatch: pytest.MonkeyPatch) -> ReadAheadSpy:
    s = ReadAheadSpy(origin)
    s.install(monkeypatch)
    return s


@pytest.fixture
def session(origin: OriginServer) -> Iterator[Any]:
    """The product's headless session (its own gateway and ABR) over the product's player."""
    pytest.importorskip("vlc")
    from player.playback.vlc import VlcPlayer
    from player.session import Session

    try:
        p = VlcPlayer(audio=False)
    except RuntimeError as e:
        pytest.skip(str(e))
    s = Session(p, probe_path=False)
    try:
        yield s
    finally:
        s.close()  # the gateway first, then libVLC (its threads are joined)
        p.release()


# --- helpers ---------------------------------------------------------------------------
def poll_until(
    predicate: Callable[[], bool], what: str, state: Callable[[], object] | None = None
) -> None:
    """Poll ``predicate``; the deadline only ends a hang (``state()`` says what was seen)."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            seen = f" (seen: {state()})" if state is not None else ""
            pytest.fail(f"timed out after {WAIT_S} s waiting for {what}{seen}")
        time.sleep(POLL_S)


def tick_until(
    session: Any,
    predicate: Callable[[], bool],
    what: str,
    state: Callable[[], object] | None = None,
) -> None:
    """Run the session's heartbeat (as the GUI's timer does) until ``predicate``; the
    deadline only ends a hang."""
    deadline = time.monotonic() + WAIT_S
    while True:
        session.tick()
        while not session.events.empty():
            session.events.get_nowait()
        if predicate():
            return
        if time.monotonic() > deadline:
            seen = f" (seen: {state()})" if state is not None else ""
            pytest.fail(f"timed out after {WAIT_S} s waiting for {what}{seen}")
        time.sleep(TICK_S)


def playback_state(player: Any, ra: ReadAhead, spy: ReadAheadSpy) -> Callable[[], object]:
    """What the player and the read-ahead are doing (for a timeout's message)."""
    return lambda: {
        "time_s": player.time_s(),
        "state": player.state(),
        "held": sorted(e.seq for e in held_entries(ra)),
        "idle": ra.idle(),
        "asked": [(t.seq, t.from_memory) for t in spy.takes[-8:]],
    }


def segment_body(d: Path, r: int, seq: int) -> bytes:
    """What libVLC must get for virtual ``seq`` of representation ``r``: init + media."""
    return (d / f"init-stream{r}.m4s").read_bytes() + (
        d / f"chunk-stream{r}-{seq + 1:05d}.m4s"
    ).read_bytes()


def video_gets(origin: OriginServer, after: int = 0) -> list[tuple[int, int]]:
    """(representation, virtual seq) of the origin's video segment GETs from ``after`` on."""
    out = []
    for method, url, _rng, _status in list(origin.requests)[after:]:
        m = VIDEO_PATH.search(urllib.parse.urlsplit(url).path)
        if method == "GET" and m:
            out.append((int(m.group(1)), int(m.group(2)) - 1))
    return out


def fetches(events: list[object]) -> list:
    return [e.fetch for e in list(events) if isinstance(e, FetchRecorded)]


def record_diff(origin: OriginServer, events: list[object]) -> str | None:
    """None when every GET the origin answered is exactly one recorded fetch and the
    reverse; otherwise what differs."""
    seen = Counter(urllib.parse.urlsplit(r[1]).path for r in list(origin.requests) if r[0] == "GET")
    recorded = Counter(urllib.parse.urlsplit(f.url).path for f in fetches(events))
    if seen == recorded:
        return None
    return f"origin only: {dict(seen - recorded)}; records only: {dict(recorded - seen)}"


def one_record_per_fetch(origin: OriginServer, gateway: Gateway, events: list[object]) -> None:
    """Every GET the origin answered is one recorded fetch (waiting for records still to
    come: a record follows its body; a duplicate or a missing one never settles), each
    video segment recorded with its virtual seq and representation."""
    deadline = time.monotonic() + WAIT_S
    while (diff := record_diff(origin, events)) is not None:
        if time.monotonic() > deadline:
            pytest.fail(f"fetch records do not match the origin's GETs: {diff}")
        time.sleep(POLL_S)
    bws = [r.bandwidth for r in gateway.renditions()]
    for f in fetches(events):
        m = VIDEO_PATH.search(urllib.parse.urlsplit(f.url).path)
        if m:
            r, seq = int(m.group(1)), int(m.group(2)) - 1
            assert f.kind is FetchKind.SEGMENT, f
            assert (f.media_sequence, f.rendition_bitrate_bps) == (seq, bws[r]), f


def current_readahead(gateway: Gateway) -> ReadAhead:
    """The session's read-ahead (it exists once libVLC fetched the master)."""

    def ra() -> ReadAhead | None:
        s = gateway._routes.current  # noqa: SLF001 (the session's own read-ahead)
        state = s.plan.dash if s is not None else None
        return state.readahead if state is not None else None

    poll_until(lambda: ra() is not None, "the DASH session to be set up")
    got = ra()
    assert got is not None
    return got


def full_window(ra: ReadAhead) -> int:
    """Segments the read-ahead holds when nothing stops it (its depth or its seconds cap)."""
    return min(ra.depth(), int(ra_mod.MAX_READAHEAD_S // SEGMENT_S))


def held_entries(ra: ReadAhead) -> list[Prefetched]:
    with ra._cond:  # noqa: SLF001 (what it holds at this moment)
        return list(ra._held.values())  # noqa: SLF001


def next_take(spy: ReadAheadSpy, start: int, seqs: Iterable[int], what: str) -> Take:
    """The first request libVLC makes for one of ``seqs`` after ``spy.takes[start]``."""
    wanted = set(seqs)

    def found() -> Take | None:
        return next((t for t in spy.takes[start:] if t.seq in wanted), None)

    poll_until(lambda: found() is not None, what)
    got = found()
    assert got is not None
    return got


def target_seqs(target_s: float) -> tuple[int, int]:
    """The segment holding ``target_s``, or the one before it at a boundary."""
    seq = int(target_s // SEGMENT_S)
    return seq - 1, seq


def memory_serves_are_sound(spy: ReadAheadSpy, dash_dir: Path, origin: OriginServer) -> None:
    """Each held body went to libVLC at most once, for its own segment (byte for byte),
    never after it was dropped, and only after the origin was asked for it."""
    served = [t for t in spy.takes if t.from_memory]
    assert served, "nothing was answered from memory"
    ids = Counter(id(t.entry) for t in served)  # spy.takes keeps them alive: ids are unique
    assert max(ids.values()) == 1, [(t.seq, t.entry.rendition) for t in served]  # type: ignore[union-attr]
    for t in served:
        assert t.entry is not None and t.entry.seq == t.seq
        assert t.entry.body == segment_body(dash_dir, t.entry.rendition, t.seq), t.seq
    dropped = {id(e) for d in spy.drops for e in d.entries}
    assert not dropped & set(ids), "a dropped segment was served"
    gets = Counter(video_gets(origin))
    per_segment = Counter((t.entry.rendition, t.seq) for t in served)  # type: ignore[union-attr]
    assert all(n <= gets[k] for k, n in per_segment.items()), (per_segment, gets)


# --- the tests -------------------------------------------------------------------------
def test_the_products_seek_lands_in_gateway_dash_forward_and_back(
    origin: OriginServer, session: Any, spy: ReadAheadSpy, dash_dir: Path
) -> None:
    """The session's seek (arrow keys, slider, MPRIS, resume prompt all call it): libVLC
    refuses ``set_time`` here (module doc), so the session reopens at the target."""
    session.open(origin.url(f"{DIR}/manifest.mpd"))
    tick_until(
        session,
        lambda: (
            session.gateway is not None
            and session.gateway.serves_dash
            and (session.player.time_s() or 0.0) > 0.5
        ),
        "playback through the gateway's DASH",
    )
    for target_s in (0.6 * SECONDS, 0.2 * SECONDS):
        seek_and_play_on(session, spy, target_s)


def seek_and_play_on(session: Any, spy: ReadAheadSpy, target_s: float) -> None:
    """The session's seek to ``target_s`` lands: libVLC asks for the target's segment, the
    playhead advances from near the target, new pictures come.

    What the old input asked after the seek is not the new input's: until the coalesced
    reopen (COALESCE_S later) it still plays, and a request of its own may already wait in
    the read-ahead (CI saw its take for segment 2 return after the seek). The gateway
    serves each of libVLC's connections on its own thread and a new input opens new
    connections, so the new input's takes are those on threads started after the open."""
    takes, frames = len(spy.takes), session.player.frames.distinct_frames
    mark = len(spy.origin.requests)
    old_threads: set[threading.Thread] = set()
    real_open = session.player.open

    def open_noting_threads(*args: Any, **kwargs: Any) -> Any:
        nonlocal mark
        old_threads.update(threading.enumerate())
        mark = len(spy.origin.requests)  # the old input may still fetch before it stops
        return real_open(*args, **kwargs)

    session.player.open = open_noting_threads
    try:
        seek_lands(session, spy, target_s, takes, frames, old_threads)
    finally:
        del session.player.open  # the instance attribute: the class's method again
    # the read-ahead was first asked for the target's segment: the new input's request
    # for segment 0 (its format probe, module doc) bypassed it, nothing was read ahead
    # from there; the origin saw no segment between 0 and the target's
    assert old_threads, "the session did not reopen the stream"
    asked = [t.seq for t in spy.takes[takes:] if t.thread not in old_threads]
    assert asked and asked[0] in target_seqs(target_s), asked
    # a fetch the old input's own late request made is not read-ahead from segment 0
    old_asked = {t.seq for t in spy.takes[takes:] if t.thread in old_threads}
    fetched = {seq for _r, seq in video_gets(spy.origin, mark)} - old_asked
    assert all(q == 0 or q >= target_seqs(target_s)[0] for q in fetched), sorted(fetched)


def seek_lands(
    session: Any,
    spy: ReadAheadSpy,
    target_s: float,
    takes: int,
    frames: int,
    old_threads: set[threading.Thread],
) -> None:
    """Seek and wait for the new input to ask for the target's segment and play on."""
    session.seek_s(target_s)
    assert session.snapshot().position_s == target_s  # shown at once
    tick_until(
        session,
        lambda: (
            bool(old_threads)
            and any(
                t.seq in target_seqs(target_s) and t.thread not in old_threads
                for t in spy.takes[takes:]
            )
        ),
        f"libVLC's request for the segment of {target_s:g} s",
        lambda: [t.seq for t in spy.takes[takes:]],
    )
    tick_until(
        session,
        lambda: target_s + SEGMENT_S <= (session.player.time_s() or 0.0) <= target_s + 2 * NEAR_S,
        f"the playhead to advance from {target_s:g} s",
        lambda: (session.player.time_s(), [t.seq for t in spy.takes[takes:]]),
    )
    assert session.player.frames.distinct_frames - frames >= MIN_NEW_PICTURES


@pytest.mark.parametrize(
    ("start_s", "target_s"),
    [(None, 0.6 * SECONDS), (0.7 * SECONDS, 0.2 * SECONDS)],
    ids=["forward-to-60%", "backward-to-20%"],
)
def test_a_new_position_drops_the_held_segments_and_reads_ahead_from_there(
    origin: OriginServer,
    gateway: Gateway,
    events: list[object],
    player: Any,
    spy: ReadAheadSpy,
    dash_dir: Path,
    start_s: float | None,
    target_s: float,
) -> None:
    gateway.rendition_chooser = lambda seq: seq % 2
    url = gateway.open(origin.url(f"{DIR}/manifest.mpd"))
    player.open(url, () if start_s is None else (f":start-time={start_s:g}",))
    ra = current_readahead(gateway)
    full = full_window(ra)
    begin = start_s or 0.0
    poll_until(
        lambda: (player.time_s() or 0.0) > begin + 0.5 and ra.idle() and ra.held_s() > 0,
        f"playback from {begin:g} s with the read-ahead done",
        playback_state(player, ra, spy),
    )
    drops, takes = len(spy.drops), len(spy.takes)
    window = held_entries(ra)  # what the jump must drop
    held = sorted(e.seq for e in window)
    # a run of segments, full or up to the last one (libVLC may have taken one since)
    assert held == list(range(held[0], held[-1] + 1)), held
    assert len(held) >= full - 1 or held[-1] == SEGMENTS - 1, held
    if target_s > begin:
        assert held[-1] < target_seqs(target_s)[0], (held, target_s)  # past the window
    else:
        assert held[0] > target_seqs(target_s)[1], (held, target_s)  # before the window

    player.open(url, (f":start-time={target_s:g}",))  # the new position (module doc)
    jump = next_take(spy, takes, target_seqs(target_s), f"libVLC's request for {target_s:g} s")

    # everything held before was dropped (or taken by the old input while it was being
    # replaced), never served afterwards; the origin answered the new position
    dropped = {id(e) for d in spy.drops[drops:] for e in d.entries}
    taken = {id(t.entry) for t in spy.takes[takes:] if t.from_memory}
    left = [(e.seq, id(e) in taken) for e in window if id(e) not in dropped]
    assert len(left) <= 1 and all(was_taken for _seq, was_taken in left), (
        left,
        [(d.why, [e.seq for e in d.entries]) for d in spy.drops[drops:]],
        [(t.seq, t.from_memory) for t in spy.takes[takes:]],
    )
    assert not any(t.from_memory and id(t.entry) in dropped for t in spy.takes)
    assert not jump.from_memory
    poll_until(
        lambda: jump.seq in {s for _r, s in video_gets(origin, jump.mark)},
        f"the origin asked for segment {jump.seq}",
    )

    # playback resumes there: the playhead advances from near the target, new pictures
    poll_until(
        lambda: target_s + SEGMENT_S <= (player.time_s() or 0.0) <= target_s + 2 * NEAR_S,
        f"the playhead to advance from {target_s:g} s",
        playback_state(player, ra, spy),
    )
    assert player.frames.distinct_frames >= MIN_NEW_PICTURES  # counted from the open

    # the read-ahead refills from the new position: libVLC's requests after it come from
    # memory (not always the first: libVLC asks for it ~30 ms after the jump's, while a
    # prefetch started before the jump may still be ending)
    ahead = range(jump.seq + 1, jump.seq + 1 + full)
    poll_until(
        lambda: any(t.from_memory and t.seq in ahead for t in spy.takes[takes:]),
        "libVLC served from memory after the new position",
        playback_state(player, ra, spy),
    )
    wanted = set(range(jump.seq + 1, min(SEGMENTS, jump.seq + 1 + full)))
    poll_until(
        lambda: wanted <= {s for _r, s in video_gets(origin, jump.mark)},
        f"segments {sorted(wanted)} read ahead after the jump",
    )

    memory_serves_are_sound(spy, dash_dir, origin)
    one_record_per_fetch(origin, gateway, events)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,  # the read-ahead filled up beside libVLC's stalled fetch
    reason=(
        "ReadAhead.take() leaves its worker free after a drop: it prefetches seq+1.. while "
        "the request fetches seq itself, so two fetches share the path"
    ),
)
def test_no_prefetch_runs_beside_libvlcs_own_fetch_after_a_jump(
    origin: OriginServer, gateway: Gateway, player: Any, spy: ReadAheadSpy, dash_dir: Path
) -> None:
    """dash_segments.serve reads ahead only after a request's own fetch ("one at a time,
    so each fetch's throughput is the path's, not a share"): while libVLC's request for
    the new position is fetched (stalled here at the origin) nothing is read ahead."""
    gateway.rendition_chooser = lambda seq: seq % 2
    target_s = 0.6 * SECONDS
    seq = int(target_s // SEGMENT_S)
    url = gateway.open(origin.url(f"{DIR}/manifest.mpd"))
    player.open(url)
    ra = current_readahead(gateway)
    poll_until(
        lambda: (player.time_s() or 0.0) > 0.5 and ra.idle() and ra.held_s() > 0,
        "playback with the read-ahead done",
    )
    slow = origin.add_fault(
        f"/{DIR}/chunk-stream{seq % 2}-{seq + 1:05d}.m4s", "pause", after_bytes=PAUSE_AFTER_BYTES
    )
    try:
        takes = len(spy.takes)
        player.open(url, (f":start-time={target_s:g}",))  # the new position (module doc)
        jump = next_take(spy, takes, [seq], f"libVLC's request for {target_s:g} s")
        poll_until(
            lambda: bool(slow.waiting) and ra.idle(),
            "libVLC's own fetch stalled and the read-ahead idle",
        )
        assert not jump.from_memory
        assert ra.held_s() == 0.0, ra.held_s()
        # (a prefetch started before the jump may still end, and be discarded)
        assert not [s for _r, s in video_gets(origin, jump.mark) if s > seq]
    finally:
        slow.release()


def test_stop_during_a_prefetch_ends_the_worker_and_fetches_nothing_more(
    origin: OriginServer,
    gateway: Gateway,
    events: list[object],
    player: Any,
    spy: ReadAheadSpy,
    dash_dir: Path,
) -> None:
    gateway.rendition_chooser = lambda seq: seq % 2
    path = f"/{DIR}/chunk-stream{STOP_SEQ % 2}-{STOP_SEQ + 1:05d}.m4s"
    slow = origin.add_fault(path, "pause", after_bytes=PAUSE_AFTER_BYTES)  # until released
    player.open(gateway.open(origin.url(f"{DIR}/manifest.mpd")))
    ra = current_readahead(gateway)
    # the read-ahead's fetch of STOP_SEQ stalls mid-body, and libVLC's request waits on it
    poll_until(
        lambda: bool(slow.waiting) and spy.is_waiting(STOP_SEQ),
        f"libVLC waiting on the stalled prefetch of {STOP_SEQ}",
    )
    assert [q for q in origin.requests_for(path) if q[0] == "GET"] and not ra.idle()
    worker = ra._worker  # noqa: SLF001 (the thread that must end)
    assert worker is not None and worker.is_alive()
    before = len(origin.requests)

    gateway.stop()  # as the session tears down: the gateway first, then libVLC
    stopped = len(origin.requests)
    poll_until(lambda: not worker.is_alive(), "the read-ahead worker to end")
    poll_until(lambda: not spy.is_waiting(STOP_SEQ), "libVLC's request to end")
    player.stop()
    slow.release()
    poll_until(lambda: not slow.waiting, "the origin's stalled answer to end")

    # no video segment while stopping (libVLC's waiting request did not fetch for itself,
    # the worker did not go on), nothing at all after stop
    assert video_gets(origin, before) == []
    assert list(origin.requests)[stopped:] == []
    assert ra.held_bytes() == 0 and ra.held_s() == 0.0
    (stalled,) = [f for f in fetches(events) if urllib.parse.urlsplit(f.url).path == path]
    assert (
        stalled.error is not None
        and stalled.bytes < (dash_dir / path[len(DIR) + 2 :]).stat().st_size
    )
    assert not any(t.seq == STOP_SEQ and t.from_memory for t in spy.takes)
    one_record_per_fetch(origin, gateway, events)
