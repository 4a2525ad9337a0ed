"""ABR against the web's players: Stallwatch vs libVLC, hls.js, dash.js and Shaka Player.

    .venv/bin/python benchmarks/bench_web_players.py [--quick] [--json FILE] [--traces a,b]

Set-up (its own, none of it a product dependency): Debian's ``chromium`` and
``chromium-driver`` with apt-get when missing (root; otherwise it prints the command and
exits 2), Selenium (pinned) into the running venv, and the players pinned in
``benchmarks/web/package.json`` / ``package-lock.json`` installed with ``npm ci`` into
``$STALLWATCH_CACHE_DIR/web-players`` (default ``~/.cache/stallwatch/web-players``).

One media ladder (1 / 3 / 6 Mbit/s H.264 CBR + AAC, 2 s fMP4 segments, see
``benchmarks/web/ladder.py``) is listed by both a DASH MPD and an HLS master, and served
with the player pages from one throttled loopback origin (a fresh one per playback; same
origin, no CORS). Each trace of ``benchmarks/traces.py`` (scaled x3 to this ladder: step
down, sawtooth, bursty, slow ramp, and a *synthetic* 4G-like trace, since no public
throughput dataset ships in an installable package) is played by:

* ``stallwatch``: ``player.session.headless.play`` on the MPD (gateway + our ABR);
* ``vlc-default`` / ``vlc-predictive``: libVLC fetching the MPD itself (as bench_abr);
* ``hls.js`` (the HLS master), ``dash.js`` (its default "dynamic" ABR), ``dash.js-bola``
  (the BOLA rule alone) and ``shaka`` (the MPD), each in headless Chromium with default
  settings.

Measures: stalls and stall seconds (web players: the page's monitor, from ``waiting``
events and the playhead standing still for Stallwatch's own freeze threshold; ours and
VLC's: what ``headless.play`` reports), startup (the first ``playing`` event / the
session's startup), and, from the origin's log of completed segment deliveries (the same
measure for everyone), the representation of every played segment: average bitrate,
switches, and the linear QoE ``sum R_k - 4.3 x rebuffer_s - sum |R_k+1 - R_k|``
(Mbit/s; ``benchmarks/web/qoe.py``). The table ends each trace with our QoE's ratio to
the best peer's (measured in the same run). Progress goes to the log (stderr); the
table to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.traces import mean_bps, traces  # noqa: E402
from benchmarks.web import setup_env  # noqa: E402
from benchmarks.web.ladder import Ladder, make_ladder  # noqa: E402
from benchmarks.web.qoe import ServedSegment, ratio_to_best, score  # noqa: E402
from benchmarks.web.served_origin import LoggingOrigin  # noqa: E402
from player.core.thresholds import FREEZE_MIN_S  # noqa: E402

if TYPE_CHECKING:
    from benchmarks.web.browser import Browser  # Selenium: imported once set up

log = logging.getLogger("bench_web_players")

#: Trace rates are written for a ~2 Mbit/s top rendition (bench_abr's); this ladder's is 6.
TRACE_SCALE = 3.0
FULL = {"play_s": 30.0, "media_s": 40.0, "traces": None}
QUICK = {"play_s": 20.0, "media_s": 30.0, "traces": ("step_down", "sawtooth")}
#: A playback is cut this long after its start beyond the media it should play: the worst
#: peers stall for tens of seconds, and two shared cores must finish a full run in ~25 min.
WALL_SLACK_S = 35.0
CUT_SHORT_S = 0.5  # a run that played this much less than asked was cut (noted in the table)
H264_MSE = 'video/mp4; codecs="avc1.42c01e"'  # the ladder's codec (constrained baseline)
AAC_MSE = 'audio/mp4; codecs="mp4a.40.2"'
OURS = "stallwatch"
VLC_PLAYERS = ("vlc-default", "vlc-predictive")
#: web player -> (page, manifest, page options)
WEB_PLAYERS: dict[str, tuple[str, str, dict]] = {
    "hls.js": ("hlsjs.html", "master.m3u8", {}),
    "dash.js": ("dashjs.html", "manifest.mpd", {"abr": "dynamic"}),
    "dash.js-bola": ("dashjs.html", "manifest.mpd", {"abr": "bola"}),
    "shaka": ("shaka.html", "manifest.mpd", {}),
}
PLAYERS = (OURS, *VLC_PLAYERS, *WEB_PLAYERS)


@dataclass
class RunResult:
    trace: str
    player: str
    startup_s: float | None = None
    stall_count: int = 0
    stall_s: float = 0.0
    played_s: float = 0.0
    avg_bitrate_kbps: float | None = None
    switches: int = 0
    qoe: float = float("nan")
    renditions: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    error: str | None = None


def served_segments(origin: LoggingOrigin, ladder: Ladder) -> list[ServedSegment]:
    out = []
    for d in origin.deliveries:
        seg = ladder.segment_of(d.path)
        if seg is not None:
            out.append(ServedSegment(seg[1], seg[0], d.finished_s, d.completed))
    return out


def finish(res: RunResult, origin: LoggingOrigin, ladder: Ladder, play_s: float) -> RunResult:
    # Scored over the same media for everyone: a player polled a moment after play_s has
    # entered one more segment, which must not add to its sum of bitrates.
    s = score(
        served_segments(origin, ladder),
        ladder.bitrates_bps,
        min(res.played_s, play_s),
        ladder.segment_s,
        res.stall_s,
    )
    res.avg_bitrate_kbps, res.switches, res.qoe = s.avg_bitrate_kbps, s.switches, s.qoe
    res.renditions = list(s.segments)
    return res


def run_vlc(
    player: str, trace_name: str, trace: list, ladder: Ladder, root: Path, play_s: float
) -> RunResult:
    from player.session.headless import play  # libVLC: loaded only when needed

    kwargs: dict = {"probe_path": False, "max_wall_s": play_s + WALL_SLACK_S}
    if player != OURS:
        kwargs["use_gateway"] = False
    if player == "vlc-predictive":
        kwargs["player_args"] = ("--adaptive-logic=predictive",)
    with LoggingOrigin(root) as origin:
        origin.set_rate_trace(trace)
        r = play(origin.url("media/manifest.mpd"), play_s, **kwargs)
    res = RunResult(trace_name, player, wall_s=r.wall_s, error=r.error)
    if r.report is not None:
        q = r.report.qoe
        res.startup_s, res.stall_count, res.stall_s = q.startup_s, q.stall_count, q.stall_s
        res.played_s = r.report.played_s
    return finish(res, origin, ladder, play_s)


def run_web(
    browser: Browser,
    player: str,
    trace_name: str,
    trace: list,
    ladder: Ladder,
    root: Path,
    play_s: float,
) -> RunResult:
    page, manifest, options = WEB_PLAYERS[player]
    with LoggingOrigin(root) as origin:
        run = browser.play(
            origin.url(f"web/{page}"),
            origin.url(f"media/{manifest}"),
            options,
            duration_s=play_s,
            max_wall_s=play_s + WALL_SLACK_S,
            freeze_min_s=FREEZE_MIN_S,
            before_start=lambda: origin.set_rate_trace(trace),
        )
    snap = run.snapshot
    res = RunResult(trace_name, player, wall_s=run.wall_s, error=run.error)
    if snap:
        now = snap["now_s"]
        stalls = [(s, now if e is None else e) for s, e, *_ in snap["stalls"]]
        stalls = [(s, e) for s, e in stalls if e - s >= FREEZE_MIN_S]
        res.startup_s = snap["startup_s"]
        res.stall_count = len(stalls)
        res.stall_s = sum(e - s for s, e in stalls)
        res.played_s = snap["position_s"]
        log.debug("%s %s events: %s", trace_name, player, snap["events"])
    return finish(res, origin, ladder, play_s)


def fmt(v: float | None, spec: str) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def note(r: RunResult, play_s: float) -> str:
    if r.error:
        return r.error
    if r.played_s < play_s - CUT_SHORT_S:
        return f"cut at the wall-time cap after {r.played_s:.1f} s played"
    return ""


def print_table(results: list[RunResult], order: list[str], play_s: float) -> dict[str, dict]:
    head = (
        f"{'trace':10s} {'player':14s} {'stalls':>6s} {'stall s':>8s} {'startup':>8s} "
        f"{'kbit/s':>7s} {'switch':>6s} {'QoE':>7s}  note"
    )
    print(head)
    print("-" * len(head))
    ratios: dict[str, dict] = {}
    for name in order:
        rows = [r for r in results if r.trace == name]
        for r in rows:
            print(
                f"{r.trace:10s} {r.player:14s} {r.stall_count:6d} {r.stall_s:8.1f} "
                f"{fmt(r.startup_s, '8.1f'):>8s} {fmt(r.avg_bitrate_kbps, '7.0f'):>7s} "
                f"{r.switches:6d} {fmt(r.qoe, '7.1f'):>7s}  {note(r, play_s)}"
            )
        ours = next((r for r in rows if r.player == OURS), None)
        peers = [r for r in rows if r.player != OURS and not math.isnan(r.qoe)]
        if ours is None or not peers or math.isnan(ours.qoe):
            continue
        ratios[name] = {"ours": ours.qoe, "ours_stalled": ours.stall_count > 0,
                        "peers_stalled": sorted(p.player for p in peers if p.stall_count)}  # fmt: skip
        clean = [p for p in peers if p.stall_count == 0]
        notes = []
        for key, group in (("best_peer", peers), ("best_stall_free_peer", clean)):
            if not group:
                continue
            best = max(group, key=lambda r: r.qoe)
            ratio = ratio_to_best(ours.qoe, [best.qoe])
            ratios[name][key] = {"player": best.player, "qoe": best.qoe, "ratio": ratio,
                                 "delta": ours.qoe - best.qoe}  # fmt: skip
            label = "best peer" if key == "best_peer" else "best stall-free peer"
            notes.append(
                f"{label} {best.player}: ratio {fmt(ratio, '.2f')} ({ours.qoe - best.qoe:+.1f})"
            )
        print(f"{'':10s} => ours vs " + "; ".join(notes))
    return ratios


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="two traces, 20 s each")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    ap.add_argument("--traces", help="comma-separated trace names (default: all, or the quick set)")
    ap.add_argument("--players", help=f"comma-separated subset of {','.join(PLAYERS)}")
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = ap.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("selenium", "urllib3", "player"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cfg = QUICK if args.quick else FULL
    play_s, media_s = cfg["play_s"], cfg["media_s"]
    all_traces = traces(scale=TRACE_SCALE)
    names = args.traces.split(",") if args.traces else list(cfg["traces"] or all_traces)
    players = args.players.split(",") if args.players else list(PLAYERS)
    for n in names:
        if n not in all_traces:
            ap.error(f"unknown trace {n!r}; known: {', '.join(all_traces)}")
    for p in players:
        if p not in PLAYERS:
            ap.error(f"unknown player {p!r}; known: {', '.join(PLAYERS)}")

    try:
        env = setup_env.prepare()
    except setup_env.SetupError as exc:
        if exc.exit_code == 2:
            print(str(exc), file=sys.stderr)  # the command to run as root, for the user
        else:
            log.error("%s", exc)
        return exc.exit_code
    from benchmarks.web.browser import Browser  # Selenium exists only after prepare()

    t_start = time.monotonic()
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="stallwatch-web-bench-") as tmp:
        root = Path(tmp)
        log.info("encoding the ladder (%.0f s)", media_s)
        ladder = make_ladder(root / "media", media_s)
        setup_env.copy_pages(env.players_dir, root / "web")
        browser = (
            Browser(env.chromium, env.chromedriver)
            if any(p in WEB_PLAYERS for p in players)
            else None
        )
        try:
            if browser is not None:
                support = {m: browser.supports(m) for m in (H264_MSE, AAC_MSE)}
                log.info("Chromium %s, MSE support: %s", browser.version, support)
                if not all(support.values()):
                    log.error("this Chromium cannot play the ladder's H.264/AAC through MSE")
                    return 1
            for name in names:
                trace = all_traces[name]
                log.info(
                    "trace %s: mean %.1f Mbit/s over %.0f s",
                    name,
                    mean_bps(trace, play_s) / 1e6,
                    play_s,
                )
                for player in players:
                    if player in WEB_PLAYERS:
                        res = run_web(browser, player, name, trace, ladder, root, play_s)
                    else:
                        res = run_vlc(player, name, trace, ladder, root, play_s)
                    results.append(res)
                    log.info(
                        "  %-14s stalls %d (%.1f s) startup %s s, %s kbit/s, %d switches, QoE %s, "
                        "played %.1f s in %.1f s%s", player, res.stall_count, res.stall_s,
                        fmt(res.startup_s, ".1f"), fmt(res.avg_bitrate_kbps, ".0f"), res.switches,
                        fmt(res.qoe, ".1f"), res.played_s, res.wall_s, f" ERROR {res.error}" if res.error else "",
                    )  # fmt: skip
        finally:
            if browser is not None:
                browser.close()
    print(
        f"\nABR vs the web's players: {play_s:.0f} s of a 1/3/6 Mbit/s ladder per run, "
        f"traces x{TRACE_SCALE:g} (benchmarks/traces.py); QoE = sum Mbit/s per 2 s segment "
        "- 4.3 x stall s - sum |switch| Mbit/s; same run\n"
    )
    ratios = print_table(results, names, play_s)
    print(
        f"\nplayers: {', '.join(f'{k} {v}' for k, v in env.versions.items())}; wall {time.monotonic() - t_start:.0f} s"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "play_s": play_s,
                    "ladder_bps": list(ladder.bitrates_bps),
                    "trace_scale": TRACE_SCALE,
                    "traces": {n: all_traces[n] for n in names},
                    "versions": {**env.versions, "chromium": browser.version if browser else None},
                    "runs": [asdict(r) for r in results],
                    "ours_vs_best_peer": ratios,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
