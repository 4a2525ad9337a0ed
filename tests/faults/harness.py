"""The fault campaign's harness: a real window playing through the real gateway and libVLC.

Usage (fixtures from tests/faults/conftest.py: ``fault_window``, ``fault_hls``, ``origin``)::

    def test_x(fault_window, origin, fault_hls):          # fault_hls: 1 s segments, on `origin`
        w = fault_window                                  # a FaultWindow (MainWindow offscreen)
        w.open(origin.url("hls/master.m3u8"))
        w.wait_position(1.0)                              # also wait_playing/_error/_notice/_note
        with w.fault("my-fault") as beats:                # LagMeter beats seen during the fault
            ...inject, wait on a condition...
        assert beats.responsive, beats                    # it beat, and never froze (FREEZE_S)
        row = w.finish_and_history_row()                  # the session's history row (+ its stalls)
        w.memory.check_bounded()                          # RSS peak since open < MAX_GROWTH_MB
    # STALLWATCH_FAULT_LAG_FILE=path: each fault's lag p50/p99/max appended as JSON lines.

The waits (``wait*``, ``pump``) run the Qt event loop between polls (tests/player/conftest.py
``wait_until``: ``processEvents`` every 5 ms), so the heartbeat can fire while a test waits:
a gap in the beats is the window's event loop not running, never the test's own waiting.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QApplication

from player.core.model import PlaybackState
from player.playback.vlc import VlcPlayer
from player.session import Session, StallBegan, StreamNote
from player.store.history import DB_NAME, HistoryStore
from player.store.prefs import PrefsStore
from player.ui.main_window import MainWindow
from tests.player.conftest import pump, wait_until

log = logging.getLogger(__name__)

LAG_FILE_ENV = "STALLWATCH_FAULT_LAG_FILE"  # benchmarks/bench_faults.py sets it
BEAT_MS = 10  # the heartbeat's interval: fine enough to see a 100 ms freeze as ~10 missed beats
# A fault "keeps the window responsive" when the heartbeat fired after the fault began and
# the longest time without a beat (fault start to first beat, beat to beat, last beat to the
# fault's end) stayed under FREEZE_S. 2 s: far above what scheduler jitter, a GC pass or a
# libVLC call costs the GUI thread on a loaded 2-core machine (longest gaps measured over
# the whole campaign with 5 jobs sharing 2 cores: 0.02-0.7 s), and below the 5 s after which
# desktops (GNOME's check-alive, Windows' "Not Responding") declare a window hung: a window
# stuck that long is what a viewer calls frozen. A fixed beat count would be both flaky (a slow loop fires fewer) and blind (a 9 s
# freeze inside a long fault still leaves enough beats); the gap sees any single freeze.
# Lag p50/p99 (the issue's < 100 ms target) are benchmark figures (bench_faults.py), never
# asserted: they measure the shared machine as much as the product.
FREEZE_S = 2.0
# Short streams keep each fault test to seconds: 1 s segments, two small renditions (the
# gateway's ABR has somewhere to go, and the encode stays cheap on 2 shared cores).
FAULT_RENDITIONS = ((180, 250_000), (240, 450_000))
FAULT_HLS_SECONDS = (
    12  # long enough that a fault at ~1 s leaves most of the stream to play (H4 relies on 12)
)
SEGMENT_S = 1
# Bounded memory: a fault test's RSS may grow by at most this much from its open to its end.
# Opening a first video costs libVLC's decoders, Qt's buffers and the gateway's threads
# (~40-80 MB here, measured); a leak or an unbounded buffer (the issue's ~10 MB/s on an
# endless body, +60 MB per 120k allowlist entries) blows well past it within a test's seconds.
MAX_GROWTH_MB = 150.0
WAIT_S = 30.0  # default deadline of a wait: only ends a hang (libVLC on 2 loaded cores is slow)


class LagMeter:
    """A GUI-thread heartbeat: when each beat fired, and how late (event-loop lag).

    Lag of one beat = (time since the previous beat) - interval, floored at 0. Samples keep
    their time so a test can ask for the figures of one phase (``since``).
    """

    def __init__(self, interval_ms: int = BEAT_MS) -> None:
        self.interval_s = interval_ms / 1000
        self.times: list[float] = []  # monotonic time of every beat
        self.samples: list[tuple[float, float]] = []  # (monotonic time, lag s)
        self._last: float | None = None
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._beat)
        self._timer.start(interval_ms)

    @property
    def beats(self) -> int:
        return len(self.samples)

    def _beat(self) -> None:
        now = time.monotonic()
        self.times.append(now)
        if self._last is not None:
            self.samples.append((now, max(0.0, now - self._last - self.interval_s)))
        self._last = now

    def beats_between(self, since: float, until: float) -> int:
        return sum(1 for t in self.times if since < t <= until)

    def max_gap(self, since: float, until: float) -> float:
        """The longest time in [since, until] without a beat, its two ends included: a
        freeze at the start (no beat yet) or at the end (none since) counts like any other."""
        return self.longest_gap(since, until)[0]

    def longest_gap(self, since: float, until: float) -> tuple[float, float]:
        """``(max_gap, when that gap began)`` over [since, until]."""
        edges = [since, *(t for t in self.times if since < t <= until), until]
        return max((b - a, a) for a, b in zip(edges, edges[1:], strict=False))

    def lags(self, since: float = 0.0, until: float = float("inf")) -> list[float]:
        return [lag for t, lag in self.samples if since <= t <= until]

    def summary(self, since: float = 0.0, until: float = float("inf")) -> dict[str, float]:
        """``{"beats", "p50_ms", "p99_ms", "max_ms"}`` over the samples in [since, until]."""
        lags = sorted(self.lags(since, until))
        if not lags:
            return {
                "beats": 0,
                "p50_ms": float("nan"),
                "p99_ms": float("nan"),
                "max_ms": float("nan"),
            }
        p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
        return {
            "beats": len(lags),
            "p50_ms": round(statistics.median(lags) * 1000, 2),
            "p99_ms": round(p99 * 1000, 2),
            "max_ms": round(lags[-1] * 1000, 2),
        }

    def stop(self) -> None:
        self._timer.stop()


def record_lag(fault: str, figures: dict[str, Any]) -> None:
    """Append one fault's lag figures to ``$STALLWATCH_FAULT_LAG_FILE`` (benchmark only)."""
    path = os.environ.get(LAG_FILE_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"fault": fault, **figures}) + "\n")


