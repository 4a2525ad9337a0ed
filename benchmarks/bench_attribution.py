"""Attribution benchmark on the namespace testbed (root): ``python benchmarks/bench_attribution.py``.

Runs a reduced scenario matrix (every scenario of ``tests/testbed/scenarios.py`` once
with a cubic origin, the slow-link ones once more with BBR; ``--runs`` repeats) through
``stallwatch diagnose --json`` in the client namespace and prints:

* verdict latency: seconds from a stall's start to its first verdict
  (``stalls[].verdict_after_s``), median and worst per scenario;
* probe bytes vs video bytes (``fetches.probe_bytes`` / ``fetches.bytes``);
* the accuracy table: expected segment x verdict, and accuracy per scenario.

``--json FILE`` also writes every run's result (with the full report).

``--trace`` measures instead how probe bytes and video bytes grow together: for each slow-link
scenario (and ``none``), ``benchmarks/probe_budget_trace.py`` runs in the client namespace
(the product's PathMonitor probing while the lowest rendition downloads back to back, its
budget credited once a second) and the table shows the ratio at the end, the worst ratio once
100 x the path's start allowance of video arrived ("after the first few segments": about
330 kB by ICMP echo, 470 kB by UDP on the testbed) and the samples per hop the verdict would
have had 3 s and 5 s in.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from player.net.path.budget import START_ALLOWANCE_BYTES  # noqa: E402
from tests.testbed import scenarios as S  # noqa: E402
from tests.testbed.harness import _env as agent_env  # noqa: E402
from tests.testbed.topology import tools_available  # noqa: E402

TRACE = Path(__file__).resolve().parent / "probe_budget_trace.py"
TRACE_SCENARIOS = (
    "none",
    "home_lan_slow",
    "isp_access_slow",
    "interconnect_slow",
    "server_egress_slow",
)
# "After the first few segments": once video has repaid the path's start allowance at 1 %
# (the default allowance when a trace does not say: 330 kB, 3.8 segments of the testbed's
# lowest rendition).
TRACE_AFTER_BYTES = int(START_ALLOWANCE_BYTES / 0.01)


def _latencies(report: dict[str, Any] | None, field: str = "verdict_after_s") -> list[float]:
    out = []
    for st in (report or {}).get("stalls") or []:
        v = st.get(field)
        if v is not None:
            out.append(float(v))
    return out


def _named_share(report: dict[str, Any] | None) -> tuple[int, int]:
    """(stalls whose verdict names a segment, stalls)."""
    stalls = (report or {}).get("stalls") or []
    named = sum(
        1
        for st in stalls
        if (st.get("verdict") or {}).get("segment") not in (None, "unknown", "none")
    )
    return named, len(stalls)


def _fmt_s(xs: list[float]) -> str:
    if not xs:
        return "     -      -"
    return f"{statistics.median(xs):6.2f} {max(xs):6.2f}"


def summarise(results: list[dict[str, Any]]) -> str:
    lines = ["", "== verdict latency after stall start (s) and probe overhead =="]
    lines.append(
        f"{'scenario':<22} {'cc':<5} {'stalls':>6} {'named':>5} {'median':>6} "
        f"{'worst':>6} {'probe B':>9} {'video B':>10} {'probe/video':>11}"
    )
    all_lat: list[float] = []
    named_lat: list[float] = []
    ratios: list[float] = []
    for r in results:
        rep = r["report"] or {}
        lat = _latencies(rep)
        all_lat += lat
        named_lat += _latencies(rep, "named_after_s")
        named, n = _named_share(rep)
        f = rep.get("fetches") or {}
        pb, vb = f.get("probe_bytes"), f.get("bytes")
        ratio = (pb / vb) if pb is not None and vb else None
        if ratio is not None:
            ratios.append(ratio)
        lines.append(
            f"{r['scenario']:<22} {r['cc']:<5} {n:>6} {named:>5} {_fmt_s(lat)} "
            f"{pb if pb is not None else '-':>9} {vb if vb is not None else '-':>10} "
            f"{f'{ratio:.2%}' if ratio is not None else '-':>11}"
        )
    lines.append(
        f"{'all':<28} {'':>6} {'':>5} {_fmt_s(all_lat)}   probe/video median "
        f"{statistics.median(ratios):.2%}"
        if ratios
        else ""
    )
    lines.append(
        f"first verdict that names a segment (named_after_s): median/worst {_fmt_s(named_lat)}"
    )
    lines += ["", "== accuracy =="]
    per: dict[str, list[bool]] = {}
    for r in results:
        per.setdefault(r["scenario"], []).append(bool(r["correct"]))
    for name, ok in per.items():
        lines.append(f"{name:<22} {sum(ok)}/{len(ok)}")
    lines.append(S.confusion_matrix(results))
    lines.append(
        f"accuracy {S.accuracy(results):.1%}; false isp verdicts {len(S.false_isp(results))}"
    )
    return "\n".join(lines)


def run_trace(
    topo: Any, roles: Any, sc: Any, media: Path, stream: Any, seconds: float
) -> dict[str, Any]:
    """One scenario's probe/video trace (see probe_budget_trace.py)."""
    server = S.start_stream_server(
        topo,
        roles,
        media,
        cc="cubic",
        delay_ms=sc.server_delay_s * stream.segment_s * 1000.0,
        max_seconds=seconds + 120,
    )
    try:
        with S.applied(topo, roles, sc, stream, seconds + 60):
            argv = [
                sys.executable,
                str(TRACE),
                S.stream_url(topo, roles, stream),
                "--seconds",
                str(seconds),
            ]
            cp = topo.exec_in(
                roles["client"], argv, timeout=seconds + 60, env=agent_env(), check=False
            )
    finally:
        topo.stop(server)
    lines = [ln for ln in cp.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"scenario": sc.name, "error": cp.stderr[-1500:]}
    return {"scenario": sc.name, **json.loads(lines[-1])}


