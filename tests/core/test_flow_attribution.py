"""The video flow's own TCP signals in attribution (pure, hand-built inputs): a queue on the
flow's path rules out a slow-sending server, a server that sends slowly into an empty
network is named only as the server, a loss-y plateau is said as a rate limit somewhere on
the route; without the signals every verdict is exactly as before."""

from __future__ import annotations

from dataclasses import replace

import pytest

from player.core import thresholds as T
from player.core.attribution import (
    RULES_BY_KEY,
    AttributionInput,
    DeviceEvidence,
    FetchEvidence,
    ProbeStatus,
    analyse,
    attribute,
)
from player.core.attribution.flow import FlowState, flow_findings, judge, rise_bar_ms
from player.core.attribution.inputs import FlowSample
from player.core.evidence import fetch_evidence
from player.core.model import Fetch, FetchKind, FlowSignals, Segment
from player.core.wording import flow as words
from tests.core.flow_cases import FLOOR_MS, POLICED, QUEUED, SLOW_SENDER, sample, with_flow
from tests.core.test_attribution import LOOPBACK, SCENARIOS, SLOW_TTFB, make, path

NETWORK = (Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT)


def texts(v: object) -> list[str]:
    return [e.text for e in v.evidence]  # type: ignore[attr-defined]


# --- one fetch against the floor ----------------------------------------------------------
def test_a_fetch_is_queued_flat_paused_or_unclear() -> None:
    assert judge(sample(FLOOR_MS + 300.0), FLOOR_MS).state is FlowState.QUEUED
    assert judge(sample(FLOOR_MS + 5.0), FLOOR_MS).state is FlowState.FLAT
    assert judge(sample(FLOOR_MS + 30.0), FLOOR_MS).state is FlowState.UNCLEAR
    # an RTT taken across the sender's pauses is no queue
    assert judge(sample(FLOOR_MS + 300.0, pause=0.9), FLOOR_MS).state is FlowState.PAUSED
    assert judge(sample(rtt=None), FLOOR_MS) is None  # type: ignore[arg-type]


def test_the_bar_scales_with_the_floor_and_the_jitter() -> None:
    assert rise_bar_ms(10.0, 1.0) == (T.FLOW_RISE_MIN_MS, T.FLOW_FLAT_MAX_MS)
    assert rise_bar_ms(200.0, 1.0)[0] == pytest.approx(T.FLOW_RISE_REL * 200.0)
    assert rise_bar_ms(10.0, 60.0)[0] == pytest.approx(2 * 60.0)  # jittery: a higher bar
    # a 100 ms rise is a queue on a steady connection, not on one that jitters by 60 ms
    assert judge(sample(FLOOR_MS + 100.0, rttvar=2.0), FLOOR_MS).state is FlowState.QUEUED
    assert judge(sample(FLOOR_MS + 100.0, rttvar=60.0), FLOOR_MS).state is not FlowState.QUEUED


# --- the findings -------------------------------------------------------------------------
def findings(flow: list[FlowSample], need: float | None = 2.5e6):  # noqa: ANN201
    return flow_findings(FetchEvidence(flow=flow, needed_bitrate_bps=need))


def test_one_queued_burst_is_not_a_standing_queue() -> None:
    assert findings(QUEUED).queued
    assert not findings([QUEUED[0], *SLOW_SENDER[:3]]).queued


def test_the_slow_sender_needs_several_clean_long_fetches_below_need() -> None:
    assert findings(SLOW_SENDER).sends_slowly
    assert not findings(SLOW_SENDER[:2]).sends_slowly  # too few
    assert not findings(SLOW_SENDER, need=0.6e6).sends_slowly  # not below need
    assert not findings(SLOW_SENDER, need=None).sends_slowly  # need unknown
    assert not findings([*SLOW_SENDER, sample(ooo=3)]).sends_slowly  # a loss on the way
    assert not findings([sample(ooo=None)] * 4).sends_slowly  # losses not measured
    # the data waited for the player (a busy computer reading late): not the sender's pace
    assert not findings([sample(wait=0.1)] * 4).sends_slowly
    assert not findings([sample(wait=None)] * 4).sends_slowly
    # a short body on a long path is limited by slow start, not by the sender
    short = [sample(FLOOR_MS + 0.5, floor=150.0, transfer_ms=900.0)] * 4
    assert not findings(short).sends_slowly
    bursts = findings([sample(FLOOR_MS + 60.0, pause=0.9)] * 4)
    assert bursts.sends_in_bursts and not bursts.sends_slowly