def rss_bytes() -> int:
    """This process's resident set size (psutil, else /proc/self/status VmRSS)."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:  # pragma: no cover - psutil is a product dependency
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise


class MemoryWatch:
    """RSS at the start and the highest seen since (sampled on the GUI thread every 100 ms)."""

    def __init__(self) -> None:
        self.start = rss_bytes()
        self.peak = self.start
        self._timer = QTimer()
        self._timer.timeout.connect(self.sample)
        self._timer.start(100)

    def sample(self) -> int:
        now = rss_bytes()
        self.peak = max(self.peak, now)
        return now

    def grew_mb(self) -> float:
        self.sample()
        return (self.peak - self.start) / 1e6

    def check_bounded(self, limit_mb: float = MAX_GROWTH_MB) -> None:
        grew = self.grew_mb()
        assert grew < limit_mb, (
            f"RSS grew {grew:.0f} MB (from {self.start / 1e6:.0f} MB), bound {limit_mb} MB"
        )

    def stop(self) -> None:
        self._timer.stop()


@dataclass
class FaultBeats:
    """What the heartbeat saw while one fault lasted (filled when the ``with`` block ends)."""

    name: str
    started: float
    ended: float = 0.0
    beats: int = 0  # heartbeats fired after the fault began
    max_gap_s: float = float("inf")  # the longest time without one (see LagMeter.max_gap)
    max_gap_at_s: float = 0.0  # when that gap began, seconds after the fault began
    figures: dict[str, float] = field(default_factory=dict)  # lag p50/p99/max (benchmark)

    @property
    def responsive(self) -> bool:
        """The window's event loop ran during the fault and never stopped for FREEZE_S."""
        return self.beats >= 1 and self.max_gap_s < FREEZE_S


