"""The session's idle-gap heartbeat on the fake rig (fake clock, fake player and network,
the real Session, the real policy and a real FetchGate on the rig's clock): when it asks
for a gap, that it hands the gate to the path monitor, and that a stall or a seek ends a
gap at once. Milliseconds; the real gateway and libVLC are in test_session_idle_gap.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from player.core.idle_gap import IdleGapPolicy
from player.core.model import PlaybackState
from player.net.gateway.fetch_gate import FetchGate
from tests.session.conftest import Rig

QUICK = IdleGapPolicy(first_after_s=1.0, min_interval_s=2.0, max_share=0.5, min_buffer_s=2.0)


class GapParts:
    """What the driver reads of the gateway and the path monitor, added to the fakes."""

    def __init__(self, rig: Rig) -> None:
        self.gate = FetchGate(rig.clock)
        self.idle = 0
        self.ready = True
        self.watched: list[object] = []
        g = rig.gateway
        g.fetch_gate = self.gate  # type: ignore[attr-defined]
        g.readahead_s = lambda: 0.0  # type: ignore[attr-defined]
        m = rig.net.monitors[-1]
        m.idle_rounds = lambda: self.idle  # type: ignore[attr-defined]
        m.gap_ready = lambda: self.ready  # type: ignore[attr-defined]
        m.watch_gaps = self.watched.append  # type: ignore[attr-defined]


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig(probe_path=True, buffer_target_s=12.0)
    r.session.idle_gaps.policy = QUICK
    yield r
    r.session.close()


def start(rig: Rig) -> GapParts:
    rig.start()
    parts = GapParts(rig)
    rig.run_until(lambda: rig.session.state is PlaybackState.PLAYING)
    return parts


def test_a_gap_is_asked_for_while_playing_and_the_monitor_gets_the_gate(rig: Rig) -> None:
    parts = start(rig)
    rig.run_until(lambda: parts.gate.stats().gaps == 1)
    assert parts.watched == [parts.gate], "the monitor is given the gate once"
    assert rig.session.monitor.time_in(PlaybackState.PLAYING) >= QUICK.first_after_s
    rig.run_until(lambda: parts.gate.gap() is None)  # it ends by itself (the rig's clock)
    probe = rig.session.report().probe
    assert probe["idle_gaps"] == 1 and probe["idle_gap_s"] == pytest.approx(QUICK.gap_s)
    # enough idle rounds: no more gaps, however long it plays
    parts.idle = QUICK.wanted_rounds
    rig.run(6.0)
    assert parts.gate.stats().gaps == 1 and rig.session.idle_gaps.asked.count == 1


def test_no_gap_without_a_ready_monitor_or_with_a_shallow_buffer(rig: Rig) -> None:
    parts = start(rig)
    parts.ready = False
    rig.run(4.0)
    assert parts.gate.stats().gaps == 0
    rig.buffer_target_s = 2.0  # VLC keeps 2-4 s: below what a gap needs (2 s + the gap)
    buffer = lambda: rig.session.monitor.buffer_ahead_s or 0.0  # noqa: E731
    rig.run_until(lambda: buffer() <= 4.0)
    parts.ready = True
    rig.run(6.0)
    assert parts.gate.stats().gaps == 0 and buffer() < QUICK.buffer_needed_s(2.0)


def test_a_stall_ends_the_gap_at_once_and_none_is_asked_for_while_stalled(rig: Rig) -> None:
    parts = start(rig)
    rig.run_until(lambda: parts.gate.stats().gaps == 1)
    rig.feeding = False  # VLC's next request hangs: the buffer drains, playback stalls
    rig.run_until(lambda: rig.session.state is PlaybackState.STALLED)
    asked = rig.session.idle_gaps.asked.count
    assert not parts.gate.active
    assert parts.gate.request(QUICK.gap_s, 8.0) and parts.gate.gap() is not None
    rig.step()  # one heartbeat of the stall: the gap ends
    assert parts.gate.gap() is None and not parts.gate.active
    rig.run(3.0)
    assert rig.session.state is PlaybackState.STALLED
    assert rig.session.idle_gaps.asked.count == asked, "no gap asked for while stalled"


def test_a_seek_ends_the_gap_at_once(rig: Rig) -> None:
    parts = start(rig)
    assert rig.session.media.seekable
    rig.run_until(lambda: parts.gate.gap() is not None)
    rig.session.seek_s(20.0)
    assert parts.gate.gap() is None, "libVLC's requests after a seek never wait"
    assert parts.gate.stats().gap_s < QUICK.gap_s
