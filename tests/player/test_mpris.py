"""MPRIS on a real, private D-Bus session bus: a separate client (``dbus-send``, another
process) reads the player's status and drives it, and what libVLC does follows.

Each test starts its own ``dbus-daemon``; the player (in this process, over a real
libVLC decoding ffmpeg-made media; or the installed command as a subprocess) uses that
bus and no other.
"""

from __future__ import annotations

import configparser
import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PyQt6.QtCore import QObject, pyqtSlot
from PyQt6.QtDBus import QDBusConnection, QDBusMessage

from player import APP_ID
from player.core.model import PlaybackState
from player.ui.desktop import DesktopIntegration, install
from player.ui.desktop.mpris import BUS_NAME, MIME_TYPES, OBJECT_PATH, PLAYER_IFACE, track_title
from tests.player.conftest import pump, wait_until
from tests.support.dbus_bus import (
    PrivateBus,
    dbus_send,
    gc_paused,
    keep_alive,
    player_env,
    stop_process,
    wait_for,
)
from tests.support.media import make_mp4

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

ROOT = Path(__file__).resolve().parents[2]
LONG_CLIP_S = 30  # long enough to seek around in and never reach the end mid-test
_names = itertools.count()


@pytest.fixture
def bus(tmp_path: Path, gc_off: None) -> Iterator[PrivateBus]:
    b = PrivateBus(tmp_path / "bus")
    yield b
    b.stop()


@pytest.fixture(scope="module")
def gc_off(qapp) -> Iterator[None]:  # noqa: ANN001
    with gc_paused(lambda: pump(qapp, 0.5)):
        yield


@pytest.fixture
def app_bus(bus: PrivateBus) -> Iterator[QDBusConnection]:
    """The player's own connection to the private bus (not the process's session bus).
    Tests ask for it before ``harness``: the window, which unregisters its objects,
    closes before the connection goes (QtDBus's thread must not let go of them)."""
    name = f"stallwatch-test-{next(_names)}"
    conn = QDBusConnection.connectToBus(bus.address, name)
    assert conn.isConnected()
    yield conn
    QDBusConnection.disconnectFromBus(name)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mp4(
        tmp_path_factory.mktemp("mpris") / "long.mp4", seconds=LONG_CLIP_S, size=(160, 120)
    )


