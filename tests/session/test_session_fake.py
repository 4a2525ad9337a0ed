"""The session facade and its parts, driven by fakes on a fake clock (milliseconds each).

Only the clock, libVLC, the gateway, the path monitor, the CPU sampler and the preflight
check are fake (tests/support/fakes.py); the session's parts, the buffer model, ABR,
evidence and attribution are the real ones.
"""

from __future__ import annotations

import threading

import pytest

from player.core.evidence import InFlightTransfer
from player.core.model import FetchKind, PlaybackState, Segment
from player.net import gateway as gw
from player.playback.vlc import EventKind
from player.session import (
    Ended,
    EndedEarly,
    MediaInfo,
    NoticeChanged,
    Opening,
    PlaybackFailed,
    RenditionsKnown,
    StallBegan,
    StallFinished,
    StateChanged,
    StreamNote,
)
from player.session.media import NOTE_REPEAT_S
from player.session.stall_tracker import NOTICE_LINGER_S, VERDICT_REFRESH_S
from tests.session.conftest import RENDITIONS, TICK_S, URL, Rig
from tests.support.fakes import PATH_DESTINATION, FakePathMonitor, queued_path

OTHER_URL = "https://other.example/live/master.m3u8"


def states(rig: Rig) -> list[PlaybackState]:
    return [e.state for e in rig.events(StateChanged)]


def test_startup_opening_to_playing_with_startup_time_in_qoe(rig: Rig) -> None:
    g = rig.start(startup_s=0.3)
    assert rig.net.checked == [URL]
    assert g.started and g.url == URL
    assert rig.player.opened == [g.open(URL)], "libVLC must read through the gateway"
    assert isinstance(rig.seen[0], Opening) and rig.seen[0].title == "master.m3u8"
    labels = rig.events(RenditionsKnown)[0].labels
    assert labels == ["720p · 2.00 Mbit/s", "240p · 0.40 Mbit/s", "360p · 0.80 Mbit/s"]

    rig.run_until(lambda: rig.session.monitor.startup_s is not None, limit_s=2)
    assert states(rig) == [PlaybackState.STARTUP, PlaybackState.PLAYING]
    info = rig.events(MediaInfo)[-1]
    assert info.length_s == 40.0 and info.seekable and not info.live
    assert g.media_duration == 40.0
    # Opened at t0; libVLC played after 0.3 s; the 2nd picture (25 fps) came within a tick.
    q = rig.session.qoe()
    assert 0.3 < q.startup_s <= 0.3 + 2 * TICK_S
    rig.run(2.0)
    assert rig.session.state is PlaybackState.PLAYING
    assert rig.session.qoe().stall_count == 0
    assert rig.session.fetch_summary()["by_kind"][FetchKind.SEGMENT.value] == len(g.served)
    assert rig.session.stats().rendition.endswith("(auto)")


def stall_with_path_evidence_arriving() -> tuple[Rig, FakePathMonitor]:
    """A stall that starts while the path is still being discovered (no evidence for a
    named verdict); the probes' results, a queue at the server's hops, come in during it."""
    rig = Rig(probe_path=True, buffer_target_s=2.0)
    rig.start()
    monitor = rig.net.monitors[-1]
    assert (monitor.host, monitor.port, monitor.started) == ("cdn.example", 443, True)
    monitor.discovering()
    rig.run(3.0)
    rig.feeding = False  # the origin stops answering: VLC drains its buffer, then waits
    rig.run_until(lambda: rig.events(StallBegan), limit_s=10)
    return rig, monitor


