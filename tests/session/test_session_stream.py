"""Playback through the gateway with real libVLC against throttled, pausing and cutting
loopback servers (headless: the same Session the window drives). Nothing is mocked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from player.core.model import FetchKind, PlaybackState
from player.session import StallBegan, StallFinished, StreamNote
from player.session.headless import play
from tests.support.media import make_hls, make_mp4

pytestmark = [pytest.mark.vlc]

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests" / "schemas" / "diagnose.schema.json").read_text())
# (height, video bps): the master lists ~0.40 / 0.84 / 2.27 Mbit/s with audio.
RENDITIONS = ((240, 300_000), (360, 700_000), (720, 2_000_000))
DETECTION_BOUND_S = 0.5
FRAME_SAMPLING_SLACK_S = 0.1  # the test samples frames once per heartbeat
SUSTAINED_GAP_S = 0.5  # pictures closer than this are playback, not a lone frame


@pytest.fixture(scope="module")
def long_hls(media_dir: Path) -> Path:
    """A 40 s, 3-rendition HLS stream next to the other media (so `origin` serves it)."""
    d = media_dir / "long"
    if not (d / "master.m3u8").exists():
        make_hls(d, seconds=40, renditions=RENDITIONS, segment_s=2)
    return d / "master.m3u8"


def served_renditions(origin, prefix: str = "/long/") -> list[int]:  # noqa: ANN001
    """Rendition index of every segment the origin served, in order."""
    out = []
    for _method, path, _rng, status in origin.requests:
        if path.startswith(prefix) and path.endswith(".ts") and status in (200, 206):
            out.append(int(path[len(prefix) + 1]))
    return out


def test_our_abr_steps_down_and_stalls_less_than_vlc_default(origin, long_hls) -> None:  # noqa: ANN001
    url = origin.url("long/master.m3u8")
    # 4 s of plenty, then 700 kbit/s: below the top rendition, above the lowest with margin.
    trace = [(0.0, 4_000_000), (4.0, 700_000)]

    origin.set_rate_trace(trace)
    ours = play(url, duration=24, max_wall_s=40, probe_path=False)
    served = served_renditions(origin)
    origin.requests.clear()

    origin.set_rate_trace(trace)
    vlc_default = play(url, duration=24, max_wall_s=34, use_gateway=False, probe_path=False)

    assert ours.error is None and vlc_default.error is None
    q_ours, q_vlc = ours.report.qoe, vlc_default.report.qoe
    print(f"ours: {q_ours}\nVLC default: {q_vlc}\nrenditions served to us: {served}")
    assert max(served) == 2, "our ABR never reached the top rendition while bandwidth allowed it"
    assert served[-1] == 0 or served[-1] < max(served), "our ABR did not step down"
    assert q_ours.stall_s < q_vlc.stall_s, "our ABR did not stall less than VLC's default logic"


def test_no_stall_while_throughput_stays_above_the_lowest(origin, long_hls) -> None:  # noqa: ANN001
    origin.rate_bps = 650_000  # lowest rendition ~400 kbit/s: 1.6x margin
    result = play(origin.url("long/master.m3u8"), duration=24, max_wall_s=50, probe_path=False)
    assert result.error is None
    q = result.report.qoe
    assert q.stall_count == 0, result.report.stalls
    assert q.startup_s is not None and q.startup_s < 5
    assert result.report.played_s >= 23


def freezes(times: list[float], min_gap: float) -> list[tuple[float, float]]:
    """Ground truth from the pictures' own timestamps: (last picture before, first picture
    of sustained playback after) for every gap longer than ``min_gap``. The first picture
    is libVLC's preroll (shown before playback starts) and is skipped; a lone picture
    inside a freeze does not end it (the next one is still far away)."""
    t = times[1:]
    out = []
    i = 0
    while i < len(t) - 1:
        if t[i + 1] - t[i] <= min_gap:
            i += 1
            continue
        j = i + 1
        while j + 1 < len(t) and t[j + 1] - t[j] > SUSTAINED_GAP_S:
            j += 1
        out.append((t[i], t[j]))
        i = j
    return out


def test_server_pause_of_6s_is_exactly_one_stall_detected_within_half_a_second(origin) -> None:  # noqa: ANN001
    clip = make_mp4(origin.root / "pause.mp4", seconds=20)
    size = clip.stat().st_size
    origin.rate_bps = int(size * 8 / 20 * 1.25)  # 1.25x the clip's bitrate: a shallow buffer
    origin.add_fault("*pause.mp4", "pause", after_bytes=int(size * 0.35), seconds=6.0, times=1)
    frames: list[float] = []

    def grab(session) -> None:  # noqa: ANN001
        frames[:] = list(session.player.frames.distinct_times)

    result = play(origin.url("pause.mp4"), duration=17, max_wall_s=45, probe_path=False, on_tick=grab)
    assert result.error is None
    stalls = result.report.stalls
    began = [e for e in result.events if isinstance(e, StallBegan)]
    ended = [e for e in result.events if isinstance(e, StallFinished)]
    gaps = freezes(frames, 1.0)
    print(f"stalls: {stalls}\nfreezes: {gaps}")
    assert len(stalls) == 1 and len(began) == 1 and len(ended) == 1
    assert len(gaps) == 1, "expected exactly one frozen stretch in the picture"
    freeze_at, resume_at = gaps[0]
    assert 0 <= began[0].at - freeze_at <= DETECTION_BOUND_S
    # the session may see the first new frame a few ms before this test's per-tick grab does
    assert -FRAME_SAMPLING_SLACK_S <= ended[0].at - resume_at <= DETECTION_BOUND_S
    assert stalls[0].duration_s == pytest.approx(resume_at - freeze_at, abs=DETECTION_BOUND_S)


def test_cut_mid_transfer_resumes_with_range_and_plays_to_the_end(origin) -> None:  # noqa: ANN001
    clip = make_mp4(origin.root / "cut.mp4", seconds=10)
    size = clip.stat().st_size
    origin.rate_bps = int(size * 8 / 10 * 2)
    origin.add_fault("*cut.mp4", "cut", after_bytes=int(size * 0.4), times=1)
    result = play(origin.url("cut.mp4"), duration=30, max_wall_s=40, probe_path=False)
    assert result.error is None
    assert not [e for e in result.events if type(e).__name__ == "EndedEarly"]
    assert result.report.played_s >= 9.0
    ranges = [rng for _m, path, rng, status in origin.requests if path == "/cut.mp4" and status == 206]
    assert any(r and not r.startswith("bytes=0-") for r in ranges), origin.requests
    assert any(isinstance(e, StreamNote) and "resumed" in e.message for e in result.events)
    assert result.report.fetches["resumed"] >= 1


def test_fetch_records_cover_playlists_and_segments(origin, hls_master) -> None:  # noqa: ANN001
    result = play(origin.url("hls/master.m3u8"), duration=4, max_wall_s=20, probe_path=False)
    f = result.report.fetches
    assert f["by_kind"].get(FetchKind.PLAYLIST.value, 0) >= 2
    assert f["by_kind"].get(FetchKind.SEGMENT.value, 0) >= 2
    assert f["ttfb_ms_median"] is not None and f["ttfb_ms_median"] < 1000
    assert f["reused_connections"] >= 1
    assert f["per_segment_data"] is True


def run_diagnose(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "player", "diagnose", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def test_diagnose_json_validates_against_the_schema(origin) -> None:  # noqa: ANN001
    clip = make_mp4(origin.root / "diag.mp4", seconds=14)
    size = clip.stat().st_size
    origin.rate_bps = int(size * 8 / 14 * 1.3)
    origin.add_fault("*diag.mp4", "pause", after_bytes=int(size * 0.3), seconds=4.0, times=1)
    r = run_diagnose(origin.url("diag.mp4"), "--duration", "10", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout)
    jsonschema.validate(report, SCHEMA)
    assert report["qoe"]["stall_count"] >= 1
    assert report["stalls"][0]["verdict"]["segment"] in {
        "none", "device", "home_network", "isp", "interconnect", "server", "unknown"
    }
    assert report["verdict"]["segment"] != "none"
    assert report["path"] and report["path"][-1]["hop"] >= 1


def test_diagnose_without_stall_says_none(origin, hls_master) -> None:  # noqa: ANN001
    r = run_diagnose(origin.url("hls/master.m3u8"), "--duration", "4", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout)
    jsonschema.validate(report, SCHEMA)
    assert report["qoe"]["stall_count"] == 0
    assert report["verdict"]["segment"] == "none"
    assert report["played_s"] >= 3.5


@pytest.mark.parametrize(
    ("source", "needle"),
    [("http://127.0.0.1:9/x.m3u8", "refused"), ("http://no-such-host.invalid/x.m3u8", "could not find")],
)
def test_diagnose_bad_input_exits_2_with_a_reason(source: str, needle: str) -> None:
    r = run_diagnose(source, "--json", timeout=30)
    assert r.returncode == 2
    assert needle in r.stderr.lower()
    assert len(r.stderr.strip().splitlines()) == 1
    assert json.loads(r.stdout)["error"]


def test_diagnose_http_error_and_not_video(origin, not_video_file) -> None:  # noqa: ANN001
    r = run_diagnose(origin.url("nope.m3u8"), "--json", timeout=30)
    assert r.returncode == 2 and "404" in r.stderr
    r2 = run_diagnose(origin.url("not_video.mp4"), timeout=30)
    assert r2.returncode == 2 and "not a video" in r2.stderr.lower()


def test_session_states_end_cleanly(origin, hls_master) -> None:  # noqa: ANN001
    result = play(origin.url("hls/master.m3u8"), duration=60, max_wall_s=30, probe_path=False)
    assert result.error is None
    assert result.report.played_s >= 10
    assert any(getattr(e, "state", None) is PlaybackState.ENDED for e in result.events)