def call(bus: PrivateBus, app, method: str, *args: str, iface: str = PLAYER_IFACE) -> str:  # noqa: ANN001
    done = dbus_send(
        bus, BUS_NAME, OBJECT_PATH, f"{iface}.{method}", *args, pump=lambda: pump(app, 0.01)
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def prop(bus: PrivateBus, app, name: str, iface: str = PLAYER_IFACE) -> str:  # noqa: ANN001
    return call(
        bus,
        app,
        "Get",
        f"string:{iface}",
        f"string:{name}",
        iface="org.freedesktop.DBus.Properties",
    )


class SignalRecorder(QObject):
    """A D-Bus client of its own (another connection) recording the player's signals."""

    def __init__(self, address: str) -> None:
        super().__init__()
        keep_alive(self)
        self.name = f"stallwatch-listener-{next(_names)}"
        self.conn = QDBusConnection.connectToBus(address, self.name)
        self.changed: list[dict] = []
        self.seeked: list[int] = []
        props = "org.freedesktop.DBus.Properties"
        assert self.conn.connect("", OBJECT_PATH, props, "PropertiesChanged", self.on_changed)
        assert self.conn.connect("", OBJECT_PATH, PLAYER_IFACE, "Seeked", self.on_seeked)

    @pyqtSlot(QDBusMessage)
    def on_changed(self, msg: QDBusMessage) -> None:
        assert msg.signature() == "sa{sv}as"
        iface, changed, _invalidated = msg.arguments()
        assert iface == PLAYER_IFACE
        self.changed.append(changed)

    @pyqtSlot(QDBusMessage)
    def on_seeked(self, msg: QDBusMessage) -> None:
        assert msg.signature() == "x"
        self.seeked.append(msg.arguments()[0])

    def statuses(self) -> list[str]:
        return [c["PlaybackStatus"] for c in self.changed if "PlaybackStatus" in c]

    def close(self) -> None:
        """Disconnect the slots before leaving the bus (see test_inhibit.release)."""
        props = "org.freedesktop.DBus.Properties"
        self.conn.disconnect("", OBJECT_PATH, props, "PropertiesChanged", self.on_changed)
        self.conn.disconnect("", OBJECT_PATH, PLAYER_IFACE, "Seeked", self.on_seeked)
        QDBusConnection.disconnectFromBus(self.name)


def test_status_and_play_pause_follow_libvlc(bus, app_bus, harness, long_clip) -> None:  # noqa: ANN001
    desk = DesktopIntegration(harness.window, app_bus)
    harness.wait(
        lambda: desk.mpris is not None and desk.mpris.name == BUS_NAME, what="the MPRIS bus name"
    )
    listener = SignalRecorder(bus.address)
    try:
        assert 'string "Stopped"' in prop(bus, harness.app, "PlaybackStatus")
        harness.window.open_source(str(long_clip))
        harness.wait(
            lambda: harness.player.state() == "playing" and harness.position() > 0.5,
            what="libVLC playing",
        )
        harness.wait(
            lambda: 'string "Playing"' in prop(bus, harness.app, "PlaybackStatus"),
            what="MPRIS Playing",
        )

        call(bus, harness.app, "PlayPause")
        harness.wait(
            lambda: harness.player.state() == "paused", what="libVLC paused by MPRIS PlayPause"
        )
        harness.wait(
            lambda: 'string "Paused"' in prop(bus, harness.app, "PlaybackStatus"),
            what="MPRIS Paused",
        )
        harness.wait(
            lambda: listener.statuses()[-1:] == ["Paused"], what="PropertiesChanged(Paused)"
        )

        call(bus, harness.app, "PlayPause")
        harness.wait(lambda: harness.player.state() == "playing", what="libVLC playing again")
        harness.wait(
            lambda: listener.statuses()[-1:] == ["Playing"], what="PropertiesChanged(Playing)"
        )
        assert "Playing" in listener.statuses()[:-2]  # the first start was signalled too

        # Play and Pause are idempotent (PlayPause is the toggle), whatever the session saw yet
        call(bus, harness.app, "Pause")
        call(bus, harness.app, "Pause")
        harness.wait(lambda: harness.player.state() == "paused", what="libVLC paused by Pause")
        harness.wait(
            lambda: harness.session.state is PlaybackState.PAUSED, what="the session paused"
        )
        call(bus, harness.app, "Pause")
        assert harness.player.state() == "paused"
        call(bus, harness.app, "Play")
        call(bus, harness.app, "Play")
        harness.wait(lambda: harness.player.state() == "playing", what="libVLC playing by Play")
        harness.wait(
            lambda: harness.session.state is PlaybackState.PLAYING, what="the session playing"
        )
        call(bus, harness.app, "Play")
        assert harness.player.state() == "playing"
    finally:
        listener.close()


def test_metadata_seek_position_and_volume(bus, app_bus, harness, long_clip) -> None:  # noqa: ANN001
    desk = DesktopIntegration(harness.window, app_bus)
    harness.wait(
        lambda: desk.mpris is not None and desk.mpris.name == BUS_NAME, what="the MPRIS bus name"
    )
    listener = SignalRecorder(bus.address)
    try:
        harness.window.open_source(str(long_clip))
        harness.wait(
            lambda: harness.player.state() == "playing" and harness.position() > 0.3, what="playing"
        )
        harness.wait(
            lambda: "int64 30000000" in prop(bus, harness.app, "Metadata"), what="mpris:length"
        )
        md = prop(bus, harness.app, "Metadata")
        assert 'string "long.mp4"' in md and "/io/github/stallwatch/Stallwatch/track/1" in md
        assert f'string "file://{long_clip}"' in md
        assert "true" in prop(bus, harness.app, "CanSeek")
        # a seek of +10 s moves libVLC's clock, and the desktop hears Seeked
        before = harness.position()
        call(bus, harness.app, "Seek", "int64:10000000")
        harness.wait(lambda: harness.position() >= before + 8, what="libVLC at the seeked position")
        harness.wait(
            lambda: listener.seeked and listener.seeked[-1] >= (before + 8) * 1e6, what="Seeked"
        )
        # SetPosition with the current track id; a stale track id is ignored (spec)
        track = desk.mpris.model.track()
        call(
            bus,
            harness.app,
            "SetPosition",
            "objpath:/io/github/stallwatch/Stallwatch/track/999",
            "int64:1000000",
        )
        call(
            bus,
            harness.app,
            "SetPosition",
            f"objpath:/io/github/stallwatch/Stallwatch/track/{track.number}",
            "int64:2000000",
        )
        harness.wait(lambda: harness.position() < 6, what="libVLC back near 2 s")
        pos_us = int(prop(bus, harness.app, "Position").split("int64")[1].split()[0])
        assert 1_000_000 <= pos_us <= 8_000_000
        # Volume: set by the desktop, shown by the window and signalled
        call(
            bus, harness.app, "Set", f"string:{PLAYER_IFACE}", "string:Volume", "variant:double:0.5",
            iface="org.freedesktop.DBus.Properties",
        )  # fmt: skip
        assert harness.window.prefs.volume == 50 and harness.window.volume_slider.value() == 50
        harness.wait(
            lambda: any(c.get("Volume") == 0.5 for c in listener.changed),
            what="PropertiesChanged(Volume)",
        )
    finally:
        listener.close()


def test_title_never_shows_url_secrets(bus, app_bus, harness, origin) -> None:  # noqa: ANN001
    desk = DesktopIntegration(harness.window, app_bus)
    harness.wait(
        lambda: desk.mpris is not None and desk.mpris.name == BUS_NAME, what="the MPRIS bus name"
    )
    url = (
        origin.url("clip.mp4").replace("://", "://viewer:hunter2pass@", 1)
        + "?token=SeCrEt0123456789xyz#t=5"
    )
    harness.window.open_source(url)
    harness.wait(
        lambda: "xesam:title" in prop(bus, harness.app, "Metadata"), what="a title on the bus"
    )
    md = prop(bus, harness.app, "Metadata")
    assert 'string "clip.mp4"' in md
    for secret in ("hunter2pass", "viewer", "SeCrEt0123456789xyz", "token", "xesam:url"):
        assert secret not in md
    assert "hunter2" not in prop(bus, harness.app, "Metadata") + call(
        bus,
        harness.app,
        "GetAll",
        f"string:{PLAYER_IFACE}",
        iface="org.freedesktop.DBus.Properties",
    )


def test_track_title_rules() -> None:
    token = "Zx81kq93LmPq20aaQ"
    assert (
        track_title(f"https://u:p@cdn.example/v/{token}/index.m3u8?sig=1", "index.m3u8")
        == "index.m3u8"
    )
    assert track_title(f"https://cdn.example/v/{token}?sig=1", token) == "cdn.example"
    assert track_title(f"http://192.0.2.7:8080/{token}", token) == "Stream"
    assert track_title("http://[fe80::1%eth0/x", "x") in ("x", "Stream")  # malformed: no crash
    assert track_title("/home/me/clip.mp4", "clip.mp4") == "clip.mp4"
    assert track_title("stallwatch-demo", "Stallwatch demo") == "Stallwatch demo"
    assert track_title(None, "") == ""


def test_root_interface_identity_raise_and_quit(bus, app_bus, harness) -> None:  # noqa: ANN001
    desk = DesktopIntegration(harness.window, app_bus)
    harness.wait(
        lambda: desk.mpris is not None and desk.mpris.name == BUS_NAME, what="the MPRIS bus name"
    )
    root = "org.mpris.MediaPlayer2"
    assert 'string "Stallwatch"' in prop(bus, harness.app, "Identity", iface=root)
    assert f'string "{APP_ID}"' in prop(bus, harness.app, "DesktopEntry", iface=root)
    assert 'string "video/mp4"' in prop(bus, harness.app, "SupportedMimeTypes", iface=root)
    call(bus, harness.app, "Raise", iface=root)
    assert harness.window.isVisible()
    call(bus, harness.app, "Quit", iface=root)
    harness.wait(lambda: not harness.window.isVisible(), what="the window closed by Quit")
    harness.closed = True
    # the player left the bus: its name is free again
    wait_until(
        harness.app,
        lambda: BUS_NAME not in bus_names(bus, harness.app),
        15,
        "the MPRIS name released",
    )


def bus_names(bus: PrivateBus, app) -> str:  # noqa: ANN001
    done = dbus_send(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames",
                     pump=lambda: pump(app, 0.01))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_mime_types_match_the_desktop_entry() -> None:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read(ROOT / "packaging" / f"{APP_ID}.desktop", encoding="utf-8")
    listed = [m for m in parser["Desktop Entry"]["MimeType"].split(";") if m]
    assert listed == MIME_TYPES


def test_no_session_bus_runs_without_desktop_integration(
    harness, mp4_file, monkeypatch, tmp_path, caplog
) -> None:  # noqa: ANN001
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no systemd user bus socket there
    caplog.set_level("INFO", logger="player.ui.desktop")
    desk = install(harness.window)
    assert desk.mpris is None and desk.inhibitor is None
    lines = [r for r in caplog.records if "no D-Bus session bus" in r.getMessage()]
    assert len(lines) == 1
    harness.window.open_source(str(mp4_file))
    harness.wait(lambda: harness.position() > 0.5, what="plays as usual")


def test_installed_command_answers_on_the_session_bus(bus, long_clip, tmp_path) -> None:  # noqa: ANN001
    """The composition root wires MPRIS: ``python -m player FILE`` (a process of its own)
    on the private bus answers, pauses on PlayPause and quits on Quit with exit 0."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "player", str(long_clip)], env=player_env(bus, tmp_path), cwd=ROOT
    )
    try:

        def status() -> str:
            return dbus_send(bus, BUS_NAME, OBJECT_PATH, "org.freedesktop.DBus.Properties.Get",
                             f"string:{PLAYER_IFACE}", "string:PlaybackStatus").stdout  # fmt: skip

        wait_for(proc, lambda: 'string "Playing"' in status(), "the player's MPRIS status Playing")
        assert dbus_send(bus, BUS_NAME, OBJECT_PATH, f"{PLAYER_IFACE}.PlayPause").returncode == 0
        wait_for(proc, lambda: 'string "Paused"' in status(), "Paused after PlayPause")
        assert dbus_send(bus, BUS_NAME, OBJECT_PATH, "org.mpris.MediaPlayer2.Quit").returncode == 0
        assert proc.wait(60) == 0
    finally:
        stop_process(proc)
