"""MPRIS 2 on the session bus: media keys and the desktop's media controls drive the player.

The object ``/org/mpris/MediaPlayer2`` carries ``org.mpris.MediaPlayer2`` (identity,
raise, quit, fullscreen) and ``org.mpris.MediaPlayer2.Player`` (status, metadata,
position, volume, the Can* flags and the transport methods), as QtDBus adaptors whose
slots run on the GUI thread and call the window's own commands. :class:`MprisService`
owns ``org.mpris.MediaPlayer2.stallwatch`` (``….stallwatch.instance<pid>`` when another
player holds it), compares the signalled properties on every session tick and sends
``PropertiesChanged`` with what changed, and ``Seeked`` when the position jumps.

The title shown by the desktop never carries a URL's credentials, query or path tokens
(:func:`track_title`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from urllib.parse import urlparse

from PyQt6.QtCore import QObject, pyqtClassInfo, pyqtProperty, pyqtSlot
from PyQt6.QtDBus import QDBusAbstractAdaptor, QDBusConnection, QDBusMessage, QDBusObjectPath

from player import APP_ID
from player.core.model import PlaybackState
from player.core.redact import redact_addresses
from player.session.media import title_for
from player.ui.desktop.dbus import AsyncCaller, int64, string_list, uint32

log = logging.getLogger(__name__)

BUS_NAME = "org.mpris.MediaPlayer2.stallwatch"
OBJECT_PATH = "/org/mpris/MediaPlayer2"
ROOT_IFACE = "org.mpris.MediaPlayer2"
PLAYER_IFACE = "org.mpris.MediaPlayer2.Player"
PROPS_IFACE = "org.freedesktop.DBus.Properties"
TRACK_PREFIX = "/io/github/stallwatch/Stallwatch/track"  # our own namespace (spec: not /org/mpris)
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"
STREAM_TITLE = "Stream"  # the title of a URL whose name and host say nothing shareable
DO_NOT_QUEUE = 4  # RequestName flag: fail at once if the name is taken
PRIMARY_OWNER = 1
# A position that moved this much more (or less) than the clock between two ticks was a
# seek: libVLC's get_time() advances in steps of up to 1.1 s, plus one 50 ms tick of jitter.
SEEK_JUMP_S = 2.0
URI_SCHEMES = ["file", "http", "https"]
# The MimeType list of packaging/io.github.stallwatch.Stallwatch.desktop (a test compares).
MIME_TYPES = [
    "video/mp4", "video/webm", "video/x-matroska", "video/quicktime", "video/x-msvideo",
    "video/mp2t", "video/ogg", "video/mpeg", "video/x-flv", "application/vnd.apple.mpegurl",
    "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl", "application/dash+xml",
]  # fmt: skip
PLAYING_STATES = (
    PlaybackState.PLAYING,
    PlaybackState.STALLED,
    PlaybackState.SEEKING,
    PlaybackState.STARTUP,
)
PAUSABLE_STATES = (PlaybackState.PLAYING, PlaybackState.STALLED, PlaybackState.STARTUP)


def playback_status(state: PlaybackState) -> str:
    """MPRIS's three states: a stall or a seek is still "Playing" to the desktop."""
    if state in PLAYING_STATES:
        return "Playing"
    return "Paused" if state is PlaybackState.PAUSED else "Stopped"


def track_title(source: str | None, title: str) -> str:
    """What the desktop shows: a URL's file name, or its host name when the name is a token
    (never its credentials, query, an address or a token); a file's or the demo's title."""
    if not source:
        return ""
    if "://" not in source or source.startswith("file://"):
        return title
    shown = title_for(source)  # the one URL -> title rule (name, else host:port)
    return shown if redact_addresses(shown) == shown else STREAM_TITLE


def local_url(source: str | None) -> str:
    """``xesam:url`` for a local file (nothing secret); streams have none (tokens)."""
    if not source or source.startswith("file://"):
        return source or ""
    if "://" in source or not os.path.isabs(source):
        return ""
    return "file://" + source