def test_stall_gets_a_verdict_refreshed_while_it_lasts_then_finishes() -> None:
    rig, monitor = stall_with_path_evidence_arriving()
    began = rig.events(StallBegan)[0]
    assert rig.session.state is PlaybackState.STALLED
    stall = rig.session.monitor.stalls[0]
    first = rig.session.current_verdict
    assert first is not None and first.segment is Segment.UNKNOWN and stall.verdict is first
    assert stall.verdict_after_s is not None and stall.verdict_after_s < VERDICT_REFRESH_S
    assert rig.events(NoticeChanged)[-1].verdict is first
    assert stall.named_after_s is None

    hops, samples = queued_path(idle_at=990.0, loaded_at=rig.clock() - 5.0, from_hop=5)
    monitor.discovered(hops, samples, PATH_DESTINATION)
    rig.step()
    assert rig.session.current_verdict is first, "no new verdict before VERDICT_REFRESH_S"
    rig.run_until(lambda: rig.session.current_verdict is not first, limit_s=VERDICT_REFRESH_S + 0.1)
    second = rig.session.current_verdict
    assert second.segment is Segment.SERVER and second.culprit == "ExampleCDN"
    assert stall.verdict is second
    assert stall.named_after_s == pytest.approx(
        stall.verdict_after_s + VERDICT_REFRESH_S, abs=2 * TICK_S
    )
    notice = rig.events(NoticeChanged)[-1]
    assert notice.verdict is second and "ExampleCDN" in notice.notice.title
    assert rig.session.current_notice == notice.notice
    assert not rig.events(StallFinished)

    rig.feeding = True  # bytes again
    rig.run_until(lambda: rig.events(StallFinished), limit_s=3)
    finished = rig.events(StallFinished)[0]
    assert finished.start_s == began.start_s and finished.duration_s > VERDICT_REFRESH_S
    assert rig.session.state is PlaybackState.PLAYING
    monitor.discovering()  # whatever the path says now, it describes the recovery
    rig.run(2.0)
    assert stall.verdict is second, "evidence after the recovery must not change the verdict"
    # The notice lingers after the stall, then goes.
    rig.run(NOTICE_LINGER_S - 2.5)
    assert rig.session.current_notice is not None
    rig.run(1.0)
    assert rig.session.current_notice is None
    assert rig.events(NoticeChanged)[-1].notice is None
    report = rig.session.report()
    assert report.qoe.stall_count == 1 and report.verdict.segment is Segment.SERVER
    rig.session.close()
    assert monitor.stopped and rig.gateway.stopped.is_set()


def test_buffering_shows_at_once_and_the_band_goes_within_3_s_of_the_recovery(rig: Rig) -> None:
    """The notice's timing targets, on the session's clock (deterministic: fake time).

    The real-libVLC window test shows the same sequence on a real stall; there the load
    of the machine, not the design, decides the milliseconds."""
    from player.core import thresholds as T

    rig.start()
    rig.run(3.0)
    rig.feeding = False  # VLC's next request gets no byte
    rig.run_until(lambda: rig.session.tracker.notice_log, limit_s=10)
    rec = rig.session.tracker.notice_log[0]
    assert rec.shown_at - rec.stall_started_at <= 0.5, "Buffering… later than 0.5 s"
    buffering = rig.events(NoticeChanged)[-1].notice
    assert buffering is not None and buffering.status == "buffering"
    rig.run(2.0)
    rig.feeding = True
    rig.run_until(lambda: rec.hidden_at is not None, limit_s=10)
    assert rec.recovered_at is not None and rec.hidden_at >= rec.recovered_at
    assert rec.hidden_at - rec.recovered_at + T.NOTICE_FADE_S <= 3.0, "the band outlived 3 s"
    assert rig.events(NoticeChanged)[-1].notice is None


def test_five_stalls_in_a_minute_at_most_two_bands_each_gone_after_the_linger() -> None:
    """The merge rule through the whole session: five real stalls (the origin stops
    answering, VLC drains its buffer) within a minute open at most two bands, and after
    EACH recovery the band is hidden within NOTICE_LINGER_S and one tick; the stalls past
    the budget still reach the status line (StallBegan)."""
    rig = Rig(buffer_target_s=2.0)
    rig.start()
    rig.run(2.0)
    t0 = rig.clock()
    for i in range(5):
        rig.feeding = False
        rig.run_until(lambda i=i: len(rig.events(StallBegan)) == i + 1, limit_s=10)
        rig.run(1.0)
        rig.feeding = True
        rig.run_until(lambda i=i: len(rig.events(StallFinished)) == i + 1, limit_s=5)
        recovered = rig.events(StallFinished)[-1].at
        rig.run(NOTICE_LINGER_S + TICK_S)
        assert rig.session.current_notice is None, (
            f"stall {i + 1}: the band still up {rig.clock() - recovered:.2f} s after the recovery"
        )
        assert rig.events(NoticeChanged)[-1].notice is None
        rig.run(1.0)
    assert rig.clock() - t0 < 60.0, "the five stalls must fit in one minute"
    log = rig.session.tracker.notice_log
    assert 1 <= len(log) <= 2
    shown = [e for e in rig.events(NoticeChanged) if e.notice is not None]
    assert len({e.notice.serial for e in shown}) == len(log) <= 2
    for rec in log:
        assert rec.hidden_at is not None and rec.recovered_at is not None
        assert rec.hidden_at - rec.recovered_at <= NOTICE_LINGER_S + TICK_S
    assert rig.session.qoe().stall_count == 5
    rig.session.close()


