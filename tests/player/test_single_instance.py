"""Single instance, for real: the installed command as processes of their own, watched
over MPRIS on a private D-Bus bus (``dbus-send`` from the test process)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from player.ui.desktop.mpris import BUS_NAME, OBJECT_PATH, PLAYER_IFACE
from player.ui.desktop.single_instance import HandOff, absolute_sources
from tests.support.dbus_bus import PrivateBus, dbus_send, player_env, stop_process, wait_for
from tests.support.media import make_mp4

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

ROOT = Path(__file__).resolve().parents[2]
HANDOFF_EXIT_S = 60  # ends a hang only: the second launch exits as soon as it handed off


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[PrivateBus]:
    b = PrivateBus(tmp_path / "bus")
    yield b
    b.stop()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("instances")
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        make_mp4(d / name, seconds=30, size=(160, 120))
    return d


def launch(env: dict[str, str], *args: str, cwd: Path = ROOT) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "player", *args], env=env, cwd=cwd)


def prop(bus: PrivateBus, name: str, dest: str = BUS_NAME) -> str:
    return dbus_send(bus, dest, OBJECT_PATH, "org.freedesktop.DBus.Properties.Get",
                     f"string:{PLAYER_IFACE}", f"string:{name}").stdout  # fmt: skip


def names(bus: PrivateBus) -> str:
    return dbus_send(
        bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames"
    ).stdout


def test_second_launch_hands_its_file_to_the_running_player(bus, clips, tmp_path) -> None:  # noqa: ANN001
    env = player_env(bus, tmp_path)
    first = launch(env, str(clips / "a.mp4"))
    try:
        wait_for(
            first, lambda: 'string "a.mp4"' in prop(bus, "Metadata"), "the first player on a.mp4"
        )
        # a relative path from another folder: the running player gets it absolute
        second = launch(env, "b.mp4", cwd=clips)
        assert second.wait(HANDOFF_EXIT_S) == 0
        wait_for(
            first,
            lambda: 'string "b.mp4"' in prop(bus, "Metadata"),
            "the first player playing b.mp4",
        )
        wait_for(
            first, lambda: "true" in prop(bus, "CanGoPrevious"), "a.mp4 before it in the queue"
        )
        third = launch(env, "--enqueue", str(clips / "c.mp4"))
        assert third.wait(HANDOFF_EXIT_S) == 0
        wait_for(first, lambda: "true" in prop(bus, "CanGoNext"), "c.mp4 queued after b.mp4")
        assert 'string "b.mp4"' in prop(bus, "Metadata")  # --enqueue did not interrupt
        assert f"{BUS_NAME}.instance" not in names(bus)  # never a second player
        dbus_send(bus, BUS_NAME, OBJECT_PATH, "org.mpris.MediaPlayer2.Quit")
        assert first.wait(60) == 0
    finally:
        stop_process(first)


def test_with_the_option_off_a_second_player_runs(bus, clips, tmp_path) -> None:  # noqa: ANN001
    env = player_env(bus, tmp_path)
    (tmp_path / "config" / "prefs.json").write_text(
        json.dumps({"first_run_done": True, "single_instance": False})
    )
    first = launch(env, str(clips / "a.mp4"))
    second = None
    try:
        wait_for(
            first, lambda: 'string "a.mp4"' in prop(bus, "Metadata"), "the first player on a.mp4"
        )
        second = launch(env, str(clips / "b.mp4"))
        wait_for(
            second,
            lambda: f"{BUS_NAME}.instance{second.pid}" in names(bus),
            "a second player's own MPRIS name",
        )
        assert 'string "a.mp4"' in prop(bus, "Metadata")  # the first one kept its file
        for dest, proc in ((BUS_NAME, first), (f"{BUS_NAME}.instance{second.pid}", second)):
            dbus_send(bus, dest, OBJECT_PATH, "org.mpris.MediaPlayer2.Quit")
            assert proc.wait(60) == 0
    finally:
        stop_process(first)
        if second is not None:
            stop_process(second)


def test_handoff_message_rules(tmp_path) -> None:  # noqa: ANN001
    h = HandOff(["/v/a.mp4", "https://cdn.example/x.m3u8"], play_now=False)
    assert HandOff.decode(h.encode().strip()) == h
    assert HandOff.decode(b"not json") is None
    assert HandOff.decode(b'{"sources": [1, 2]}') is None
    assert HandOff.decode(b'["a"]') is None
    assert absolute_sources(["a.mp4", "https://x.example/v.mp4"], str(tmp_path)) == [
        str(tmp_path / "a.mp4"), "https://x.example/v.mp4",
    ]  # fmt: skip
