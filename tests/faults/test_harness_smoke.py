"""The harness itself: a fault-free stream plays to the end in the window, the heartbeat
beats, the history row is written (this is also the benchmark's no-fault baseline)."""

from __future__ import annotations

import pytest

from player.core.model import PlaybackState

pytestmark = [pytest.mark.gui, pytest.mark.vlc]


def test_baseline_playback_through_the_window(fault_window, origin, fault_hls) -> None:  # noqa: ANN001
    w = fault_window
    w.open(origin.url("hls/master.m3u8"))
    w.wait_position(1.0)
    with w.fault("baseline") as beats:
        assert w.wait_done(60) is PlaybackState.ENDED, w.message_text()
    assert beats.advanced, beats
    assert w.error_text() == ""
    row = w.finish_and_history_row()
    w.check_history(row)
    assert row["source"].endswith("master.m3u8")
    assert w.memory is not None
    w.memory.check_bounded()
