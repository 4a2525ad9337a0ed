"""Evidence assembly (player.core.evidence): plain data in, AttributionInput out."""

from __future__ import annotations

import pytest

from player.core import evidence as ev
from player.core.attribution import DeviceEvidence, ProbeStatus
from player.core.model import Fetch, FetchKind, Hop, ProbeSample, Segment
from player.core.wording import playback as say
from player.net.path.monitor import PathSnapshot

NOW = 500.0


def seg(finished_at: float, *, ttfb_ms: float = 50.0, bytes_: int = 500_000, transfer_ms: float = 400.0,
        connect_ms: float | None = 4.0, reused: bool = False, kind: FetchKind = FetchKind.SEGMENT,
        error: str | None = None, host: str = "cdn.example") -> Fetch:  # fmt: skip
    return Fetch(
        url="https://cdn.example/s.ts",
        kind=kind,
        started_at=finished_at - (ttfb_ms + transfer_ms) / 1000.0,
        host=host,
        bytes=bytes_,
        connect_ms=connect_ms,
        ttfb_ms=ttfb_ms,
        transfer_ms=transfer_ms,
        reused_connection=reused,
        error=error,
        finished_at=finished_at,
    )


def test_probe_reason_without_a_path() -> None:
    local = ev.attribution_input(now=NOW, fetches=[], via_gateway=False)
    assert local.probe_status is ProbeStatus.NOT_RUN and local.probe_reason == say.PROBE_LOCAL_MEDIA
    off = ev.attribution_input(now=NOW, fetches=[], via_gateway=True, stall_started_at=NOW)
    assert off.probe_reason == say.PROBE_OFF and off.stalling
    assert not ev.attribution_input(now=NOW, fetches=[]).stalling


def test_a_path_still_being_discovered_counts_as_not_run() -> None:
    snap = PathSnapshot(host="cdn.example", status=ProbeStatus.OK, ready=False)
    inp = ev.attribution_input(now=NOW, fetches=[], path=snap)
    assert inp.probe_status is ProbeStatus.NOT_RUN and inp.probe_reason == say.PROBE_DISCOVERING
    denied = PathSnapshot(host="cdn.example", status=ProbeStatus.NOT_PERMITTED, reason="no raw sockets")
    inp = ev.attribution_input(now=NOW, fetches=[], path=denied)
    assert inp.probe_status is ProbeStatus.NOT_PERMITTED and inp.probe_reason == "no raw sockets"


def test_hops_get_recent_loaded_samples_and_a_baseline_from_before_the_download() -> None:
    first = seg(400.0)  # the first segment started just before t=400
    hops = [Hop(1, "192.168.1.1", None, "home", Segment.HOME_NETWORK), Hop(2, "198.51.100.9", None, "CDN", Segment.SERVER)]
    samples = [
        ProbeSample(1, 390.0, 1.5, False),
        ProbeSample(1, 395.0, 1.0, False),  # the quietest before the download: the baseline
        ProbeSample(1, 450.0, 0.5, False),  # after the download started: not a baseline
        ProbeSample(1, NOW - ev.LOADED_WINDOW_S - 1, 90.0, True),  # loaded, too old
        ProbeSample(1, NOW - 1, 9.0, True),
        ProbeSample(2, 396.0, 20.0, False),
    ]
    snap = PathSnapshot(host="cdn.example", ready=True, status=ProbeStatus.OK, hops=hops, samples=samples,
                        destination="198.51.100.9")  # fmt: skip
    inp = ev.attribution_input(now=NOW, fetches=[first], path=snap)
    assert inp.probe_status is ProbeStatus.OK
    h1, h2 = inp.hops
    assert h1.loaded_rtt_ms == [9.0] and sorted(h1.idle_rtt_ms) == [0.5, 1.0, 1.5]
    assert h1.baseline_rtt_ms == 1.0 and h2.baseline_rtt_ms == 20.0
    assert h2.is_destination
    assert inp.fetch.server_org == "CDN"


