"""Deliberate idle gaps end to end: real libVLC, the real gateway and path monitor, the
loopback origin. Nothing is mocked; the policy is the real one with its thresholds relaxed
(a minute of playing would be needed at the defaults, and loopback leaves idle moments of
its own, so the test asks for far more idle rounds than the defaults would).

The path is loopback: one hop, 127.0.0.1, probed by the real prober; its RTTs say nothing
about queues, what is tested is that the gap happens, holds the fetches and gets its
rounds labelled idle."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from player.core.idle_gap import IdleGapPolicy
from player.core.model import PlaybackState
from player.playback.vlc import VlcPlayer
from player.session import PlaybackFailed, Session
from tests.support.media import make_hls

pytestmark = [pytest.mark.vlc]

TICK_S = 0.05  # the session's heartbeat, as in the GUI and headless.play
WAIT_S = 60.0  # ends a hang only (start-up, discovery and a gap take a few seconds)
# Gaps after 1 s of playing, 2 s apart, with 3.2 s of buffer (the stream's 2 s segments:
# max(2, 1 x 2) + 1.2), until ten thousand idle rounds: a gap as soon as playback allows.
QUICK = IdleGapPolicy(
    first_after_s=1.0,
    min_interval_s=2.0,
    max_share=0.5,
    buffer_segments=1,
    min_buffer_s=2.0,
    max_count=50,
    wanted_rounds=10_000,
)


@pytest.fixture(scope="module")
def gap_hls(media_dir: Path) -> Path:
    """A 30 s one-rendition HLS stream (2 s segments) the origin serves unthrottled."""
    d = media_dir / "gap"
    if not (d / "master.m3u8").exists():
        make_hls(d, seconds=30, renditions=((240, 300_000),), segment_s=2)
    return d / "master.m3u8"


def run_until(session: Session, done, what: str) -> None:  # noqa: ANN001
    """Heartbeats until ``done()``; fails on a playback error, the end, or the deadline."""
    deadline = time.monotonic() + WAIT_S
    while not done():
        session.tick()
        while not session.events.empty():
            ev = session.events.get_nowait()
            assert not isinstance(ev, PlaybackFailed), ev.message
        assert session.state not in (PlaybackState.ENDED, PlaybackState.ERROR)
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(TICK_S)


def test_a_fast_stream_gets_a_gap_and_the_monitor_idle_rounds_in_it(origin, gap_hls) -> None:  # noqa: ANN001
    player = VlcPlayer(audio=False)
    session = Session(player, probe_path=True, idle_gap_policy=QUICK)
    try:
        session.open(origin.url("gap/master.m3u8"))
        deadline = time.monotonic() + WAIT_S
        while True:
            session.tick()
            while not session.events.empty():
                ev = session.events.get_nowait()
                assert not isinstance(ev, PlaybackFailed), ev.message
            path = session.path
            if path is not None and getattr(path, "gap_rounds", 0) >= 1:
                break
            assert session.state not in (PlaybackState.ENDED, PlaybackState.ERROR)
            assert time.monotonic() < deadline, "no probe round in an idle gap"
            time.sleep(TICK_S)
        assert session.state is PlaybackState.PLAYING
        assert session.idle_gaps.asked.count >= 1
        report = session.report()
        snap = session.path_snapshot()
    finally:
        session.close()
        player.release()
    assert report.probe["idle_gaps"] >= 1 and report.probe["idle_gap_s"] > 0
    assert report.probe["status"] == "ok"
    assert snap is not None and any(not s.loaded and s.rtt_ms is not None for s in snap.samples)
    # the policy's bookkeeping: every gap it asked for honours its rules
    assert session.idle_gaps.asked.total_s <= QUICK.max_share * report.played_s


def test_on_a_link_barely_fast_enough_the_gap_holds_libvlcs_next_request(  # noqa: ANN001
    origin, gap_hls
) -> None:
    """1.4 x the stream's bitrate: libVLC asks for the next segment as soon as one has
    arrived, so a request is always open and the old label (an open request) never said
    idle. A gap begins when a download ends and holds libVLC's next request; the rounds
    in it are idle; the request is answered after the gap and playback goes on."""
    files = list((gap_hls.parent / "v0").glob("seg_*.ts"))
    origin.rate_bps = 1.4 * sum(f.stat().st_size for f in files) * 8 / (2.0 * len(files))
    player = VlcPlayer(audio=False)
    session = Session(player, probe_path=True, idle_gap_policy=QUICK)

    def gate():  # noqa: ANN202
        g = session.gateway
        return g.fetch_gate if g is not None else None

    def segments() -> int:
        return len([r for r in origin.requests_for("/gap/v0/seg_*.ts") if r[0] == "GET"])

    try:
        session.open(origin.url("gap/master.m3u8"))
        run_until(
            session,
            lambda: gate() is not None and gate().stats().held >= 1,
            "a libVLC request held by a gap",
        )
        run_until(session, lambda: gate().gap() is None, "that gap's end")
        after = segments()
        run_until(session, lambda: segments() > after, "the next segment fetched after the gap")
        path = session.path
        run_until(session, lambda: getattr(path, "gap_rounds", 0) >= 1, "a round in a gap")
        report = session.report()
        snap = session.path_snapshot()
    finally:
        session.close()
        player.release()
    assert report.probe["idle_gaps"] >= 1
    assert snap is not None and any(not s.loaded for s in snap.samples)