def _samples_at(tr: dict[str, Any], t: float) -> tuple[int, int]:
    """(fewest idle, fewest loaded) samples over the probed hops at time ``t``."""
    idle, loaded = [], []
    for series in (tr.get("hops") or {}).values():
        upto = [p for p in series if p[0] <= t]
        idle.append(upto[-1][1] if upto else 0)
        loaded.append(upto[-1][2] if upto else 0)
    return (min(idle), min(loaded)) if idle else (0, 0)


def summarise_traces(traces: list[dict[str, Any]]) -> str:
    lines = [
        "",
        "== probe bytes vs video bytes over time (worst ratio once video >= 100 x the "
        "start allowance: 'from') ==",
    ]
    lines.append(
        f"{'scenario':<22} {'method':<6} {'hops':>4} {'probe B':>8} {'video B':>9} "
        f"{'end':>6} {'from kB':>7} {'worst after':>11} {'at (s)':>6} {'idle/loaded@3s':>14} "
        f"{'@5s':>6} {'@end':>7} {'refused':>7}"
    )
    for tr in traces:
        pts = tr.get("points") or []
        if not pts:
            lines.append(f"{tr['scenario']:<22} error: {tr.get('error', '')[-200:]}")
            continue
        _t, pb, vb, _n = pts[-1]
        allowance = (tr.get("budget") or {}).get("allowance")
        after_bytes = int(allowance / 0.01) if allowance else TRACE_AFTER_BYTES
        after = [(p[1] / p[2], p[0]) for p in pts if p[2] >= after_bytes]
        worst, at = max(after) if after else (float("nan"), float("nan"))
        s3, s5, se = _samples_at(tr, 3.0), _samples_at(tr, 5.0), _samples_at(tr, pts[-1][0])
        lines.append(
            f"{tr['scenario']:<22} {tr.get('method', '-'):<6} {len(tr.get('probed_hops') or []):>4} "
            f"{pb:>8} {vb:>9} {(pb / vb if vb else float('nan')):>6.2%} "
            f"{after_bytes // 1000:>7} {worst:>11.2%} "
            f"{at:>6.1f} {f'{s3[0]}/{s3[1]}':>14} {f'{s5[0]}/{s5[1]}':>6} "
            f"{f'{se[0]}/{se[1]}':>7} {(tr.get('budget') or {}).get('refused', '-'):>7}"
        )
    return "\n".join(lines)


def _icmp(topo: Any, roles: Any, a: argparse.Namespace) -> None:
    """ICMP echo sockets allowed in the client, or (``--no-icmp``) a fresh namespace's
    default ``ping_group_range`` "1 0": probes fall back to UDP."""
    if a.no_icmp:
        topo.set_ping_group_range(roles["client"], 1, 0)
    else:
        topo.set_ping_group_range(roles["client"], 0, 2147483647)


def main_trace(a: argparse.Namespace) -> int:
    stream = S.make_stream(a.media)
    only = {n for n in a.only.split(",") if n} or set(TRACE_SCENARIOS)
    traces = []
    with S.matrix_topology() as topo:
        roles = S.roles_for(topo)
        _icmp(topo, roles, a)
        for sc in S.default_scenarios():
            if sc.name in only:
                for _ in range(a.runs):
                    traces.append(run_trace(topo, roles, sc, a.media, stream, a.duration))
                    print(summarise_traces(traces[-1:]).splitlines()[-1], flush=True)
    print(summarise_traces(traces))
    if a.json:
        a.json.write_text(json.dumps(traces, indent=1, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--runs", type=int, default=1, help="runs per scenario and CC")
    p.add_argument("--duration", type=float, default=8.0, help="seconds of playback per run")
    p.add_argument("--only", default="", help="comma-separated scenario names")
    p.add_argument("--no-bbr", action="store_true", help="cubic origin only")
    p.add_argument("--media", type=Path, default=Path(tempfile.gettempdir()) / "sw-bench-media")
    p.add_argument("--json", type=Path, default=None, help="write all results here")
    p.add_argument(
        "--trace",
        action="store_true",
        help="probe/video bytes over time instead (--duration: trace seconds)",
    )
    p.add_argument(
        "--no-icmp",
        action="store_true",
        help="keep the namespace default ping_group_range (1 0): probes fall back to UDP",
    )
    a = p.parse_args(argv)
    ok, why = tools_available()
    if not ok:
        print(f"skipped: {why}", file=sys.stderr)
        return 0 if os.environ.get("CI") else 1
    if a.trace:
        return main_trace(a)
    stream = S.make_stream(a.media)
    only = {n for n in a.only.split(",") if n}
    results: list[dict[str, Any]] = []
    t0 = time.monotonic()
    topo = S.matrix_topology()
    with topo:
        roles = S.roles_for(topo)
        _icmp(topo, roles, a)
        for sc in S.default_scenarios():
            if only and sc.name not in only:
                continue
            for cc in ("cubic",) if a.no_bbr else sc.ccs:
                for _ in range(a.runs):
                    r = S.run_scenario(
                        topo, sc, a.media, cc, a.duration, roles=roles, stream=stream
                    )
                    results.append(r)
                    print(S.result_line(r), flush=True)
    print(summarise(results))
    print(
        f"\n{len(results)} runs in {time.monotonic() - t0:.0f} s "
        f"(stream: renditions {[b // 1000 for b in stream.bitrates]} kbit/s)"
    )
    if a.json:
        a.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
