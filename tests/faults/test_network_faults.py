"""Network faults, end to end through the window: real MainWindow (offscreen), the real
gateway, real libVLC decoding ffmpeg-made HLS (1 s segments) from a loopback origin that
misbehaves on purpose (tests/support/origin.py, plus the resets, trickles and live windows
below). Lower layers test each fault against the gateway alone (tests/net); here every
fault must leave the viewer with playback that goes on, or a clear message, a window
whose event loop kept running while the fault lasted, bounded memory, and a history row
that says what happened.
"""

from __future__ import annotations

import fnmatch
import time
import urllib.parse

import pytest

from player.core.model import PlaybackState
from player.session import StallBegan, StallFinished
from tests.faults import sandbox
from tests.faults.harness import FAULT_HLS_SECONDS, FAULT_RENDITIONS, SEGMENT_S
from tests.faults.origins import CampaignOrigin, LiveStream

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

MASTER = "hls/master.m3u8"
LAST = f"/hls/v*/seg_{FAULT_HLS_SECONDS // SEGMENT_S - 1:03d}.ts"  # the stream's last segment
OUTAGE_S = 10.0  # the "server gone for 10 s then back"
# A bottleneck ~1.7x the top rendition's bitrate (450 kbit/s video + audio): libVLC cannot
# read the whole 12 s ahead in a blink, so a fault at ~1 s of playback still meets segments
# to fetch, yet playback keeps up when nothing is wrong.
BOTTLENECK_BPS = 1_000_000


def all_renditions(seq: int) -> str:
    return f"/hls/v*/seg_{seq:03d}.ts"


def played_to_the_end(w) -> None:  # noqa: ANN001 - a FaultWindow
    state = w.wait_done(90)
    assert state is PlaybackState.ENDED, f"{state}: {w.message_text()}"
    assert w.error_text() == ""


def test_a_missing_segment_404_is_skipped_and_playback_continues(
    fault_window, origin, fault_hls
) -> None:
    w = fault_window
    origin.add_fault(all_renditions(4), "status", code=404)
    w.open(origin.url(MASTER))
    w.wait_position(0.5)
    with w.fault("segment 404") as beats:
        note = w.wait_note("missing")
        played_to_the_end(w)
    assert beats.responsive, beats
    assert "404" in note and "skipping" in note, note
    assert origin.requests_for(LAST), "the segments after the hole were played"
    w.check_history(w.finish_and_history_row())
    w.memory.check_bounded()


def test_a_segment_500_is_retried_then_skipped_and_playback_continues(
    fault_window, origin, fault_hls
) -> None:
    w = fault_window
    origin.add_fault(all_renditions(5), "status", code=500)
    w.open(origin.url(MASTER))
    w.wait_position(0.5)
    with w.fault("segment 500") as beats:
        note = w.wait_note("missing")
        played_to_the_end(w)
    assert beats.responsive, beats
    assert "500" in note, note
    assert any("retrying" in n for n in w.notes()), w.notes()
    assert len(origin.requests_for("/hls/v0/seg_005.ts")) > 1, "500 is worth a retry"
    assert origin.requests_for(LAST)
    w.check_history(w.finish_and_history_row())
    w.memory.check_bounded()


def test_a_cut_mid_transfer_is_resumed(fault_window, origin, fault_hls) -> None:  # noqa: ANN001
    w = fault_window
    origin.rate_bps = BOTTLENECK_BPS
    cut = origin.add_fault(all_renditions(3), "cut", after_bytes=20_000)
    w.open(origin.url(MASTER))
    w.wait_position(0.5)
    with w.fault("cut mid-transfer") as beats:
        note = w.wait_note("dropped")
        played_to_the_end(w)
    assert beats.responsive, beats
    assert cut.remaining == 0, "the cut happened"
    assert "resumed" in note, note
    assert any(r[2] for r in origin.requests_for("/hls/v*/seg_003.ts")), (
        "resumed with a Range request"
    )
    w.check_history(w.finish_and_history_row())
    w.memory.check_bounded()


RESET_EVERY = 3  # "a connection reset every few segments"


