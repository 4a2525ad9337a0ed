"""BufferHealthMonitor on synthetic timelines (no clock, runs in milliseconds)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from player.core import thresholds as T
from player.core.buffer_health import (
    BufferHealthMonitor,
    Event,
    GlitchEnded,
    GlitchStarted,
    StallEnded,
    StallStarted,
    StartupComplete,
    StateChanged,
)
from player.core.model import BufferSample, PlaybackState

# --------------------------------------------------------------------------- timeline


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


@dataclass
class Timeline:
    """A synthetic player: frames, coarse playhead and gateway delivery over wall time.

    ``stalls``: (wall start, duration) windows where picture AND media clock stop.
    ``glitches``: windows where only the picture freezes (the clock keeps running
    when ``glitch_clock_runs``). ``buffer_ahead(t)`` gives delivered - media time,
    None meaning the gateway does not know (delivered_media_s=None).
    """

    fps: float = 24.0
    rate_hz: float = 10.0
    first_frame_at: float = 0.4
    stalls: list[tuple[float, float]] = field(default_factory=list)
    glitches: list[tuple[float, float]] = field(default_factory=list)
    glitch_clock_runs: bool = False
    buffer_ahead: Callable[[float], float | None] = lambda t: 12.0
    playhead_step: float = 0.5
    jitter: float = 0.0  # fraction of the sample period
    frames_available: bool = True
    seed: int = 1

    def media_time(self, t: float) -> float:
        if t < self.first_frame_at:
            return 0.0
        m = t - self.first_frame_at
        for s, d in self.stalls:
            m -= _overlap(self.first_frame_at, t, s, s + d)
        if not self.glitch_clock_runs:
            for s, d in self.glitches:
                m -= _overlap(self.first_frame_at, t, s, s + d)
        return m

    def picture_time(self, t: float) -> float:
        p = self.media_time(t)
        if self.glitch_clock_runs:
            for s, d in self.glitches:
                p -= _overlap(self.first_frame_at, t, s, s + d)
        return p

    def frames(self, t: float) -> int:
        if not self.frames_available or t < self.first_frame_at:
            return 0
        return int(math.floor(self.picture_time(t) * self.fps + 1e-9)) + 1

    def last_frame_time(self, before: float) -> float:
        """Wall time the last new picture appeared at or before ``before``."""
        n = self.frames(before)
        t = before
        step = 0.001
        while t > 0 and self.frames(t - step) == n:
            t -= step
        return t

    def sample(self, t: float) -> BufferSample:
        m = self.media_time(t)
        playhead = math.floor(m / self.playhead_step) * self.playhead_step
        ahead = self.buffer_ahead(t)
        return BufferSample(
            at=t,
            playhead_s=playhead,
            delivered_media_s=None if ahead is None else playhead + ahead,
            frames_displayed=self.frames(t),
        )

    def times(self, until: float, start: float = 0.0):
        rng = random.Random(self.seed)
        period = 1.0 / self.rate_hz
        k = 0
        while True:
            t = start + k * period + rng.uniform(0, self.jitter * period)
            if t > until:
                return
            yield round(t, 6)
            k += 1


def run(
    tl: Timeline, until: float, mon: BufferHealthMonitor | None = None, start: float = 0.0
) -> tuple[BufferHealthMonitor, list[tuple[float, Event]]]:
    mon = mon or BufferHealthMonitor(session_start=0.0)
    out: list[tuple[float, Event]] = []
    for t in tl.times(until, start):
        out += [(t, e) for e in mon.feed(tl.sample(t))]
    return mon, out


def of(events: list[tuple[float, Event]], kind: type) -> list[tuple[float, Event]]:
    return [(t, e) for t, e in events if isinstance(e, kind)]


# --------------------------------------------------------------------------- startup


def test_startup_time_is_session_start_to_first_picture() -> None:
    mon, ev = run(Timeline(first_frame_at=0.75), 2.0)
    startup = of(ev, StartupComplete)
    assert len(startup) == 1
    assert startup[0][1].startup_s == pytest.approx(0.8)  # first sample after 0.75
    assert mon.state is PlaybackState.PLAYING
    assert mon.qoe().startup_s == pytest.approx(0.8)
    states = [e.new for _, e in of(ev, StateChanged)]
    assert states == [PlaybackState.STARTUP, PlaybackState.PLAYING]


def test_slow_startup_is_not_a_stall() -> None:
    mon, ev = run(Timeline(first_frame_at=4.0), 6.0)
    assert not of(ev, StallStarted)
    # startup ends with the second picture (the first may be libVLC's preroll)
    assert mon.qoe().startup_s == pytest.approx(4.0, abs=0.15)


# --------------------------------------------------------------------------- stalls


@pytest.mark.parametrize("fps", [24.0, 30.0, 60.0])
@pytest.mark.parametrize("rate_hz", [10.0, 20.0])
def test_stall_detected_and_ended_within_half_a_second(fps: float, rate_hz: float) -> None:
    tl = Timeline(fps=fps, rate_hz=rate_hz, stalls=[(5.03, 3.0)], buffer_ahead=lambda t: 0.3)
    mon, ev = run(tl, 12.0)
    started = of(ev, StallStarted)
    ended = of(ev, StallEnded)
    assert len(started) == 1 and len(ended) == 1
    t_start, e_start = started[0]
    assert t_start - 5.03 <= 0.5
    assert abs(e_start.start_s - 5.03) <= 1.0 / rate_hz + 1e-6
    t_end, e_end = ended[0]
    assert 0 <= t_end - 8.03 <= 0.5
    assert e_end.duration_s == pytest.approx(3.0, abs=2.0 / rate_hz)
    qoe = mon.qoe()
    assert qoe.stall_count == 1
    assert qoe.stall_s == pytest.approx(3.0, abs=2.0 / rate_hz)
    assert mon.state is PlaybackState.PLAYING


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fps=st.floats(23.976, 60.0),
    rate_hz=st.floats(10.0, 20.0),
    start=st.floats(2.0, 6.0),
    duration=st.floats(0.6, 4.0),
    jitter=st.floats(0.0, 0.3),
    seed=st.integers(0, 1000),
)
def test_stall_latency_property(
    fps: float, rate_hz: float, start: float, duration: float, jitter: float, seed: int
) -> None:
    """Any stall of normal-rate video is reported within 0.5 s, and so is its end."""
    tl = Timeline(
        fps=fps,
        rate_hz=rate_hz,
        stalls=[(start, duration)],
        jitter=jitter,
        seed=seed,
        buffer_ahead=lambda t: 0.4,
    )
    mon, ev = run(tl, start + duration + 2.0)
    started = of(ev, StallStarted)
    ended = of(ev, StallEnded)
    assert len(started) == 1, ev
    assert len(ended) == 1
    assert started[0][0] - start <= 0.5
    assert 0 <= ended[0][0] - (start + duration) <= 0.5
    assert mon.qoe().stall_s == pytest.approx(duration, abs=0.25)


@settings(max_examples=25, deadline=None)
@given(
    fps=st.sampled_from([1.0, 2.0, 5.0, 12.0, 24.0, 25.0, 30.0, 50.0, 60.0]),
    rate_hz=st.floats(10.0, 20.0),
    jitter=st.floats(0.0, 0.4),
    step=st.floats(0.26, 1.1),
    known=st.booleans(),
)
def test_regular_playback_never_stalls(
    fps: float, rate_hz: float, jitter: float, step: float, known: bool
) -> None:
    tl = Timeline(
        fps=fps,
        rate_hz=rate_hz,
        jitter=jitter,
        playhead_step=step,
        buffer_ahead=(lambda t: 8.0) if known else (lambda t: None),
    )
    mon, ev = run(tl, 30.0)
    assert not of(ev, StallStarted)
    assert not of(ev, GlitchStarted)
    assert mon.state is PlaybackState.PLAYING


def test_lone_picture_does_not_end_a_stall() -> None:
    """Hysteresis: one late picture in the middle of a stall is not a resumption."""
    tl = Timeline(stalls=[(5.0, 1.5), (6.52, 2.0)], buffer_ahead=lambda t: 0.3)
    mon, ev = run(tl, 11.0)
    assert len(of(ev, StallStarted)) == 1
    assert of(ev, StallEnded)[0][1].duration_s == pytest.approx(3.5, abs=0.25)


def test_two_separate_stalls_are_counted() -> None:
    tl = Timeline(stalls=[(3.0, 1.0), (7.0, 2.0)], buffer_ahead=lambda t: 0.2)
    mon, ev = run(tl, 12.0)
    assert [round(s.start_s, 1) for s in mon.stalls] == [3.0, 7.0]
    assert [s.duration_s for s in mon.stalls] == [
        pytest.approx(1.0, abs=0.11),
        pytest.approx(2.0, abs=0.11),
    ]
    qoe = mon.qoe()
    assert qoe.stall_count == 2
    assert qoe.rebuffer_ratio == pytest.approx(3.0 / (12.0 - 0.4), abs=0.03)


def test_ongoing_stall_counts_in_qoe() -> None:
    tl = Timeline(stalls=[(3.0, 100.0)], buffer_ahead=lambda t: 0.2)
    mon, _ = run(tl, 6.0)
    assert mon.state is PlaybackState.STALLED
    assert mon.stalls[0].duration_s is None
    assert mon.qoe().stall_s == pytest.approx(3.0, abs=0.15)


# --------------------------------------------------------------------------- glitches


def test_freeze_with_full_buffer_is_a_glitch_not_a_stall() -> None:
    """The VLC rendition-switch freeze: ~1.2 s frozen while 20 s are buffered."""
    tl = Timeline(glitches=[(5.0, 1.2)], buffer_ahead=lambda t: 20.0)
    mon, ev = run(tl, 9.0)
    assert not of(ev, StallStarted)
    assert mon.qoe().stall_count == 0
    glitch_end = of(ev, GlitchEnded)
    assert len(glitch_end) == 1 and not glitch_end[0][1].promoted
    assert glitch_end[0][1].duration_s == pytest.approx(1.2, abs=0.2)
    assert mon.glitch_count == 1 and mon.qoe().glitch_count == 1
    assert mon.state is PlaybackState.PLAYING


def test_same_freeze_with_empty_buffer_is_a_stall() -> None:
    tl = Timeline(stalls=[(5.0, 1.2)], buffer_ahead=lambda t: 0.6)
    mon, ev = run(tl, 9.0)
    assert len(of(ev, StallStarted)) == 1
    assert mon.glitch_count == 0


def test_glitch_turns_into_stall_when_the_buffer_runs_low() -> None:
    tl = Timeline(stalls=[(5.0, 4.0)], buffer_ahead=lambda t: 10.0 if t < 6.5 else 0.5)
    mon, ev = run(tl, 11.0)
    assert of(ev, GlitchStarted)
    promoted = of(ev, GlitchEnded)
    assert promoted and promoted[0][1].promoted
    started = of(ev, StallStarted)
    assert len(started) == 1
    assert started[0][1].start_s == pytest.approx(5.0, abs=0.11)  # back-dated to the freeze
    assert mon.glitch_count == 0 and mon.qoe().stall_count == 1


def test_unknown_buffer_falls_back_to_frames() -> None:
    """Local file / direct fetch: no delivery figure, a frozen picture is a stall."""
    tl = Timeline(stalls=[(5.0, 2.0)], buffer_ahead=lambda t: None)
    mon, ev = run(tl, 9.0)
    assert len(of(ev, StallStarted)) == 1
    assert of(ev, StallStarted)[0][0] - 5.0 <= 0.5
    assert mon.buffer_ahead_s is None


def test_running_media_clock_ends_a_frames_only_stall() -> None:
    """Picture frozen but the playhead keeps moving: not starvation."""
    tl = Timeline(
        glitches=[(5.0, 6.0)],
        glitch_clock_runs=True,
        buffer_ahead=lambda t: None,
        playhead_step=0.5,
    )
    mon, ev = run(tl, 13.0)
    ended = of(ev, StallEnded)
    assert len(ended) == 1 and ended[0][1].reason == "clock_running"
    assert ended[0][1].duration_s <= T.PLAYHEAD_RUNNING_ADVANCE_S + 0.6
    assert mon.glitch_count == 1


# --------------------------------------------------------------------------- low frame rates


@pytest.mark.parametrize("fps", [1.0, 2.0, 5.0])
def test_low_frame_rate_stall_uses_the_frame_interval(fps: float) -> None:
    interval = 1.0 / fps
    stall_at = 12.0 + 0.5 * interval
    tl = Timeline(fps=fps, stalls=[(stall_at, 10.0)], buffer_ahead=lambda t: 1.0)  # low, not starved
    mon, ev = run(tl, 25.0)
    started = of(ev, StallStarted)
    assert len(started) == 1
    last = tl.last_frame_time(stall_at)
    expected = max(T.FREEZE_MIN_S, T.FREEZE_FRAME_INTERVAL_FACTOR * interval)
    latency = started[0][0] - last
    # measured from the earliest moment the last picture could have appeared
    assert expected - T.FRAME_TIME_UNCERTAINTY_S - 1e-6 <= latency <= expected + 0.15
    assert mon.frame_interval_s == pytest.approx(interval, rel=0.15)


def test_low_frame_rate_stall_is_faster_when_the_gateway_is_starved() -> None:
    tl = Timeline(fps=1.0, stalls=[(12.5, 10.0)], buffer_ahead=lambda t: 0.2)
    mon, ev = run(tl, 25.0)
    latency = of(ev, StallStarted)[0][0] - tl.last_frame_time(12.5)
    assert latency <= T.STARVED_FREEZE_FACTOR * 1.0 + 0.15


# --------------------------------------------------------------------------- seek / pause / end


def test_seek_is_not_a_stall() -> None:
    tl = Timeline(stalls=[(5.0, 2.0)], buffer_ahead=lambda t: 0.0)
    mon = BufferHealthMonitor(session_start=0.0)
    mon, ev = run(tl, 5.0, mon)
    ev2 = mon.on_seek(5.0)
    assert mon.state is PlaybackState.SEEKING
    mon, ev3 = run(tl, 9.0, mon, start=5.1)
    assert not of(ev + ev3, StallStarted)
    assert mon.state is PlaybackState.PLAYING
    assert [e.new for e in ev2 if isinstance(e, StateChanged)] == [PlaybackState.SEEKING]


def test_seek_flag_in_samples_is_not_a_stall() -> None:
    mon = BufferHealthMonitor(session_start=0.0)
    tl = Timeline(stalls=[(5.0, 2.0)], buffer_ahead=lambda t: 0.0)
    for t in tl.times(9.0):
        s = tl.sample(t)
        s.seeking = 5.0 <= t < 7.0
        mon.feed(s)
    assert mon.stalls == []
    assert mon.time_in(PlaybackState.SEEKING) == pytest.approx(2.0, abs=0.11)


def test_pause_is_not_a_stall_and_resume_rearms_detection() -> None:
    tl = Timeline(stalls=[(5.0, 100.0)], buffer_ahead=lambda t: 0.0)
    mon, _ = run(tl, 5.0)
    mon.on_pause(5.05)
    mon, ev = run(tl, 15.0, mon, start=5.1)
    assert not of(ev, StallStarted)
    assert mon.state is PlaybackState.PAUSED
    ev = mon.on_resume(15.0)
    assert mon.state is PlaybackState.PLAYING
    mon, ev = run(tl, 17.0, mon, start=15.1)
    started = of(ev, StallStarted)
    assert len(started) == 1  # nothing moves after resuming: that is a stall
    assert started[0][1].start_s == pytest.approx(15.0, abs=0.01)
    assert started[0][0] - 15.0 <= 0.5


def test_pause_during_stall_ends_the_stall() -> None:
    tl = Timeline(stalls=[(5.0, 100.0)], buffer_ahead=lambda t: 0.0)
    mon, _ = run(tl, 7.0)
    assert mon.state is PlaybackState.STALLED
    ev = mon.on_pause(7.0)
    ended = [e for e in ev if isinstance(e, StallEnded)]
    assert ended and ended[0].reason == "paused"
    assert ended[0].duration_s == pytest.approx(2.0, abs=0.11)


def test_end_of_media_closes_stall_and_is_terminal() -> None:
    tl = Timeline(stalls=[(5.0, 100.0)], buffer_ahead=lambda t: 0.0)
    mon, _ = run(tl, 6.0)
    ev = mon.on_end(6.0)
    assert any(isinstance(e, StallEnded) and e.reason == "ended" for e in ev)
    assert mon.state is PlaybackState.ENDED
    mon, ev = run(tl, 10.0, mon, start=6.1)
    assert ev == [] and mon.state is PlaybackState.ENDED


def test_ended_flag_in_sample() -> None:
    tl = Timeline()
    mon, _ = run(tl, 3.0)
    s = tl.sample(3.1)
    s.ended = True
    ev = mon.feed(s)
    assert [e.new for e in ev if isinstance(e, StateChanged)] == [PlaybackState.ENDED]


# --------------------------------------------------------------------------- no frame counter


def test_playhead_only_fallback() -> None:
    """Without a frame counter the coarse playhead decides, with its coarse latency."""
    tl = Timeline(
        frames_available=False, stalls=[(6.0, 4.0)], buffer_ahead=lambda t: None, playhead_step=0.5
    )
    mon, ev = run(tl, 14.0)
    assert of(ev, StartupComplete)[0][1].startup_s == pytest.approx(0.9, abs=0.11)
    started = of(ev, StallStarted)
    assert len(started) == 1
    assert started[0][0] - 6.0 <= T.PLAYHEAD_FREEZE_S + 0.5 + 0.11
    assert len(of(ev, StallEnded)) == 1
    assert not of(ev, GlitchStarted)


# --------------------------------------------------------------------------- QoE details


def test_bitrate_switches_and_time_weighted_average() -> None:
    mon = BufferHealthMonitor(session_start=0.0)
    tl = Timeline(first_frame_at=0.0)
    mon.on_rendition(1_000_000, 0.0)
    run(tl, 4.0, mon)
    mon.on_rendition(3_000_000, 4.0)
    run(tl, 8.0, mon, start=4.1)
    mon.on_rendition(3_000_000, 8.0)  # same rendition again: not a switch
    q = mon.qoe()
    assert q.switches == 1
    assert q.avg_bitrate_kbps == pytest.approx(2000, rel=0.03)


def test_dropped_frames_with_healthy_buffer_are_device_evidence() -> None:
    mon = BufferHealthMonitor(session_start=0.0)
    tl = Timeline(buffer_ahead=lambda t: 10.0 if t < 5 else 0.5)
    for i, t in enumerate(tl.times(8.0)):
        s = tl.sample(t)
        s.frames_dropped = i
        mon.feed(s)
    assert mon.qoe().frames_dropped == i
    assert mon.frames_dropped_while_healthy == pytest.approx(50, abs=2)


def test_samples_going_back_in_time_are_ignored() -> None:
    tl = Timeline()
    mon, _ = run(tl, 3.0)
    before = mon.qoe()
    assert mon.feed(tl.sample(1.0)) == []
    assert mon.qoe() == before


def test_freeze_threshold_scales_with_frame_rate() -> None:
    fast, _ = run(Timeline(fps=30.0), 3.0)
    slow, _ = run(Timeline(fps=1.0), 12.0)
    assert fast.freeze_threshold_s == pytest.approx(T.FREEZE_MIN_S)
    assert slow.freeze_threshold_s == pytest.approx(2.5, rel=0.1)
    assert BufferHealthMonitor().freeze_threshold_s == T.FREEZE_UNKNOWN_RATE_S


def test_a_stale_picture_right_after_seek_does_not_end_it() -> None:
    mon, _ = run(Timeline(), 3.0)
    mon.on_seek(3.0)
    frames = mon.qoe().frames_displayed
    mon.feed(BufferSample(3.05, 2.5, 2.5, frames + 1))  # one picture from before the seek
    assert mon.state is PlaybackState.SEEKING
    for i in range(10):  # the seek target needs 1 s to arrive: still seeking, not stalled
        mon.feed(BufferSample(3.1 + i * 0.1, 2.5, 2.5, frames + 1))
    assert mon.state is PlaybackState.SEEKING
    mon.feed(BufferSample(4.2, 30.0, 32.0, frames + 2))  # the target's first picture
    assert mon.state is PlaybackState.PLAYING  # two new pictures since the seek
    assert mon.stalls == []
