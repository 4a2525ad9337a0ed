"""ABR benchmark: our gateway-side ABR vs libVLC's own adaptive logics, real playback.

    .venv/bin/python benchmarks/bench_abr.py [--quick]

For each bandwidth trace of ``benchmarks/traces.py`` (step down, sawtooth, bursty, slow ramp,
synthetic LTE-like; scale 1: written for this ladder), the same generated HLS stream is
played from a throttled loopback origin by (1) Stallwatch (gateway + our ABR), (2) libVLC
fetching directly with its default adaptive logic and (3) with ``--adaptive-logic=
predictive``. It prints stall seconds and average bitrate (from the segments the origin
served: the same measure for every player), and ratios against VLC's default measured in
the same run. Then it compares the CPU time of playback through the gateway with libVLC
fetching the same stream directly (ratio, same run).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.traces import traces  # noqa: E402
from player.demo.media import make_hls  # noqa: E402
from player.demo.origin import ThrottledOrigin  # noqa: E402
from player.session.headless import play  # noqa: E402

RENDITIONS = ((240, 300_000), (360, 700_000), (720, 2_000_000))
MEDIA_S = 40
PLAY_S = 30
SEG_RE = re.compile(r"/v(\d)/seg_\d+\.ts$")


def served_bitrate_kbps(origin: ThrottledOrigin, bandwidths: list[int]) -> float | None:
    idx = [
        int(m.group(1)) for _m, p, _r, st in origin.requests if (m := SEG_RE.search(p)) and st < 300
    ]
    return sum(bandwidths[i] for i in idx) / len(idx) / 1000 if idx else None


def run_one(origin: ThrottledOrigin, url: str, trace: list, player: str) -> dict:
    origin.requests.clear()
    origin.set_rate_trace(trace)
    kwargs: dict = {"probe_path": False, "max_wall_s": PLAY_S * 2 + 10}
    if player != "stallwatch":
        kwargs["use_gateway"] = False
    if player == "vlc-predictive":
        kwargs["player_args"] = ("--adaptive-logic=predictive",)
    r = play(url, PLAY_S, **kwargs)
    q = r.report.qoe if r.report else None
    return {
        "stall_s": q.stall_s if q else float("nan"),
        "stalls": q.stall_count if q else -1,
        "played_s": r.report.played_s if r.report else 0.0,
        "wall_s": r.wall_s,
    }


def bandwidths(master: Path) -> list[int]:
    return [int(b) for b in re.findall(r"BANDWIDTH=(\d+)", master.read_text())]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="one trace only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        master = make_hls(root / "hls", seconds=MEDIA_S, renditions=RENDITIONS, segment_s=2)
        bw = bandwidths(master)
        with ThrottledOrigin(root) as origin:
            url = origin.url("hls/master.m3u8")
            rows = []
            items = list(traces().items())[: 1 if args.quick else None]
            for name, trace in items:
                base = None
                for player in ("vlc-default", "vlc-predictive", "stallwatch"):
                    res = run_one(origin, url, trace, player)
                    res["bitrate_kbps"] = served_bitrate_kbps(origin, bw)
                    if player == "vlc-default":
                        base = res
                    rows.append((name, player, res, base))
                    print(f"  {name:10s} {player:15s} stall {res['stall_s']:6.1f} s ({res['stalls']}x)  "
                          f"bitrate {res['bitrate_kbps'] or 0:7.0f} kbit/s  played {res['played_s']:5.1f} s "
                          f"in {res['wall_s']:5.1f} s", flush=True)  # fmt: skip
            print(
                "\nRatios against VLC's default adaptive logic (same run; stall: lower is better)"
            )
            print(f"{'trace':10s} {'player':15s} {'stall ratio':>12s} {'bitrate ratio':>14s}")
            for name, player, res, base in rows:
                sr = res["stall_s"] / base["stall_s"] if base["stall_s"] > 0 else float("nan")
                br = (
                    (res["bitrate_kbps"] or 0) / base["bitrate_kbps"]
                    if base["bitrate_kbps"]
                    else float("nan")
                )
                print(f"{name:10s} {player:15s} {sr:12.2f} {br:14.2f}")

            # CPU: the same stream, unthrottled, through the gateway vs fetched directly.
            origin.set_rate_trace([(0.0, None)])
            cpu = {}
            for player, kw in (("direct", {"use_gateway": False}), ("gateway", {})):
                t0 = time.process_time()
                r = play(url, 20, probe_path=False, max_wall_s=40, **kw)
                cpu[player] = (time.process_time() - t0, r.report.played_s if r.report else 0)
            print("\nCPU time for 20 s of playback (process: decoding + networking)")
            for k, (c, p) in cpu.items():
                print(f"  {k:8s} {c:6.2f} s CPU for {p:4.1f} s played")
            print(f"  ratio gateway/direct: {cpu['gateway'][0] / cpu['direct'][0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
