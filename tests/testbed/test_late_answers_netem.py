"""Answers behind a deep queue are evidence, not losses (namespace testbed, root only).

The reference topology (client - home - access - core - peer - edge - server) with a
slow access link whose tbf holds up to ``QUEUE_LATENCY`` of data (bufferbloat: seconds).
Our own bulk download fills it, so every answer from the access router on waits in that
queue, far longer than a probe round's timeout (0.45 s, the path monitor's). The prober
(run as ``nobody`` in the client namespace by ``late_agent.py``) must still hold those
hops' loaded samples as RTTs above the timeout, with few losses -- with ICMP echo
permitted and with it refused (``ping_group_range 1 0``: UDP probes) -- and a discovery
made under that load (timeout 1 s, the path monitor's) must not call them silent.

Nothing here is timed: the agent waits on conditions (enough late samples; rounds after
the judged ones) and the assertions are bands far from the values a working prober gives.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest

from .conftest import HTTP_PORT
from .harness import UNPRIVILEGED, _env
from .topology import Topology

log = logging.getLogger(__name__)

pytestmark = [
    pytest.mark.netem,
    pytest.mark.skipif(os.geteuid() != 0, reason="namespace testbed needs root (ip netns, tc)"),
]

AGENT = Path(__file__).resolve().parent / "late_agent.py"
NOBODY = 65534
# A slow access link (2 Mbit/s) whose queue may hold 1.6 s: a loss-based sender keeps it
# between ~1.1 s (after a back-off to 0.7 of its window) and full. Answers behind it come
# 1.1-1.6 s after the probe: well above the round timeout (0.45 s), and between the
# discovery's 1 s timeout and the end of its second attempt (2 s), where its late
# answers are taken.
RATE = "2mbit"
QUEUE_LATENCY = "1600ms"
PROBE_TIMEOUT_S = 0.45
DISCOVERY_TIMEOUT_S = 1.0
NEED_LATE = 6  # loaded samples answered after DEEP_MS, at every hop behind the queue
# The queue counts as deep once answers take a second (twice the round timeout, and the
# discovery's timeout): the samples judged are the loaded ones from then on.
DEEP_MS = 1000.0
AGENT_TIMEOUT_S = 240.0  # ends a hang only
MAX_LOSS = 0.35  # a tail-drop queue drops some answers at its peaks; "few", generously
ALL_GROUPS = (0, 2147483647)
NO_GROUPS = (1, 0)


def _agent(topo: Topology) -> dict:
    argv = [*UNPRIVILEGED, sys.executable, str(AGENT), "--host", topo.addr("server")]
    argv += ["--port", str(HTTP_PORT), "--probe-timeout", str(PROBE_TIMEOUT_S)]
    argv += ["--discovery-timeout", str(DISCOVERY_TIMEOUT_S), "--need", str(NEED_LATE)]
    argv += ["--deep-ms", str(DEEP_MS)]
    cp = topo.exec_in("client", argv, timeout=AGENT_TIMEOUT_S, env=_env(), check=False)
    assert cp.returncode == 0, cp.stderr[-3000:]
    return json.loads(cp.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("icmp", [True, False], ids=["icmp_allowed", "icmp_forbidden"])
def test_answers_behind_a_deep_queue_are_samples(
    topo: Topology, http_server: str, icmp: bool
) -> None:
    topo.set_ping_group_range("client", *(ALL_GROUPS if icmp else NO_GROUPS))
    topo.shape("access", "home", RATE, latency=QUEUE_LATENCY)
    out = _agent(topo)
    log.info("deep queue (%s): %s", "icmp" if icmp else "udp", json.dumps(out))
    assert out["uid"] == NOBODY
    assert out["method"] == ("icmp" if icmp else "udp")
    expected = [topo.addr(n) for n in ("home", "access", "core", "peer", "edge", "server")]
    assert out["idle_path"] == expected
    assert out["queue_seen"], out  # the waits ended on their conditions, not the deadline
    assert out["downloaded"] > 0
    timeout_ms = PROBE_TIMEOUT_S * 1000.0
    hops = out["hops"]
    home = hops["1"]  # before the queue: answered in time
    assert home["answered"] >= 0.9 * home["sent"] > 0 and home["late"] == 0, home
    for hop in ("2", "3", "4", "5", "6"):
        h = hops[hop]
        assert h["late"] >= NEED_LATE, (hop, h)  # answers after the round: samples
        assert h["median_ms"] > 2 * timeout_ms, (hop, h)  # the queue, measured
        assert h["max_ms"] < 10_000.0, (hop, h)  # within the horizon
        assert h["sent"] - h["answered"] <= MAX_LOSS * h["sent"], (hop, h)  # few losses
    assert out["late_samples"] >= 5 * NEED_LATE
    # discovery under the same load: the hops behind the queue answer after 1 s, and are
    # found all the same
    assert out["loaded_path"] == expected, out
    assert out["loaded_path_reached"] and out["loaded_path_late_hops"] >= 1, out