def test_a_connection_reset_every_few_segments(fault_window, fault_media) -> None:  # noqa: ANN001
    w = fault_window
    with CampaignOrigin(fault_media, reset_cuts=True) as origin:
        origin.rate_bps = BOTTLENECK_BPS
        resets = [
            origin.add_fault(all_renditions(seq), "cut", after_bytes=10_000)
            for seq in range(2, FAULT_HLS_SECONDS, RESET_EVERY)
        ]
        w.open(origin.url(MASTER))
        w.wait_position(0.5)
        with w.fault("connection reset") as beats:
            played_to_the_end(w)
    assert beats.responsive, beats
    assert all(r.remaining == 0 for r in resets), "every reset happened"
    assert sum("dropped" in n for n in w.notes()) >= 1, w.notes()
    w.check_history(w.finish_and_history_row())
    w.memory.check_bounded()


def test_server_gone_for_10_s_then_back(fault_window, origin, fault_hls) -> None:  # noqa: ANN001
    w = fault_window
    origin.rate_bps = BOTTLENECK_BPS
    w.open(origin.url(MASTER))
    w.wait_position(1.0)
    gone = origin.add_fault("*", "hold")  # every request from now on waits, unanswered
    t0 = time.monotonic()
    with w.fault("server gone 10 s") as beats:
        w.wait(lambda: w.of_type(StallBegan), 30, "playback to stall")
        notice = w.wait_notice()
        # the outage lasts its 10 s (the scenario's length, not a wait for the product)
        w.wait(lambda: time.monotonic() - t0 >= OUTAGE_S, OUTAGE_S + 5, "the outage's end")
        gone.release()
        w.wait(lambda: w.of_type(StallFinished), 40, "playback to resume")
    assert beats.responsive, beats
    assert notice, "a notice was shown during the stall"
    played_to_the_end(w)
    row = w.finish_and_history_row()
    w.check_history(row, min_stalls=1)
    assert row["stall_s"] > 0, row
    w.memory.check_bounded()


# --- the name stops resolving, for real (a child process in its own mount namespace) --------
DNS_NAME = "stallwatch-origin.test"  # .test is reserved (RFC 2606): never a real host


def test_dns_failure_mid_session(request, tmp_path, fault_media) -> None:  # noqa: ANN001
    """The origin's name resolves (a private /etc/hosts), playback starts, then the name is
    removed and the pooled connection dropped, so the next fetch must look the name up."""
    if not sandbox.in_child(request.node.nodeid):
        sandbox.rerun_in_child(request, sandbox.mount_namespace_wrapper())
        return
    names = sandbox.private_name_service(tmp_path / "ns")
    names.add(DNS_NAME)
    w = request.getfixturevalue("fault_window")
    with CampaignOrigin(fault_media) as origin:
        origin.rate_bps = BOTTLENECK_BPS
        w.open(f"http://{DNS_NAME}:{origin.port}/{MASTER}")
        w.wait_position(1.0)
        with w.fault("dns failure") as beats:
            names.remove(DNS_NAME)
            origin.add_fault("*.ts", "cut", after_bytes=5_000)  # the kept-alive connection goes
            note = w.wait_note("DNS lookup failed")
            w.wait(lambda: w.of_type(StallBegan) or w.state is PlaybackState.ENDED, what="a stall")
            names.add(DNS_NAME)  # the name is back
            served = len(origin.requests)
            w.wait(
                lambda: len(origin.requests) > served, what="fetching again once the name resolves"
            )
        played_to_the_end(w)
    assert beats.responsive, beats
    assert "DNS lookup failed" in note, note
    w.check_history(w.finish_and_history_row())
    w.memory.check_bounded()


