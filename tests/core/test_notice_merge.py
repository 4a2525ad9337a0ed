"""Repeated stalls merge into one notice: five stalls in a minute give at most two notices.

The rule (core/notice_merge) alone, then the session's stall tracker driven by a fake clock
(tests/support/fakes.FakeClock) with stall events as the buffer-health monitor emits them.
"""

from __future__ import annotations

from player.core import buffer_health as bh
from player.core import thresholds as T
from player.core.attribution import AttributionInput
from player.core.attribution.inputs import FetchEvidence, TtfbSample
from player.core.notice_merge import NoticeBudget, RecentStalls, recently_stepped_down
from player.core.wording import ADJUSTING, BUFFERING
from player.session.events import EventSink, NoticeChanged, StallBegan
from player.session.media import OpenMedia
from player.session.stall_tracker import NOTICE_LINGER_S, StallTracker
from tests.support.fakes import FakeClock

SLOW_SERVER = AttributionInput(
    fetch=FetchEvidence(
        ttfb=[TtfbSample(3400.0, None)] * 4,
        throughput_bps=[4e6] * 4,
        needed_bitrate_bps=2e6,
        server_org="Stallwatch demo server",
    )
)


def test_budget_allows_two_openings_a_minute_then_refills() -> None:
    b = NoticeBudget()
    assert b.has_room(0.0)
    b.opened(0.0)
    b.opened(10.0)
    assert not b.has_room(30.0)
    assert not b.has_room(59.9)
    assert b.has_room(60.0), "the first opening left the window"
    assert b.max_per_window == T.NOTICE_MAX_PER_WINDOW == 2


def test_recent_stalls_counts_the_last_minute_only() -> None:
    r = RecentStalls()
    for t in (0.0, 11.0, 22.0):
        r.began(t)
    assert r.count(22.0) == 3
    assert r.count(60.0) == 2, "the stall at 0 s left the window"
    assert r.count(200.0) == 0
    r.began(201.0)
    r.reset()
    assert r.count(201.0) == 0


def test_step_down_counts_only_near_the_stall() -> None:
    assert recently_stepped_down([95.0], stall_started_at=100.0, now=101.0)
    assert recently_stepped_down([100.5], stall_started_at=100.0, now=101.0)
    assert not recently_stepped_down([100.0 - T.STEP_DOWN_RECENT_S - 1], 100.0, 101.0)
    assert not recently_stepped_down([], 100.0, 101.0)


class Rig:
    def __init__(self, adjusting: bool = True) -> None:
        self.clock = FakeClock(start=1000.0)
        self.sink = EventSink(self.clock)
        self.media = OpenMedia(opened_at=1000.0)
        self.tracker = StallTracker(self.sink, lambda _started: SLOW_SERVER, lambda: adjusting)
        self.tracker.reset(self.media)
        self.notices: list[NoticeChanged] = []
        self.sink_seen: list = []

    def drain(self) -> None:
        while not self.sink.events.empty():
            ev = self.sink.events.get_nowait()
            self.sink_seen.append(ev)
            if isinstance(ev, NoticeChanged):
                self.notices.append(ev)

    def run(self, seconds: float, step: float = 0.05) -> None:
        end = self.clock() + seconds
        while self.clock() < end - 1e-9:
            self.clock.advance(step)
            self.tracker.refresh(self.clock())
            self.tracker.expire_notice(self.clock())
            self.drain()

    def stall(self, seconds: float) -> None:
        start_s = self.clock() - self.media.opened_at
        self.tracker.feed([bh.StallStarted(start_s=start_s, detected_s=start_s)])
        self.drain()
        self.run(seconds)
        self.tracker.feed([bh.StallEnded(start_s=start_s, duration_s=seconds)])
        self.drain()

    def appearances(self) -> int:
        """How many times the band went from hidden to shown."""
        count, shown = 0, False
        for ev in self.notices:
            if ev.notice is not None and not shown:
                count += 1
            shown = ev.notice is not None
        return count


def test_one_stall_buffering_then_the_verdict_then_gone_after_the_linger() -> None:
    rig = Rig()
    rig.run(1.0)
    rig.stall(1.5)
    first = rig.notices[0].notice
    assert first is not None and first.title == BUFFERING and first.status == "buffering"
    named = [ev.notice for ev in rig.notices if ev.notice is not None and ev.notice.segment]
    assert named and "Stallwatch demo server" in named[0].title and named[0].header == BUFFERING
    assert named[0].detail == "The server took 3.4 s to start sending each piece of video."
    rec = rig.tracker.notice_log[0]
    assert rec.shown_at - rec.stall_started_at == 0.0, "Buffering… as soon as the stall is seen"
    rig.run(NOTICE_LINGER_S + 0.1)
    assert rig.notices[-1].notice is None
    assert rec.hidden_at is not None and rec.hidden_at - rec.recovered_at <= NOTICE_LINGER_S + 0.05
    assert rig.appearances() == 1


