"""Attribution benchmark on the namespace testbed (root): ``python benchmarks/bench_attribution.py``.

Runs a reduced scenario matrix (every scenario of ``tests/testbed/scenarios.py`` once
with a cubic origin, the slow-link ones once more with BBR; ``--runs`` repeats) through
``stallwatch diagnose --json`` in the client namespace and prints:

* verdict latency: seconds from a stall's start to its first verdict
  (``stalls[].verdict_after_s``), median and worst per scenario;
* probe bytes vs video bytes (``fetches.probe_bytes`` / ``fetches.bytes``);
* the accuracy table: expected segment x verdict, and accuracy per scenario.

``--json FILE`` also writes every run's result (with the full report).
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

from tests.testbed import scenarios as S  # noqa: E402
from tests.testbed.topology import tools_available  # noqa: E402


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
    named = sum(1 for st in stalls if (st.get("verdict") or {}).get("segment") not in
                (None, "unknown", "none"))
    return named, len(stalls)


def _fmt_s(xs: list[float]) -> str:
    if not xs:
        return "     -      -"
    return f"{statistics.median(xs):6.2f} {max(xs):6.2f}"


def summarise(results: list[dict[str, Any]]) -> str:
    lines = ["", "== verdict latency after stall start (s) and probe overhead =="]
    lines.append(f"{'scenario':<22} {'cc':<5} {'stalls':>6} {'named':>5} {'median':>6} "
                 f"{'worst':>6} {'probe B':>9} {'video B':>10} {'probe/video':>11}")
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
    lines.append(f"{'all':<28} {'':>6} {'':>5} {_fmt_s(all_lat)}   probe/video median "
                 f"{statistics.median(ratios):.2%}" if ratios else "")
    lines.append(f"first verdict that names a segment (named_after_s): median/worst {_fmt_s(named_lat)}")
    lines += ["", "== accuracy =="]
    per: dict[str, list[bool]] = {}
    for r in results:
        per.setdefault(r["scenario"], []).append(bool(r["correct"]))
    for name, ok in per.items():
        lines.append(f"{name:<22} {sum(ok)}/{len(ok)}")
    lines.append(S.confusion_matrix(results))
    lines.append(f"accuracy {S.accuracy(results):.1%}; false isp verdicts "
                 f"{len(S.false_isp(results))}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=1, help="runs per scenario and CC")
    p.add_argument("--duration", type=float, default=8.0, help="seconds of playback per run")
    p.add_argument("--only", default="", help="comma-separated scenario names")
    p.add_argument("--no-bbr", action="store_true", help="cubic origin only")
    p.add_argument("--media", type=Path, default=Path(tempfile.gettempdir()) / "sw-bench-media")
    p.add_argument("--json", type=Path, default=None, help="write all results here")
    a = p.parse_args(argv)
    ok, why = tools_available()
    if not ok:
        print(f"skipped: {why}", file=sys.stderr)
        return 0 if os.environ.get("CI") else 1
    stream = S.make_stream(a.media)
    only = {n for n in a.only.split(",") if n}
    results: list[dict[str, Any]] = []
    t0 = time.monotonic()
    topo = S.matrix_topology()
    with topo:
        roles = S.roles_for(topo)
        topo.set_ping_group_range(roles["client"], 0, 2147483647)
        for sc in S.default_scenarios():
            if only and sc.name not in only:
                continue
            for cc in (("cubic",) if a.no_bbr else sc.ccs):
                for _ in range(a.runs):
                    r = S.run_scenario(topo, sc, a.media, cc, a.duration, roles=roles,
                                       stream=stream)
                    results.append(r)
                    print(S.result_line(r), flush=True)
    print(summarise(results))
    print(f"\n{len(results)} runs in {time.monotonic() - t0:.0f} s "
          f"(stream: renditions {[b // 1000 for b in stream.bitrates]} kbit/s)")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
