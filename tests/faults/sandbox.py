"""Faults that change the process's world, run in a child pytest so the parent stays clean.

- :func:`rerun_in_child` runs one test again in a child process (optionally under a
  wrapper such as ``unshare --mount``); the test sees :func:`in_child` true there.
- :func:`private_name_service` (child, in its own mount namespace): ``/etc/hosts`` and
  ``/etc/resolv.conf`` bind-mounted from files the test edits, so a host name resolves,
  then stops resolving, for real (glibc reads ``/etc/hosts`` at every lookup; the name
  server is 127.0.0.1:53 where nothing listens, so no query leaves the machine).
- :func:`forbid_probe_sockets` (child): a seccomp filter, as a sandbox (Flatpak, a
  systemd ``SystemCallFilter``, a locked-down container) imposes one, refusing datagram
  sockets (ICMP echo, UDP) and TTL changes (``IP_TTL``/``IPV6_UNICAST_HOPS``) with EPERM,
  while ordinary TCP (the video) works: no probe method of player/net/path can run.
- :func:`require_or_skip`: every "this machine cannot stage the fault" skip of the
  campaign (no ffmpeg, no root for a tmpfs, no mount namespace, no seccomp) goes through
  it, and fails instead under ``STALLWATCH_REQUIRE_FAULTS=1`` (CI, .ci/run).
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

CHILD_ENV = "STALLWATCH_FAULT_CHILD"  # the node id of the test the child runs
# "1" (CI sets it): a fault this machine cannot stage fails the test instead of skipping it,
# so a CI image that lost root, ffmpeg, unshare or seccomp cannot quietly drop the campaign.
# Children inherit it (rerun_in_child passes the environment on).
REQUIRE_ENV = "STALLWATCH_REQUIRE_FAULTS"
CHILD_TIMEOUT_S = 240.0  # a child's whole pytest run; only ends a hang
REPO = Path(__file__).resolve().parents[2]


def require_or_skip(reason: str) -> NoReturn:
    """Skip: this machine cannot stage the fault (``reason``); fail under ``REQUIRE_ENV=1``."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1: this fault must run here, not be skipped)")
    pytest.skip(reason)


def in_child(nodeid: str) -> bool:
    return os.environ.get(CHILD_ENV) == nodeid


def rerun_in_child(request: pytest.FixtureRequest, wrapper: tuple[str, ...] = ()) -> None:
    """Run the calling test in a child pytest (under ``wrapper``); fail with its output."""
    nodeid = request.node.nodeid
    env = {**os.environ, CHILD_ENV: nodeid}
    cmd = [*wrapper, sys.executable, "-m", "pytest", nodeid, "-q", "-p", "no:cacheprovider", "-x"]
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )
    out = (proc.stdout + proc.stderr)[-6000:]
    if "1 skipped" in proc.stdout and proc.returncode == 0:
        require_or_skip(f"skipped in the child: {out}")
    assert proc.returncode == 0, f"child test failed (rc {proc.returncode}):\n{out}"
    assert "1 passed" in proc.stdout, out


def mount_namespace_wrapper() -> tuple[str, ...]:
    """``unshare --mount`` (root) or with a user namespace (unprivileged); skip without it."""
    if not shutil.which("unshare") or not shutil.which("mount"):
        require_or_skip("unshare/mount are not installed")
    if os.geteuid() == 0:
        wrapper: tuple[str, ...] = ("unshare", "--mount", "--propagation", "private", "--")
    else:
        wrapper = (
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "--propagation",
            "private",
            "--",
        )
    probe = subprocess.run([*wrapper, "true"], capture_output=True, text=True, timeout=10)
    if probe.returncode != 0:
        require_or_skip(f"no private mount namespace here: {probe.stderr.strip()}")
    return wrapper


