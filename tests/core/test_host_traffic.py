"""This computer's other traffic: the counters' window, and what the verdict says with it.

Pure core: the window is fed readings the test writes (the real counters are read in
tests/net/test_host_counters.py); every verdict is the real attribution's.
"""

from __future__ import annotations

import pytest

from player.core import thresholds as T
from player.core.attribution import DeviceEvidence, attribute
from player.core.host_traffic import HostLoad, HostTraffic, HostTrafficWindow, classify
from player.core.model import Segment
from player.core.wording import host as host_words
from player.core.wording import notice_text
from tests.core.test_attribution import make, path, with_baseline

MBIT = 1_000_000


def _window(  # noqa: PLR0913
    other_bps: float,
    player_bps: float,
    seconds: int = 10,
    start: float = 100.0,
    *,
    multicast_pps: float = 0.0,
    forwarding: bool = False,
    host_share: float = T.HOST_RX_OVERHEAD,
) -> HostTrafficWindow:
    """A window fed once per second: the player receives ``player_bps``, the interface that
    times ``host_share`` (headers) plus ``other_bps``, with ``multicast_pps`` packets."""
    w = HostTrafficWindow()
    host = player = mcast = 0.0
    for k in range(seconds + 1):
        w.add(start + k, int(host), int(player), int(mcast), forwarding)
        player += player_bps / 8
        host += player_bps / 8 * host_share + other_bps / 8
        mcast += multicast_pps
    return w


def test_the_window_measures_other_traffic_beside_the_players_own() -> None:
    got = _window(3 * MBIT, 6 * MBIT).judge(110.0)
    assert got is not None
    assert got.other_bps == pytest.approx(3 * MBIT, rel=0.01)
    assert got.player_bps == pytest.approx(6 * MBIT, rel=0.01)
    assert got.load is HostLoad.BUSY


def test_headers_alone_are_not_other_traffic() -> None:
    got = _window(0, 6 * MBIT).judge(110.0)
    assert got is not None and got.other_bps == pytest.approx(0, abs=1000)
    assert got.load is HostLoad.QUIET


def test_only_the_seconds_before_the_end_count() -> None:
    w = _window(8 * MBIT, 1 * MBIT, seconds=30)  # busy all along...
    later = 131.0
    last = w._readings[-1]
    for k in range(1, 12):  # ...then quiet for 11 s (headers only)
        w.add(
            later + k - 1, last.host_rx + int(k * 1.06 * MBIT / 8), last.player_rx + k * MBIT // 8
        )
    quiet = w.judge(later + 10)
    assert quiet is not None and quiet.load is HostLoad.QUIET
    busy = w.judge(125.0)
    assert busy is not None and busy.load is HostLoad.BUSY


def test_too_few_seconds_are_not_judged() -> None:
    w = HostTrafficWindow()
    assert w.judge(5.0) is None
    w.add(1.0, 0, 0)
    w.add(2.0, 10_000_000, 0)
    assert w.judge(2.0) is None  # 1 s of counters: one burst could be anything


def test_a_counter_that_goes_back_restarts_the_window() -> None:
    w = _window(5 * MBIT, 1 * MBIT)
    w.add(111.0, 0, 0)  # an interface went away and came back
    assert w.judge(111.0) is None


def test_the_window_is_bounded() -> None:
    w = HostTrafficWindow()
    for k in range(10_000):
        w.add(float(k), k * 1000, k * 900)
    assert len(w._readings) <= 4 * T.HOST_TRAFFIC_WINDOW_S + 4


@pytest.mark.parametrize(
    ("other", "player", "load"),
    [
        (0.0, 6 * MBIT, HostLoad.QUIET),
        (0.5 * MBIT, 6 * MBIT, HostLoad.QUIET),  # a tenth of 6 Mbit/s: still quiet
        (1.0 * MBIT, 6 * MBIT, HostLoad.UNCLEAR),  # neither: nothing is said
        (1.5 * MBIT, 6 * MBIT, HostLoad.BUSY),
        (0.4 * MBIT, 0.5 * MBIT, HostLoad.UNCLEAR),  # below the busy floor of 500 kbit/s
        (0.6 * MBIT, 0.5 * MBIT, HostLoad.BUSY),
    ],
)
def test_busy_and_quiet_have_a_gap_between_them(other: float, player: float, load: HostLoad):
    assert classify(other, player) is load


# --------------------------------------------------------------------------- in the verdict


def _with_host(inp, other: float, player: float = 2 * MBIT):  # noqa: ANN001, ANN202
    traffic = HostTraffic(other, player, 10.0, classify(other, player))
    inp.device = DeviceEvidence(host_traffic=traffic)
    return inp