def test_a_lossy_plateau_without_queueing_is_policed() -> None:
    assert findings(POLICED).policed
    spread = [sample(FLOOR_MS + 1.0, ooo=30, bps=b) for b in (0.3e6, 1.2e6, 0.5e6)]
    assert not findings(spread).policed  # not one steady rate
    assert not findings(POLICED, need=0.5e6).policed  # not below need
    assert not findings([*POLICED, *QUEUED]).policed  # a queue is another story


def test_the_floor_is_per_host() -> None:
    near = Fetch("http://a/1.ts", FetchKind.SEGMENT, 0.0, host="near", bytes=1, transfer_ms=1)
    near.flow = FlowSignals(rcv_rtt_end_ms=5.0, min_rtt_ms=5.0, ooo_packets=0)
    far = [
        Fetch(f"http://b/{i}.ts", FetchKind.SEGMENT, float(i), host="far", finished_at=float(i))
        for i in range(1, 4)
    ]
    for f in far:
        f.flow = FlowSignals(rcv_rtt_end_ms=82.0, min_rtt_ms=80.0, ooo_packets=0)
    fe = fetch_evidence(now=5.0, fetches=[near, *far], window_end=5.0)
    assert [s.floor_ms for s in fe.flow] == [5.0, 80.0, 80.0, 80.0]
    assert not flow_findings(fe).queued  # 80 ms away is a distance, not a queue


# --- the verdicts -------------------------------------------------------------------------
def test_a_server_that_sends_slowly_into_an_empty_network_is_the_server_only() -> None:
    v = attribute(with_flow(make(), SLOW_SENDER))
    assert v.segment is Segment.SERVER and v.rule == "server_sends_slowly"
    assert v.confidence < T.SOFT_CONFIDENCE  # the application or a limit in its network
    assert words.SENDS_SLOWLY_SENTENCE in " ".join(texts(v))
    assert any(e.kind == "open" and "not told apart" in e.text for e in v.evidence)
    assert any("a queue on the video's path" in t for t in texts(v))  # ruled out
    # a saturated processor may itself have read the data late: the server is not named
    busy = make(device=DeviceEvidence(frames_displayed=2000, system_cpu_pct=97.0))
    assert attribute(with_flow(busy, SLOW_SENDER)).rule != "server_sends_slowly"
    # without probes: still the flow's own RTT, capped below the evidence bar
    blind = make(status=ProbeStatus.NOT_PERMITTED, reason="no raw sockets")
    v = attribute(with_flow(blind, SLOW_SENDER))
    assert v.segment is Segment.SERVER and v.confidence <= T.MISSING_EVIDENCE_CAP


def test_a_server_sending_in_bursts_needs_the_route_shown_flat() -> None:
    bursts = [sample(FLOOR_MS + 60.0, pause=0.9)] * 4
    assert attribute(with_flow(make(), bursts)).rule == "server_sends_slowly"
    blind = make(status=ProbeStatus.NOT_PERMITTED, reason="no raw sockets")
    assert attribute(with_flow(blind, bursts)).segment is Segment.UNKNOWN


def test_a_located_queue_keeps_its_verdict_over_a_slow_sender() -> None:
    for hops, rule in (
        (path(inflate_at=2), "isp_access"),
        (path(inflate_at=1, add=20.0), "home_slow"),
    ):
        assert attribute(with_flow(make(hops), SLOW_SENDER)).rule == rule


def test_our_flow_queueing_rules_out_a_slow_sending_server() -> None:
    assert attribute(make(ttfb=SLOW_TTFB, throughput=[])).rule == "server_ttfb"
    v = attribute(with_flow(make(ttfb=SLOW_TTFB, throughput=[]), QUEUED))
    assert v.segment is not Segment.SERVER  # its slow answer waited in the queue too
    assert any(words.queued_line(FLOOR_MS, FLOOR_MS + 300.0, 4, 4) == t for t in texts(v))
    v = attribute(with_flow(make(path(inflate_at=2)), QUEUED))
    assert v.rule == "isp_access"
    ruled_out = next(e.text for e in v.evidence if e.kind == "ruled_out")
    assert "a server that only sends slowly" in ruled_out


