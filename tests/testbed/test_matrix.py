"""The acceptance matrix: ``stallwatch diagnose`` in the client namespace, per scenario.

Every scenario of :func:`tests.testbed.scenarios.default_scenarios` runs ``RUNS`` times
with a cubic origin, the slow-link ones also ``RUNS`` times with a BBR origin, on one
topology built for the module (torn down even when a test fails), once with ICMP echo
permitted to the client (``ping_group_range`` open) and once with it not permitted (``1 0``,
a fresh namespace's default and many sandboxes': the probes fall back to UDP). The test prints the
confusion matrix (expected segment x verdict), the false accusations per segment and one
line per run, and asserts: at least ``MIN_ACCURACY`` correct, no named segment (device,
home network, ISP, interconnect, server) where the cause lies elsewhere, and no stall in
the unimpaired run.

Also: the unprivileged run (``nobody``) with ICMP allowed by ``ping_group_range``, and with
ICMP forbidden (``1 0``), where the report must say which probe method was used and why.

Root only (namespaces, tc); run alone with ``pytest -m netem tests/testbed/test_matrix.py -s``.
Environment knobs: ``STALLWATCH_MATRIX_RUNS`` (default 2), ``STALLWATCH_MATRIX_DURATION``
(seconds of playback per run, default 8), ``STALLWATCH_MATRIX_ONLY`` (scenario names),
``STALLWATCH_MATRIX_ICMP`` (``allowed,forbidden`` by default; either alone),
``STALLWATCH_MATRIX_TOPOLOGY`` (``reference`` by default; ``realistic``: the real-world-like
tree of :mod:`tests.testbed.realistic`, other names and addresses, delay lines, a 20 Mbit/s
access link and a 1/3/6 Mbit/s ladder).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import realistic as R
from . import scenarios as S
from .topology import Topology, tools_available

pytestmark = [
    pytest.mark.netem,
    pytest.mark.skipif(os.geteuid() != 0, reason="namespace testbed needs root (ip netns, tc)"),
]

# 2 runs of each of the 19 scenario x sender pairs (38 runs, as many as 3 runs of the 13
# pairs before the household, policer and rate-limited scenarios came): the suite's time
# ... now once per ICMP mode: 1 run of each pair per mode keeps the suite's time, and the
# standalone acceptance run takes STALLWATCH_MATRIX_RUNS=2 or more)
RUNS = int(os.environ.get("STALLWATCH_MATRIX_RUNS", "1"))
DURATION_S = float(os.environ.get("STALLWATCH_MATRIX_DURATION", "8"))
ONLY = {n for n in os.environ.get("STALLWATCH_MATRIX_ONLY", "").split(",") if n}
MIN_ACCURACY = 0.9
ALL_GROUPS = (0, 2147483647)
NO_GROUPS = (1, 0)
TOPOLOGY = os.environ.get("STALLWATCH_MATRIX_TOPOLOGY", "reference")
ICMP_MODES = {"allowed": ALL_GROUPS, "forbidden": NO_GROUPS}
MODES = [m for m in os.environ.get("STALLWATCH_MATRIX_ICMP", "allowed,forbidden").split(",") if m]


@pytest.fixture(scope="module")
def testbed() -> Iterator[tuple[Topology, S.Roles]]:
    ok, why = tools_available()
    if not ok:
        pytest.skip(why)

    def _interrupt(*_a: object) -> None:  # SIGTERM (e.g. a CI timeout): still tear down
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _interrupt)
    assert TOPOLOGY in ("reference", "realistic"), TOPOLOGY
    topo = S.matrix_topology() if TOPOLOGY == "reference" else R.realistic_topology()
    try:
        topo.build()
        yield topo, S.roles_for(topo) if TOPOLOGY == "reference" else R.realistic_roles(topo)
    finally:
        topo.teardown()
        signal.signal(signal.SIGTERM, old)


@pytest.fixture(scope="module")
def stream_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, S.StreamInfo]:
    from player.demo.media import ffmpeg_available

    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed")
    d = tmp_path_factory.mktemp("matrix") / "hls"
    return d, S.make_stream(d) if TOPOLOGY == "reference" else R.make_realistic_stream(d)


def _print_results(results: list[dict[str, Any]], title: str) -> None:
    print(f"\n=== {title}: {len(results)} runs ===")
    for r in results:
        print(S.result_line(r))
    print(S.confusion_matrix(results))
    print(f"accuracy {S.accuracy(results):.1%}; false isp verdicts {len(S.false_isp(results))}")
    print("false accusations by segment:", S.false_accusations(results))


@pytest.mark.timeout(3600)
def test_matrix(testbed: tuple[Topology, S.Roles], stream_dir: tuple[Path, S.StreamInfo]) -> None:
    topo, roles = testbed
    media, stream = stream_dir
    assert MODES and set(MODES) <= set(ICMP_MODES), MODES
    results: list[dict[str, Any]] = []
    t0 = time.monotonic()
    try:
        for mode in MODES:
            topo.set_ping_group_range(roles["client"], *ICMP_MODES[mode])
            for sc in S.default_scenarios():
                if ONLY and sc.name not in ONLY:
                    continue
                for cc in sc.ccs:  # cubic and BBR back to back on the same topology
                    for _ in range(RUNS):
                        r = S.run_scenario(
                            topo, sc, media, cc, DURATION_S, roles=roles, stream=stream
                        )
                        r["icmp"] = mode
                        results.append(r)
                        print(f"[icmp {mode}] {S.result_line(r)}", flush=True)
                        if r["report"] is None:
                            print(f"   rc={r['rc']} stderr: {r['stderr'][-800:]}", flush=True)
    finally:
        topo.set_ping_group_range(roles["client"], *ALL_GROUPS)
        topo.reset()
        if results:
            for mode in MODES:
                mine = [r for r in results if r["icmp"] == mode]
                if mine:
                    _print_results(mine, f"matrix, ICMP {mode}")
            _print_results(results, f"matrix, all ({time.monotonic() - t0:.0f} s)")
    out = os.environ.get("STALLWATCH_MATRIX_JSON")
    if out:
        Path(out).write_text(json.dumps(results, indent=1, default=str))

    assert all(r["report"] is not None for r in results), [
        (r["scenario"], r["rc"], r["stderr"][-300:]) for r in results if r["report"] is None
    ]
    wrong_isp = S.false_isp(results)
    assert not wrong_isp, [(r["scenario"], r["cc"], r["evidence"]) for r in wrong_isp]
    accused = S.false_accusations(results)
    assert not any(accused.values()), (accused, [
        (r["scenario"], r["cc"], r["got"], r["evidence"]) for r in results
        if r["got"] in S.ACCUSED and r["got"] != r["expected"]])  # fmt: skip
    for r in results:
        if r["expected"] == "none":
            assert r["stalls"] == 0, ("unimpaired run stalled", r["report"]["qoe"])
    assert S.accuracy(results) >= MIN_ACCURACY, S.confusion_matrix(results)


def _method_evidence(report: dict[str, Any]) -> str:
    """Every text in the report that can say how the path was probed."""
    parts = [json.dumps(report.get("probe") or report.get("path_probe") or {})]
    parts += [e["text"] for e in report["verdict"].get("evidence", [])]
    for st in report.get("stalls") or []:
        parts += [e["text"] for e in (st.get("verdict") or {}).get("evidence", [])]
    parts.append(json.dumps(report.get("path") or []))
    parts.append(json.dumps(report.get("fetches") or {}))
    return "\n".join(parts)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("icmp", [True, False], ids=["icmp-allowed", "icmp-forbidden"])
def test_unprivileged_diagnose(
    testbed: tuple[Topology, S.Roles], stream_dir: tuple[Path, S.StreamInfo], icmp: bool
) -> None:
    """``nobody`` runs diagnose through the ISP-access scenario. With ICMP allowed the ISP
    is named; with ICMP forbidden probing degrades to another method (or to unknown) and
    the report says so and why."""
    topo, roles = testbed
    media, stream = stream_dir
    client = roles["client"]
    groups = ALL_GROUPS if icmp else NO_GROUPS
    topo.set_ping_group_range(client, *groups)
    try:
        r = S.run_scenario(
            topo,
            S.scenario("isp_access_slow"),
            media,
            "cubic",
            DURATION_S,
            roles=roles,
            stream=stream,
            unprivileged=True,
        )
    finally:
        topo.set_ping_group_range(client, *ALL_GROUPS)
    print(S.result_line(r))
    report = r["report"]
    assert report is not None, (r["rc"], r["stderr"])
    assert r["got"] != "none" and r["stalls"] > 0
    probe = report.get("probe") or {}
    text = _method_evidence(report)
    print(f"probe method/evidence: {probe or text[:400]}")
    if icmp:
        assert r["got"] == "isp", r["evidence"]
        assert not probe or probe.get("method") == "icmp", probe
    else:
        # the next method (UDP / TCP TTL-limited probes) or unknown, with the reason
        assert r["got"] in ("isp", "unknown"), r["evidence"]
        assert "ping_group_range" in text or "ICMP not permitted" in text, text[:2000]
        if probe:
            assert probe.get("method") in ("udp", "tcp", "none"), probe
