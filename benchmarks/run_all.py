"""Run every benchmark in ``benchmarks/`` once, short: ``.venv/bin/python benchmarks/run_all.py``.

Discovers ``benchmarks/bench_*.py`` and runs each in turn with ``--quick`` (a benchmark
without that option gets its short options from :data:`QUICK_ARGS`, or is skipped), passing
their tables through to stdout, then prints a summary: ok / skipped (with the reason the
benchmark gave) / failed, and the wall time of each.

A benchmark says that its set-up is unavailable (no root, no chromium, no ffmpeg...) by a
line ``skipped: REASON`` on stderr or stdout (``bench_attribution.py`` does), or by exit
status 77; that is reported as skipped, not failed. ``--full`` runs them without
``--quick``; ``--only``/``--skip`` take comma-separated names (``abr``, ``bench_abr``,
``bench_abr.py`` all work).
"""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import setup_logging, table  # noqa: E402

log = logging.getLogger("bench.run_all")

EXIT_SKIPPED = 77  # the automake/ctest convention for "could not run here"
SKIP_RE = re.compile(r"^\s*skipped:\s*(.+)$", re.IGNORECASE)
# Short runs of benchmarks that have no --quick option (their own options, same figures).
QUICK_ARGS: dict[str, list[str]] = {
    "bench_attribution.py": ["--only", "isp_access_slow,server_app_slow", "--no-bbr"],
}
DEFAULT_TIMEOUT_S = 45 * 60  # one benchmark; a hung one is killed and reported failed
HELP_TIMEOUT_S = 120


@dataclass
class Outcome:
    name: str
    status: str  # ok | skipped | failed
    seconds: float
    reason: str = ""


def discover(only: set[str], skip: set[str]) -> list[Path]:
    def key(p: Path) -> set[str]:
        return {p.name, p.stem, p.stem.removeprefix("bench_")}

    found = sorted(HERE.glob("bench_*.py"))
    return [p for p in found if (not only or key(p) & only) and not key(p) & skip]


def accepts_quick(script: Path) -> bool:
    try:
        cp = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                            timeout=HELP_TIMEOUT_S, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return False
    return "--quick" in cp.stdout


def _pump(stream, sink, keep: list[str]) -> None:  # noqa: ANN001
    for line in stream:
        keep.append(line)
        sink.write(line)
        sink.flush()


def run_one(script: Path, args: list[str], timeout: float, show_stderr: bool) -> Outcome:
    t0 = time.monotonic()
    print(f"\n=== {script.name} {' '.join(args)} ===", flush=True)
    proc = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=HERE.parent)  # fmt: skip
    out: list[str] = []
    err: list[str] = []

    class _Null:
        def write(self, _s: str) -> None: ...
        def flush(self) -> None: ...

    threads = [
        threading.Thread(target=_pump, args=(proc.stdout, sys.stdout, out), daemon=True),
        threading.Thread(
            target=_pump,
            args=(proc.stderr, sys.stderr if show_stderr else _Null(), err),
            daemon=True,
        ),
    ]
    for t in threads:
        t.start()
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        for t in threads:
            t.join(5)
        return Outcome(
            script.name, "failed", time.monotonic() - t0, f"killed after {timeout:.0f} s"
        )
    for t in threads:
        t.join(5)
    dt = time.monotonic() - t0
    skipped = next((m.group(1).strip() for line in err + out if (m := SKIP_RE.match(line))), None)
    produced = any(line.strip() and not SKIP_RE.match(line) for line in out)
    if rc == EXIT_SKIPPED or (skipped and (rc == 1 or (rc == 0 and not produced))):
        return Outcome(script.name, "skipped", dt, skipped or f"exit status {rc}")
    if skipped and rc == 0:  # it ran, but said that a part of it could not
        return Outcome(script.name, "ok", dt, f"partly skipped: {skipped}")
    if rc != 0:
        tail = " | ".join(line.strip() for line in err[-3:])
        return Outcome(script.name, "failed", dt, f"exit status {rc}: {tail}"[:300])
    return Outcome(script.name, "ok", dt)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--full", action="store_true", help="run each benchmark without --quick")
    p.add_argument("--quick", action="store_true", help="the default (accepted for symmetry)")
    p.add_argument("--only", default="", help="comma-separated benchmark names")
    p.add_argument("--skip", default="", help="comma-separated benchmark names to leave out")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per benchmark")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="also pass the benchmarks' stderr through",
    )
    a = p.parse_args(argv)
    setup_logging(a.verbose)
    scripts = discover({s for s in a.only.split(",") if s}, {s for s in a.skip.split(",") if s})
    if a.list:
        print("\n".join(s.name for s in scripts))
        return 0
    outcomes: list[Outcome] = []
    for script in scripts:
        if a.full:
            args: list[str] = []
        elif accepts_quick(script):
            args = ["--quick"]
        elif script.name in QUICK_ARGS:
            args = QUICK_ARGS[script.name]
        else:
            outcomes.append(
                Outcome(script.name, "skipped", 0.0, "no --quick option (run it by hand)")
            )
            continue
        outcomes.append(run_one(script, args, a.timeout, a.verbose > 0))
    print("\n=== summary ===")
    rows = [[o.name, o.status, f"{o.seconds:.0f} s", o.reason] for o in outcomes]
    print(table(["benchmark", "status", "time", "reason"], rows))
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