def test_report_has_no_side_effects_even_during_a_stall() -> None:
    rig, monitor = stall_with_path_evidence_arriving()
    stall = rig.session.monitor.stalls[0]
    made = stall.verdict
    hops, samples = queued_path(idle_at=990.0, loaded_at=rig.clock() - 5.0, from_hop=5)
    monitor.discovered(hops, samples, PATH_DESTINATION)  # new evidence, no tick yet
    report = rig.session.report()
    assert report.stalls[0].verdict.segment is Segment.SERVER  # made from the evidence now
    assert report.stalls[0] is not stall and stall.verdict is made  # ... on a copy
    assert stall.named_after_s is None and report.stalls[0].named_after_s is not None
    assert rig.session.current_verdict is made and rig.session.events.empty()
    assert rig.session.report() == report
    assert report.path == hops and report.probe["status"] == "ok"
    rig.session.close()


def test_a_pause_is_not_a_stall(rig: Rig) -> None:
    rig.buffer_target_s = 1.0
    rig.start()
    rig.run(2.0)
    # Pause with a buffer too short to call a frozen picture a glitch: only knowing
    # that the viewer paused keeps it from being a stall.
    rig.run_until(lambda: (rig.session.monitor.buffer_ahead_s or 9.0) < 1.5, limit_s=5)
    rig.session.toggle_pause()
    rig.feeding = False  # a paused libVLC reads nothing
    rig.tick()
    assert rig.session.state is PlaybackState.PAUSED
    rig.run(5.0)  # no pictures for 5 s
    assert rig.session.state is PlaybackState.PAUSED
    rig.session.toggle_pause()
    rig.feeding = True
    rig.run(1.0)
    assert rig.session.state is PlaybackState.PLAYING
    assert not rig.events(StallBegan) and rig.session.monitor.stalls == []
    assert rig.session.qoe().stall_count == 0
    assert states(rig) == [
        PlaybackState.STARTUP,
        PlaybackState.PLAYING,
        PlaybackState.PAUSED,
        PlaybackState.PLAYING,
    ]
    assert rig.session.monitor.time_in(PlaybackState.PAUSED) == pytest.approx(5.0, abs=2 * TICK_S)


def test_a_pinned_rendition_is_what_the_gateway_thread_gets_then_auto(rig: Rig) -> None:
    g = rig.start()
    rig.run(1.0)
    # Auto, nothing measured yet with an empty buffer: ABR's lowest, which is master index 1.
    assert g.served[0][1] == 1

    rig.session.pin_rendition(0)  # 720p: the first in the master, the highest bitrate
    assert rig.session.pinned_rendition == 0 and g.locked == 0
    chosen: list[int] = []
    t = threading.Thread(
        target=lambda: chosen.append(g.rendition_chooser(99)), name="gateway-relay"
    )
    t.start()
    t.join()
    assert chosen == [0], "the gateway thread's choice must be the pinned rendition"
    rig.run(6.0)
    assert {i for _seq, i in g.served[-2:]} == {0}
    assert rig.session.stats().rendition == "1 of 3 (pinned)"

    rig.session.pin_rendition(None)
    assert rig.session.pinned_rendition is None and g.locked is None
    assert g.rendition_chooser(100) in range(len(RENDITIONS))
    assert rig.session.stats().rendition.endswith("(auto)")


