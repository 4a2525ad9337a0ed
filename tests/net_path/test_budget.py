"""The probe byte budget and the pacing of probe rounds (pure logic, no sockets)."""

from __future__ import annotations

import threading

import pytest

from player.core import thresholds as T
from player.core.model import Hop, Segment
from player.net.path import budget as B
from player.net.path.budget import Pacer, ProbeBudget, hops_to_probe

HOME, ISP, IX, SRV = Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT, Segment.SERVER


def test_the_start_allowance_is_an_advance_not_an_extra() -> None:
    b = ProbeBudget(share=0.008, allowance=3000)
    assert b.limit == 3000  # before any video: the allowance
    b.credit(100_000)
    assert b.limit == 3000  # 0.8 % of 100 kB is less than the advance
    b.credit(1_000_000)
    assert b.limit == pytest.approx(8000)  # then the share alone, not share + allowance
    b.credit(500_000)  # a smaller total (a stale caller) never takes credit back
    assert b.video_bytes == 1_000_000


def test_reserve_refuses_what_the_bucket_does_not_hold() -> None:
    b = ProbeBudget(share=0.01, allowance=1000)
    assert b.reserve(600)
    assert not b.reserve(600)  # 1200 > 1000: refused, nothing taken
    assert b.spent == 600 and b.refused == 1
    b.settle(600, 450)  # the round cost less than its worst case
    assert b.spent == 450 and b.available() == pytest.approx(550)
    assert b.reserve(550) and not b.reserve(1)
    b.credit(200_000)  # 1 % of 200 kB = 2000
    assert b.reserve(1000) and b.spent == 2000


def test_discovery_is_charged_even_beyond_the_limit() -> None:
    b = ProbeBudget(share=0.01, allowance=500)
    b.charge(800)  # discovery had to happen; rounds wait until video pays it back
    assert b.available() < 0 and not b.reserve(1)
    b.credit(130_000)  # 1300 allowed
    assert b.reserve(500) and not b.reserve(1)


def test_bad_budgets_are_refused() -> None:
    for share, allowance in ((0.0, 10), (1.0, 10), (0.01, -1)):
        with pytest.raises(ValueError):
            ProbeBudget(share=share, allowance=allowance)


