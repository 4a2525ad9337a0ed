"""Helpers for tests that drive :mod:`tests.testbed.agent` inside a topology."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .topology import Topology

AGENT = Path(__file__).resolve().parent / "agent.py"
REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
UNPRIVILEGED = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
READY_TIMEOUT_S = 10.0


def agent_argv(*args: str, unprivileged: bool = False) -> list[str]:
    """argv running the agent with this interpreter, optionally as ``nobody``."""
    argv = [sys.executable, str(AGENT), *args]
    return [*UNPRIVILEGED, *argv] if unprivileged else argv


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.pop("HTTP_PROXY", None)
    env.pop("HTTPS_PROXY", None)
    env.pop("http_proxy", None)
    env.pop("https_proxy", None)
    env["NO_PROXY"] = "*"
    return env


def run_agent(
    topo: Topology, node: str, *args: str, unprivileged: bool = False, timeout: float = 60.0
) -> dict[str, Any]:
    """Run an agent command to completion in ``node`` and parse the JSON it prints."""
    cp = topo.exec_in(
        node, agent_argv(*args, unprivileged=unprivileged), timeout=timeout, env=_env(), check=False
    )
    if cp.returncode != 0:
        raise RuntimeError(
            f"agent {args[0]} in {node} failed ({cp.returncode}):\n{cp.stderr[-3000:]}"
        )
    lines = [ln for ln in cp.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"agent {args[0]} printed no JSON:\n{cp.stdout}\n{cp.stderr[-3000:]}")
    return json.loads(lines[-1])


def start_agent(topo: Topology, node: str, *args: str) -> subprocess.Popen:
    """Start a long-running agent command (serve/sink/send) and wait for its "ready"."""
    p = topo.run_in(
        node,
        agent_argv(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    assert p.stdout is not None
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if line.strip() == "ready":
            return p
        if not line and p.poll() is not None:
            break
    topo.stop(p)
    raise RuntimeError(f"agent {args[0]} in {node} did not become ready")


@contextlib.contextmanager
def crowd(topo: Topology, sender: str, receiver: str, *, seconds: float = 30.0,
          port: int = 5001, cc: str | None = "cubic") -> Iterator[None]:
    """Bulk TCP traffic from ``sender`` to a sink in ``receiver`` while the block runs.

    The flow takes the tree path between them, so it crowds every link on that path in
    that direction (e.g. ``crowd(topo, "far", "neighbour")`` fills peer->core). ``cc``
    picks the sender's congestion control (the host default, bbr, keeps queues short).
    """
    sink = start_agent(topo, receiver, "sink", "--port", str(port), "--max-seconds",
                       str(seconds + 10))
    try:
        args = ["send", "--to", topo.addr(receiver, topo.path(receiver, sender)[1]),
                "--port", str(port), "--seconds", str(seconds)]
        if cc:
            args += ["--cc", cc]
        snd = start_agent(topo, sender, *args)
        try:
            yield
        finally:
            topo.stop(snd)
    finally:
        topo.stop(sink)