def test_a_full_connection_with_this_computer_busy_says_so() -> None:
    v = attribute(_with_host(make(path(inflate_at=2)), other=4 * MBIT))
    assert (v.segment, v.rule) == (Segment.ISP, "isp_access")
    assert v.message == (
        "Your connection to Verizon is full right now. This computer was also receiving "
        "other data (4.0 Mbit/s besides this video); other devices at home or a limit set in "
        "your router may add to it."
    )
    kinds = [e.kind for e in v.evidence]
    assert host_words.BUSY_KIND in kinds
    assert any("this computer's other traffic (measured)" in e.text for e in v.evidence)


def test_a_full_connection_with_this_computer_quiet_names_what_remains() -> None:
    v = attribute(_with_host(make(path(inflate_at=2)), other=60_000))
    assert v.rule == "isp_access"
    assert v.message == (
        "Your connection to Verizon is full right now. It may be other devices at home or a "
        "limit set in your router."
    )
    ruled_out = next(e.text for e in v.evidence if e.kind == "ruled_out")
    assert "other downloads on this computer (only 60 kbit/s besides this video)" in ruled_out


def test_unmeasured_or_unclear_traffic_keeps_all_three_possibilities() -> None:
    for inp in (make(path(inflate_at=2)), _with_host(make(path(inflate_at=2)), 0.35 * MBIT)):
        v = attribute(inp)
        assert v.message.endswith(host_words.OTHERS_UNMEASURED), v.message
        assert not any(e.kind in host_words.KINDS for e in v.evidence)


def test_crowded_is_never_said_while_this_computer_downloads_other_data() -> None:
    quiet = attribute(_with_host(make(with_baseline(path(crowd_at=3)), persisted=True), 0.0))
    assert quiet.rule == "isp_crowded", quiet.rule  # the bar is met otherwise...
    busy = attribute(_with_host(make(with_baseline(path(crowd_at=3)), persisted=True), 5 * MBIT))
    assert busy.segment is Segment.ISP and busy.rule == "isp_core", busy.rule
    assert "crowded" not in busy.message
    open_line = next(e.text for e in busy.evidence if e.kind == "open")
    assert host_words.BUSY_MISSING in open_line


def test_a_queue_at_home_adds_this_computers_downloads_when_measured() -> None:
    v = attribute(_with_host(make(path(inflate_at=1)), other=3 * MBIT))
    assert v.segment is Segment.HOME_NETWORK
    assert v.message.endswith("This computer was also receiving other data (3.0 Mbit/s "
                              "besides this video).")  # fmt: skip


def test_the_busy_sentence_follows_the_evidence_not_the_rule_alone() -> None:
    v = attribute(_with_host(make(path(inflate_at=2)), other=4 * MBIT))
    assert notice_text(v) == v.message


def test_a_computer_receiving_nothing_else_reads_as_next_to_nothing() -> None:
    v = attribute(_with_host(make(path(inflate_at=2)), other=0.0))
    ruled_out = next(e.text for e in v.evidence if e.kind == "ruled_out")
    assert "other downloads on this computer (next to nothing besides this video)" in ruled_out


def test_an_interface_that_does_not_carry_the_video_says_nothing() -> None:
    # a flat counter beside 8 Mbit/s of the player's own bytes (a local route, the video on
    # another interface or address family): never "quiet"
    assert _window(0, 8 * MBIT, host_share=0.0).judge(110.0) is None
    assert _window(0, 8 * MBIT, host_share=0.9).judge(110.0) is None
    assert _window(0, 8 * MBIT, host_share=1.0).judge(110.0) is not None


def test_a_multicast_flood_is_not_called_a_download() -> None:
    # 3 Mbit/s of multicast (IPTV on the LAN): 250 full frames a second
    flood = _window(3 * MBIT, 2 * MBIT, multicast_pps=250).judge(110.0)
    assert flood is not None and flood.load is HostLoad.UNCLEAR
    # the same beside a unicast transfer it cannot explain: still busy, the rest is said
    both = _window(9 * MBIT, 2 * MBIT, multicast_pps=250).judge(110.0)
    assert both is not None and both.load is HostLoad.BUSY
    assert both.other_bps == pytest.approx(9 * MBIT - 250 * 1514 * 8, rel=0.02)


def test_a_computer_that_forwards_for_others_is_never_called_busy() -> None:
    got = _window(5 * MBIT, 2 * MBIT, forwarding=True).judge(110.0)
    assert got is not None and got.load is HostLoad.UNCLEAR
    quiet = _window(0, 2 * MBIT, forwarding=True).judge(110.0)
    assert quiet is not None and quiet.load is HostLoad.QUIET


def test_a_stalls_judgement_is_pinned_while_the_readings_move_on() -> None:
    w = _window(5 * MBIT, 2 * MBIT, seconds=12)
    first = w.judge(112.0)
    assert first is not None and first.load is HostLoad.BUSY
    last = w._readings[-1]
    for k in range(1, 100):  # a long stall: the readings before it leave the window
        w.add(112.0 + k, last.host_rx + k * 1000, last.player_rx + k * 1000)
    assert w.judge(112.0) is first
    w.clear()
    assert w.judge(112.0) is None
