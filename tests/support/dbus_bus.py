"""A private D-Bus session bus for a test (a real ``dbus-daemon``), and a separate client.

:class:`PrivateBus` starts ``dbus-daemon --nofork`` with its own config in a temp folder
(nothing is activated on demand: only the services a test starts exist on it), and
stops it. :func:`dbus_send` asks it from another process (``dbus-send``) while the
caller's Qt event loop keeps running, so a player in the test process can answer.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

DAEMON_START_TIMEOUT_S = 30  # dbus-daemon prints its address within milliseconds
CALL_TIMEOUT_S = 30  # ends a hang only; a call is answered within milliseconds
POLL_S = 0.05  # between two polls of a condition in another process

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


# QObjects a test exported on a bus (fake services, signal receivers) are kept for the
# whole run: if Python's garbage collector destroyed one, Qt would wait (holding the GIL)
# for QtDBus's thread, which may itself be waiting for the GIL to call into that object's
# Python wrapper: a deadlock (seen here). Objects Qt owns (parented) are not at risk.
KEEP_ALIVE: list[object] = []


def keep_alive(*objects: object) -> None:
    KEEP_ALIVE.extend(objects)


def require_dbus_tools() -> None:
    for tool in ("dbus-daemon", "dbus-send"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (bootstrap.py installs dbus-daemon and dbus-bin)")


class PrivateBus:
    """A real session bus of our own; ``address`` goes into DBUS_SESSION_BUS_ADDRESS."""

    def __init__(self, folder: Path) -> None:
        require_dbus_tools()
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "bus.conf"
        config.write_text(CONFIG.format(dir=folder))
        self.proc = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.address = self.proc.stdout.readline().strip()  # EOF (""): the daemon died
        if not self.address:
            self.proc.wait(DAEMON_START_TIMEOUT_S)
            pytest.fail(f"dbus-daemon did not start (exit {self.proc.returncode})")

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        return env

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(DAEMON_START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def dbus_send(
    bus: PrivateBus,
    dest: str,
    path: str,
    method: str,
    *args: str,
    pump: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``dbus-send --print-reply`` from another process; ``pump`` runs the caller's event
    loop meanwhile (the service may live in this process). Returns the finished process."""
    cmd = ["dbus-send", "--session", "--print-reply", f"--dest={dest}", path, method, *args]
    proc = subprocess.Popen(
        cmd, env=bus.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    t0 = time.monotonic()
    while proc.poll() is None:
        if time.monotonic() - t0 > CALL_TIMEOUT_S:
            proc.kill()
            pytest.fail(f"dbus-send {method} hung")
        if pump is not None:
            pump()
        else:
            try:
                proc.wait(POLL_S)
            except subprocess.TimeoutExpired:
                pass
    out, err = proc.communicate()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def player_env(bus: PrivateBus, folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``stallwatch`` process under test: this bus, offscreen, and its
    own settings (the first-run explanation already seen), log and runtime folders."""
    config = folder / "config"
    config.mkdir(parents=True, exist_ok=True)
    prefs = config / "prefs.json"
    if not prefs.exists():
        prefs.write_text(json.dumps({"first_run_done": True}))
    env = bus.env()
    env.update(
        QT_QPA_PLATFORM="offscreen",
        STALLWATCH_CONFIG_DIR=str(config),
        STALLWATCH_DATA_DIR=str(folder / "data"),
        STALLWATCH_LOG_DIR=str(folder / "log"),
        STALLWATCH_RUNTIME_DIR=str(folder / "run"),
    )
    env.update(extra)
    return env


def wait_for(
    proc: subprocess.Popen, predicate: Callable[[], bool], what: str, timeout: float = 60
) -> None:
    """Poll ``predicate`` (typically a D-Bus round trip) until it holds; fail when ``proc``
    exits first, or after ``timeout`` (a hang)."""
    t0 = time.monotonic()
    while not predicate():
        assert proc.poll() is None, f"the player exited ({proc.returncode}) before {what}"
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        try:
            proc.wait(POLL_S)
        except subprocess.TimeoutExpired:
            pass


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def gc_paused(settle: Callable[[], None]) -> Iterator[None]:
    """Python's cyclic garbage collector stays off while a test module talks D-Bus in
    process (see KEEP_ALIVE): a collection that destroys a Qt object QtDBus knew makes
    Qt wait, holding the GIL, for QtDBus's thread, which waits for the GIL (seen here: a
    deadlock). Afterwards everything the module made is frozen (never collected, see
    ``gc.freeze``) and the collector runs again for what later tests make."""
    gc.disable()
    try:
        yield
    finally:
        settle()
        gc.freeze()
        gc.enable()