# --- a slow-loris origin -------------------------------------------------------------------
def test_a_slow_loris_origin_stalls_with_a_notice_then_recovers(fault_window, fault_media) -> None:  # noqa: ANN001
    """Every segment trickles (64 bytes every 0.25 s, never silent long enough for a read
    timeout) until the notice has named a cause; then the origin sends at full speed."""
    w = fault_window
    with CampaignOrigin(fault_media) as origin:
        origin.rate_bps = BOTTLENECK_BPS
        w.open(origin.url(MASTER))
        w.wait_position(1.0)
        with w.fault("slow-loris origin") as beats:
            trickle = origin.start_trickle("*.ts")
            w.wait(lambda: w.of_type(StallBegan), 40, "playback to stall on the trickle")
            notice = w.wait_notice()
            w.wait(
                lambda: bool(w.window.video.notice and w.window.video.notice.segment),
                40,
                "a verdict",
            )
            verdict = w.notice_text()
            trickle.stop()
            w.wait(lambda: w.of_type(StallFinished), 40, "playback to resume")
        played_to_the_end(w)
    assert beats.responsive, beats
    assert notice and verdict, (notice, verdict)
    row = w.finish_and_history_row()
    w.check_history(row, min_stalls=1)
    assert row["stalls"][0]["headline"], row["stalls"]
    w.memory.check_bounded()


# --- a live playlist that changes under the player -----------------------------------------
def test_a_live_playlist_that_changes_under_the_player(fault_window, fault_media) -> None:  # noqa: ANN001
    """A live window slides, loses two segments before they are fetched, is renumbered
    after a discontinuity (an encoder restart), then ends. The "encoder" publishes the
    next version once the player has asked for the newest segment listed."""
    w = fault_window
    with CampaignOrigin(fault_media) as origin:
        live = LiveStream(origin.root, fault_media / "hls", len(FAULT_RENDITIONS), SEGMENT_S)
        w.open(origin.url("live/master.m3u8"))
        w.wait_playing(40)
        with w.fault("live playlist changes") as beats:
            # Count fetches from the moment each window was published, not from when the test
            # looks: the player may fetch the newest segment before the test gets here.
            served = 0  # the first window was published before the player opened
            while not live.finished:
                newest = f"/live/v*/seg_{live.step.files[-1]:03d}.ts"
                w.wait(
                    lambda newest=newest, served=served: (
                        any(
                            fnmatch.fnmatch(urllib.parse.urlsplit(r[1]).path, newest)
                            for r in origin.requests[served:]
                        )
                        or w.state in (PlaybackState.ENDED, PlaybackState.ERROR)
                    ),
                    40,
                    f"the player to fetch {newest} of {live.step}",
                )
                served = len(origin.requests)  # the next window's fetches all come after this
                live.advance()
            state = w.wait_done(60)
    assert beats.responsive, beats
    # either it played on through the changes to the end, or it says clearly why not
    assert state is PlaybackState.ENDED or w.error_text(), (state, w.message_text())
    assert origin.requests_for("/live/v*/seg_007.ts"), "the segments after the removed one played"
    w.check_history(w.finish_and_history_row())
    w.memory.check_bounded()


# --- probes not permitted ----------------------------------------------------------------
def test_probes_not_permitted(request, fault_media) -> None:  # noqa: ANN001
    """ICMP echo sockets are refused by the kernel here already when ping_group_range
    excludes us; in a child process a seccomp filter also refuses UDP sockets and TTL
    changes (so no probe method can run), as a sandbox would. Playback and the stall
    notice must not need the probes, and the reason is kept for "Why?"."""
    if not sandbox.in_child(request.node.nodeid):
        sandbox.rerun_in_child(request)
        return
    sandbox.forbid_probe_sockets()
    w = request.getfixturevalue("fault_window")
    with CampaignOrigin(fault_media) as origin:
        origin.rate_bps = BOTTLENECK_BPS
        pause = origin.add_fault(all_renditions(4), "pause", after_bytes=10_000, seconds=None)
        w.open(origin.url(MASTER))
        w.wait_position(0.5)
        with w.fault("probes not permitted") as beats:
            w.wait(lambda: w.path_status() == "not_permitted", what="path probing to give up")
            w.wait(lambda: w.of_type(StallBegan), 40, "playback to stall")
            notice = w.wait_notice()
            pause.release()
            w.wait(lambda: w.of_type(StallFinished), 40, "playback to resume")
        played_to_the_end(w)
    assert beats.responsive, beats
    assert notice
    reason = w.session.path_snapshot().reason
    for method in ("ICMP", "UDP", "TCP"):
        assert method in reason, reason
    row = w.finish_and_history_row()
    w.check_history(row, min_stalls=1)
    w.memory.check_bounded()
