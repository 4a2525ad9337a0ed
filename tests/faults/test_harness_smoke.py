"""The harness itself: a fault-free stream plays to the end in the window, the heartbeat
beats, the history row is written (this is also the benchmark's no-fault baseline)."""

from __future__ import annotations

import time

import pytest

from player.core.model import PlaybackState
from tests.faults import sandbox
from tests.faults.harness import FREEZE_S, FaultBeats, LagMeter

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

# A block of the GUI thread the heartbeat must see: short (the test stays quick), yet many
# beat intervals long.
BLOCK_S = 0.3


def test_baseline_playback_through_the_window(fault_window, origin, fault_hls) -> None:  # noqa: ANN001
    w = fault_window
    w.open(origin.url("hls/master.m3u8"))
    w.wait_position(1.0)
    with w.fault("baseline") as beats:
        assert w.wait_done(60) is PlaybackState.ENDED, w.message_text()
    assert beats.responsive, beats
    assert w.error_text() == ""
    row = w.finish_and_history_row()
    w.check_history(row)
    assert row["source"].endswith("master.m3u8")
    assert w.memory is not None
    w.memory.check_bounded()


def test_the_freeze_check_counts_both_ends_of_a_fault(qapp) -> None:  # noqa: ANN001
    """The longest gap runs from the fault's start to its first beat, beat to beat, and from
    the last beat to the fault's end; a fault with no beat at all is never responsive."""
    meter = LagMeter()
    meter.stop()
    meter.times = [0.5, 1.02, 1.03, 1.04, 4.0]  # beats before and after the fault are ignored
    assert meter.beats_between(1.0, 1.05) == 3
    assert meter.max_gap(1.0, 1.05) == pytest.approx(0.02)  # start -> first beat
    assert meter.max_gap(1.0, 3.5) == pytest.approx(2.46)  # last beat -> end
    assert meter.max_gap(0.0, 1.0) == pytest.approx(0.5)  # start -> the only beat
    assert meter.beats_between(1.05, 3.9) == 0 and meter.max_gap(1.05, 3.9) == pytest.approx(2.85)
    beats = FaultBeats("x", 1.0, 3.5, beats=3, max_gap_s=meter.max_gap(1.0, 3.5))
    assert beats.max_gap_s > FREEZE_S and not beats.responsive
    assert FaultBeats("x", 1.0, 1.05, beats=3, max_gap_s=0.02).responsive
    assert not FaultBeats("x", 1.0, 1.05, beats=0, max_gap_s=0.05).responsive


def test_the_heartbeat_sees_the_gui_thread_blocked(fault_window) -> None:  # noqa: ANN001
    """A real block of the GUI thread inside a fault shows as a gap at least that long;
    a fault spent in the harness's waits (they run the event loop) stays responsive."""
    w = fault_window
    w.wait(lambda: w.lag.beats >= 5, what="the heartbeat to beat")
    with w.fault("waiting only") as waiting:
        start = len(w.lag.times)
        w.wait(lambda: len(w.lag.times) >= start + 10, what="ten beats")
    assert waiting.responsive, waiting
    with w.fault("a blocked GUI thread") as blocked:
        time.sleep(BLOCK_S)  # the fault itself: the event loop cannot run (not a wait)
        start = len(w.lag.times)
        w.wait(lambda: len(w.lag.times) > start, what="a beat after the block")
    assert blocked.beats >= 1 and blocked.max_gap_s >= BLOCK_S, blocked


def test_a_fault_this_machine_cannot_stage_fails_when_faults_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(sandbox.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no tmpfs"):
        sandbox.require_or_skip("no tmpfs")
    monkeypatch.setenv(sandbox.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="no tmpfs.*must run here"):
        sandbox.require_or_skip("no tmpfs")
