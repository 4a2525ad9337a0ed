"""Player benchmark: Stallwatch's window against a bare python-vlc player, same run.

    .venv/bin/python benchmarks/bench_player.py [--quick] [--minutes 30] [--json FILE]

Every measurement runs in its own child process (fresh libVLC, clean CPU and RSS figures),
with Qt offscreen and the player's settings/history in a temporary folder:

* time to first frame: the real ``MainWindow`` (open -> the video view's first
  ``frame_painted``) vs a bare python-vlc player written here (play -> its first display
  callback), both decoding through RV32 video callbacks and silent audio callbacks with the
  same libVLC options; for a local MP4 and an HLS stream from a loopback
  ``ThrottledOrigin`` (unthrottled). Median of ``--runs``.
* CPU: process CPU seconds per second of media played, 720p30 and 1080p30 local MP4s, the
  window vs the bare player (which only counts the pictures its callbacks receive), and
  our session + VlcPlayer without the window (headless heartbeat) to split off Qt's share;
  also per picture libVLC delivered (fair when one player drops more).
* RSS: looping playback of the loopback HLS stream (re-opened at its end) for
  ``--minutes``; RSS at the end vs after 1 minute, the window vs the bare player (the two
  run at the same time).
* stall-to-notice: a throttled loopback origin drops to a tenth of the stream's bitrate
  until the picture freezes; from the last new picture (the frame sink's ground truth) to
  the window's notice band appearing (``VideoView.notice_shown_at``). Median of a few
  stalls, each in a fresh open (the notice budget allows two bands a minute).
* verdict latency and probe bytes vs video bytes: the namespace testbed through
  ``bench_attribution``'s scenarios when root and iproute2 are here, else from a loopback
  headless run's JSON report (the output says which).

Only the table goes to stdout; ``-v`` logs progress to stderr.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ChildFailed,
    emit_result,
    finish_child,
    fmt_num,
    isolated_env,
    median,
    ratio,
    run_child,
    setup_logging,
    start_child,
    table,
)

log = logging.getLogger("bench.player")
SCRIPT = Path(__file__).resolve()

# The bare player's libVLC options: the same as player/playback/vlc.py DEFAULT_ARGS (written
# out, so that the baseline does not depend on our code), so a difference is our code's.
BARE_VLC_ARGS = (
    "--quiet",
    "--no-xlib",
    "--no-video-title-show",
    "--no-snapshot-preview",
    "--network-caching=1500",
)
WINDOW_SIZE = (960, 600)  # the window's default size (MainWindow)
POLL_S = 0.01  # how often the children look at their conditions
SETTLE_S = 0.5  # the window idles this long after show() before the timed open
TTFF_TIMEOUT_S = 60.0  # a first frame later than this is a failure, not a figure
HLS_RENDITIONS = ((240, 300_000), (360, 700_000), (720, 2_000_000))  # the demo's ladder
HLS_SECONDS = 40  # the looped stream: re-opened every 40 s
STALL_RENDITION = ((360, 700_000),)  # one rendition: no ABR step-down blurs the stall
STALL_FILL_FACTOR = 1.5  # origin rate while playing before a stall, x the stream's bitrate
STALL_STARVE_FACTOR = 0.1  # ... during the stall: the buffer drains at 0.9 s per second
STALL_PLAY_FIRST_S = 4.0  # media seconds played before the cut
STALL_TIMEOUT_S = 90.0  # the notice must have come by then
NOTICE_TARGET_S = 0.5  # the product's promise: "Buffering…" within 0.5 s of the freeze
# The loopback verdict run (no testbed): good, then below the lowest rendition (300 kbit/s).
LOOPBACK_STALL_TRACE = [(0.0, 1_500_000), (4.0, 100_000)]
LOOPBACK_PLAY_S = 30.0
RSS_SAMPLE_S = 5.0  # RSS sample interval in the RSS children
RSS_BASE_S = 60.0  # the "after 1 minute" sample


# --- the bare python-vlc player ---------------------------------------------------------------
class BarePlayer:
    """python-vlc with RV32 video callbacks into a buffer it owns and silent audio callbacks:
    what any python-vlc app rendering into memory needs, and nothing else."""

    def __init__(self) -> None:
        import vlc

        self.vlc = vlc
        self.instance = vlc.Instance(list(BARE_VLC_ARGS))
        self.mp = self.instance.media_player_new()
        self._lock = threading.Lock()
        self._buf: ctypes.Array | None = None
        self.frames = 0
        self.first_frame_at: float | None = None
        self.ended = threading.Event()
        raw = ctypes.CFUNCTYPE(
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_void_p,  # the writable chroma (python-vlc's prototype passes a copy)
            *(ctypes.POINTER(ctypes.c_uint),) * 4,
        )
        self._cb_format_raw = raw(self._on_format)
        self._cb_format = ctypes.cast(self._cb_format_raw, vlc.CallbackDecorators.VideoFormatCb)
        self._cb_cleanup = vlc.CallbackDecorators.VideoCleanupCb(lambda _o: None)
        self._cb_lock = vlc.CallbackDecorators.VideoLockCb(self._on_lock)
        self._cb_unlock = vlc.CallbackDecorators.VideoUnlockCb(
            lambda _o, _p, _pl: self._lock.release()
        )
        self._cb_display = vlc.CallbackDecorators.VideoDisplayCb(self._on_display)
        vlc.libvlc_video_set_callbacks(
            self.mp, self._cb_lock, self._cb_unlock, self._cb_display, None
        )
        vlc.libvlc_video_set_format_callbacks(self.mp, self._cb_format, self._cb_cleanup)
        dec = vlc.CallbackDecorators
        self._audio = (
            dec.AudioPlayCb(lambda _o, _s, _c, _p: None),
            dec.AudioPauseCb(lambda _o, _p: None),
            dec.AudioResumeCb(lambda _o, _p: None),
            dec.AudioFlushCb(lambda _o, _p: None),
            dec.AudioDrainCb(lambda _o: None),
        )
        vlc.libvlc_audio_set_callbacks(self.mp, *self._audio, None)
        vlc.libvlc_audio_set_format(self.mp, b"S16N", 48000, 2)
        em = self.mp.event_manager()
        for et in (vlc.EventType.MediaPlayerEndReached, vlc.EventType.MediaPlayerEncounteredError):
            em.event_attach(et, lambda _e: self.ended.set())

    def _on_format(self, _opaque, chroma, width, height, pitches, lines):  # noqa: ANN001
        ctypes.memmove(chroma, b"RV32", 4)
        pitches[0] = int(width[0]) * 4
        lines[0] = int(height[0])
        with self._lock:
            self._buf = ctypes.create_string_buffer(pitches[0] * lines[0] + 32)
        return 1

    def _on_lock(self, _opaque, planes):  # noqa: ANN001
        self._lock.acquire()
        planes[0] = ctypes.cast(self._buf, ctypes.c_void_p).value if self._buf is not None else None

    def _on_display(self, _opaque, _picture) -> None:  # noqa: ANN001
        if self.first_frame_at is None:
            self.first_frame_at = time.monotonic()
        self.frames += 1

    def open(self, mrl: str) -> None:
        self.ended.clear()
        self.mp.set_media(self.instance.media_new(mrl))
        self.mp.play()

    def position_s(self) -> float:
        t = self.mp.get_time()
        return max(0, t or 0) / 1000.0

    def wait(self, pred, timeout: float) -> bool:  # noqa: ANN001
        end = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > end:
                return False
            time.sleep(POLL_S)
        return True

    def release(self) -> None:
        self.mp.stop()
        self.mp.release()
        self.instance.release()


# --- Stallwatch's window ---------------------------------------------------------------------
class WindowPlayer:
    """The real MainWindow over a real Session and VlcPlayer (silent audio sink, as the app
    runs offscreen), with a history store; no resume store (its prompt would interrupt)."""

    def __init__(self) -> None:
        from PyQt6.QtWidgets import QApplication

        from player.playback.vlc import VlcPlayer, libvlc_version
        from player.session import Session
        from player.store.history import HistoryStore
        from player.store.prefs import PrefsStore
        from player.ui.main_window import MainWindow

        self.app = QApplication.instance() or QApplication(["stallwatch-bench"])
        self.player = VlcPlayer(audio=False)
        self.session = Session(self.player)
        self.history = HistoryStore()
        self.window = MainWindow(
            self.session, PrefsStore(), libvlc_version=libvlc_version(), history=self.history
        )
        self.window.add_closing_hook(self.player.release)
        self.window.add_closing_hook(self.history.close)
        self.window.resize(*WINDOW_SIZE)
        self.window.show()
        self.first_painted_at: float | None = None
        self.painted = 0
        self.window.video.frame_painted.connect(self._on_painted)
        self.wait(lambda: False, SETTLE_S)

    def _on_painted(self, _seq: int) -> None:
        if self.first_painted_at is None:
            self.first_painted_at = time.monotonic()
        self.painted += 1

    def open(self, source: str) -> None:
        self.first_painted_at = None
        self.window.open_source(source)

    def position_s(self) -> float:
        return self.player.time_s() or 0.0

    def ended(self) -> bool:
        from player.core.model import PlaybackState

        return self.session.state in (PlaybackState.ENDED, PlaybackState.ERROR)

    def wait(self, pred, timeout: float) -> bool:  # noqa: ANN001
        """Run the Qt event loop (as app.exec does) until ``pred()`` or ``timeout``."""
        from PyQt6.QtCore import QEventLoop, QTimer

        if pred():
            return True
        loop = QEventLoop()
        end = time.monotonic() + timeout

        def check() -> None:
            if pred() or time.monotonic() > end:
                loop.quit()

        timer = QTimer()
        timer.timeout.connect(check)
        timer.start(int(POLL_S * 1000))
        loop.exec()
        timer.stop()
        return pred()

    def release(self) -> None:
        self.window.close()


class SessionPlayer:
    """Stallwatch without the window: our VlcPlayer and Session on the headless loop
    (player/session/headless.py's heartbeat), to split the window's cost from the session's."""

    def __init__(self) -> None:
        from player.playback.vlc import VlcPlayer
        from player.session import Session
        from player.session.headless import TICK_S

        self.tick_s = TICK_S
        self.player = VlcPlayer(audio=False)
        self.session = Session(self.player)

    @property
    def first_frame_at(self) -> float | None:
        times = self.player.frames.distinct_times
        return times[0] if times else None

    def open(self, source: str) -> None:
        self.session.open(source)

    def position_s(self) -> float:
        return self.player.time_s() or 0.0

    def wait(self, pred, timeout: float) -> bool:  # noqa: ANN001
        end = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > end:
                return False
            self.session.tick()
            while not self.session.events.empty():
                self.session.events.get_nowait()
            time.sleep(self.tick_s)
        return True

    def release(self) -> None:
        self.session.close()
        self.player.release()


AnyPlayer = BarePlayer | WindowPlayer | SessionPlayer


def make_player(kind: str) -> AnyPlayer:
    return {"stallwatch": WindowPlayer, "session": SessionPlayer, "bare": BarePlayer}[kind]()


def first_frame_at(p: AnyPlayer) -> float | None:
    return p.first_painted_at if isinstance(p, WindowPlayer) else p.first_frame_at


# --- children ----------------------------------------------------------------------------------
def child_ttff(a: argparse.Namespace) -> dict[str, Any]:
    p = make_player(a.player)
    try:
        t0 = time.monotonic()
        p.open(a.source)
        ok = p.wait(lambda: first_frame_at(p) is not None, TTFF_TIMEOUT_S)
        at = first_frame_at(p)
        out: dict[str, Any] = {"ttff_s": (at - t0) if ok and at is not None else None}
        if isinstance(p, WindowPlayer) and p.player.frames.distinct_times:
            # when libVLC handed the first picture to our frame sink (before the view polls it)
            out["decoded_s"] = p.player.frames.distinct_times[0] - t0
        return out
    finally:
        p.release()


def child_cpu(a: argparse.Namespace) -> dict[str, Any]:
    p = make_player(a.player)
    try:
        p.open(a.source)
        if not p.wait(lambda: first_frame_at(p) is not None, TTFF_TIMEOUT_S):
            return {"error": "no first frame"}
        p.wait(lambda: False, a.warmup)
        displayed = (
            (lambda: p.player.frames.frames_displayed)
            if isinstance(p, WindowPlayer | SessionPlayer)
            else (lambda: p.frames)
        )
        c0, pos0, f0 = time.process_time(), p.position_s(), displayed()
        painted0 = getattr(p, "painted", 0)
        t0 = time.monotonic()
        p.wait(lambda: False, a.measure)
        c1, pos1, f1 = time.process_time(), p.position_s(), displayed()
        wall = time.monotonic() - t0
        played = pos1 - pos0
        return {
            "cpu_s": c1 - c0,
            "played_s": played,
            "wall_s": wall,
            "cpu_per_play_s": (c1 - c0) / played if played > 0 else None,
            "fps_displayed": (f1 - f0) / played if played > 0 else None,
            "fps_painted": (getattr(p, "painted", 0) - painted0) / played if played > 0 else None,
        }
    finally:
        p.release()


def rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def child_rss(a: argparse.Namespace) -> dict[str, Any]:
    p = make_player(a.player)
    samples: list[tuple[float, int]] = []
    loops = 0
    try:
        t0 = time.monotonic()
        p.open(a.source)
        end = t0 + a.minutes * 60
        next_sample = t0
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_sample:
                samples.append((now - t0, rss_bytes()))
                next_sample += RSS_SAMPLE_S
            ended = p.ended() if isinstance(p, WindowPlayer) else p.ended.is_set()
            if ended:
                loops += 1
                p.open(a.source)
            p.wait(lambda: False, 0.25)
        samples.append((time.monotonic() - t0, rss_bytes()))
        base = next((r for t, r in samples if t >= RSS_BASE_S), samples[-1][1])
        return {"samples": samples, "rss_1min": base, "rss_end": samples[-1][1], "loops": loops}
    finally:
        p.release()


def child_stall(a: argparse.Namespace) -> dict[str, Any]:
    from player.demo.origin import ThrottledOrigin

    p = WindowPlayer()
    out: list[dict[str, float]] = []
    try:
        with ThrottledOrigin(Path(a.source)) as origin:
            url = origin.url("master.m3u8")
            bitrate = a.bitrate
            for i in range(a.stalls):
                origin.set_rate_trace([(0.0, bitrate * STALL_FILL_FACTOR)])
                p.open(url)
                if not p.wait(lambda: p.position_s() >= STALL_PLAY_FIRST_S, TTFF_TIMEOUT_S):
                    log.warning("stall %d: did not play", i)
                    continue
                origin.set_rate_trace([(0.0, bitrate * STALL_STARVE_FACTOR)])
                cut = time.monotonic()
                video = p.window.video
                if not p.wait(lambda v=video: v.notice is not None, STALL_TIMEOUT_S):
                    log.warning("stall %d: no notice", i)
                    continue
                shown = video.notice_shown_at
                frames = [t for t in list(p.player.frames.distinct_times) if t <= shown]
                rec = p.session.tracker.notice_log[-1]
                out.append({
                    "frozen_to_notice_s": shown - frames[-1] if frames else float("nan"),
                    "session_stall_to_shown_s": rec.shown_at - rec.stall_started_at,
                    "cut_to_freeze_s": (frames[-1] - cut) if frames else float("nan"),
                })  # fmt: skip
                origin.set_rate_trace([(0.0, None)])  # recover; the next open replaces this one
    finally:
        p.release()
    return {"stalls": out}


def child_main(a: argparse.Namespace) -> int:
    fn = {"ttff": child_ttff, "cpu": child_cpu, "rss": child_rss, "stall": child_stall}[a.child]
    emit_result(fn(a))
    return 0


# --- the parent -----------------------------------------------------------------------------------
class Bench:
    def __init__(self, a: argparse.Namespace, home: Path) -> None:
        self.a = a
        self.home = home
        self.env = isolated_env(home)
        self.rows: list[list[str]] = []
        self.notes: list[str] = []
        self.data: dict[str, Any] = {}

    def child(
        self, mode: str, player: str, source: str, timeout: float, *extra: str
    ) -> dict[str, Any]:
        args = ["--child", mode, "--player", player, "--source", source, *extra]
        return run_child(SCRIPT, args, self.env, timeout)

    def row(self, metric: str, ours: str, base: str, r: float, note: str = "") -> None:
        self.rows.append([metric, ours, base, fmt_num(r, "x"), note])

    # time to first frame -------------------------------------------------------------------
    def ttff(self, sources: dict[str, str]) -> None:
        for name, src in sources.items():
            res: dict[str, list[float]] = {"bare": [], "stallwatch": [], "decoded": []}
            for i in range(self.a.runs):
                order = ("bare", "stallwatch") if i % 2 == 0 else ("stallwatch", "bare")
                for kind in order:  # alternated: a load spike hits both alike
                    try:
                        got = self.child("ttff", kind, src, TTFF_TIMEOUT_S + 30)
                    except ChildFailed as exc:
                        log.warning("ttff %s %s: %s", name, kind, exc)
                        got = {}
                    if got.get("ttff_s") is not None:
                        res[kind].append(got["ttff_s"])
                    if got.get("decoded_s") is not None:
                        res["decoded"].append(got["decoded_s"])
            sw, bare = median(res["stallwatch"]), median(res["bare"])
            self.data[f"ttff_{name}"] = res
            self.row(f"time to first frame, {name}", fmt_num(sw * 1000, " ms"), fmt_num(bare * 1000, " ms"),
                     ratio(sw, bare), f"median of {len(res['stallwatch'])}/{len(res['bare'])} runs; "
                     f"ours decoded at {fmt_num(median(res['decoded']) * 1000, ' ms')}, then painted")  # fmt: skip

    # CPU ------------------------------------------------------------------------------------------
    def cpu(self, files: dict[str, Path]) -> None:
        extra = ["--warmup", str(self.a.warmup), "--measure", str(self.a.measure)]
        timeout = self.a.warmup + self.a.measure + 90
        for name, path in files.items():
            got: dict[str, list[dict[str, Any]]] = {"bare": [], "stallwatch": [], "session": []}
            for i in range(self.a.cpu_runs):
                order = ("bare", "session", "stallwatch")[:: 1 if i % 2 == 0 else -1]
                for kind in order:
                    try:
                        got[kind].append(self.child("cpu", kind, str(path), timeout, *extra))
                    except ChildFailed as exc:
                        log.warning("cpu %s %s: %s", name, kind, exc)
            self.data[f"cpu_{name}"] = got

            def med(kind: str, field: str, got: dict = got) -> float:
                return median([r[field] for r in got[kind] if r.get(field) is not None])

            sw, bare = med("stallwatch", "cpu_per_play_s"), med("bare", "cpu_per_play_s")
            fps_sw, fps_bare = med("stallwatch", "fps_displayed"), med("bare", "fps_displayed")
            runs = f"median of {len(got['stallwatch'])}/{len(got['bare'])} runs"
            self.row(f"CPU s per playback s, {name}", fmt_num(sw), fmt_num(bare), ratio(sw, bare),
                     f"{runs}; pictures/s from libVLC: ours {fmt_num(fps_sw)} "
                     f"(painted {fmt_num(med('stallwatch', 'fps_painted'))}), bare {fmt_num(fps_bare)}")  # fmt: skip
            ses = med("session", "cpu_per_play_s")
            self.row(f"  of which session+libVLC (no window), {name}", fmt_num(ses), fmt_num(bare), ratio(ses, bare),
                     f"median of {len(got['session'])} runs; pictures/s {fmt_num(med('session', 'fps_displayed'))}; "
                     "the rest of the window's figure is Qt (painting, timers)")  # fmt: skip
            per_sw, per_bare = ratio(sw, fps_sw), ratio(bare, fps_bare)
            self.row(f"CPU ms per picture, {name}", fmt_num(per_sw * 1000, " ms"), fmt_num(per_bare * 1000, " ms"),
                     ratio(per_sw, per_bare), "the same, per picture libVLC delivered (fair when one drops more)")  # fmt: skip

    # RSS -----------------------------------------------------------------------------------------
    def rss(self, url: str) -> None:
        minutes = self.a.minutes
        extra = ["--minutes", str(minutes)]
        procs = {k: start_child(SCRIPT, ["--child", "rss", "--player", k, "--source", url, *extra], self.env)
                 for k in ("bare", "stallwatch")}  # fmt: skip
        got: dict[str, dict[str, Any]] = {}
        for k, proc in procs.items():
            try:
                got[k] = finish_child(proc, minutes * 60 + 120)
            except ChildFailed as exc:
                log.warning("rss %s: %s", k, exc)
                got[k] = {}
        self.data["rss"] = got
        mb = 1 / 2**20

        def g(k: str, f: str) -> float | None:
            v = got[k].get(f)
            return v * mb if v is not None else None

        for f, label in (
            ("rss_1min", "RSS after 1 min"),
            ("rss_end", f"RSS after {minutes:g} min"),
        ):
            self.row(f"{label} (looping HLS)", fmt_num(g("stallwatch", f), " MB"), fmt_num(g("bare", f), " MB"),
                     ratio(g("stallwatch", f), g("bare", f)), "")  # fmt: skip
        gs = ratio(g("stallwatch", "rss_end"), g("stallwatch", "rss_1min"))
        gb = ratio(g("bare", "rss_end"), g("bare", "rss_1min"))
        loops = f"loops: ours {got['stallwatch'].get('loops', '-')}, bare {got['bare'].get('loops', '-')}"
        kind = (
            "full figure"
            if minutes >= 30
            else f"CI-sized variant ({minutes:g} min; --minutes 30 for the full)"
        )
        self.row(f"RSS growth {minutes:g} min / 1 min", fmt_num(gs, "x", 4), fmt_num(gb, "x", 4), ratio(gs, gb),
                 f"{kind}; {loops}")  # fmt: skip
        ss, sb = rss_slope_mb_per_min(got["stallwatch"]), rss_slope_mb_per_min(got["bare"])
        self.row("RSS slope after 1 min", fmt_num(ss, " MB/min"), fmt_num(sb, " MB/min"), ratio(ss, sb),
                 f"least squares over the samples every {RSS_SAMPLE_S:g} s")  # fmt: skip

    # stall-to-notice -----------------------------------------------------------------------------
    def stall(self, stall_dir: Path, bitrate: int) -> None:
        extra = ["--stalls", str(self.a.stalls), "--bitrate", str(bitrate)]
        try:
            got = self.child(
                "stall",
                "stallwatch",
                str(stall_dir),
                self.a.stalls * (STALL_TIMEOUT_S + 40),
                *extra,
            )
        except ChildFailed as exc:
            log.warning("stall: %s", exc)
            got = {"stalls": []}
        self.data["stall"] = got
        st = got["stalls"]
        lat = median([s["frozen_to_notice_s"] for s in st])
        own = median([s["session_stall_to_shown_s"] for s in st])
        self.row("stall-to-notice (picture frozen -> band shown)", fmt_num(lat * 1000, " ms"),
                 f"{NOTICE_TARGET_S * 1000:.0f} ms target", ratio(lat, NOTICE_TARGET_S),
                 f"median of {len(st)} stalls; max {fmt_num(max((s['frozen_to_notice_s'] for s in st), default=None), ' s')}; "
                 f"session's own stall start -> shown {fmt_num(own * 1000, ' ms')}")  # fmt: skip

    # verdict latency and probe bytes ------------------------------------------------------------------
    def verdict(self, hls_master: Path) -> None:
        from tests.testbed.topology import tools_available

        ok, why = tools_available()
        if ok and not self.a.no_testbed:
            self._verdict_testbed()
        else:
            self.notes.append(f"verdict/probe rows: namespace testbed skipped ({why or '--no-testbed'}); "
                              "loopback headless run instead")  # fmt: skip
            self._verdict_loopback(hls_master)

    def _verdict_testbed(self) -> None:
        import bench_attribution as BA  # the namespace testbed's benchmark (reused, not copied)

        S = BA.S
        names = self.a.scenarios.split(",")
        media = Path(tempfile.gettempdir()) / "sw-bench-media"
        stream = S.make_stream(media)
        results = []
        with S.matrix_topology() as topo:
            roles = S.roles_for(topo)
            topo.set_ping_group_range(roles["client"], 0, 2147483647)
            for name in names:
                r = S.run_scenario(topo, S.scenario(name), media, "cubic", self.a.verdict_duration,
                                   roles=roles, stream=stream)  # fmt: skip
                log.info("%s", S.result_line(r))
                results.append(r)
        self._verdict_rows(
            results, f"namespace testbed, bench_attribution scenarios {', '.join(names)} (cubic)"
        )

    def _verdict_loopback(self, master: Path) -> None:
        from player.demo.origin import ThrottledOrigin
        from player.report.json import to_json
        from player.session.headless import play

        with ThrottledOrigin(master.parent) as origin:  # its own: the trace is this run's
            origin.set_rate_trace(LOOPBACK_STALL_TRACE)
            r = play(origin.url(master.name), LOOPBACK_PLAY_S, probe_path=True, max_wall_s=60)
        rep = to_json(r.report) if r.report else None
        self._verdict_rows([{"scenario": "loopback", "report": rep}],
                           "loopback headless run (no emulated network: probes see one hop)")  # fmt: skip

    def _verdict_rows(self, results: list[dict[str, Any]], where: str) -> None:
        import bench_attribution as BA

        lat, named, ratios = [], [], []
        pb_sum = vb_sum = 0
        for r in results:
            rep = r.get("report") or {}
            lat += BA._latencies(rep)  # noqa: SLF001 - the benchmark's own reader
            named += BA._latencies(rep, "named_after_s")  # noqa: SLF001
            f = rep.get("fetches") or {}
            pb, vb = f.get("probe_bytes"), f.get("bytes")
            if pb is not None and vb:
                ratios.append(pb / vb)
                pb_sum += pb
                vb_sum += vb
        self.data["verdict"] = {"where": where, "results": results}
        self.row("verdict latency (stall start -> first verdict)", fmt_num(median(lat), " s"), "-", float("nan"),
                 f"median of {len(lat)} stalls; names a segment after {fmt_num(median(named), ' s')}; {where}")  # fmt: skip
        self.row("probe bytes / video bytes", f"{median(ratios):.2%}" if ratios else "-", "-", float("nan"),
                 f"{pb_sum} probe B / {vb_sum} video B; {where}")  # fmt: skip


def rss_slope_mb_per_min(result: dict[str, Any]) -> float | None:
    """MB per minute of the RSS samples taken after the first minute (least squares)."""
    pts = [(t / 60, r / 2**20) for t, r in result.get("samples") or () if t >= RSS_BASE_S]
    if len(pts) < 3:
        return None
    return statistics.linear_regression([t for t, _ in pts], [r for _, r in pts]).slope


def make_media(root: Path, quick: bool, measure: float, warmup: float) -> dict[str, Path]:
    """The benchmark's media (cached in ``root``: ffmpeg runs once per machine)."""
    from player.demo.media import make_hls
    from tests.support.media import make_mp4

    root.mkdir(parents=True, exist_ok=True)
    cpu_s = int(warmup + measure + 10)
    out = {
        "ttff_file": root / "ttff_720p30.mp4",
        "cpu_720p30": root / f"cpu_720p30_{cpu_s}s.mp4",
        "cpu_1080p30": root / f"cpu_1080p30_{cpu_s}s.mp4",
        "hls": root / "hls" / "master.m3u8",
        "stall": root / "stall_hls" / "master.m3u8",
    }
    for key, size, secs in (("ttff_file", (1280, 720), 10), ("cpu_720p30", (1280, 720), cpu_s),
                            ("cpu_1080p30", (1920, 1080), cpu_s)):  # fmt: skip
        if not out[key].exists():
            log.info("making %s", out[key])
            make_mp4(out[key].with_suffix(".part.mp4"), seconds=secs, size=size, fps=30)
            out[key].with_suffix(".part.mp4").rename(out[key])
    if not out["hls"].exists():
        make_hls(out["hls"].parent, seconds=HLS_SECONDS, renditions=HLS_RENDITIONS, fps=30)
    if not out["stall"].exists():
        make_hls(out["stall"].parent, seconds=60, renditions=STALL_RENDITION, fps=30)
    return out


def stream_bitrate(master: Path) -> int:
    import re

    return int(re.findall(r"BANDWIDTH=(\d+)", master.read_text())[0])


SECTIONS = ("ttff", "cpu", "rss", "stall", "verdict")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--quick", action="store_true", help="fewer runs, shorter windows, a 2-minute RSS loop"
    )
    p.add_argument("--json", type=Path, help="also write every measurement here")
    p.add_argument(
        "--runs",
        type=int,
        help="time-to-first-frame runs per player and source (default 7, quick 3)",
    )
    p.add_argument(
        "--minutes", type=float, help="RSS loop length (default 3, quick 2; 30 for the full figure)"
    )
    p.add_argument("--cpu-runs", type=int, help="CPU runs per player and size (default 2, quick 1)")
    p.add_argument("--stalls", type=int, help="stalls for stall-to-notice (default 5, quick 2)")
    p.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}"
    )
    p.add_argument(
        "--no-testbed",
        action="store_true",
        help="verdict rows from a loopback run, not the testbed",
    )
    p.add_argument(
        "--scenarios",
        help="testbed scenarios (default isp_access_slow,server_app_slow,home_lan_slow)",
    )
    p.add_argument(
        "--media", type=Path, default=Path(tempfile.gettempdir()) / "sw-bench-player-media"
    )
    p.add_argument("-v", "--verbose", action="count", default=0)
    # child-process arguments (internal)
    p.add_argument("--child", choices=("ttff", "cpu", "rss", "stall"), help=argparse.SUPPRESS)
    p.add_argument(
        "--player",
        default="stallwatch",
        choices=("stallwatch", "session", "bare"),
        help=argparse.SUPPRESS,
    )
    p.add_argument("--source", help=argparse.SUPPRESS)
    p.add_argument("--warmup", type=float, help=argparse.SUPPRESS)
    p.add_argument("--measure", type=float, help=argparse.SUPPRESS)
    p.add_argument("--bitrate", type=int, help=argparse.SUPPRESS)
    p.add_argument("--verdict-duration", type=float, default=8.0, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    q = a.quick
    a.runs = a.runs or (3 if q else 7)
    a.minutes = a.minutes or (2.0 if q else 3.0)
    a.stalls = a.stalls or (2 if q else 5)
    a.cpu_runs = a.cpu_runs or (1 if q else 2)
    a.warmup = a.warmup if a.warmup is not None else (2.0 if q else 3.0)
    a.measure = a.measure if a.measure is not None else (8.0 if q else 20.0)
    a.scenarios = a.scenarios or (
        "isp_access_slow" if q else "isp_access_slow,server_app_slow,home_lan_slow"
    )
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    setup_logging(a.verbose)
    if a.child:
        return child_main(a)
    from player.demo.media import ffmpeg_available
    from player.demo.origin import ThrottledOrigin

    if not ffmpeg_available():
        print("skipped: ffmpeg is not installed", file=sys.stderr)
        return 0
    only = {s for s in a.only.split(",") if s}
    t0 = time.monotonic()
    media = make_media(a.media, a.quick, a.measure, a.warmup)
    with (
        tempfile.TemporaryDirectory(prefix="sw-bench-player-") as tmp,
        ThrottledOrigin(a.media) as origin,
    ):
        b = Bench(a, Path(tmp))
        hls_url = origin.url("hls/master.m3u8")
        if "ttff" in only:
            b.ttff({"local MP4 720p30": str(media["ttff_file"]), "HLS, loopback origin": hls_url})
        if "cpu" in only:
            b.cpu({"720p30": media["cpu_720p30"], "1080p30": media["cpu_1080p30"]})
        if "stall" in only:
            b.stall(media["stall"].parent, stream_bitrate(media["stall"]))
        if "verdict" in only:
            b.verdict(media["hls"])
        if "rss" in only:
            b.rss(hls_url)
    print(f"Stallwatch (MainWindow, Qt offscreen) vs a bare python-vlc player, same run ({'quick' if a.quick else 'default'}); "
          "ratio = Stallwatch / baseline, lower is better")  # fmt: skip
    print(table(["metric", "Stallwatch", "baseline", "ratio", "notes"], b.rows))
    for n in b.notes:
        print(f"note: {n}")
    print(f"({time.monotonic() - t0:.0f} s; libVLC options and RV32 callbacks identical; "
          f"bare player = python-vlc {BARE_VLC_ARGS[-1]})")  # fmt: skip
    if a.json:
        a.json.write_text(
            json.dumps({"rows": b.rows, "notes": b.notes, "data": b.data}, indent=1, default=str)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