class FaultWindow:
    """A real MainWindow (offscreen) over real libVLC and the real gateway, with a history.

    Everything a fault test waits on is a condition on what the window shows or the
    session knows; deadlines only end hangs.
    """

    def __init__(self, app: QApplication, data_dir: Path) -> None:
        self.app = app
        self.player = VlcPlayer(audio=False)
        self.session = Session(self.player)
        self.prefs = PrefsStore()
        self.history = HistoryStore(data_dir / DB_NAME)
        self.window = MainWindow(
            self.session, self.prefs, libvlc_version="test", history=self.history
        )
        self.window.add_closing_hook(self.player.release)
        self.window.resize(640, 420)
        self.window.show()
        self.events: list[object] = []
        self.window.bridge.session_event.connect(self.events.append)
        self.notices_shown: list[str] = []
        self.window.notice_shown.connect(self.notices_shown.append)
        self.lag = LagMeter()
        self.memory: MemoryWatch | None = None
        self.opened_at = 0.0
        self.closed = False
        self.sid: str | None = None

    # -- driving ------------------------------------------------------------------------------
    def open(self, source: str) -> None:
        self.memory = MemoryWatch()
        self.opened_at = time.monotonic()
        self.window.open_source(source)
        self.wait(lambda: self.recorder_sid() is not None, what="the session's history row started")
        self.sid = self.recorder_sid()

    def recorder_sid(self) -> str | None:
        ctl = self.window.history
        return ctl.recorder.sid if ctl is not None else None

    def wait(self, predicate: Callable[[], bool], timeout: float = WAIT_S, what: str = "") -> float:
        return wait_until(self.app, predicate, timeout, what)

    def pump(self, seconds: float) -> None:
        pump(self.app, seconds)

    @contextmanager
    def fault(self, name: str) -> Iterator[FaultBeats]:
        """Mark the time a fault lasts: the heartbeat's beats and longest gap in it (for
        ``beats.responsive``); its lag figures go to the lag file (benchmark).

        A fault over before the first beat was due (a refusal can take ~10 ms on a fast
        machine) ends once the window has beaten: a live event loop does within one
        interval, and the wait's time counts in the gap like the rest of the fault."""
        beats = FaultBeats(name, time.monotonic())
        try:
            yield beats
            self.wait(
                lambda: self.lag.beats_between(beats.started, time.monotonic()) > 0,
                what=f"a heartbeat during the fault {name!r}",
            )
        finally:
            beats.ended = time.monotonic()
            beats.beats = self.lag.beats_between(beats.started, beats.ended)
            gap, gap_began = self.lag.longest_gap(beats.started, beats.ended)
            beats.max_gap_s, beats.max_gap_at_s = gap, gap_began - beats.started
            beats.figures = self.lag.summary(beats.started, beats.ended)
            figures = {
                **beats.figures,
                "heartbeats": beats.beats,
                "max_gap_ms": round(gap * 1000, 1),
                "max_gap_at_s": round(beats.max_gap_at_s, 2),
                "seconds": round(beats.ended - beats.started, 2),
            }
            record_lag(name, figures)
            log.info("fault %s: %s (freeze bound %.0f ms)", name, figures, FREEZE_S * 1000)

    # -- what the window shows ----------------------------------------------------------------
    @property
    def state(self) -> PlaybackState:
        return self.session.state

    def position(self) -> float:
        return self.session.snapshot().position_s or 0.0

    def message_text(self) -> str:
        """The centre message (errors, "Opening…") as shown, '' when none."""
        msg = self.window.video.message
        return f"{msg.title} {msg.detail}".strip() if msg is not None else ""

    def error_text(self) -> str:
        msg = self.window.video.message
        return self.message_text() if msg is not None and msg.kind == "error" else ""

    def notice_text(self) -> str:
        """The stall notice band's text as shown, '' when no band."""
        n = self.window.video.notice
        if n is None:
            return ""
        lines = getattr(n, "lines", None)  # a Notice; an Overlay has title and detail only
        return " ".join(lines if lines is not None else [n.title, n.detail]).strip()

    def notes(self) -> list[str]:
        """Every stream note of this window (retries, missing segments, resumes), in order."""
        return [ev.message for ev in self.events if isinstance(ev, StreamNote)]

    def path_status(self) -> str:
        """The path monitor's status ("ok", "not_permitted", ...), "" before it has one."""
        snap = self.session.path_snapshot()
        return str(getattr(snap.status, "value", snap.status)) if snap is not None else ""

    def of_type(self, cls: type) -> list:
        return [ev for ev in self.events if isinstance(ev, cls)]

    # -- waits --------------------------------------------------------------------------------
    def wait_playing(self, timeout: float = WAIT_S) -> None:
        self.wait(lambda: self.state is PlaybackState.PLAYING, timeout, "playing")

    def wait_position(self, seconds: float, timeout: float = WAIT_S) -> None:
        self.wait(lambda: self.position() > seconds, timeout, f"position past {seconds} s")

    def wait_error(self, timeout: float = WAIT_S) -> str:
        self.wait(lambda: self.error_text() != "", timeout, "an error message")
        return self.error_text()

    def wait_notice(self, timeout: float = WAIT_S) -> str:
        self.wait(lambda: self.notice_text() != "", timeout, "the stall notice")
        log.info("notice shown: %s", self.notice_text())
        return self.notice_text()

    def wait_note(self, *words: str, timeout: float = WAIT_S) -> str:
        """A stream note containing any of ``words`` (case-insensitive)."""

        def found() -> str | None:
            return next(
                (n for n in self.notes() if any(w.lower() in n.lower() for w in words)), None
            )

        self.wait(lambda: found() is not None, timeout, f"a stream note with {words}")
        return found() or ""

    def wait_done(self, timeout: float = WAIT_S) -> PlaybackState:
        """Until the session ends (played to the end, or stopped with an error)."""
        done = (PlaybackState.ENDED, PlaybackState.ERROR)
        self.wait(lambda: self.state in done, timeout, "the end of playback")
        return self.state

    # -- after ------------------------------------------------------------------------------
    def finish_and_history_row(self) -> dict[str, Any]:
        """Finish the session (as opening another video would), then read its history row
        with a ``stalls`` list; fails when the row is missing."""
        self.window.recording.finish()
        assert self.history.flush(10.0), "history writes did not complete"
        data = self.history.load().result(10.0)
        rows = [s for s in data["sessions"] if s["id"] == self.sid]
        assert rows, f"the session's history row is missing (sid {self.sid})"
        row = dict(rows[0])
        row["stalls"] = [st for st in data["stalls"] if st["session_id"] == self.sid]
        return row

    def check_history(self, row: dict[str, Any], *, min_stalls: int = 0) -> None:
        """The row says what happened: ended, every stall the window saw recorded, finished."""
        assert row["ended"] == 1, row
        seen = len(self.of_type(StallBegan))
        assert seen >= min_stalls, f"{seen} stalls seen, expected at least {min_stalls}"
        assert row["stall_count"] == seen == len(row["stalls"]), (seen, row)
        assert all(st["duration_s"] is not None for st in row["stalls"]), row["stalls"]

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        grew = self.memory.grew_mb() if self.memory is not None else 0.0
        notes = sorted(set(self.notes()))
        log.info(
            "closing: %s at %.1f s, RSS +%.0f MB, notes: %s",
            self.state.value,
            self.position(),
            grew,
            notes,
        )
        self.lag.stop()
        if self.memory is not None:
            self.memory.stop()
        self.window.close()
        self.history.close(5.0)
        self.window.deleteLater()
        pump(self.app, 0.05)


@pytest.fixture
def fault_window(qapp: QApplication, tmp_path: Path) -> Iterator[FaultWindow]:
    w = FaultWindow(qapp, tmp_path / "history")
    try:
        yield w
    finally:
        w.close()