@dataclass(frozen=True, slots=True)
class Track:
    """The metadata of what plays, as plain values (compared between ticks)."""

    number: int
    title: str
    length_us: int | None
    url: str

    def as_dbus(self) -> dict[str, object]:
        if self.number == 0:
            return {"mpris:trackid": QDBusObjectPath(NO_TRACK)}
        md: dict[str, object] = {"mpris:trackid": QDBusObjectPath(f"{TRACK_PREFIX}/{self.number}")}
        if self.title:
            md["xesam:title"] = self.title
        if self.length_us:
            md["mpris:length"] = int64(self.length_us)
        if self.url:
            md["xesam:url"] = self.url
        return md


class PlayerModel:
    """Reads the window's state and runs its commands, for the adaptors (GUI thread)."""

    def __init__(self, window: QObject) -> None:
        self.window = window
        self._track_key: tuple[object, ...] | None = None
        self._track_no = 0

    @property
    def session(self):  # noqa: ANN201 - player.session.Session
        return self.window.session

    def snapshot(self):  # noqa: ANN201 - player.session.Snapshot
        return self.session.snapshot()

    def track(self) -> Track:
        s = self.session
        if s.source is None:
            return Track(0, "", None, "")
        key = (s.source, s.opened_at)
        if key != self._track_key:  # a new open is a new track, even of the same source
            self._track_key, self._track_no = key, self._track_no + 1
        length = s.length_s
        return Track(
            self._track_no,
            track_title(s.source, s.title),
            round(length * 1e6) if length else None,
            local_url(s.source),
        )

    def flag(self, name: str) -> bool:
        """CanGoNext / CanGoPrevious from the window's queue (``has_next``/``has_previous``)
        when it has one; else whether the window has the command at all."""
        command = {"has_next": "play_next", "has_previous": "play_previous"}[name]
        if not hasattr(self.window, command):
            return False
        queue = getattr(self.window, "queue", None)
        queue = getattr(queue, "queue", queue)  # the window's QueueController holds a PlayQueue
        return bool(getattr(queue, name, True))

    def signalled(self) -> dict[str, object]:
        """The Player properties whose changes are signalled, as comparable plain values."""
        snap = self.snapshot()
        has = snap.source is not None and snap.state is not PlaybackState.ERROR
        return {
            "PlaybackStatus": playback_status(snap.state),
            "Metadata": self.track(),
            "Volume": self.window.prefs.volume / 100.0,
            "CanPlay": has,
            "CanPause": has,
            "CanSeek": bool(has and snap.seekable),
            "CanGoNext": self.flag("has_next"),
            "CanGoPrevious": self.flag("has_previous"),
        }

    def position_us(self) -> int:
        pos = self.snapshot().position_s
        return round(pos * 1e6) if pos else 0


@pyqtClassInfo("D-Bus Interface", ROOT_IFACE)
class RootAdaptor(QDBusAbstractAdaptor):
    def __init__(self, parent: QObject, model: PlayerModel) -> None:
        super().__init__(parent)
        self.model = model

    @pyqtProperty(str)
    def Identity(self) -> str:  # noqa: N802 - D-Bus names
        return "Stallwatch"

    @pyqtProperty(str)
    def DesktopEntry(self) -> str:  # noqa: N802
        return APP_ID

    @pyqtProperty(bool)
    def CanQuit(self) -> bool:  # noqa: N802
        return True

    @pyqtProperty(bool)
    def CanRaise(self) -> bool:  # noqa: N802
        return True

    @pyqtProperty(bool)
    def HasTrackList(self) -> bool:  # noqa: N802
        return False

    @pyqtProperty(bool)
    def CanSetFullscreen(self) -> bool:  # noqa: N802
        return True

    @pyqtProperty(bool)
    def Fullscreen(self) -> bool:  # noqa: N802
        return self.model.window.isFullScreen()

    @Fullscreen.setter
    def Fullscreen(self, value: bool) -> None:  # noqa: N802
        if bool(value) != self.model.window.isFullScreen():
            self.model.window.toggle_fullscreen()

    @pyqtProperty("QStringList")
    def SupportedUriSchemes(self) -> list[str]:  # noqa: N802
        return URI_SCHEMES

    @pyqtProperty("QStringList")
    def SupportedMimeTypes(self) -> list[str]:  # noqa: N802
        return MIME_TYPES

    @pyqtSlot()
    def Raise(self) -> None:  # noqa: N802
        raise_window(self.model.window)

    @pyqtSlot()
    def Quit(self) -> None:  # noqa: N802
        self.model.window.close()


