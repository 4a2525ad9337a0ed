"""The "crowded" bar across stalls, through the real StallTracker: a queue inside the ISP
seen while idle is "not settled" at the first stall and "crowded" only at a later one."""

from __future__ import annotations

from player.core import buffer_health as bh
from player.session.events import EventSink, NoticeChanged
from player.session.media import OpenMedia
from player.session.stall_tracker import StallTracker
from tests.core.test_verdict_bar import _crowded_inside
from tests.support.fakes import FakeClock


class _Rig:
    def __init__(self) -> None:
        self.clock = FakeClock(start=1000.0)
        self.sink = EventSink(self.clock)
        self.tracker = StallTracker(self.sink, lambda _started: _crowded_inside(), lambda: False)
        self.tracker.reset(OpenMedia(opened_at=1000.0))

    def stall(self, seconds: float = 3.0) -> str:
        """One stall of ``seconds``; the headline the band showed last while it lasted."""
        start_s = self.clock() - 1000.0
        self.tracker.feed([bh.StallStarted(start_s=start_s, detected_s=start_s)])
        end = self.clock() + seconds
        while self.clock() < end:
            self.clock.advance(0.25)
            self.tracker.refresh(self.clock())
        titles = [
            ev.notice.title
            for ev in self._drain()
            if isinstance(ev, NoticeChanged) and ev.notice is not None
        ]
        self.tracker.feed([bh.StallEnded(start_s=start_s, duration_s=seconds)])
        self.clock.advance(60.0)  # past the linger: the band goes before the next stall
        self.tracker.expire_notice(self.clock())
        self._drain()
        assert titles, "the stall showed no band"
        return titles[-1]

    def _drain(self) -> list:
        out = []
        while not self.sink.events.empty():
            out.append(self.sink.events.get_nowait())
        return out


def test_crowded_only_from_the_second_stall_of_an_open() -> None:
    rig = _Rig()
    first = rig.stall()
    assert "crowded" not in first and "not settled" in first
    assert rig.tracker.current_verdict.rule == "isp_core"  # type: ignore[union-attr]
    second = rig.stall()
    assert second.startswith("The Verizon network is crowded right now.")
    rig.tracker.reset(OpenMedia(opened_at=rig.clock()))  # a new open starts unproven again
    assert "crowded" not in rig.stall()