def test_five_stalls_in_a_minute_make_at_most_two_notices_each_gone_after_the_linger() -> None:
    rig = Rig()
    rig.run(1.0)
    t0 = rig.clock()
    began = []
    for _ in range(5):
        began.append(rig.clock())
        rig.stall(1.0)
        recovered = rig.clock()
        rig.run(NOTICE_LINGER_S + 0.05)  # the linger and one tick
        # After EACH recovery the band is gone within the linger (the old rule kept the
        # second one up until the first opening left the minute: ~45 s).
        assert rig.tracker.current_notice is None, f"band still up {rig.clock() - recovered:.2f} s after recovery"
        assert rig.notices[-1].notice is None
        rig.run(10.0 - NOTICE_LINGER_S - 0.05)  # 11 s apart
    assert rig.clock() - t0 <= 60.0
    assert rig.appearances() == 2
    assert len(rig.tracker.notice_log) == 2
    for rec in rig.tracker.notice_log:
        assert rec.hidden_at is not None and rec.hidden_at - rec.recovered_at <= NOTICE_LINGER_S + 0.05
    assert [r.stalls for r in rig.tracker.notice_log] == [1, 2], "true counts of the last minute"
    second = [ev.notice for ev in rig.notices if ev.notice is not None and ev.notice.serial == 2]
    assert any("Stalled 2 times in the last minute." in n.detail for n in second)
    # Stalls 3-5 opened no band; the next band, once the budget refills (60 s after the
    # second opening), counts them with itself: 4 stalls in the minute before it.
    rig.run(began[1] + T.NOTICE_WINDOW_S - rig.clock() + 0.5)
    rig.notices.clear()
    rig.stall(1.0)
    assert rig.appearances() == 1
    third = rig.tracker.notice_log[-1]
    assert third.serial == 3 and third.stalls == 4
    assert any(ev.notice is not None and "Stalled 4 times in the last minute." in ev.notice.detail for ev in rig.notices)
    rig.run(NOTICE_LINGER_S + 0.05)
    assert rig.tracker.current_notice is None


def test_a_stall_during_the_linger_joins_the_band_and_the_band_still_goes() -> None:
    rig = Rig()
    rig.run(1.0)
    rig.stall(1.0)
    rig.run(1.0)  # within the linger
    rig.stall(1.0)
    assert len(rig.tracker.notice_log) == 1 and rig.tracker.notice_log[0].stalls == 2
    rig.run(NOTICE_LINGER_S + 0.05)
    assert rig.tracker.current_notice is None and rig.appearances() == 1


def test_a_storm_announces_every_stall_and_never_storms_the_band() -> None:
    rig = Rig()
    for gap in (3.0, 25.0, 25.0, 2.0, 5.0, 40.0, 1.0):
        rig.run(gap)
        start_s = rig.clock() - rig.media.opened_at
        rig.stall(0.8)
        began = [ev for ev in rig.sink_seen if isinstance(ev, StallBegan)]
        assert began and began[-1].start_s == start_s, "every stall reaches the status line"
    starts = [r.shown_at for r in rig.tracker.notice_log]
    for i, t in enumerate(starts):
        assert len([s for s in starts if t <= s < t + T.NOTICE_WINDOW_S]) <= 2, (i, starts)
    for rec in rig.tracker.notice_log:
        assert rec.hidden_at is None or rec.hidden_at - rec.recovered_at <= NOTICE_LINGER_S + 0.05


def test_adjusting_only_after_a_real_step_down() -> None:
    rig = Rig()
    rig.run(1.0)
    rig.stall(1.5)
    assert all(ev.notice is None or not ev.notice.adjusting for ev in rig.notices)
    rig.run(T.NOTICE_WINDOW_S)
    rig.media.step_downs.append(rig.clock() - 2.0)  # ABR went down 2 s before the stall
    rig.notices.clear()
    rig.stall(1.5)
    assert any(ev.notice is not None and ev.notice.adjusting == ADJUSTING for ev in rig.notices)


def test_no_adjusting_line_when_the_rendition_is_pinned() -> None:
    rig = Rig(adjusting=False)
    rig.media.step_downs.append(999.0)
    rig.run(1.0)
    rig.stall(1.5)
    assert all(ev.notice is None or not ev.notice.adjusting for ev in rig.notices)


def test_a_new_open_starts_a_fresh_budget_with_new_serials() -> None:
    rig = Rig()
    rig.run(1.0)
    rig.stall(1.0)
    rig.run(5.0)
    rig.stall(1.0)
    first_serials = {r.serial for r in rig.tracker.notice_log}
    rig.media = OpenMedia(opened_at=rig.clock())
    rig.tracker.reset(rig.media)
    rig.run(1.0)
    rig.stall(1.0)
    assert rig.tracker.current_notice is not None, "a new video: the budget starts again"
    assert rig.tracker.notice_log[-1].serial not in first_serials, "a dismissed band must not hide this one"