def test_a_pin_made_before_the_gateway_exists_is_applied_to_it(rig: Rig) -> None:
    rig.session.pin_rendition(2)
    g = rig.start()
    assert g.locked == 2 and g.rendition_chooser(0) == 2


def test_end_before_the_known_length_is_ended_early(rig: Rig) -> None:
    rig.start(length_s=12.0)
    rig.run(5.0)
    rig.player.emit(EventKind.END_REACHED)
    rig.tick()
    early = rig.events(EndedEarly)
    assert len(early) == 1 and not rig.events(Ended)
    assert early[0].at_s == pytest.approx(5.0, abs=0.1) and early[0].length_s == 12.0
    assert early[0].message.startswith("Playback ended early at 0:05 of 0:12")
    assert rig.session.state is PlaybackState.ERROR
    assert rig.player.stops >= 1


def test_end_at_the_known_length_is_a_normal_end(rig: Rig) -> None:
    rig.buffer_target_s = 40.0
    rig.start(length_s=4.0)
    rig.run(4.0)
    rig.player.emit(EventKind.END_REACHED)
    rig.tick()
    assert rig.events(Ended) and not rig.events(EndedEarly)
    assert rig.session.state is PlaybackState.ENDED
    assert rig.session.report().played_s >= 3.9


def test_stream_notes_from_the_gateway(rig: Rig) -> None:
    g = rig.start()
    g.on_event(gw.Resumed("https://cdn.example/seg3.ts", 1000))
    g.on_event(gw.SegmentMissing(4, "https://cdn.example/seg4.ts", "HTTP 404"))
    rig.tick()
    notes = [e.message for e in rig.events(StreamNote)]
    assert notes == [
        "The connection to the server dropped; resumed where it stopped.",
        "A part of the video is missing (HTTP 404); skipping it.",
    ]
    assert rig.session.fetch_summary()["notes"] == notes
    assert rig.session.stats().note == notes[-1]


def test_a_repeated_note_is_shown_once_per_repeat_window(rig: Rig) -> None:
    # a retry loop (a name that no longer resolves) says the same line on every attempt
    g = rig.start()
    for _ in range(19):
        g.on_event(gw.Retrying("https://cdn.example/seg5.ts", 1, "DNS lookup failed"))
    g.on_event(gw.SegmentMissing(6, "https://cdn.example/seg6.ts", "HTTP 404"))
    rig.tick()
    notes = [e.message for e in rig.events(StreamNote)]
    assert notes == [
        "The server did not answer properly (DNS lookup failed); retrying.",
        "A part of the video is missing (HTTP 404); skipping it.",
    ]
    rig.clock.advance(NOTE_REPEAT_S)
    g.on_event(gw.Retrying("https://cdn.example/seg5.ts", 1, "DNS lookup failed"))
    rig.tick()
    assert len(rig.events(StreamNote)) == 3  # said again once the window passed


def test_a_failed_check_is_shown_and_nothing_is_played(rig: Rig) -> None:
    rig.net.refusals[URL] = "Could not reach cdn.example: connection refused."
    rig.session.open(URL)
    rig.tick()
    failed = rig.events(PlaybackFailed)
    assert [(f.message, f.source) for f in failed] == [(rig.net.refusals[URL], URL)]
    assert rig.session.state is PlaybackState.ERROR
    assert rig.player.opened == [] and rig.net.gateways == []


def test_a_local_file_libvlc_cannot_decode_fails_with_its_codecs(rig: Rig, tmp_path) -> None:  # noqa: ANN001
    clip = tmp_path / "clip.mkv"
    clip.write_bytes(b"not really")
    rig.session.open(str(clip))
    rig.tick()
    assert rig.player.opened == [clip.resolve().as_uri()] and rig.net.gateways == []
    rig.player.codecs = [("video", "xyz1"), ("audio", "mp4a")]
    rig.player.emit(EventKind.PLAYING)
    rig.player.running = False  # "playing" but no picture and no time
    rig.run_until(lambda: rig.events(PlaybackFailed), limit_s=6)
    assert rig.events(PlaybackFailed)[0].message == (
        "Could not play clip.mkv: its video format (xyz1) is not supported by this player."
    )


