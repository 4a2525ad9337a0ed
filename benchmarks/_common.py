"""Helpers shared by ``bench_player.py`` and ``run_all.py``: child processes, statistics, the
table. Benchmarks print only their table on stdout; diagnostics go to logging (stderr)."""

from __future__ import annotations

import json
import logging
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

log = logging.getLogger("bench")

# A child prints exactly one line starting with this, then its JSON result.
RESULT_MARK = "BENCH-RESULT "


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a benchmark child: Qt offscreen, the player's settings, history,
    logs and runtime files in ``home`` (never the real user's), no session bus."""
    env = dict(os.environ)
    for key, sub in (
        ("STALLWATCH_CONFIG_DIR", "config"),
        ("STALLWATCH_DATA_DIR", "data"),
        ("XDG_DATA_HOME", "xdg-data"),
        ("XDG_STATE_HOME", "xdg-state"),
        ("STALLWATCH_LOG_DIR", "log"),
        ("STALLWATCH_RUNTIME_DIR", "run"),
    ):
        env[key] = str(home / sub)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.setdefault("XDG_RUNTIME_DIR", str(home / "run"))
    (home / "run").mkdir(parents=True, exist_ok=True)
    os.chmod(home / "run", 0o700)
    env.update(extra)
    return env


def emit_result(result: dict[str, Any]) -> None:
    """A child's answer to its parent (the only thing a child writes to stdout)."""
    sys.stdout.write(RESULT_MARK + json.dumps(result) + "\n")
    sys.stdout.flush()


class ChildFailed(RuntimeError):
    pass


def start_child(script: Path, args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    cmd = [sys.executable, str(script), *args]
    log.info("child: %s", " ".join(cmd))
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_child(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """Wait for ``proc`` (killed after ``timeout``) and return its result."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise ChildFailed(f"child timed out after {timeout:.0f} s: {err.strip()[-800:]}") from None
    for line in err.splitlines()[-40:]:
        log.debug("child stderr: %s", line)
    for line in out.splitlines():
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :])
    raise ChildFailed(f"child exited {proc.returncode} without a result: {err.strip()[-800:]}")


def run_child(
    script: Path, args: Sequence[str], env: dict[str, str], timeout: float
) -> dict[str, Any]:
    return finish_child(start_child(script, args, env), timeout)


def median(xs: Sequence[float]) -> float:
    vals = [x for x in xs if x is not None and not math.isnan(x)]
    return statistics.median(vals) if vals else float("nan")


def ratio(a: float | None, b: float | None) -> float:
    if a is None or b is None or b == 0 or math.isnan(a) or math.isnan(b):
        return float("nan")
    return a / b


def fmt_num(x: float | None, unit: str = "", digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}g}{unit}" if abs(x) < 10**digits else f"{x:.0f}{unit}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, sep, *body])


class Stopwatch:
    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0
