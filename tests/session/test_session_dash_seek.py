"""Seeking in DASH through the gateway with real libVLC and the Session (headless): the
session reopens the stream at the target (player/session/reopen_seek.py). The rebuffer
is a seek, not a stall, even when the target's segment is slow to come; the position
shown is the target at once and never jumps back; quick repeated seeks (an arrow key
held) are one reopen at the last target. ffmpeg-made DASH (40 s, 2 s segments) on the
loopback origin; nothing is mocked (the session's clock is the real one, held still only
while the test "holds the key", so that the coalescing does not depend on the CPU).
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from player.core.model import PlaybackState
from player.session import StallBegan
from player.session.reopen_seek import COALESCE_S
from tests.support.media import make_dash
from tests.support.origin import OriginServer

pytestmark = pytest.mark.vlc

SECONDS = 40
SEGMENT_S = 2.0
DIR = "dash_ra"  # the same stream as tests/net/test_dash_readahead_vlc.py
#: Only ends a hang: conditions are polled (CPU is shared, libVLC starts slowly under load).
WAIT_S = 20.0
TICK_S = 0.05  # the session's heartbeat, as the GUI's (player/ui/bridge.py)
#: libVLC's playhead after a reopen at a target: at the target (it prerolls from the
#: segment's start), reported in steps of up to ~1 s.
NEAR_S = SEGMENT_S + 0.5
#: The target segment is held at the origin for longer than this (session clock) after
#: libVLC asked for it: a freeze this long while playing is a stall (FREEZE_MIN_S 0.35 s).
HELD_FOR_S = 2.0
#: An arrow key held down: auto-repeat every 40 ms (typical desktop rate, 25 Hz).
KEY_REPEAT_S = 0.04
KEY_REPEATS = 8  # 8 x 40 ms: well inside COALESCE_MAX_S, so one reopen
KEY_STEP_S = 3.0  # several segments a step: the intermediate targets lie apart

VIDEO_PATH = re.compile(rf"/{DIR}/chunk-stream[01]-(\d{{5}})\.m4s$")


class HeldClock:
    """The real monotonic clock, except while :meth:`hold` is on: then it moves only
    by :meth:`advance` (never backwards; it goes on from there after :meth:`release`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._held: float | None = None

    def __call__(self) -> float:
        with self._lock:
            return self._held if self._held is not None else time.monotonic() + self._offset

    def hold(self) -> None:
        with self._lock:
            self._held = time.monotonic() + self._offset

    def advance(self, dt: float) -> None:
        with self._lock:
            assert self._held is not None
            self._held += dt

    def release(self) -> None:
        with self._lock:
            assert self._held is not None
            self._offset = self._held - time.monotonic()
            self._held = None


@pytest.fixture(scope="module")
def dash_dir(media_dir: Path) -> Path:
    d = media_dir / DIR
    if not (d / "manifest.mpd").exists():
        make_dash(d, seconds=SECONDS, segment_s=SEGMENT_S, layout="template")
    return d


@pytest.fixture
def clock() -> HeldClock:
    return HeldClock()


@pytest.fixture
def session(clock: HeldClock) -> Iterator[Any]:
    pytest.importorskip("vlc")
    from player.playback.vlc import VlcPlayer
    from player.session import Session

    try:
        p = VlcPlayer(audio=False)
    except RuntimeError as e:
        pytest.skip(str(e))
    s = Session(p, clock=clock, probe_path=False)
    try:
        yield s
    finally:
        s.close()
        p.release()


class Run:
    """Ticks the session as the GUI's timer does and keeps its events and positions."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.events: list[object] = []
        self.positions: list[tuple[float | None, PlaybackState]] = []  # snapshot per tick

    def tick(self) -> None:
        s = self.session
        s.tick()
        while not s.events.empty():
            self.events.append(s.events.get_nowait())
        snap = s.snapshot()
        self.positions.append((snap.position_s, s.monitor.state))

    def until(
        self, predicate: Callable[[], bool], what: str, state: Callable[[], object] | None = None
    ) -> None:
        deadline = time.monotonic() + WAIT_S
        while True:
            self.tick()
            if predicate():
                return
            if time.monotonic() > deadline:
                seen = f" (seen: {state()})" if state is not None else ""
                pytest.fail(f"timed out after {WAIT_S} s waiting for {what}{seen}")
            time.sleep(TICK_S)

    def playing_dash(self) -> None:
        s = self.session
        self.until(
            lambda: (
                s.gateway is not None
                and s.gateway.serves_dash
                and s.state is PlaybackState.PLAYING
                and (s.player.time_s() or 0.0) > 0.5
            ),
            "playback through the gateway's DASH",
        )

    def stalls(self) -> list[object]:
        return [e for e in self.events if isinstance(e, StallBegan)]


def video_seqs(origin: OriginServer, after: int = 0) -> list[int]:
    out = []
    for method, url, _rng, _status in list(origin.requests)[after:]:
        m = VIDEO_PATH.search(urllib.parse.urlsplit(url).path)
        if method == "GET" and m:
            out.append(int(m.group(1)) - 1)
    return out


def test_a_seek_whose_segment_is_slow_is_a_seek_not_a_stall(
    origin: OriginServer, session: Any, clock: HeldClock, dash_dir: Path
) -> None:
    run = Run(session)
    session.open(origin.url(f"{DIR}/manifest.mpd"))
    run.playing_dash()
    target_s = 0.6 * SECONDS
    seq = int(target_s // SEGMENT_S)
    held = origin.add_fault(f"/{DIR}/chunk-stream*-{seq + 1:05d}.m4s", "hold")
    frames = session.player.frames.distinct_frames
    ticks = len(run.positions)
    try:
        session.seek_s(target_s)
        assert session.snapshot().position_s == target_s  # the slider shows it at once
        run.until(lambda: bool(held.waiting), f"libVLC waiting on segment {seq}")
        held_at = clock()
        run.until(lambda: clock() - held_at > HELD_FOR_S, "the rebuffer to last")
        assert session.monitor.state is PlaybackState.SEEKING
    finally:
        held.release()
    run.until(
        lambda: (session.player.time_s() or 0.0) >= target_s + SEGMENT_S,
        f"the playhead to advance from {target_s:g} s",
        lambda: (session.player.time_s(), session.monitor.state, video_seqs(origin)[-6:]),
    )
    assert session.player.frames.distinct_frames - frames >= 25  # a second of new pictures
    assert run.stalls() == [] and session.report().stalls == []
    # what the viewer saw from the seek on: the target, then the playhead from near it
    shown = [p for p, _state in run.positions[ticks:]]
    assert all(p is not None and target_s - NEAR_S <= p <= target_s + 2 * NEAR_S for p in shown), (
        sorted({round(p or -1, 1) for p in shown})
    )
    assert session.state is PlaybackState.PLAYING
    # the report and the history read the position where playback is now
    assert session.snapshot().position_s >= target_s + SEGMENT_S - 1.5  # libVLC's coarse time
    assert session.qoe().frames_displayed >= frames


def test_quick_repeated_seeks_are_one_reopen_at_the_last_target(
    origin: OriginServer, session: Any, clock: HeldClock, dash_dir: Path
) -> None:
    run = Run(session)
    session.open(origin.url(f"{DIR}/manifest.mpd"))
    run.playing_dash()
    opens = session.player.generation  # VlcPlayer.open counts media generations
    start = session.snapshot().position_s or 0.0
    target_s = start + KEY_REPEATS * KEY_STEP_S
    clock.hold()  # the key's repeats come KEY_REPEAT_S apart on the session's clock
    try:
        for i in range(KEY_REPEATS):
            session.seek_relative(KEY_STEP_S)
            run.tick()
            assert session.snapshot().position_s == pytest.approx(start + (i + 1) * KEY_STEP_S)
            clock.advance(KEY_REPEAT_S)
        assert session.player.generation == opens  # nothing reopened while the key is down
        clock.advance(COALESCE_S)  # the key was let go
        reopened_at = len(origin.requests)
        run.tick()
        assert session.player.generation == opens + 1
    finally:
        clock.release()
    requests = len(origin.requests)
    run.until(
        lambda: (session.player.time_s() or 0.0) >= target_s + SEGMENT_S,
        f"the playhead to advance from {target_s:g} s",
        lambda: (session.player.time_s(), video_seqs(origin, requests)),
    )
    assert session.player.generation == opens + 1  # one reopen
    assert run.stalls() == []
    # the origin saw no segment of the intermediate targets, nor any read ahead from the
    # new input's segment 0 (its format probe: see test_dash_readahead_vlc's module doc)
    seqs = set(video_seqs(origin, reopened_at))
    assert all(q == 0 or q >= int(target_s // SEGMENT_S) - 1 for q in seqs), sorted(seqs)