def test_a_policer_is_said_as_evidence_and_names_no_segment() -> None:
    v = attribute(with_flow(make(), POLICED))
    assert v.segment is Segment.UNKNOWN
    line = next(t for t in texts(v) if "rate limit that drops packets" in t)
    assert "somewhere on the route" in line
    blind = make(status=ProbeStatus.NOT_PERMITTED, reason="no raw sockets")
    assert attribute(with_flow(blind, POLICED)).segment is Segment.UNKNOWN


def test_loopback_keeps_its_own_rule_and_shows_no_flow_line() -> None:
    v = attribute(with_flow(make(LOOPBACK, host="127.0.0.1"), SLOW_SENDER))
    assert v.rule == "server_local"
    assert not any(e.kind == words.FLOW_KIND for e in v.evidence)


def _same(a: object, b: object) -> bool:
    return (a.rule, a.segment, a.confidence, a.message, texts(a)) == (  # type: ignore[attr-defined]
        b.rule, b.segment, b.confidence, b.message, texts(b)  # type: ignore[attr-defined]
    )  # fmt: skip


@pytest.mark.parametrize("key", sorted(SCENARIOS))
def test_missing_signals_change_nothing(key: str) -> None:
    inp = SCENARIOS[key]
    if inp.fetch.flow:  # the flow row's own scenario: compare it without its signals
        inp = with_flow(inp, [])
    before = attribute(inp)
    unmeasured = [replace(s, rcv_rtt_ms=None, low_ms=None, floor_ms=None) for s in SLOW_SENDER]
    assert _same(attribute(with_flow(inp, unmeasured)), before)


@pytest.mark.parametrize("key", sorted(SCENARIOS))
@pytest.mark.parametrize("flow", [SLOW_SENDER, QUEUED, POLICED], ids=["slow", "queued", "policed"])
def test_the_flow_never_accuses_a_network_segment(key: str, flow: list[FlowSample]) -> None:
    inp: AttributionInput = SCENARIOS[key]
    base = with_flow(inp, [])
    before, after = attribute(base), attribute(with_flow(base, flow))
    if after.segment in NETWORK:
        # only a row that matched on the probes' evidence alone: the flow can take a rival
        # away (a slow-answering server whose answer waited in our flow's queue: the tie of
        # unknown_conflict then goes to the located queue), never make a network row match
        assert RULES_BY_KEY[after.rule].condition(analyse(base)), (before.rule, after.rule)
    if after.segment is Segment.SERVER and before.segment is not Segment.SERVER:
        assert flow is SLOW_SENDER and after.rule == "server_sends_slowly"
        assert before.segment is Segment.UNKNOWN


def test_followup_notice_and_why_say_what_is_shown() -> None:
    from player.core import explain as why_mod

    v = attribute(with_flow(make(), SLOW_SENDER))
    assert v.message == (
        "The video's server (ExampleCDN) seems to send the video slowly; the network to it "
        "was not queueing."
    )
    named = why_mod.named_words(v, soft=True)
    assert named.head == words.SENDS_SLOWLY_HEAD


def test_a_server_holding_the_first_byte_is_not_a_queue_of_our_own_data() -> None:
    # server_app_slow in the namespace testbed: the origin holds every first byte 2.5 s;
    # the receiver RTT at the end of the short body still carries a share of that wait
    from dataclasses import replace as _replace

    from player.core.attribution.flow import FlowState, judge
    from tests.core.flow_cases import FLOOR_MS, sample
    from tests.core.test_attribution import SLOW_TTFB

    held = [_replace(sample(FLOOR_MS + 300.0), ttfb_ms=2500.0) for _ in range(4)]
    assert all(judge(s, FLOOR_MS).state is FlowState.PAUSED for s in held)
    v = attribute(with_flow(make(ttfb=SLOW_TTFB, throughput=[]), held))
    assert v.segment is Segment.SERVER and v.rule == "server_ttfb", (v.rule, v.message)
    # the same receiver RTT with a prompt first byte is a queue, as before
    prompt = [_replace(sample(FLOOR_MS + 300.0), ttfb_ms=40.0) for _ in range(4)]
    assert all(judge(s, FLOOR_MS).state is FlowState.QUEUED for s in prompt)