def raise_window(window: QObject) -> None:
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()


@pyqtClassInfo("D-Bus Interface", PLAYER_IFACE)
class PlayerAdaptor(QDBusAbstractAdaptor):
    # No pyqtSignal here (``Seeked`` is sent as a message, like PropertiesChanged): QtDBus
    # relays an adaptor's Qt signals through an object it deletes on its own thread, whose
    # destructor asks PyQt (needing the GIL) about the adaptor while holding Qt's signal
    # lock; a main thread destroying any QObject with the GIL held then deadlocks (seen).

    def __init__(self, parent: QObject, model: PlayerModel) -> None:
        super().__init__(parent)
        self.model = model
        self.setAutoRelaySignals(True)

    # -- properties -------------------------------------------------------------------
    @pyqtProperty(str)
    def PlaybackStatus(self) -> str:  # noqa: N802
        return playback_status(self.model.session.state)

    @pyqtProperty("QVariantMap")
    def Metadata(self) -> dict[str, object]:  # noqa: N802
        return self.model.track().as_dbus()

    @pyqtProperty("qlonglong")
    def Position(self) -> int:  # noqa: N802
        return self.model.position_us()

    @pyqtProperty(float)
    def Volume(self) -> float:  # noqa: N802
        return self.model.window.prefs.volume / 100.0

    @Volume.setter
    def Volume(self, value: float) -> None:  # noqa: N802
        self.model.window.set_volume(round(max(0.0, min(1.0, float(value))) * 100))

    @pyqtProperty(float)
    def Rate(self) -> float:  # noqa: N802
        return 1.0

    @Rate.setter
    def Rate(self, _value: float) -> None:  # noqa: N802 - speed is not offered over MPRIS
        pass

    @pyqtProperty(float)
    def MinimumRate(self) -> float:  # noqa: N802
        return 1.0

    @pyqtProperty(float)
    def MaximumRate(self) -> float:  # noqa: N802
        return 1.0

    def _flag(self, name: str) -> bool:
        return bool(self.model.signalled()[name])

    CanPlay = pyqtProperty(bool, lambda self: self._flag("CanPlay"))
    CanPause = pyqtProperty(bool, lambda self: self._flag("CanPause"))
    CanSeek = pyqtProperty(bool, lambda self: self._flag("CanSeek"))
    CanGoNext = pyqtProperty(bool, lambda self: self.model.flag("has_next"))
    CanGoPrevious = pyqtProperty(bool, lambda self: self.model.flag("has_previous"))
    CanControl = pyqtProperty(bool, lambda self: True)

    # -- methods ----------------------------------------------------------------------
    @pyqtSlot()
    def PlayPause(self) -> None:  # noqa: N802
        if self.model.session.source is not None:  # never a file dialog from a media key
            self.model.window.toggle_pause()

    @pyqtSlot()
    def Play(self) -> None:  # noqa: N802
        """Idempotent, as the spec wants (PlayPause is the toggle): resume when paused,
        replay when ended, nothing when playing or with nothing to play."""
        state = self.model.session.state
        if state is PlaybackState.ENDED:
            self.model.window.toggle_pause()  # the session replays what ended
        elif self.model.session.source is not None and state is not PlaybackState.ERROR:
            self.model.session.player.resume()

    @pyqtSlot()
    def Pause(self) -> None:  # noqa: N802
        if self.model.session.state in (
            *PAUSABLE_STATES,
            PlaybackState.PAUSED,
            PlaybackState.SEEKING,
        ):
            self.model.session.player.pause()

    @pyqtSlot()
    def Stop(self) -> None:  # noqa: N802
        stop = getattr(self.model.window, "stop", None)
        if callable(stop):
            stop()
        else:  # no stop command in this window: pausing keeps the place
            self.Pause()

    @pyqtSlot()
    def Next(self) -> None:  # noqa: N802
        if callable(command := getattr(self.model.window, "play_next", None)):
            command()

    @pyqtSlot()
    def Previous(self) -> None:  # noqa: N802
        if callable(command := getattr(self.model.window, "play_previous", None)):
            command()

    @pyqtSlot("qlonglong")
    def Seek(self, offset_us: int) -> None:  # noqa: N802
        if self._flag("CanSeek"):
            self.model.window.seek_relative(offset_us / 1e6)

    @pyqtSlot(QDBusObjectPath, "qlonglong")
    def SetPosition(self, track_id: QDBusObjectPath, position_us: int) -> None:  # noqa: N802
        track = self.model.track()
        length = track.length_us
        if track_id.path() != f"{TRACK_PREFIX}/{track.number}" or position_us < 0:
            return  # spec: a stale track id or a position outside the track is ignored
        if length is not None and position_us > length:
            return
        if self._flag("CanSeek"):
            self.model.session.seek_s(position_us / 1e6)

    @pyqtSlot(str)
    def OpenUri(self, uri: str) -> None:  # noqa: N802
        if urlparse(uri).scheme not in URI_SCHEMES:
            return
        if callable(enqueue := getattr(self.model.window, "enqueue", None)):
            enqueue([uri], play_now=True)
        else:
            self.model.window.open_source(uri)