def _simulate(
    video_bps: float, seconds: float, round_cost: int, *, loaded: bool = True, tick: float = 0.1
) -> tuple[list[tuple[float, int, int]], Pacer]:
    """The prober's loop on a virtual clock: video arrives at ``video_bps`` (credited once
    a second, as the session does, in whole 2 s segments: the bytes lag), a round is sent
    when the pacer wants it and the bucket holds its cost. Returns (t, spent, video) after
    every tick and the pacer."""
    b = ProbeBudget()
    b.charge(600)  # discovery
    pacer = Pacer()
    trace = []
    t = 0.0
    while t < seconds:
        if int(t * 10) % 10 == 0:
            finished_segments = int(t // 2)  # bytes are counted when a 2 s segment ends
            b.credit(int(finished_segments * 2 * video_bps / 8))
        if pacer.due(t, loaded) and b.reserve(round_cost):
            pacer.record(t, loaded)
        trace.append((t, b.spent, b.video_bytes))
        t = round(t + tick, 6)
    return trace, pacer


@pytest.mark.parametrize("video_bps", [293_000, 1_000_000, 5_000_000])
def test_probe_bytes_stay_within_one_percent_after_the_first_segments(video_bps: int) -> None:
    """The invariant at every tick: spent <= max(allowance, share x video), so once 300 kB
    of video arrived the ratio is <= 1 % -- on the testbed's slow link (293 kbit/s, the
    lowest rendition x 0.85) as on realistic rates."""
    trace, _ = _simulate(video_bps, 60.0, 336)
    for t, spent, video in trace:
        assert spent <= max(B.START_ALLOWANCE_BYTES, B.PROBE_SHARE * video) + 1e-9, t
        if video >= B.START_ALLOWANCE_BYTES / 0.01:
            assert spent / video <= 0.01, (t, spent, video)
    # and it is not met by starving: the allowance buys the spread fallback's six loaded
    # rounds within the first 3 s, before a slow link has delivered two segments
    early = [spent for t, spent, _video in trace if t <= 3.0]
    assert (early[-1] - 600) / 336 >= T.MIN_SPREAD_SAMPLES


def test_a_slow_link_still_gets_loaded_samples_at_the_rate_it_pays_for() -> None:
    """On the slow link the bucket is the limit: about PROBE_SHARE x 36.6 kB/s / 336 B,
    one round every ~1.1 s in the long run, i.e. the verdict's window holds far more than
    its ten loaded samples."""
    _trace, pacer = _simulate(293_000, 60.0, 336)
    assert pacer.loaded_rounds(60.0, B.FRESH_WINDOW_S) >= T.MIN_LOADED_SAMPLES
    assert pacer.loaded_rounds(60.0, 30.0) >= B.LOADED_TARGET


def test_fast_video_does_not_buy_endless_probing() -> None:
    """With plenty of budget, rounds are dense only until the evidence is complete."""
    _trace, pacer = _simulate(5_000_000, 60.0, 336, loaded=False)
    # the idle rounds the targets ask for, then one per SLOW_INTERVAL_S
    assert B.IDLE_TARGET <= pacer.idle_rounds <= B.IDLE_TARGET + 60.0 / B.SLOW_INTERVAL_S + 1


def test_pacer_idle_rounds_at_once_then_medium_then_slow() -> None:
    p = Pacer(fast_s=0.5, medium_s=1.5, slow_s=4.0, idle_min=2, idle_target=3)
    assert p.due(0.0, loaded=False)  # the first round is always due
    p.record(0.0, loaded=False)
    # below the idle minimum every idle moment is worth a round: a slow link's gaps
    # between downloads are short
    assert p.interval(0.1, loaded=False) == 0.0 and p.due(0.1, loaded=False)
    p.record(0.5, False)
    assert p.interval(0.6, loaded=False) == 1.5  # the minimum is there, not full: medium
    assert not p.due(1.9, loaded=False) and p.due(2.0, loaded=False)
    p.record(2.0, False)
    assert p.interval(2.1, loaded=False) == 4.0  # complete: slow
    assert not p.due(5.9, loaded=False) and p.due(6.0, loaded=False)


def test_pacer_loaded_tiers_follow_the_window_and_fresh_rounds() -> None:
    p = Pacer(
        fast_s=0.5, medium_s=1.5, slow_s=4.0, loaded_min=2, loaded_target=4,
        window_s=30.0, fresh_s=5.0, fresh_target=2,
    )  # fmt: skip
    p.record(0.0, loaded=True)
    assert p.interval(0.5, loaded=True) == 0.5  # one of the minimum two
    p.record(0.5, True)
    assert p.interval(1.0, loaded=True) == 1.5  # two: the minimum, not full confidence
    p.record(2.0, True)
    p.record(3.5, True)
    assert p.interval(4.0, loaded=True) == 4.0  # four in the window, four fresh
    assert p.loaded_rounds(9.0, 5.0) == 0  # the rounds up to 3.5 s are no longer fresh
    assert p.interval(9.0, loaded=True) == 1.5  # four in the window, none fresh: medium
    assert p.interval(33.0, loaded=True) == 0.5  # only 3.5 s is left in the window
    # an idle round's interval does not depend on the loaded ones
    assert p.interval(33.0, loaded=False) == 0.0


def test_a_stall_after_healthy_playback_is_probed_fast_from_savings() -> None:
    """Healthy playback with full evidence probes every SLOW_INTERVAL_S and leaves tokens
    in the bucket; when the download becomes continuous (a stall coming), rounds come every
    FAST_INTERVAL_S until fresh loaded evidence is there."""
    b = ProbeBudget()
    b.credit(10_000_000)  # a long healthy session: 80 kB of probing paid for
    p = Pacer()
    t = 0.0
    for _ in range(B.IDLE_TARGET):
        assert p.due(t, False) and b.reserve(336)
        p.record(t, False)
        t += B.MEDIUM_INTERVAL_S
    t = 100.0  # long after: loaded rounds are wanted, every FAST_INTERVAL_S
    sent = []
    while t < 103.0:
        if p.due(t, True) and b.reserve(336):
            p.record(t, True)
            sent.append(t)
        t = round(t + 0.1, 6)
    assert len(sent) >= 3.0 / B.FAST_INTERVAL_S - 1


def test_budget_is_safe_across_threads() -> None:
    b = ProbeBudget(share=0.01, allowance=10_000)
    granted = []

    def take() -> None:
        for _ in range(1000):
            if b.reserve(7):
                granted.append(7)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(granted) == b.spent <= 10_000


def _path(*segments: Segment, silent: tuple[int, ...] = ()) -> list[Hop]:
    return [
        Hop(i, None if i in silent else f"198.51.100.{i}", segment=seg)
        for i, seg in enumerate(segments, start=1)
    ]


def test_a_short_path_is_probed_whole() -> None:
    hops = _path(HOME, ISP, ISP, IX, SRV, SRV, silent=(3,))
    assert [h.hop for h in hops_to_probe(hops)] == [1, 2, 4, 5, 6]  # silent hops never


def test_a_long_path_is_probed_at_the_borders_of_its_segments() -> None:
    """The first and last answering hop of every segment: where a queue's segment is
    decided (the ISP's access hop and the far end of its core stay), not its interior."""
    hops = _path(HOME, ISP, ISP, ISP, ISP, IX, IX, IX, IX, SRV, SRV, SRV, silent=(8,))
    kept = [h.hop for h in hops_to_probe(hops)]
    assert kept == [1, 2, 5, 6, 9, 10, 12]
    # up to ALL_HOPS_UP_TO answering hops everything is probed, even inside a segment
    assert len(hops_to_probe(_path(*[IX] * B.ALL_HOPS_UP_TO))) == B.ALL_HOPS_UP_TO
    assert len(hops_to_probe(_path(*[IX] * (B.ALL_HOPS_UP_TO + 1)))) == 2


def test_the_start_allowance_buys_discovery_and_start_rounds_of_this_path() -> None:
    # the testbed's 6-hop path by ICMP echo: 588 B discovery, 6 x 56 B a round
    assert B.start_allowance(588, 6 * 56) == 588 + B.START_ROUNDS * 336
    # by UDP (a time exceeded quotes the probe: 84 B a hop) the same rounds cost more
    assert B.start_allowance(672, 6 * 84) == 672 + B.START_ROUNDS * 504
    assert B.START_ROUNDS >= T.MIN_SPREAD_SAMPLES  # the spread fallback's minimum fits
    # a long path's advance is capped: <= 1 % once 100 x the cap of video arrived
    assert B.start_allowance(2000, 20 * 84) == B.MAX_START_ALLOWANCE_BYTES
    b = ProbeBudget()
    b.set_allowance(B.start_allowance(672, 504))
    assert b.limit == 672 + B.START_ROUNDS * 504


def test_a_round_reserves_its_worst_case_and_sizes_the_allowance_by_its_usual_cost() -> None:
    from player.net.path import engine
    from player.net.path.sockets import ProbeSpec

    echo = [ProbeSpec(k, "icmp", f"198.51.100.{k}", 0, None) for k in range(1, 7)]
    assert engine.usual_round_bytes(echo) == 6 * 56  # echo replies as big as the echoes
    assert engine.max_round_bytes(echo) == 6 * 84  # an ICMP error would quote the echo
    ttl = [ProbeSpec(k, "udp", "203.0.113.2", 33434 + k, k) for k in range(1, 7)]
    assert engine.usual_round_bytes(ttl) == engine.max_round_bytes(ttl) == 6 * 84
    v6 = ProbeSpec(1, "udp", "2001:db8::1", 33435, 1)
    assert engine.max_probe_bytes(v6) == 48 + 40 + 8 + 48
