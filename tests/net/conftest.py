"""Fixtures for the network-layer tests: a gateway, and real libVLC playback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from player.net.gateway import Gateway

VLC_ARGS = "--vout=dummy --aout=dummy --quiet --no-video-title-show"


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    """Every test must leave no gateway or origin threads behind."""
    yield
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        left = [t.name for t in threading.enumerate() if t.name.startswith(("gateway", "origin"))]
        if not left:
            return
        time.sleep(0.02)
    pytest.fail(f"threads left running: {left}")


@pytest.fixture
def events() -> list[object]:
    """Gateway events, appended from gateway threads (list.append is atomic)."""
    return []


@pytest.fixture
def gateway(events: list[object]) -> Iterator[Gateway]:
    """A started gateway that records events into ``events``; stopped after the test."""
    gw = Gateway(on_event=events.append)
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


@dataclass
class PlayResult:
    ended: bool
    error: bool
    max_time_ms: int
    length_ms: int
    wall_s: float
    decoded_video: int
    video_size: tuple[int, int] | None
    samples: list[tuple[float, int]] = field(default_factory=list)


@pytest.fixture
def vlc_play() -> Callable[..., PlayResult]:
    """``play(url, rate=6.0, timeout=30.0, on_tick=None) -> PlayResult`` with real libVLC.

    Plays headless (dummy video/audio outputs) at ``rate`` x speed until EndReached,
    an error or ``timeout``; VLC callbacks only set Events (libVLC is not re-entrant).
    """
    vlc = pytest.importorskip("vlc")

    def play(
        url: str,
        rate: float = 6.0,
        timeout: float = 30.0,
        on_tick: Callable[[object, float], None] | None = None,
    ) -> PlayResult:
        inst = vlc.Instance(VLC_ARGS)
        if inst is None:
            pytest.skip("libVLC could not be initialised")
        player = inst.media_player_new()
        media = inst.media_new(url)
        player.set_media(media)
        ended, error = threading.Event(), threading.Event()
        em = player.event_manager()
        cb_end = lambda _e: ended.set()  # noqa: E731 - keep references alive while playing
        cb_err = lambda _e: error.set()  # noqa: E731
        em.event_attach(vlc.EventType.MediaPlayerEndReached, cb_end)
        em.event_attach(vlc.EventType.MediaPlayerEncounteredError, cb_err)
        t0 = time.monotonic()
        player.play()
        player.set_rate(rate)
        max_t, samples = 0, []
        size = None
        try:
            while not ended.is_set() and not error.is_set() and time.monotonic() - t0 < timeout:
                time.sleep(0.05)
                now = time.monotonic() - t0
                t = player.get_time()
                max_t = max(max_t, t)
                samples.append((now, t))
                if on_tick is not None:
                    on_tick(player, now)
                s = player.video_get_size()
                if s and s[0]:
                    size = s
            stats = vlc.MediaStats()
            media.get_stats(stats)
            length = player.get_length()
        finally:
            player.stop()
            em.event_detach(vlc.EventType.MediaPlayerEndReached)
            em.event_detach(vlc.EventType.MediaPlayerEncounteredError)
            player.release()
            media.release()
            inst.release()
        return PlayResult(
            ended.is_set(),
            error.is_set(),
            max_t,
            length,
            time.monotonic() - t0,
            stats.decoded_video,
            size,
            samples,
        )

    return play