class MprisService(QObject):
    """Registers the MPRIS object and name; call :meth:`update` on every session tick."""

    def __init__(
        self, bus: QDBusConnection, window: QObject, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.bus = bus
        self.model = PlayerModel(window)
        self._object = QObject(self)
        self.root = RootAdaptor(self._object, self.model)
        self.player = PlayerAdaptor(self._object, self.model)
        self._caller = AsyncCaller(bus, self)
        self.name: str | None = None  # the bus name once owned
        self._last: dict[str, object] = self.model.signalled()
        self._last_pos: tuple[float, float] | None = None  # (monotonic time, position s)
        if not bus.registerObject(
            OBJECT_PATH, self._object, QDBusConnection.RegisterOption.ExportAdaptors
        ):
            log.warning("MPRIS: could not register %s (another object there?)", OBJECT_PATH)
            return
        self._request_name(BUS_NAME, fallback=f"{BUS_NAME}.instance{os.getpid()}")

    def _request_name(self, name: str, fallback: str | None) -> None:
        def answered(reply: QDBusMessage) -> None:
            if reply.arguments() and reply.arguments()[0] == PRIMARY_OWNER:
                self.name = name
                log.info("MPRIS: media keys and desktop controls on %s", name)
            elif fallback is not None:
                self._request_name(fallback, None)
            else:
                log.warning("MPRIS: could not own %s", name)

        def failed(reply: QDBusMessage) -> None:
            log.warning("MPRIS: could not own %s: %s", name, reply.errorMessage())

        self._caller.call(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName",
            [name, uint32(DO_NOT_QUEUE)], answered, failed,
        )  # fmt: skip

    def update(self) -> None:
        """Signal what changed since the last tick (cheap: a snapshot and a comparison)."""
        now = self.model.signalled()
        changed = {k: v for k, v in now.items() if self._last.get(k) != v}
        self._last = now
        if changed:
            self._send_changed(changed)
        self._check_seek(now["PlaybackStatus"] == "Playing", "Metadata" in changed)

    def _send_changed(self, changed: dict[str, object]) -> None:
        values = {k: (v.as_dbus() if isinstance(v, Track) else v) for k, v in changed.items()}
        msg = QDBusMessage.createSignal(OBJECT_PATH, PROPS_IFACE, "PropertiesChanged")
        msg.setArguments([PLAYER_IFACE, values, string_list([])])
        self.bus.send(msg)

    def _check_seek(self, playing: bool, new_track: bool) -> None:
        pos = self.model.snapshot().position_s
        t = time.monotonic()
        last, self._last_pos = self._last_pos, (t, pos or 0.0)
        if last is None or pos is None or new_track:
            return
        expected = last[1] + (t - last[0] if playing else 0.0)
        if abs(pos - expected) > SEEK_JUMP_S:
            msg = QDBusMessage.createSignal(OBJECT_PATH, PLAYER_IFACE, "Seeked")
            msg.setArguments([int64(round(pos * 1e6))])
            self.bus.send(msg)

    def close(self) -> None:
        self.bus.unregisterObject(OBJECT_PATH)
        if self.name is not None:
            self._caller.send(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "ReleaseName",
                [self.name],
            )
            self.name = None
