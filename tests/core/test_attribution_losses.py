"""Losses under load as supporting evidence of a queue (attribution.hop_stats), pure.

A queue that overflows on the link into hop k drops probes of every hop from k on; hops
whose answers it dropped keep too few loaded RTTs to be judged. Such hops carry an RTT
onset that the losses start at, and never make one: a hop that only drops probes (ICMP
rate limiting of its control plane, a policer) must not move a queue onto itself.
"""

from __future__ import annotations

from player.core import thresholds as T
from player.core.attribution import (
    AttributionInput,
    HopEvidence,
    ProbeStatus,
    analyse,
    attribute,
    hop_evidence_from,
    hop_stats,
)
from player.core.attribution.hop_stats import loss_run_start
from player.core.model import Hop, ProbeSample, Segment

ORGS = ["home", "Verizon", "Verizon", "ExampleCDN", "ExampleCDN"]
BASES = [1.0, 8.0, 10.0, 15.0, 16.0]
N = 12  # probes per hop and label


def _flat(base: float, n: int = N) -> list[float]:
    return [base + 0.02 * (i % 5) for i in range(n)]


def _hop(
    i: int,
    *,
    rise: float = 0.0,
    loaded_answered: int = N,
    loaded_lost: int = 0,
    idle_lost: int = 0,
) -> HopEvidence:
    return HopEvidence(
        hop=i + 1,
        org=ORGS[i],
        private=i == 0,
        idle_rtt_ms=_flat(BASES[i]),
        loaded_rtt_ms=[x + rise for x in _flat(BASES[i], loaded_answered)],
        idle_lost=idle_lost,
        loaded_lost=loaded_lost,
    )


def _inp(hops: list[HopEvidence]) -> AttributionInput:
    return AttributionInput(hops=hops, probe_status=ProbeStatus.OK, stalling=True)


