"""The video interface's counters, read for real in network namespaces (root).

Two namespaces joined by a veth pair; a child process in one downloads from a server in
the other and reads :class:`player.net.host_counters.InterfaceCounters` before and after.
A tun device (a VPN-like point-to-point interface) and loopback must give no counter. Needs
root and ``ip`` (CI runs as root); skipped elsewhere, a failure under
STALLWATCH_REQUIRE_FAULTS=1 (tests/faults/sandbox.require_or_skip).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.sandbox import require_or_skip

REPO = Path(__file__).resolve().parents[2]
PAYLOAD = 3_000_000  # bytes the child downloads through the veth
TIMEOUT_S = 60.0  # ends a hang only

CHILD = textwrap.dedent(
    """
    import json, socket, sys
    from player.net.host_counters import InterfaceCounters, interface_for
    from player.net.rx_meter import RECEIVED
    peer, tun_peer, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    c = InterfaceCounters()
    before = c.rx_bytes(peer)
    got = 0
    with socket.create_connection((peer, 8765), timeout=30) as s:
        while got < size:
            data = s.recv(65536)
            if not data:
                break
            got += len(data)
    after = c.rx_bytes(peer)
    print(json.dumps({
        "iface": interface_for(peer), "before": before, "after": after, "got": got,
        "loopback": interface_for("127.0.0.1"), "tun": interface_for(tun_peer),
        "tun_rx": InterfaceCounters().rx_bytes(tun_peer), "none": c.rx_bytes(None),
        "meter": RECEIVED.total(),
    }))
    """
)
SERVER = textwrap.dedent(
    """
    import socket, sys
    size = int(sys.argv[1])
    srv = socket.create_server(("10.77.0.2", 8765))
    print("ready", flush=True)
    conn, _ = srv.accept()
    conn.sendall(b"x" * size)
    conn.close()
    """
)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=TIMEOUT_S)


@pytest.fixture
def two_namespaces() -> Iterator[tuple[str, str]]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        require_or_skip("network namespaces need root and iproute2")
    a, b = f"swhc-a-{os.getpid()}", f"swhc-b-{os.getpid()}"
    try:
        _ip("netns", "add", a)
        _ip("netns", "add", b)
        _ip("link", "add", "swhc0", "netns", a, "type", "veth", "peer", "swhc1", "netns", b)
        for ns, dev, addr in ((a, "swhc0", "10.77.0.1/24"), (b, "swhc1", "10.77.0.2/24")):
            _ip("-n", ns, "addr", "add", addr, "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        # a VPN-like point-to-point interface in the client's namespace
        _ip("-n", a, "tuntap", "add", "dev", "swtun0", "mode", "tun")
        _ip("-n", a, "addr", "add", "10.88.0.1", "peer", "10.88.0.2", "dev", "swtun0")
        _ip("-n", a, "link", "set", "swtun0", "up")
        yield a, b
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=TIMEOUT_S)


def test_the_video_interface_counts_what_arrives_and_tunnels_give_none(two_namespaces) -> None:  # noqa: ANN001
    a, b = two_namespaces
    server = subprocess.Popen(
        ["ip", "netns", "exec", b, sys.executable, "-c", SERVER, str(PAYLOAD)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        out = subprocess.run(
            ["ip", "netns", "exec", a, sys.executable, "-c", CHILD, "10.77.0.2", "10.88.0.2",
             str(PAYLOAD)],
            capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=True,
        )  # fmt: skip
    finally:
        server.wait(timeout=TIMEOUT_S)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["got"] == PAYLOAD
    assert got["iface"] == "swhc0"
    received = got["after"] - got["before"]
    # the payload plus TCP/IP/Ethernet headers: within the overhead the core allows for
    assert PAYLOAD <= received <= PAYLOAD * 1.06, received
    assert got["loopback"] is None  # no network on loopback
    assert got["tun"] is None and got["tun_rx"] is None  # a tunnel shows only its own traffic
    assert got["none"] is None
    assert got["meter"] == 0  # raw sockets are not the player's HTTP bodies
