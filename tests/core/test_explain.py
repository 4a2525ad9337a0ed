"""The "Why?" model: parts of the route, the hop table, throughput, first byte, confidence."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from player.core import thresholds as T
from player.core.attribution import DeviceEvidence
from player.core.explain import explain, redacted_name
from player.core.model import Evidence, Fetch, FetchKind, Hop, Segment, Verdict
from player.core.units import fmt_bitrate
from player.core.wording import explain as say


def make_testbed_path() -> list[Hop]:
    """A home router, two ISP hops (the second one queues), an interconnect, the server."""
    return [
        Hop(1, "192.168.1.1", "fritz.box", "home", Segment.HOME_NETWORK, 1.2, 1.6),
        Hop(2, "100.64.0.1", "pool-100-64-0-1.isp.example", "Example ISP", Segment.ISP, 8.0, 9.0),
        Hop(3, "198.51.100.7", "core1.isp.example", "Example ISP", Segment.ISP, 9.0, 95.0),
        Hop(4, "203.0.113.9", None, "Transit Co", Segment.INTERCONNECT, 12.0, 98.0),
        Hop(5, "203.0.113.80", "media.cdn.example", "CDN Co", Segment.SERVER, 14.0, 99.0),
    ]


def seg_fetch(i: int, *, ttfb: float = 40.0, reused: bool = True, connect: float | None = None) -> Fetch:
    return Fetch(
        url=f"http://203.0.113.80/v1/seg_{i}.ts",
        kind=FetchKind.SEGMENT,
        started_at=float(i),
        host="203.0.113.80",
        rendition_bitrate_bps=3_000_000,
        bytes=500_000,
        ttfb_ms=ttfb,
        transfer_ms=4000.0,  # 1 Mbit/s
        reused_connection=reused,
        connect_ms=connect,
        finished_at=float(i) + 4,
    )


ISP_VERDICT = Verdict(
    Segment.ISP,
    culprit="Example ISP",
    confidence=0.85,
    rule="isp_crowded",
    evidence=[Evidence("hop_rtt", "delay rose at the 3rd hop (Example ISP) from 9 ms to 95 ms")],
)
DEVICE_OK = DeviceEvidence(frames_dropped_healthy=0, frames_displayed=400, system_cpu_pct=23.0)


def test_isp_verdict_marks_the_isp_suspect_and_the_rest_fine_or_not_measured() -> None:
    e = explain(ISP_VERDICT, make_testbed_path(), [seg_fetch(i) for i in range(4)], probe_status="ok", device=DEVICE_OK)
    status = {p.segment: p.status for p in e.parts}
    assert status == {
        Segment.DEVICE: say.FINE,
        Segment.HOME_NETWORK: say.FINE,
        Segment.ISP: say.SUSPECT,
        Segment.INTERCONNECT: say.FINE,  # the rise there is the ISP's, carried through
        Segment.SERVER: say.FINE,
    }
    assert "9 ms to 95 ms" in e.part(Segment.ISP).reason
    assert "earlier" in e.part(Segment.INTERCONNECT).reason
    assert e.confidence_words == "fairly sure"
    assert [r.label for r in e.ruled_out] == [
        "Wi-Fi and home network", "This computer's decoding", "Your internet provider",
        "The link between networks", "The video's server",
    ]  # fmt: skip  (the device row: what its numbers measure, not this computer's traffic)
    assert [r.status for r in e.ruled_out] == ["ruled out", "ruled out", "suspected", "ruled out", "ruled out"]
    assert "Example ISP" in e.headline


def test_hop_table_is_redacted_and_keeps_networks_and_rtts() -> None:
    e = explain(ISP_VERDICT, make_testbed_path(), [], probe_status="ok")
    names = [h.name for h in e.hops]
    assert names[0] == say.HOME_ROUTER  # the home router's own name stays at home
    assert names[1] == "a router of Example ISP"  # its name spells its address
    assert names[2] == "core1.isp.example"
    assert names[3] == "a router of Transit Co"
    assert [h.network for h in e.hops][1:] == ["Example ISP", "Example ISP", "Transit Co", "CDN Co"]
    assert (e.hops[2].idle, e.hops[2].loaded) == ("9 ms", "95 ms")
    assert e.hops[0].idle == "1.2 ms"


def test_probes_not_permitted_leave_route_parts_not_measured_in_plain_words() -> None:
    hops = [Hop(1, None), Hop(2, None)]
    v = Verdict(Segment.UNKNOWN, confidence=0.0, rule="unknown_no_probes")
    e = explain(v, hops, [seg_fetch(1)], probe_status="not_permitted", probe_reason="ICMP not permitted: gid 0")
    for seg in (Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT):
        assert e.part(seg).status == say.NOT_MEASURED
        assert e.part(seg).reason == say.NOT_PERMITTED
    text = " ".join(e.texts())
    assert "ICMP" not in text and "gid" not in text and "ping" not in text
    assert e.confidence_words == "could not tell"
    assert e.part(Segment.DEVICE).status == say.NOT_MEASURED  # no device numbers given
    assert [h.name for h in e.hops] == [say.SILENT_ROUTER, say.SILENT_ROUTER]


def test_silent_route_and_switched_off_checks_say_why() -> None:
    assert explain(None, [], [], probe_status="silent").part(Segment.ISP).reason == say.NO_ANSWER
    off = explain(None, [], [], probe_status="not_run", probe_reason="path probing is off")
    assert off.part(Segment.HOME_NETWORK).reason == say.CHECKS_OFF
    assert off.headline == say.NO_STALL and off.confidence_words == "nothing to judge"


def test_reused_connection_shows_no_zero_connect_time() -> None:
    e = explain(None, [], [seg_fetch(i, ttfb=120.0, reused=True, connect=0.0) for i in range(3)])
    assert "120 ms" in e.ttfb and "0 ms" not in e.ttfb.replace("120 ms", "")
    assert "already open" in e.ttfb
    fresh = explain(None, [], [seg_fetch(i, ttfb=120.0, reused=False, connect=11.0) for i in range(3)])
    assert "connecting to it took 11 ms" in fresh.ttfb


def test_throughput_against_the_needed_bitrate() -> None:
    e = explain(None, [], [seg_fetch(i) for i in range(3)])
    assert e.needed_bps == 3_000_000 and e.throughput_bps is not None
    assert abs(e.throughput_bps - 1_000_000) < 1
    assert e.throughput == "Downloads ran at 1.0 Mbit/s; the video needs 3.0 Mbit/s: only 33 % of it."
    assert "enough" in explain(None, [], [seg_fetch(1)], needed_bitrate_bps=500_000).throughput


def test_unknown_verdict_with_a_rise_is_suspect_but_not_blamed() -> None:
    v = Verdict(Segment.UNKNOWN, confidence=0.0, rule="unknown_ambiguous")
    e = explain(v, make_testbed_path(), [], probe_status="ok")
    assert e.part(Segment.ISP).status == say.SUSPECT and e.part(Segment.ISP).reason == say.UNSURE_RISE
    assert e.part(Segment.INTERCONNECT).status == say.FINE  # carried from the ISP's rise
    assert e.part(Segment.HOME_NETWORK).status == say.FINE
    assert e.headline.startswith("Playback stalled") and e.confidence_words == "could not tell"


def test_device_and_server_verdicts() -> None:
    dev = Verdict(Segment.DEVICE, culprit="this computer", confidence=0.9, rule="device_drops_cpu")
    busy = DeviceEvidence(frames_dropped_healthy=40, frames_displayed=300, system_cpu_pct=97.0)
    e = explain(dev, make_testbed_path(), [], probe_status="ok", device=busy)
    assert e.part(Segment.DEVICE).status == say.SUSPECT and "40 pictures" in e.part(Segment.DEVICE).reason
    # the ISP's delay rose: not what the verdict rests on, but not hidden either
    assert e.part(Segment.ISP).status == say.SUSPECT and e.part(Segment.ISP).reason == say.UNSURE_RISE
    assert e.part(Segment.INTERCONNECT).status == say.FINE  # carries the ISP's rise
    srv = Verdict(Segment.SERVER, confidence=0.5, rule="server_ttfb")
    e = explain(srv, [], [seg_fetch(i, ttfb=2500.0) for i in range(3)])
    assert e.part(Segment.SERVER).status == say.SUSPECT and "2.5 s" in e.part(Segment.SERVER).reason
    assert e.confidence_words == "not sure"
    assert e.part(Segment.HOME_NETWORK).status == say.NOT_MEASURED


def test_confidence_words_follow_the_thresholds() -> None:
    words = [say.confidence_words(Segment.ISP, c) for c in (T.CONFIDENCE_FAIRLY_SURE, T.SOFT_CONFIDENCE, 0.3, 0.0)]
    assert words == ["fairly sure", "probably", "not sure", "could not tell"]
    assert say.confidence_words(Segment.NONE, 1.0) == "nothing to judge"


addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)


@settings(max_examples=80, deadline=None)
@given(
    addrs=st.lists(addresses, min_size=1, max_size=6),
    segs=st.lists(st.sampled_from(list(Segment)), min_size=6, max_size=6),
    name_kind=st.integers(0, 3),
)
def test_no_address_ever_appears_in_any_text(addrs: list[str], segs: list[Segment], name_kind: int) -> None:
    hops = []
    for i, a in enumerate(addrs):
        name = [None, a, f"pool-{a.replace('.', '-').replace(':', '-')}.isp.example", f"host {a} x"][name_kind]
        hops.append(Hop(i + 1, a, name, f"Org {a}" if i % 2 else None, segs[i], 5.0 + i, 30.0 + i))
    fetches = [
        Fetch(url=f"http://{a}/seg.ts", kind=FetchKind.SEGMENT, started_at=0.0, host=a, ttfb_ms=10.0) for a in addrs
    ]
    v = Verdict(
        segs[0], culprit=f"net {addrs[0]}", confidence=0.7, evidence=[Evidence("hop_rtt", f"hop {addrs[-1]} rose")]
    )
    e = explain(v, hops, fetches, probe_status="ok", probe_reason=f"via {addrs[0]}")
    text = "\n".join(e.texts())
    for a in addrs:
        assert a not in text
        full = ipaddress.ip_address(a).exploded
        assert full not in text
        if ipaddress.ip_address(a).version == 4:
            assert a.replace(".", "-") not in text


def test_redacted_name_keeps_plain_names() -> None:
    assert redacted_name(Hop(4, "203.0.113.1", "ae-1.core.example.net", "Example")) == "ae-1.core.example.net"
    assert redacted_name(Hop(4, "203.0.113.1", "203.0.113.1", None)) == say.UNNAMED_ROUTER


def test_the_verdicts_fetch_evidence_wins_over_finished_downloads() -> None:
    """A stalled download has no Fetch record yet: the window shows what the verdict saw."""
    from player.core.attribution import FetchEvidence, TtfbSample

    fe = FetchEvidence(
        ttfb=[TtfbSample(3440.0, None), TtfbSample(3100.0, None), TtfbSample(80.0, None)],
        throughput_bps=[150_000.0, 150_000.0],
        needed_bitrate_bps=400_000.0,
    )
    srv = Verdict(Segment.SERVER, confidence=0.45, rule="server_ttfb")
    e = explain(srv, [], [seg_fetch(i, ttfb=80.0) for i in range(3)], fetch_evidence=fe)
    assert e.part(Segment.SERVER).reason == "it took 3.1 s to start sending, which is slow"
    assert e.throughput == f"Downloads ran at {fmt_bitrate(150_000)}; the video needs 0.4 Mbit/s: only 38 % of it."
    assert "already open" in e.ttfb and "3.1 s" in e.ttfb


def test_a_server_on_this_computer_crosses_no_network() -> None:
    e = explain(None, [Hop(1, "127.0.0.1", "localhost", None, Segment.SERVER, 0.02, 0.03)], [], probe_status="ok")
    assert e.part(Segment.ISP).reason == say.SAME_COMPUTER
    assert (e.hops[0].idle, e.hops[0].loaded) == ("under 0.1 ms", "under 0.1 ms")  # never "0 ms"
    assert "127.0.0.1" not in " ".join(e.texts())


def test_a_rise_before_the_named_part_is_not_called_carried() -> None:
    hops = make_testbed_path()
    v = Verdict(Segment.INTERCONNECT, culprit="Transit Co", confidence=0.7, rule="interconnect_slow")
    e = explain(v, hops, [], probe_status="ok")
    assert e.part(Segment.INTERCONNECT).status == say.SUSPECT
    assert e.part(Segment.ISP).status == say.SUSPECT and "earlier" not in e.part(Segment.ISP).reason
