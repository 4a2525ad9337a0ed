"""The rendition policy alone: index mapping, pin, buffer level and generations."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from player.core.abandon import InFlight
from player.core.model import Fetch, FetchKind
from player.session.rendition_policy import RenditionPolicy


@dataclass
class Rend:
    bandwidth: int


class Source:
    """Renditions in master order: 720p, 240p, 360p."""

    def __init__(self) -> None:
        self.rends = [Rend(2_000_000), Rend(400_000), Rend(800_000)]

    def renditions(self) -> list[Rend]:
        return self.rends

    def segment_duration_s(self) -> float | None:
        return 2.0


def fast_fetch(seq: int, bitrate_bps: int | None = 400_000) -> Fetch:
    """A fast video segment (the gateway stamps video segments with their rendition's bitrate)."""
    return Fetch(url=f"s{seq}.ts", kind=FetchKind.SEGMENT, started_at=float(seq), bytes=2_500_000,
                 transfer_ms=200.0, ttfb_ms=20.0, finished_at=seq + 0.2,
                 rendition_bitrate_bps=bitrate_bps)  # fmt: skip


def test_audio_segments_are_no_throughput_sample() -> None:
    """An audio group's segments carry no rendition bitrate: they do not start or move ABR."""
    p = RenditionPolicy()
    p.reset(1, Source())
    p.choose(1, 0)
    for seq in range(6):
        p.add_fetch(1, fast_fetch(seq, bitrate_bps=None))
    assert p.estimate_bps is None
    p.add_fetch(1, fast_fetch(7))
    assert p.estimate_bps is not None and p.estimate_bps > 50e6


def test_auto_starts_low_and_climbs_with_throughput_in_gateway_indices() -> None:
    p = RenditionPolicy()
    p.reset(1, Source())
    assert p.choose(1, 0) == 1  # ABR's lowest is the master's 2nd entry
    for seq in range(6):
        p.add_fetch(1, fast_fetch(seq))
    p.observe(buffer_ahead_s=20.0, playing=1)
    assert p.estimate_bps is not None and p.estimate_bps > 50e6
    chosen = [p.choose(1, seq) for seq in range(1, 30)]
    bitrates = [Source().rends[i].bandwidth for i in chosen]
    assert bitrates == sorted(bitrates), "steps up only, with plenty of throughput and buffer"
    assert chosen[-1] == 0  # the top: the master's 1st entry


def test_a_pin_holds_before_and_after_abr_starts() -> None:
    p = RenditionPolicy()
    p.pin(2)
    p.reset(1, None)  # a new open keeps the viewer's pin; no gateway yet
    p.observe(None, playing=None)
    assert p.choose(1, 0) == 0  # no renditions known: the fallback
    p.attach(1, Source())
    assert p.choose(1, 1) == 2
    p.pin(None)
    assert p.pinned is None
    assert p.choose(1, 2) == 2  # Auto keeps what plays until a throughput is measured
    for seq in range(6):
        p.add_fetch(1, fast_fetch(seq))
    p.observe(buffer_ahead_s=20.0, playing=2)
    assert 0 in [p.choose(1, seq) for seq in range(3, 30)]


def test_an_earlier_generation_gets_no_say() -> None:
    p = RenditionPolicy()
    p.reset(1, Source())
    p.choose(1, 0)
    p.reset(2, Source())
    p.attach(1, Source())  # a late attach of the old open is ignored
    p.add_fetch(1, fast_fetch(0))
    assert p.estimate_bps is None  # no ABR for open 2 yet, and the old fetch made none
    assert p.choose(1, 5) == 0
    p.choose(2, 0)
    p.add_fetch(1, fast_fetch(1))
    assert p.estimate_bps is None


def test_the_gateway_thread_and_the_owner_share_it_safely() -> None:
    # the gateway thread downloads and chooses while the owner samples the buffer; at
    # barriers the owner pins a rendition and returns to Auto: the gateway thread's very
    # next choice follows
    p = RenditionPolicy()
    p.reset(1, Source())
    p.observe(20.0, playing=1)
    barrier = threading.Barrier(2, timeout=10.0)
    phases: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    seqs = iter(range(1000))

    def run(n: int) -> list[int]:
        out = []
        for _ in range(n):
            seq = next(seqs)
            p.add_fetch(1, fast_fetch(seq))
            out.append(p.choose(1, seq))
        return out

    def gateway_thread() -> None:
        try:
            phases["auto"] = run(30)
            barrier.wait()  # the owner pins 2
            barrier.wait()
            phases["pinned"] = run(20)
            barrier.wait()  # the owner returns to Auto
            barrier.wait()
            phases["auto again"] = run(30)
        except BaseException as e:  # noqa: BLE001 - reported by the owner's assertion
            errors.append(e)
            barrier.abort()

    def sample_until_the_gateway_waits() -> None:
        while barrier.n_waiting == 0 and t.is_alive():
            p.observe(20.0, playing=None)  # the owner's sampling, concurrently

    t = threading.Thread(target=gateway_thread, name="gateway-relay")
    t.start()
    sample_until_the_gateway_waits()
    barrier.wait()
    p.pin(2)
    barrier.wait()
    sample_until_the_gateway_waits()
    barrier.wait()
    p.pin(None)
    barrier.wait()
    sample_until_the_gateway_waits()
    t.join(10.0)
    assert not t.is_alive() and not errors
    assert phases["auto"][0] == 1 and phases["auto"][-1] == 0  # climbed from 240p to 720p
    assert phases["pinned"] == [2] * 20  # the pin holds from the next choice on
    assert p.pinned is None
    assert phases["auto again"][-1] == 0  # Auto again: back to the top rendition


class ReadingAheadSource(Source):
    """A gateway holding ``held_s`` of DASH video read ahead of libVLC."""

    def __init__(self, held_s: float) -> None:
        super().__init__()
        self.held_s = held_s

    def readahead_s(self) -> float:
        return self.held_s


def test_abr_sees_libvlcs_buffer_plus_the_gateways_read_ahead() -> None:
    """At the top rendition libVLC's buffer falls to 0.5 s (ABR's panic level): with 6 s
    read ahead in the gateway the true buffer is 6.5 s and ABR keeps the top; without
    read-ahead it panics to the lowest."""
    after = {}
    for held in (0.0, 6.0):
        src = ReadingAheadSource(0.0)
        p = RenditionPolicy()
        p.reset(1, src)
        p.choose(1, 0)
        for seq in range(6):
            p.add_fetch(1, fast_fetch(seq))
        p.observe(buffer_ahead_s=20.0, playing=1)
        climbed = [p.choose(1, seq) for seq in range(1, 30)]
        assert climbed[-1] == 0  # the top (the master's 1st entry)
        src.held_s = held
        p.observe(buffer_ahead_s=0.5, playing=0)
        after[held] = p.choose(1, 30)
    assert after == {0.0: 1, 6.0: 0}  # 1: the lowest (the master's 2nd entry)


class HeldSource(Source):
    """A DASH gateway's source: it also reports the media it read ahead."""

    def __init__(self, held_s: float) -> None:
        super().__init__()
        self.held_s = held_s

    def readahead_s(self) -> float:
        return self.held_s


def test_abandon_judges_the_whole_buffer_in_gateway_indices() -> None:
    """The read-ahead's download of the top rendition (master's 1st entry) collapses: the
    policy judges it against libVLC's buffer plus what is read ahead, and names the lower
    rendition in the gateway's numbering; the chooser object carries the same call."""
    p = RenditionPolicy()
    src = HeldSource(held_s=0.5)
    p.reset(1, src)
    chooser = p.chooser(1)
    assert chooser(0) == 1  # starts ABR: the lowest (master's 2nd entry)
    # 0.5 MB of the top rendition's 2 s segment still to come at 0.5 Mbit/s: 8 s
    flight = InFlight(elapsed_s=1.0, received_bytes=0, total_bytes=500_000, rate_bps=0.5e6)
    p.observe(buffer_ahead_s=30.0, playing=0)
    assert chooser.abandon(0, 5, flight) is None  # 30.5 s of buffer: it arrives in time
    p.observe(buffer_ahead_s=3.0, playing=0)
    # 3.5 s: 1.5 s above the panic level; the 360p one (0.2 MB, 3.2 s) does not fit, the
    # lowest (0.1 MB, 1.6 s) still arrives long before the rest of the top one (8 s)
    assert chooser.abandon(0, 5, flight) == 1
    assert p.abandon(2, 0, 5, flight) is None  # a stale generation's gateway: no say
    p.pin(0)
    assert chooser.abandon(0, 5, flight) is None  # the viewer's pin is never abandoned
