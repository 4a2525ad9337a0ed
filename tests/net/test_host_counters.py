"""The video interface's counters, read for real in network namespaces (root).

Two namespaces joined by a veth pair; a child process in one downloads from a server in
the other and reads :class:`player.net.host_counters.InterfaceCounters` before and after.
A tun device (a VPN-like interface), loopback and this computer's own address must give no
interface; the player's bytes are counted by the real fetcher. Needs
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

from player.core import thresholds as T
from tests.faults.sandbox import require_or_skip

REPO = Path(__file__).resolve().parents[2]
PAYLOAD = 3_000_000  # bytes the child downloads through the veth
TIMEOUT_S = 60.0  # ends a hang only

CHILD = textwrap.dedent(
    """
    import json, sys
    from player.core.model import FetchKind
    from player.net.fetch import Fetcher
    from player.net.host_counters import TrafficReader, interface_for
    url, tun_peer = sys.argv[1], sys.argv[2]
    fetcher, reader = Fetcher(), TrafficReader()
    def download():
        tr = fetcher.open(url, FetchKind.SEGMENT)
        got = sum(len(c) for c in tr.chunks())
        tr.close()
        return got
    none_yet = reader.read()  # no upstream connection made yet: no peer, no reading
    download()
    before = reader.read()
    got = download()
    after = reader.read()
    print(json.dumps({
        "none_yet": none_yet is None, "got": got,
        "iface": interface_for("10.77.0.2"), "loopback": interface_for("127.0.0.1"),
        "self": interface_for("10.77.0.1"), "tun": interface_for(tun_peer),
        "host": after.host_rx_bytes - before.host_rx_bytes,
        "player": after.player_rx_bytes - before.player_rx_bytes,
    }))
    """
)
SERVER = textwrap.dedent(
    """
    import socket, sys
    size = int(sys.argv[1])
    srv = socket.create_server(("10.77.0.2", 8765))
    print("ready", flush=True)
    for _ in range(2):
        conn, _ = srv.accept()
        conn.recv(65536)  # the request
        head = f"HTTP/1.1 200 OK\\r\\nContent-Length: {size}\\r\\nConnection: close\\r\\n\\r\\n"
        conn.sendall(head.encode() + b"x" * size)
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


def test_the_interface_toward_the_server_counts_what_arrives(two_namespaces) -> None:  # noqa: ANN001
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
            ["ip", "netns", "exec", a, sys.executable, "-c", CHILD,
             "http://10.77.0.2:8765/video.bin", "10.88.0.2"],
            capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=True,
        )  # fmt: skip
    finally:
        server.wait(timeout=TIMEOUT_S)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["none_yet"]
    assert got["got"] == PAYLOAD
    assert got["iface"] == "swhc0"
    assert got["player"] == PAYLOAD  # every body byte, counted once
    # the interface saw the body plus TCP/IP/Ethernet headers: within the allowance
    assert PAYLOAD <= got["host"] <= PAYLOAD * T.HOST_RX_OVERHEAD, got["host"]
    assert got["loopback"] is None  # no network on loopback
    assert got["self"] is None  # an address of this computer: a local route
    assert got["tun"] is None  # a tunnel shows only its own traffic
