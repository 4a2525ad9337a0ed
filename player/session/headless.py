"""Headless playback: the same Session the GUI drives, on a plain loop (no Qt).

Used by ``stallwatch diagnose``, the benchmarks and the tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from player.core.model import PlaybackState, SessionReport
from player.playback.vlc import VlcPlayer
from player.session import PlaybackFailed, Session, SessionEvent

TICK_S = 0.05  # the session's heartbeat, as in the GUI
STARTUP_ALLOWANCE_S = 15.0  # wall time allowed on top of the playback time


@dataclass
class HeadlessResult:
    report: SessionReport | None
    error: str | None  # bad input: the message the GUI would show
    events: list[SessionEvent] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time during the run


def play(
    url: str,
    duration: float,
    *,
    max_wall_s: float | None = None,
    player_args: tuple[str, ...] = (),
    on_tick: Callable[[Session], None] | None = None,
    **session_kwargs: object,
) -> HeadlessResult:
    """Play ``url`` until ``duration`` seconds have played (or it ends / fails)."""
    player = VlcPlayer(extra_args=player_args, audio=False)
    session = Session(player, **session_kwargs)  # type: ignore[arg-type]
    events: list[SessionEvent] = []
    error: str | None = None
    t0 = time.monotonic()
    c0 = time.process_time()
    deadline = t0 + (max_wall_s if max_wall_s is not None else duration * 3 + STARTUP_ALLOWANCE_S)
    report = None
    try:
        session.open(url)
        while True:
            session.tick()
            while not session.events.empty():
                ev = session.events.get_nowait()
                events.append(ev)
                if isinstance(ev, PlaybackFailed):
                    error = ev.message
            if on_tick is not None:
                on_tick(session)
            played = session.monitor.time_in(PlaybackState.PLAYING)
            if error or session.state in (PlaybackState.ENDED, PlaybackState.ERROR):
                break
            if played >= duration or time.monotonic() >= deadline:
                break
            time.sleep(TICK_S)
        if not (error and session.monitor.startup_s is None):
            report = session.report()
    finally:
        session.close()
        player.release()
    return HeadlessResult(report, error, events, time.monotonic() - t0, time.process_time() - c0)