def test_fetch_evidence_covers_the_window_before_the_stall() -> None:
    stall_at = 300.0
    old = [seg(100.0 + i, ttfb_ms=900.0) for i in range(5)]  # long before the stall
    near = [seg(stall_at - 5 + i, ttfb_ms=60.0 + i, reused=i > 0) for i in range(3)]
    failed = seg(stall_at - 1, ttfb_ms=5.0, error="HTTP 500")
    fe = ev.fetch_evidence(now=NOW, fetches=old + near + [failed], window_end=stall_at)
    assert [s.ttfb_ms for s in fe.ttfb] == [60.0, 61.0, 62.0]
    assert [s.connect_rtt_ms for s in fe.ttfb] == [4.0, None, None]  # reused: no connect
    assert fe.throughput_bps == [pytest.approx(500_000 * 8 / 0.4)] * 3
    assert fe.server_host == "cdn.example"
    # Nothing in the window: the last RECENT_MIN, however old.
    fe = ev.fetch_evidence(now=NOW, fetches=old, window_end=NOW)
    assert len(fe.ttfb) == ev.RECENT_MIN
    # At most RECENT_FETCHES.
    many = [seg(NOW - 5 + i * 0.1) for i in range(20)]
    assert len(ev.fetch_evidence(now=NOW, fetches=many, window_end=NOW).ttfb) == ev.RECENT_FETCHES


def test_inflight_downloads_are_evidence_once_old_enough() -> None:
    recent = [seg(NOW - 3, connect_ms=7.0)]
    waiting = ev.InFlightTransfer(started_at=NOW - 2.5, first_byte_at=None)
    young = ev.InFlightTransfer(started_at=NOW - ev.INFLIGHT_MIN_S / 2, first_byte_at=None)
    slow_body = ev.InFlightTransfer(started_at=NOW - 4.0, first_byte_at=NOW - 3.0, received=300_000)
    fe = ev.fetch_evidence(now=NOW, fetches=recent, inflight=[waiting, young, slow_body], window_end=NOW)
    ttfbs = [(s.ttfb_ms, s.connect_rtt_ms) for s in fe.ttfb]
    assert ttfbs[1:] == [(pytest.approx(2500.0), 7.0), (pytest.approx(1000.0), 7.0)]
    assert fe.throughput_bps[1:] == [pytest.approx(300_000 * 8 / 3.0)]
    # No gateway: nothing is in flight as far as we know.
    inp = ev.attribution_input(now=NOW, fetches=recent, inflight=[waiting], via_gateway=False)
    assert len(inp.fetch.ttfb) == 1


def test_the_bitrate_needed() -> None:
    prog = [seg(NOW - 9, kind=FetchKind.PROGRESSIVE, bytes_=1_000_000), seg(NOW - 1, kind=FetchKind.PROGRESSIVE, bytes_=5_000_000)]
    inp = ev.attribution_input(now=NOW, fetches=prog, rendition_bitrate_bps=800_000)
    assert inp.fetch.needed_bitrate_bps == 800_000
    inp = ev.attribution_input(now=NOW, fetches=prog, length_s=20.0)
    assert inp.fetch.needed_bitrate_bps == pytest.approx(5_000_000 * 8 / 20.0)
    assert ev.attribution_input(now=NOW, fetches=prog, length_s=20.0, via_gateway=False).fetch.needed_bitrate_bps is None
    assert ev.content_length(prog) == 5_000_000 and ev.content_length([seg(NOW)]) is None


def test_device_numbers_pass_through_and_throughput_is_a_harmonic_mean() -> None:
    dev = DeviceEvidence(frames_dropped_healthy=3, frames_displayed=100, process_cpu_pct=50.0, system_cpu_pct=20.0, cpu_count=8)
    assert ev.attribution_input(now=NOW, fetches=[], device=dev).device is dev
    fetches = [seg(1.0, bytes_=100_000, transfer_ms=800.0), seg(2.0, bytes_=100_000, transfer_ms=200.0),
               seg(3.0, kind=FetchKind.PLAYLIST)]  # fmt: skip
    assert ev.recent_throughput(fetches) == pytest.approx(2 / (1 / 1e6 + 1 / 4e6))
    assert ev.recent_throughput([]) is None
    assert ev.first_segment_at(fetches) == fetches[0].started_at
