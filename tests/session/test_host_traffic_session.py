"""The session measures this computer's other traffic and the verdict says it.

Fakes: the clock, libVLC, the gateway, the path monitor and the interface counter
(tests/support/fakes.py; the real counter is tested in tests/net/test_host_counters.py).
The session's sampler, the traffic window, evidence and attribution are the real ones.
"""

from __future__ import annotations

from player.core.model import PlaybackState, Segment
from player.core.wording import host as host_words
from player.net import gateway as gw
from player.net.host_counters import TrafficReading
from player.session import StallBegan
from tests.session.conftest import Rig
from tests.support.fakes import PATH_DESTINATION, queued_path

OTHER_BPS = 5_000_000  # what the interface receives besides the player's own bytes
RECEIVED_BY_THE_FAKE_GATEWAY_BPS = 2_000_000  # the player's own bytes, as the reader counts


def _stall_at_the_access_link(other_bps: float | None, *, direct: bool = False) -> Rig:
    rig = Rig(probe_path=True, buffer_target_s=2.0)
    if other_bps is not None:
        start = rig.clock()

        def reading() -> TrafficReading:
            player = RECEIVED_BY_THE_FAKE_GATEWAY_BPS * (rig.clock() - start) / 8
            other = other_bps * (rig.clock() - start) / 8
            return TrafficReading(int(player * 1.05 + other), int(player), 0, False)

        rig.net.traffic.reading = reading
    g = rig.start()
    if direct:  # libVLC fetches the segments itself: the player's bytes are not counted
        g.mode = gw.Mode.DIRECT
        rig.session.media.per_segment_data = False
    monitor = rig.net.monitors[-1]
    hops, samples = queued_path(idle_at=rig.clock() - 30.0, loaded_at=rig.clock(), from_hop=2)
    monitor.discovered(hops, samples, PATH_DESTINATION)
    rig.run(12.0)  # more than the traffic window of counters before the stall
    rig.feeding = False
    rig.run_until(lambda: rig.events(StallBegan), limit_s=10)
    hops, samples = queued_path(idle_at=rig.clock() - 60.0, loaded_at=rig.clock() - 4.0,
                                from_hop=2)  # fmt: skip
    monitor.discovered(hops, samples, PATH_DESTINATION)
    rig.run_until(
        lambda: (v := rig.session.current_verdict) is not None and v.segment is Segment.ISP,
        limit_s=10,
    )
    assert rig.session.state is PlaybackState.STALLED
    return rig


def test_other_downloads_on_this_computer_are_named_in_a_full_connection_notice() -> None:
    rig = _stall_at_the_access_link(OTHER_BPS)
    v = rig.session.current_verdict
    assert v is not None and v.rule == "isp_access", v
    assert "This computer was also receiving other data (5.0 Mbit/s besides" in v.message
    busy = [e for e in v.evidence if e.kind == host_words.BUSY_KIND]
    assert busy and abs(busy[0].value - OTHER_BPS) < 0.05 * OTHER_BPS
    assert rig.net.traffic.reads > 10  # once per device tick


def test_a_quiet_computer_leaves_other_devices_and_the_router() -> None:
    rig = _stall_at_the_access_link(0.0)
    v = rig.session.current_verdict
    assert v is not None and v.rule == "isp_access"
    assert v.message.endswith(host_words.OTHERS_QUIET), v.message


def test_unreadable_counters_say_nothing_either_way() -> None:
    rig = _stall_at_the_access_link(None)
    v = rig.session.current_verdict
    assert v is not None and v.rule == "isp_access"
    assert v.message.endswith(host_words.OTHERS_UNMEASURED), v.message
    assert not any(e.kind in host_words.KINDS for e in v.evidence)


def test_when_libvlc_fetches_the_video_itself_nothing_is_said() -> None:
    rig = _stall_at_the_access_link(OTHER_BPS, direct=True)
    v = rig.session.current_verdict
    assert v is not None and v.rule == "isp_access"
    assert v.message.endswith(host_words.OTHERS_UNMEASURED), v.message
    assert rig.net.traffic.reads == 0


def test_a_long_stall_keeps_what_was_measured_before_it() -> None:
    rig = _stall_at_the_access_link(OTHER_BPS)
    first = rig.session.current_verdict
    assert first is not None and host_words.BUSY_KIND in [e.kind for e in first.evidence]
    rig.run(60.0)  # far longer than the readings kept: the verdict is re-made meanwhile
    assert rig.session.state is PlaybackState.STALLED
    v = rig.session.current_verdict
    assert v is not None and host_words.BUSY_KIND in [e.kind for e in v.evidence], v.evidence
    assert "crowded" not in v.message
