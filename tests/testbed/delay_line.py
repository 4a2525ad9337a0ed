"""A userspace delay line: a "cable" between two network namespaces with propagation delay.

The kernel here has no ``sch_netem``, so a link with delay is built from two TAP devices,
one in each namespace, and one forwarder process that reads every Ethernet frame from one
TAP, keeps it for the one-way delay and writes it into the other TAP::

    ns a: <ifname a> (tap) ==fd==> [forwarder: FIFO per direction] ==fd==> <ifname b> (tap) :ns b

The forwarder is its own process (``python delay_line.py --ns-a ... --ns-b ...``), started
and stopped by :class:`DelayLine` (and so by :class:`tests.testbed.topology.Topology` for a
``Link(..., delay_ms=...)``). It opens ``/dev/net/tun`` once inside each namespace (Python
3.11 has no ``os.setns``: ``setns(2)`` through ctypes), so the TAP devices are born in their
namespaces and disappear when the forwarder exits: a dead forwarder cannot leave devices
behind. It then stays in namespace ``a``, so ``ip netns pids`` lists it and deleting that
namespace kills it. It also exits when its stdin reaches EOF, i.e. when the process that
started it dies, so no forwarder outlives its testbed.

Per direction and per frame (``LineSpec``):

* release time = arrival + ``delay_s`` + uniform(0, ``jitter_s``), never earlier than the
  previous frame's release: jitter never reorders (a cable does not), and under a burst the
  jitter of consecutive frames is correlated;
* optional ``rate_bps``: the frame is first serialised at that rate behind the frames before
  it (a drop-tail queue of at most ``queue_s`` of waiting time), then propagates. The usual
  bottleneck is still a ``tbf`` on the TAP's egress (``Topology.shape``), which also works.

Since the delay is the same for every frame of a direction, each direction is a FIFO
(a deque, no heap); one ``epoll`` loop waits for frames or for the next release.

Capacity (``python -m tests.testbed.line_capacity``, one cubic flow through a 20 ms line
on the shared 2-core box at load 4-5, see ``CAPACITY_NOTE``): a line with a tbf cap of
20 / 50 / 100 Mbit/s carries 18.9 / 45.7 / 89.5 Mbit/s (2500 / 5500 / 9700 frames/s,
both directions) using 14-20 % of one core, and releases 98-99 % of the frames within
5 ms of their due time (worst seen 17-55 ms: the box not scheduling the forwarder).
Unshaped, it carries ~240 Mbit/s (25 000 frames/s, ~30 % of a core, 6 % of frames > 5 ms
late); past that the forwarder falls behind and its lateness becomes queueing delay.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import fcntl
import json
import logging
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# --- constants ------------------------------------------------------------------------
TUN_DEVICE = "/dev/net/tun"
NETNS_RUN = Path("/run/netns")  # where `ip netns add` mounts the namespaces
TUNSETIFF = 0x400454CA  # _IOW('T', 202, int)
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000  # frames without the 4-byte packet-information header
CLONE_NEWNET = 0x40000000
IFNAMSIZ = 16
#: Largest frame read at once: a 9000-byte jumbo MTU plus the Ethernet header fits.
MAX_FRAME = 9216
#: Frames read from one TAP per wake-up before the other direction and the releases get a
#: turn (fairness under a flood; a 1 ms burst at 50 Mbit/s is ~4 frames, so rarely reached).
READ_BATCH = 64
#: Frames held in flight per direction before new ones are dropped: 50 Mbit/s x 200 ms of
#: 1500-byte frames is ~840, so only a stuck writer or a huge delay ever reaches this.
MAX_IN_FLIGHT = 20_000
#: Default waiting time of the rate cap's drop-tail queue (like tbf's ``latency``).
DEFAULT_QUEUE_S = 0.2
#: How long :meth:`DelayLine.start` waits for the forwarder's TAPs (ends hangs only).
READY_TIMEOUT_S = 15.0
STOP_GRACE_S = 2.0
#: TAP transmit ring (frames the kernel holds for the forwarder before dropping): the tun
#: default is 500; 1000 absorbs a ~0.2 s stall of the forwarder at 50 Mbit/s.
TAP_TXQUEUELEN = 1000
#: The forwarder's nice value: slightly ahead of ordinary processes, so that on a busy box
#: the line's delay stays near its setting (lateness is logged in the stop statistics).
#: At the tbf-capped rates used here it needs well under one core.
FORWARDER_NICE = -5
READY_LINE = "ready"
CAPACITY_NOTE = (
    "one forwarder carries a tbf-capped 20-100 Mbit/s flow with 98-99 % of frames within "
    "5 ms of due (14-20 % of a core) and ~240 Mbit/s unshaped on the shared 2-core box; "
    "realistic links (5-50 Mbit/s) are well inside that"
)


@dataclass(frozen=True)
class LineSpec:
    """One direction of a delay line."""

    delay_s: float
    jitter_s: float = 0.0
    rate_bps: float | None = None
    queue_s: float = DEFAULT_QUEUE_S

    def __post_init__(self) -> None:
        if self.delay_s < 0 or self.jitter_s < 0 or self.queue_s < 0:
            raise ValueError("delay, jitter and queue must be >= 0")
        if self.rate_bps is not None and self.rate_bps <= 0:
            raise ValueError("rate must be > 0")


@dataclass
class DirectionStats:
    frames: int = 0
    bytes: int = 0
    dropped: int = 0
    write_errors: int = 0  # e.g. a frame for a TAP not yet up while the topology builds
    max_in_flight: int = 0
    late_max_ms: float = 0.0  # how much later than due a frame was written
    late_over_2ms: int = 0
    late_over_5ms: int = 0


@dataclass
class Direction:
    """Frames from one TAP on their way to the other, in release order."""

    spec: LineSpec
    out_fd: int
    rng: random.Random
    queue: deque[tuple[float, bytes]] = field(default_factory=deque)
    last_release: float = 0.0
    busy_until: float = 0.0  # when the rate cap's transmitter is free again
    stats: DirectionStats = field(default_factory=DirectionStats)

    def admit(self, frame: bytes, now: float) -> None:
        spec = self.spec
        if len(self.queue) >= MAX_IN_FLIGHT:
            self.stats.dropped += 1
            return
        if spec.rate_bps:
            start = max(now, self.busy_until)
            if start - now > spec.queue_s:
                self.stats.dropped += 1
                return
            self.busy_until = start + len(frame) * 8 / spec.rate_bps
            due = self.busy_until + spec.delay_s
        else:
            due = now + spec.delay_s
        if spec.jitter_s:
            due += self.rng.uniform(0.0, spec.jitter_s)
        if due < self.last_release:
            due = self.last_release  # never overtake the frame before
        self.last_release = due
        self.queue.append((due, frame))
        if len(self.queue) > self.stats.max_in_flight:
            self.stats.max_in_flight = len(self.queue)

    def release(self, now: float) -> None:
        q, st = self.queue, self.stats
        while q and q[0][0] <= now:
            due, frame = q.popleft()
            late = now - due
            if late > 0.002:
                st.late_over_2ms += 1
                if late > 0.005:
                    st.late_over_5ms += 1
                if late * 1000 > st.late_max_ms:
                    st.late_max_ms = late * 1000
            try:
                os.write(self.out_fd, frame)
            except OSError:  # e.g. the other TAP is down: a lost frame, as on a cable
                st.write_errors += 1
                continue
            st.frames += 1
            st.bytes += len(frame)

    def next_due(self) -> float | None:
        return self.queue[0][0] if self.queue else None


# --- namespaces and TAPs (run in the forwarder) ---------------------------------------
_libc: ctypes.CDLL | None = None


def _setns(fd: int) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def enter_netns(ns: str) -> None:
    """Move this (single-threaded) process into the named network namespace."""
    fd = os.open(NETNS_RUN / ns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(fd)
    finally:
        os.close(fd)


def open_tap(ifname: str) -> int:
    """Create TAP ``ifname`` in the current namespace; it lives as long as the fd."""
    if len(ifname.encode()) >= IFNAMSIZ:
        raise ValueError(f"interface name too long: {ifname}")
    fd = os.open(TUN_DEVICE, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        ifr = struct.pack("16sH22x", ifname.encode(), IFF_TAP | IFF_NO_PI)
        fcntl.ioctl(fd, TUNSETIFF, ifr)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _set_txqueuelen(ns: str, ifname: str) -> None:
    subprocess.run(
        ["ip", "-n", ns, "link", "set", "dev", ifname, "txqueuelen", str(TAP_TXQUEUELEN)],
        check=False,
        capture_output=True,
        timeout=10,
    )


class _Stop(Exception):
    pass


def _on_term(_signum: int, _frame: object) -> None:
    raise _Stop


def forward(
    fd_a: int,
    fd_b: int,
    a_to_b: LineSpec,
    b_to_a: LineSpec,
    *,
    seed: int = 0,
    control_fd: int | None = None,
) -> dict[str, DirectionStats]:
    """Move frames between the two TAP fds until SIGTERM/SIGINT or EOF on ``control_fd``."""
    rng = random.Random(seed)
    ab = Direction(a_to_b, fd_b, rng)
    ba = Direction(b_to_a, fd_a, rng)
    by_fd = {fd_a: ab, fd_b: ba}
    ep = select.epoll()
    ep.register(fd_a, select.EPOLLIN)
    ep.register(fd_b, select.EPOLLIN)
    if control_fd is not None:
        ep.register(control_fd, select.EPOLLIN | select.EPOLLHUP)
    monotonic, read = time.monotonic, os.read
    try:
        while True:
            now = monotonic()
            ab.release(now)
            ba.release(now)
            dues = [d for d in (ab.next_due(), ba.next_due()) if d is not None]
            timeout = max(0.0, min(dues) - monotonic()) if dues else -1
            events = ep.poll(timeout)
            now = monotonic()
            for fd, _ev in events:
                if fd == control_fd:
                    return {"a_to_b": ab.stats, "b_to_a": ba.stats}
                d = by_fd[fd]
                for _ in range(READ_BATCH):
                    try:
                        frame = read(fd, MAX_FRAME)
                    except BlockingIOError:
                        break
                    except OSError:  # the TAP went away (namespace deleted)
                        return {"a_to_b": ab.stats, "b_to_a": ba.stats}
                    d.admit(frame, now)
    except _Stop:
        return {"a_to_b": ab.stats, "b_to_a": ba.stats}
    finally:
        ep.close()


def forwarder_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="userspace delay line between two namespaces")
    p.add_argument("--ns-a", required=True)
    p.add_argument("--if-a", required=True)
    p.add_argument("--ns-b", required=True)
    p.add_argument("--if-b", required=True)
    p.add_argument("--spec-ab", required=True, help="JSON LineSpec for a -> b")
    p.add_argument("--spec-ba", required=True, help="JSON LineSpec for b -> a")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    with contextlib.suppress(OSError):
        os.nice(FORWARDER_NICE)
    ab = LineSpec(**json.loads(a.spec_ab))
    ba = LineSpec(**json.loads(a.spec_ba))
    enter_netns(a.ns_b)
    fd_b = open_tap(a.if_b)
    enter_netns(a.ns_a)  # stay in a: `ip netns pids <a>` lists this process
    fd_a = open_tap(a.if_a)
    _set_txqueuelen(a.ns_a, a.if_a)
    _set_txqueuelen(a.ns_b, a.if_b)
    os.set_blocking(sys.stdin.fileno(), False)
    sys.stdout.write(READY_LINE + "\n")
    sys.stdout.flush()
    try:
        stats = forward(fd_a, fd_b, ab, ba, seed=a.seed, control_fd=sys.stdin.fileno())
    except _Stop:  # a signal between setup and the loop
        stats = {}
    with contextlib.suppress(OSError):
        sys.stdout.write(json.dumps({k: asdict(v) for k, v in stats.items()}) + "\n")
        sys.stdout.flush()
    return 0


# --- the parent's handle ---------------------------------------------------------------
class DelayLine:
    """A running forwarder joining ``if_a`` in ``ns_a`` to ``if_b`` in ``ns_b``.

    ``start()`` returns once both TAPs exist (down, without addresses: configure them like
    veth ends); ``stop()`` ends the forwarder (both TAPs vanish) and returns its statistics.
    """

    def __init__(
        self,
        ns_a: str,
        if_a: str,
        ns_b: str,
        if_b: str,
        a_to_b: LineSpec,
        b_to_a: LineSpec | None = None,
        *,
        seed: int = 0,
    ) -> None:
        self.ns_a, self.if_a, self.ns_b, self.if_b = ns_a, if_a, ns_b, if_b
        self.a_to_b = a_to_b
        self.b_to_a = b_to_a or a_to_b
        self.seed = seed
        self.proc: subprocess.Popen[str] | None = None
        self.stats: dict[str, Any] = {}

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def argv(self) -> list[str]:
        return [
            sys.executable, str(Path(__file__).resolve()),
            "--ns-a", self.ns_a, "--if-a", self.if_a, "--ns-b", self.ns_b, "--if-b", self.if_b,
            "--spec-ab", json.dumps(asdict(self.a_to_b)),
            "--spec-ba", json.dumps(asdict(self.b_to_a)),
            "--seed", str(self.seed),
        ]  # fmt: skip

    def start(self) -> DelayLine:
        if self.proc is not None:
            return self
        self.proc = subprocess.Popen(
            self.argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        ready = select.select([self.proc.stdout], [], [], READY_TIMEOUT_S)[0]
        line = self.proc.stdout.readline() if ready else ""
        if line.strip() != READY_LINE:
            err = ""
            if self.proc.poll() is not None and self.proc.stderr is not None:
                err = self.proc.stderr.read()[-2000:]
            self.stop()
            raise RuntimeError(f"delay line {self.ns_a}:{self.if_a} did not start: {err}")
        log.info(
            "delay line %s:%s <-> %s:%s up (pid %d, %s)",
            self.ns_a, self.if_a, self.ns_b, self.if_b, self.proc.pid, self.a_to_b,
        )  # fmt: skip
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> dict[str, Any]:
        """End the forwarder (SIGTERM, then SIGKILL); idempotent. Returns its statistics."""
        p, self.proc = self.proc, None
        if p is None:
            return self.stats
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        if p.stdin is not None:  # EOF stops it too; communicate() must not flush a closed pipe
            with contextlib.suppress(OSError):
                p.stdin.close()
            p.stdin = None
        try:
            out, _err = p.communicate(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            out, _err = p.communicate(timeout=STOP_GRACE_S)
        for line in (out or "").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    self.stats = json.loads(line)
        log.info("delay line %s:%s stopped: %s", self.ns_a, self.if_a, self.stats)
        return self.stats

    def __enter__(self) -> DelayLine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(forwarder_main())