def _queue_at_2(*, later_lost: int, later_answered: int, idle_lost: int = 0) -> AttributionInput:
    """A 300 ms queue on the access link (hop 2 on); hops 3-5 lose ``later_lost`` of their
    loaded probes and keep ``later_answered`` RTTs (with the rise)."""
    return _inp(
        [
            _hop(0),
            _hop(1, rise=300.0, loaded_lost=later_lost // 2),
            *(
                _hop(
                    i,
                    rise=300.0,
                    loaded_answered=later_answered,
                    loaded_lost=later_lost,
                    idle_lost=idle_lost,
                )
                for i in (2, 3, 4)
            ),
        ]
    )


def test_hop_evidence_counts_the_probes_left_unanswered() -> None:
    hops = [Hop(1, "192.168.1.1"), Hop(2, "198.51.100.1"), Hop(3, None)]
    samples = [
        ProbeSample(1, 0.0, 1.0, False),
        ProbeSample(1, 1.0, None, False),
        ProbeSample(2, 0.0, None, True),
        ProbeSample(2, 1.0, None, True),
        ProbeSample(2, 2.0, 1500.0, True),  # a late answer: an RTT, not a loss
    ]
    ev = {h.hop: h for h in hop_evidence_from(hops, samples)}
    assert (ev[1].idle_lost, ev[1].loaded_lost, ev[1].idle_rtt_ms) == (1, 0, [1.0])
    assert (ev[2].idle_lost, ev[2].loaded_lost, ev[2].loaded_rtt_ms) == (0, 2, [1500.0])
    assert (ev[3].idle_lost, ev[3].loaded_lost) == (0, 0)


def test_loss_shares_need_enough_probes_and_a_rise_over_idle() -> None:
    few = hop_stats(_hop(1, loaded_answered=2, loaded_lost=2), Segment.ISP)
    assert few.loaded_loss is None and not few.lossy  # 4 probes: not judged
    lossy = hop_stats(_hop(1, loaded_answered=4, loaded_lost=8), Segment.ISP)
    assert lossy.loaded_loss == 8 / 12 and lossy.idle_loss == 0.0 and lossy.lossy
    # a router rate-limiting its answers loses as many idle: not "lossy under load"
    limited = hop_stats(_hop(1, loaded_answered=6, loaded_lost=6, idle_lost=12), Segment.ISP)
    assert limited.idle_loss == 0.5 and limited.loaded_loss == 0.5 and not limited.lossy
    light = hop_stats(_hop(1, loaded_answered=11, loaded_lost=1), Segment.ISP)
    assert light.loaded_loss is not None and light.loaded_loss < T.LOSS_LOADED_MIN
    assert not light.lossy
    silent = HopEvidence(hop=2, org="Verizon", answered=False, loaded_lost=12)
    assert hop_stats(silent, Segment.ISP).loaded_loss is None


def test_losses_carry_an_rtt_onset_where_rtts_cannot() -> None:
    """Hops 3-5 lost 10 of 12 loaded probes: two RTTs each, too few to judge. Without the
    losses the onset at hop 2 is confirmed by no later hop; with them, by all three."""
    inp = _queue_at_2(later_lost=10, later_answered=2)
    f = analyse(inp)
    assert f.onset is not None and f.hops[f.onset.pos].hop == 2
    assert f.onset.by_loss == 3 and f.onset.confirmed == 3 and f.onset.contradicted == 0
    assert loss_run_start(f.hops) == 1  # position of hop 2
    # the same RTTs without the losses (the probes' answers just missing)
    bare = _queue_at_2(later_lost=0, later_answered=2)
    g = analyse(bare)
    assert g.onset is not None and g.hops[g.onset.pos].hop == 2
    assert g.onset.confirmed == 0 and g.onset.by_loss == 0
    with_losses, without = attribute(inp), attribute(bare)
    assert with_losses.segment is without.segment is Segment.ISP
    assert with_losses.confidence > without.confidence


def test_losses_never_make_an_onset_alone() -> None:
    """Every hop from 2 on drops half its loaded probes but no RTT rises (a policer, or
    routers limiting their answers): no queue is named."""
    hops = [_hop(0)] + [_hop(i, loaded_answered=6, loaded_lost=6) for i in (1, 2, 3, 4)]
    f = analyse(_inp(hops))
    assert loss_run_start(f.hops) == 1
    assert f.onset is None and not f.isolated
    assert attribute(_inp(hops)).segment is not Segment.ISP


def test_a_hop_that_only_drops_probes_does_not_move_the_queue_onto_itself() -> None:
    """Hop 3 rate-limits its answers under load (lossy, flat RTTs); the queue is on the
    link into hop 4 (RTT rise from 4 on, all lossy): the onset stays at hop 4."""
    hops = [
        _hop(0),
        _hop(1),
        _hop(2, loaded_answered=6, loaded_lost=6),
        _hop(3, rise=300.0, loaded_answered=6, loaded_lost=6),
        _hop(4, rise=300.0, loaded_answered=2, loaded_lost=10),
    ]
    f = analyse(_inp(hops))
    assert loss_run_start(f.hops) == 2  # the losses start at hop 3 ...
    assert f.onset is not None and f.hops[f.onset.pos].hop == 4  # ... the queue does not
    assert f.onset.by_loss == 0  # losses that begin before the onset's link support nothing


def test_a_lossy_last_hop_alone_is_no_run() -> None:
    hops = [_hop(0), _hop(1), _hop(2), _hop(3), _hop(4, loaded_answered=2, loaded_lost=10)]
    assert loss_run_start(analyse(_inp(hops)).hops) is None


def test_rate_limited_hops_support_nothing() -> None:
    """The later hops lose as many probes idle as loaded: rate limiting, not a queue."""
    inp = _queue_at_2(later_lost=10, later_answered=2, idle_lost=60)
    f = analyse(inp)
    assert f.onset is not None and f.onset.by_loss == 0 and f.onset.confirmed == 0