def test_reopen_while_the_old_gateway_is_still_stopping() -> None:
    rig = Rig()
    g1 = rig.start()
    rig.run(1.0)
    old_player_gen = rig.player.generation
    gate = threading.Event()
    g1.stop_gate = gate  # the old gateway hangs in stop() until released

    opened = threading.Event()

    def reopen() -> None:  # the owner's call, on a thread so that a deadlock fails the test
        rig.session.open(OTHER_URL)
        opened.set()

    threading.Thread(target=reopen, name="owner", daemon=True).start()
    assert opened.wait(10.0), "open() must not wait for the old gateway to stop"
    assert g1.stop_called.wait(10.0), "teardown must tell the old gateway to stop"
    assert not g1.stopped.is_set()
    assert rig.player.stops == 1
    rig.tick()
    g2 = rig.gateway
    assert g2 is not g1 and g2.url == OTHER_URL and rig.session.gateway is g2
    g2.load_playlist(RENDITIONS)
    rig.player.playing(30.0)
    rig.run(1.0)
    estimate = rig.session.policy.estimate_bps
    fetches = list(rig.session.media.fetches)
    assert estimate is not None and fetches

    # The stopping gateway's threads still talk; none of it may reach the new open.
    g1.load_playlist([(9_000_000, 1080)])
    g1.serve_segment(50, size=99_999_999)
    g1.on_event(gw.UpstreamError("https://cdn.example/seg51.ts", 500, "HTTP 500"))
    assert g1.rendition_chooser(51) == 0
    assert rig.session.policy.estimate_bps == estimate, "the old gateway's fetch fed ABR"
    rig.player.emit(EventKind.END_REACHED, generation=old_player_gen)  # a late libVLC event
    rig.tick()
    assert list(rig.session.media.fetches) == fetches
    assert rig.session.media.fetches.totals.count == len(fetches)
    assert [len(e.labels) for e in rig.events(RenditionsKnown)] == [3, 3]
    assert not rig.events(StreamNote) and not rig.events(EndedEarly) and not rig.events(Ended)
    rig.run(1.0)
    assert rig.session.state is PlaybackState.PLAYING
    assert rig.session.source == OTHER_URL and rig.session.report().url == OTHER_URL
    assert all(f.media_sequence != 50 for f in rig.session.media.fetches)

    gate.set()
    assert g1.stopped.wait(10.0)
    rig.session.close()
    assert g2.stopped.is_set()


# -- playback speed: the same link at 1x and at 2x ------------------------------------------
SPEED_BITRATE = 1_000_000  # the one rendition (ABR cannot step down: the speed is the test)
SPEED_TARGET_S = 6.0  # VLC keeps this much video ahead, as Rig does
SEGMENT_S_SPEED = 2.0
TTFB_S = 0.04


class Link:
    """A link of ``bps`` from the origin: VLC's segment requests are served one at a time,
    each taking its size over ``bps`` (plus the first byte's wait); the fake player plays
    at its rate, so at 2x it asks for video twice as fast."""

    def __init__(self, rig: Rig, bps: float) -> None:
        self.rig = rig
        self.bps = bps
        self.seq = 0
        self.asked_at: float | None = None
        self.empty_since: float | None = None

    def step(self, dt: float = TICK_S) -> None:
        rig = self.rig
        rig.clock.advance(dt)
        g = rig.gateway
        rig.player.advance(dt, g.delivered_s)
        now, pos = rig.clock(), rig.player.position or 0.0
        delivered = g.delivered_s or 0.0
        if self.asked_at is None and delivered < pos + SPEED_TARGET_S:
            self.asked_at = now
        size = int(SPEED_BITRATE * SEGMENT_S_SPEED / 8)
        took = TTFB_S + size * 8 / self.bps
        if self.asked_at is not None and now - self.asked_at >= took:
            g.serve_segment(
                self.seq, size=size, ttfb_ms=TTFB_S * 1000, transfer_ms=(took - TTFB_S) * 1000
            )
            self.seq += 1
            g.delivered_s = delivered + SEGMENT_S_SPEED
            self.asked_at = None
            g.flights = []
        elif self.asked_at is not None:
            got = int(max(0.0, now - self.asked_at - TTFB_S) * self.bps / 8)
            g.flights = [InFlightTransfer(self.asked_at, self.asked_at + TTFB_S, got)]
        empty = rig.player.running and pos >= (g.delivered_s or 0.0)
        self.empty_since = (self.empty_since or now) if empty else None
        g.is_starving = empty and now - (self.empty_since or now) > 0.3  # as Rig: STARVING_AFTER_S
        rig.tick()

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / TICK_S)):
            self.step()

    def run_until(self, done, limit_s: float) -> None:  # noqa: ANN001
        t0 = self.rig.clock()
        while not done():
            assert self.rig.clock() - t0 < limit_s, "condition not reached in fake time"
            self.step()


