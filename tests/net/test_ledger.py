"""The delivery ledger with a fake clock: starving, delivered media, in-flight requests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from player.core.model import FetchKind
from player.net.gateway.ledger import STARVING_AFTER_S, DeliveryLedger
from player.net.gateway.model import Mode
from player.net.manifests import MediaSegment


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


@dataclass
class FakeTransfer:
    received: int = 0
    first_byte_at: float | None = None
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


def segments(first: int, n: int, dur: float = 2.0) -> list[MediaSegment]:
    """Segments ``first .. first+n-1`` of a playlist window (start_s from the window's start)."""
    return [MediaSegment(first + i, f"http://o/{first + i}.ts", dur, i * dur) for i in range(n)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(clock: FakeClock) -> DeliveryLedger:
    return DeliveryLedger(clock)


# ----------------------------------------------------------------------------------------
# starving
# ----------------------------------------------------------------------------------------
def test_starving_after_the_threshold_while_waiting_on_upstream(
    ledger: DeliveryLedger, clock: FakeClock
) -> None:
    ledger.new_run()
    assert not ledger.starving() and ledger.starving_for_s() == 0.0
    key = ledger.begin(FetchKind.SEGMENT, seq=3)
    clock.advance(STARVING_AFTER_S - 0.05)
    assert not ledger.starving()
    clock.advance(0.1)
    assert ledger.starving()
    assert ledger.starving_for_s() == pytest.approx(STARVING_AFTER_S + 0.05)
    ledger.end(key)
    assert not ledger.starving() and ledger.open_requests() == 0


def test_a_player_that_is_being_written_to_is_not_starving(
    ledger: DeliveryLedger, clock: FakeClock
) -> None:
    ledger.new_run()
    key = ledger.begin(FetchKind.PROGRESSIVE)
    d = ledger.get(key)
    ledger.waiting(d, False)  # a chunk arrived; the gateway is writing it to VLC
    clock.advance(5.0)  # VLC's buffer is full: the write blocks, nobody waits on upstream
    assert not ledger.starving() and ledger.starving_for_s() == 0.0
    ledger.waiting(d, True)  # back to waiting for the next upstream chunk
    clock.advance(1.0)
    assert ledger.starving() and ledger.starving_for_s() == pytest.approx(1.0)


def test_the_longest_wait_counts_and_a_player_that_hung_up_does_not(
    ledger: DeliveryLedger, clock: FakeClock
) -> None:
    ledger.new_run()
    old = ledger.begin(FetchKind.SEGMENT, seq=1)
    clock.advance(2.0)
    ledger.begin(FetchKind.SEGMENT, seq=2)
    clock.advance(0.5)
    assert ledger.starving_for_s() == pytest.approx(2.5)
    d = ledger.get(old)
    assert d is not None
    tr = FakeTransfer()
    assert ledger.attach(old, tr) is False
    assert ledger.blocked(1.0) == [d]  # the watchdog checks only the long waits
    assert ledger.hung_up(d) is tr
    assert ledger.starving_for_s() == pytest.approx(0.5)  # only the live request waits
    assert ledger.blocked(1.0) == []
    assert ledger.attach(old, FakeTransfer()) is True  # a late transfer is cancelled


def test_starving_threshold_is_configurable(clock: FakeClock) -> None:
    ledger = DeliveryLedger(clock, starving_after_s=2.0)
    ledger.new_run()
    ledger.begin(FetchKind.SEGMENT)
    clock.advance(1.5)
    assert not ledger.starving()
    clock.advance(1.0)
    assert ledger.starving()


# ----------------------------------------------------------------------------------------
# delivered media (HLS)
# ----------------------------------------------------------------------------------------
def test_delivered_media_is_the_contiguous_run_and_a_seek_starts_a_new_one(
    ledger: DeliveryLedger,
) -> None:
    run = ledger.new_run()
    ledger.learn_timing(run, segments(0, 6))
    assert ledger.delivered_media_s(Mode.HLS_VIRTUAL) == 0.0
    for seq in (0, 1, 2):
        assert ledger.segment_requested(run, seq) is (seq == 0)
        ledger.segment_delivered(run, seq, 2.0)
    assert ledger.delivered_media_s(Mode.HLS_VIRTUAL) == pytest.approx(6.0)
    assert ledger.delivered_until_s(Mode.HLS_VIRTUAL) == pytest.approx(6.0)
    assert ledger.segment_requested(run, 4) is True  # a seek
    assert ledger.delivered_media_s(Mode.HLS_VIRTUAL) == 0.0
    assert ledger.delivered_until_s(Mode.HLS_VIRTUAL) == pytest.approx(8.0)
    ledger.segment_delivered(run, 4, 2.0)
    assert ledger.delivered_media_s(Mode.HLS_VIRTUAL) == pytest.approx(2.0)
    assert ledger.delivered_until_s(Mode.HLS_VIRTUAL) == pytest.approx(10.0)
    assert ledger.segment_requested(run, 4) is False  # a retry of the same segment


def test_a_gap_stops_the_run_until_it_is_filled(ledger: DeliveryLedger) -> None:
    run = ledger.new_run()
    ledger.learn_timing(run, segments(0, 4, dur=3.0))
    for seq in (0, 1, 2):
        ledger.segment_requested(run, seq)
    ledger.segment_delivered(run, 0, 3.0)
    ledger.segment_delivered(run, 2, 3.0)  # 1 still in flight
    assert ledger.delivered_media_s(Mode.HLS_REWRITE) == pytest.approx(3.0)
    ledger.segment_delivered(run, 1, None)  # skipped (missing): VLC moves past its time
    assert ledger.delivered_media_s(Mode.HLS_REWRITE) == pytest.approx(9.0)


def test_no_run_yet_depends_on_the_mode(ledger: DeliveryLedger) -> None:
    assert ledger.delivered_media_s(Mode.HLS_VIRTUAL) is None  # no session at all
    ledger.new_run()
    assert ledger.delivered_media_s(Mode.HLS_VIRTUAL) == 0.0
    assert ledger.delivered_media_s(Mode.PENDING) is None
    assert ledger.delivered_media_s(Mode.DIRECT) is None
    assert ledger.delivered_until_s(Mode.DIRECT) is None


def test_live_timing_is_stable_across_refreshes(ledger: DeliveryLedger) -> None:
    run = ledger.new_run()
    ledger.learn_timing(run, segments(10, 3))  # window 10..12 starts at media time 0
    ledger.learn_timing(run, segments(12, 3))  # window 12..14: 12 is already known at 4 s
    assert run.seq_start[14] == pytest.approx(8.0)
    ledger.learn_timing(run, segments(20, 2))  # no overlap: continues after the last known
    assert run.seq_start[20] == pytest.approx(10.0)
    ledger.segment_requested(run, 13)
    ledger.segment_delivered(run, 13, 2.0)
    assert ledger.delivered_until_s(Mode.HLS_VIRTUAL) == pytest.approx(8.0)
    assert ledger.segment_duration_s() == pytest.approx(2.0)


def test_segment_duration_is_the_median_of_an_even_count(ledger: DeliveryLedger) -> None:
    # player.core.stats.median: the mean of the middle two (not the upper one)
    run = ledger.new_run()
    durations = [2.0, 4.0, 6.0, 10.0]
    starts = [sum(durations[:i]) for i in range(len(durations))]
    ledger.learn_timing(
        run,
        [MediaSegment(i, f"http://o/{i}.ts", d, t) for i, (d, t) in
         enumerate(zip(durations, starts, strict=True))],
    )  # fmt: skip
    assert ledger.segment_duration_s() == pytest.approx(5.0)
    ledger.learn_timing(run, [MediaSegment(4, "http://o/4.ts", 8.0, 22.0)])  # odd count
    assert ledger.segment_duration_s() == pytest.approx(6.0)


# ----------------------------------------------------------------------------------------
# progressive, bytes, in-flight, sessions
# ----------------------------------------------------------------------------------------
def test_progressive_estimate_needs_the_duration(ledger: DeliveryLedger) -> None:
    run = ledger.new_run()
    ledger.progressive_started(run, size=1000, body_start=500)
    d = ledger.get(ledger.begin(FetchKind.PROGRESSIVE))
    ledger.wrote(d, 250)
    assert ledger.delivered_media_s(Mode.PROGRESSIVE) is None
    ledger.set_media_duration(100.0)
    assert ledger.delivered_media_s(Mode.PROGRESSIVE) == pytest.approx(25.0)
    assert ledger.delivered_until_s(Mode.PROGRESSIVE) == pytest.approx(75.0)
    ledger.progressive_started(run, size=None, body_start=0)  # a seek back; size kept
    assert ledger.delivered_until_s(Mode.PROGRESSIVE) == pytest.approx(0.0)


def test_bytes_delivered_counts_bodies_and_generated_playlists(ledger: DeliveryLedger) -> None:
    ledger.new_run()
    d = ledger.get(ledger.begin(FetchKind.SEGMENT, seq=0))
    ledger.wrote(d, 1000)
    ledger.wrote(None, 200)  # a generated playlist
    assert ledger.bytes_delivered() == 1200 and d is not None and d.bytes == 1000


def test_inflight_lists_media_requests_oldest_first(
    ledger: DeliveryLedger, clock: FakeClock
) -> None:
    ledger.new_run()
    seg = ledger.begin(FetchKind.SEGMENT, seq=7)
    clock.advance(0.1)
    ledger.begin(FetchKind.PLAYLIST)  # playlists are not media in flight
    clock.advance(0.1)
    prog = ledger.begin(FetchKind.PROGRESSIVE)
    ledger.attach(seg, FakeTransfer(received=4096, first_byte_at=clock.t))
    got = ledger.inflight()
    assert [(f.kind, f.received) for f in got] == [
        (FetchKind.SEGMENT, 4096),
        (FetchKind.PROGRESSIVE, 0),
    ]
    assert got[0].started_at == pytest.approx(1000.0) and got[0].first_byte_at == clock.t
    assert got[1].first_byte_at is None
    d = ledger.get(prog)
    assert d is not None
    ledger.hung_up(d)
    assert [f.kind for f in ledger.inflight()] == [FetchKind.SEGMENT]


def test_a_new_session_forgets_requests_and_duration_but_not_bytes(
    ledger: DeliveryLedger,
) -> None:
    old = ledger.new_run()
    ledger.learn_timing(old, segments(0, 3))
    d = ledger.get(ledger.begin(FetchKind.SEGMENT, seq=0))
    ledger.wrote(d, 500)
    ledger.set_media_duration(60.0)
    new = ledger.new_run()
    assert ledger.open_requests() == 0 and ledger.media_duration_s is None
    assert ledger.bytes_delivered() == 500
    assert ledger.segment_duration_s() is None  # the new session has no playlists yet
    ledger.segment_requested(old, 0)  # a late request of the old session
    ledger.segment_delivered(old, 0, 2.0)
    assert new.delivered == set() and ledger.delivered_media_s(Mode.HLS_VIRTUAL) == 0.0