class NameService:
    """The child's private ``/etc/hosts``: :meth:`add` and :meth:`remove` a name, for real."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.hosts = workdir / "hosts"
        self.resolv = workdir / "resolv.conf"
        self.base = Path("/etc/hosts").read_text(encoding="utf-8")
        self.hosts.write_text(self.base, encoding="utf-8")
        self.resolv.write_text(
            "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n", encoding="utf-8"
        )
        for src, dst in ((self.hosts, "/etc/hosts"), (self.resolv, "/etc/resolv.conf")):
            done = subprocess.run(
                ["mount", "--bind", str(src), dst], capture_output=True, text=True, timeout=10
            )
            if done.returncode != 0:
                require_or_skip(f"cannot bind-mount {dst}: {done.stderr.strip()}")

    def _write(self, text: str) -> None:
        # in place (the bind mount pins the inode): truncate and write, no rename
        with open(self.hosts, "w", encoding="utf-8") as f:
            f.write(text)

    def add(self, name: str, address: str = "127.0.0.1") -> None:
        self._write(f"{self.base.rstrip()}\n{address} {name}\n")

    def remove(self, name: str) -> None:  # noqa: ARG002 - the base file never had it
        self._write(self.base)


def private_name_service(workdir: Path) -> NameService:
    """Bind-mount editable hosts/resolv.conf (call only inside the child's mount namespace)."""
    return NameService(workdir)


# --- seccomp --------------------------------------------------------------------------------
# BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_ALU|AND|K, BPF_RET|K
_LD, _JEQ, _AND, _RET = 0x20, 0x15, 0x54, 0x06
_ALLOW, _DENY = 0x7FFF0000, 0x00050000 | errno.EPERM  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO|EPERM
_AUDIT_ARCH_X86_64 = 0xC000003E
_NR_SOCKET, _NR_SETSOCKOPT, _NR_SECCOMP = 41, 54, 317  # x86_64
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_TSYNC = 1, 1
# struct seccomp_data: nr @0, arch @4, ip @8, args[0..5] @16, 24, 32 ... (low 32 bits read)
_PROGRAM = [
    ("ld", 4), ("jeq", _AUDIT_ARCH_X86_64, None, "ALLOW"),
    ("ld", 0), ("jeq", _NR_SOCKET, "SOCKET", None), ("jeq", _NR_SETSOCKOPT, "SETSOCKOPT", "ALLOW"),
    "SOCKET", ("ld", 16), ("jeq", 2, "TYPE", None), ("jeq", 10, "TYPE", "ALLOW"),  # AF_INET, AF_INET6
    "TYPE", ("ld", 24), ("and", 0xF), ("jeq", 2, "DENY", "ALLOW"),  # SOCK_DGRAM (flags masked)
    "SETSOCKOPT", ("ld", 24), ("jeq", 0, "IPOPT", None), ("jeq", 41, "IPV6OPT", "ALLOW"),
    "IPOPT", ("ld", 32), ("jeq", 2, "DENY", "ALLOW"),  # IPPROTO_IP, IP_TTL
    "IPV6OPT", ("ld", 32), ("jeq", 16, "DENY", "ALLOW"),  # IPPROTO_IPV6, IPV6_UNICAST_HOPS
    "ALLOW", ("ret", _ALLOW), "DENY", ("ret", _DENY),
]  # fmt: skip


def _assemble(program: list) -> tuple[bytes, int]:
    labels: dict[str, int] = {}
    ins: list[tuple] = []
    for item in program:
        if isinstance(item, str):
            labels[item] = len(ins)
        else:
            ins.append(item)
    code = b""
    for pc, (op, k, *jumps) in enumerate(ins):
        if op == "jeq":
            jt, jf = (0 if j is None else labels[j] - pc - 1 for j in jumps)
            code += struct.pack("HBBI", _JEQ, jt, jf, k)
        else:
            code += struct.pack("HBBI", {"ld": _LD, "and": _AND, "ret": _RET}[op], 0, 0, k)
    return code, len(ins)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def forbid_probe_sockets() -> None:
    """Install the filter on every thread of this process, for good (child only)."""
    if os.uname().machine != "x86_64":
        require_or_skip("the seccomp filter is written for x86_64")
    code, n = _assemble(_PROGRAM)
    buf = ctypes.create_string_buffer(code, len(code))
    prog = _SockFprog(n, ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        require_or_skip(f"prctl(NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}")
    rc = libc.syscall(
        _NR_SECCOMP, _SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(prog)
    )
    if rc != 0:
        require_or_skip(f"seccomp is not available: {os.strerror(ctypes.get_errno())}")