def play_over_link(rate: float, bps: float) -> tuple[Rig, Link]:
    """Play the one-rendition stream at ``rate`` over a ``bps`` link; the path's probes
    show the ISP's hops inflating under our load (what a link we fill looks like)."""
    rig = Rig(probe_path=True)
    g = rig.open()
    monitor = rig.net.monitors[-1]
    hops, samples = queued_path(idle_at=990.0, loaded_at=rig.clock() + 1.0, from_hop=2)
    monitor.discovered(hops, samples, PATH_DESTINATION)
    g.load_playlist([(SPEED_BITRATE, 360)], SEGMENT_S_SPEED)
    g.delivered_s = 0.0
    link = Link(rig, bps)
    link.run_until(lambda: (g.delivered_s or 0.0) >= 2 * SEGMENT_S_SPEED, limit_s=10)
    assert rig.player.set_rate(rate) and rig.player.rate() == rate
    rig.player.playing(600.0)
    rig.tick()
    return rig, link


def test_a_link_that_keeps_up_at_1x_plays_without_a_stall_at_1x() -> None:
    rig, link = play_over_link(1.0, 1.5 * SPEED_BITRATE)
    link.run(60.0)
    assert not rig.events(StallBegan)
    assert rig.session.state is PlaybackState.PLAYING
    assert rig.session.qoe().stall_count == 0
    inp = rig.session.attribution_input()
    assert inp.playback_rate == 1.0 and inp.fetch.needed_bitrate_bps == SPEED_BITRATE
    rig.session.close()


def test_the_same_link_at_2x_stalls_and_the_verdict_says_the_speed_not_the_network() -> None:
    rig, link = play_over_link(2.0, 1.5 * SPEED_BITRATE)
    link.run_until(lambda: rig.events(StallBegan), limit_s=60)
    link.run_until(lambda: rig.session.current_verdict is not None, limit_s=2)
    v = rig.session.current_verdict
    assert v.segment not in (
        Segment.HOME_NETWORK,
        Segment.ISP,
        Segment.INTERCONNECT,
        Segment.SERVER,
    )
    assert v.culprit is None and v.rule == "speed_shortfall"
    assert "2×" in v.message and "Verizon" not in v.message
    assert any(e.text == "Playing at 2× needs 2× the video's bitrate" for e in v.evidence)
    notice = rig.events(NoticeChanged)[-1].notice
    assert notice.title == v.message and "2×" in notice.detail
    inp = rig.session.attribution_input(rig.session.tracker.stall_started_at)
    assert inp.playback_rate == 2.0 and inp.fetch.needed_bitrate_bps == 2 * SPEED_BITRATE
    rig.session.close()


def test_a_link_below_even_1x_is_still_blamed_at_2x_and_the_speed_is_said() -> None:
    rig, link = play_over_link(2.0, 0.7 * SPEED_BITRATE)
    link.run_until(lambda: rig.events(StallBegan), limit_s=60)
    link.run_until(lambda: rig.session.current_verdict is not None, limit_s=2)
    v = rig.session.current_verdict
    assert v.segment is Segment.ISP and v.culprit == "Verizon"
    assert "even at normal speed" in v.message and "2×" in v.message
    rig.session.close()
