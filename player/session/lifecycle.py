"""libVLC's side of a session: its events -> playing / paused / ended / ended early / failed.

Also tells an input libVLC cannot decode (it "plays" with no picture and no time) and
words why, from the tracks libVLC found. Owner thread only.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable

from player.core.model import PlaybackState
from player.core.tls_origin import TlsOrigin
from player.core.wording import playback as say
from player.core.wording import tls as say_tls
from player.playback.vlc import EventKind, PlayerEvent, VlcPlayer
from player.session.events import Ended, EndedEarly, EventSink, MediaInfo, PlaybackFailed
from player.session.media import OpenMedia, is_url
from player.session.stall_tracker import StallTracker

log = logging.getLogger(__name__)

# How close to the known end "EndReached" must come to count as a normal end.
END_TOLERANCE_S = 2.0
END_TOLERANCE_RATIO = 0.03
# If libVLC reports Playing but shows no picture and plays no time for this long
# while the input is a local file, it cannot decode it.
NO_PICTURE_TIMEOUT_S = 4.0
# A stream cannot be judged by time alone (a slow network delays the first picture), so a
# stream whose "playing" shows no picture and no time counts as undecodable only once the
# gateway has handed libVLC this much media and a longer while has passed: every codec we
# play shows its first picture within the first segment (2-10 s), and a broken one (junk
# segments served as video) is then still told within about ten seconds, not never.
NO_PICTURE_STREAM_TIMEOUT_S = 8.0
NO_PICTURE_STREAM_MEDIA_S = 6.0
NO_MEDIA = -1  # vlc_gen while libVLC plays nothing of ours


class PlayerLifecycle:
    """Drives one :class:`VlcPlayer` for the session's opens, one generation at a time.

    ``length_known(seconds)`` is told the media's length as soon as libVLC knows it."""

    def __init__(
        self,
        player: VlcPlayer,
        sink: EventSink,
        tracker: StallTracker,
        length_known: Callable[[float], None],
    ) -> None:
        self.player = player
        self._sink = sink
        self._tracker = tracker
        self._length_known = length_known
        self._media = OpenMedia()
        self.vlc_gen = NO_MEDIA  # the session generation libVLC plays
        self.mrl = ""  # what libVLC was given for it (a reopen at a position reuses it)

    def reset(self, media: OpenMedia) -> None:
        self._media = media

    def plays(self, gen: int) -> bool:
        """Is libVLC playing open ``gen`` (the current one)?"""
        return self.vlc_gen == gen

    def play(self, mrl: str, gen: int) -> None:
        self.player.open(mrl)
        self.vlc_gen = gen
        self.mrl = mrl
        self._media.playing_since = None

    def stop_player(self) -> None:
        if self.vlc_gen != NO_MEDIA:
            self.player.stop()
            self.vlc_gen = NO_MEDIA

    def fail(self, message: str, tls_origin: str | None = None) -> None:
        """Stop and tell the viewer ``message`` (once per open); ``tls_origin``: the origin
        whose certificate failed (see :class:`PlaybackFailed`)."""
        media = self._media
        if media.failed:
            return
        media.failed = True
        if tls_origin is None and media.upstream_failure:  # a playlist's host failed it
            tls_origin = media.upstream_tls_origin
        log.info("playback failed: %s", message)
        self.stop_player()
        self._sink.set_state(PlaybackState.ERROR)
        self._sink.emit(PlaybackFailed(message=message, source=media.source or "", tls_origin=tls_origin))

    def drain(self, gen: int) -> None:
        """Handle libVLC's queued events of open ``gen``; drop any older ones."""
        while True:
            try:
                ev: PlayerEvent = self.player.events.get_nowait()
            except queue.Empty:
                return
            if self.vlc_gen != gen or ev.generation != self.player.generation:
                continue
            self.on_event(ev)

    def on_event(self, ev: PlayerEvent) -> None:
        media, sink = self._media, self._sink
        if ev.kind is EventKind.PLAYING:
            self.player.reapply_audio()
            if media.playing_since is None:
                media.playing_since = ev.at
            if sink.state is PlaybackState.PAUSED:
                self._tracker.feed(media.monitor.on_resume(sink.clock()))
            if sink.state is not PlaybackState.PLAYING:
                log.info("playing %s", media.title)
            sink.set_state(PlaybackState.PLAYING)
        elif ev.kind is EventKind.PAUSED:
            self._tracker.feed(media.monitor.on_pause(sink.clock()))
            sink.set_state(PlaybackState.PAUSED)
        elif ev.kind is EventKind.LENGTH_CHANGED:
            media.length_s = ev.value if ev.value and ev.value > 0 else None
            if media.length_s:
                self._length_known(media.length_s)
            sink.emit(MediaInfo(length_s=media.length_s, seekable=media.seekable, live=media.length_s is None))
        elif ev.kind is EventKind.SEEKABLE_CHANGED:
            media.seekable = bool(ev.value)
            sink.emit(MediaInfo(length_s=media.length_s, seekable=media.seekable, live=media.length_s is None))
        elif ev.kind is EventKind.ERROR:
            self.fail(self.error_message())
        elif ev.kind is EventKind.END_REACHED:
            self._on_end()

    def error_message(self) -> str:
        media = self._media
        if media.upstream_tls_origin:  # a server it names failed certificate verification
            origin = TlsOrigin.of(media.upstream_tls_origin)
            return say_tls.part_failed(media.title, origin.label if origin else media.upstream_tls_origin)
        if media.upstream_failure:  # the gateway could not fetch it: say why, not "format"
            return say.source_failed(media.title, media.upstream_failure)
        return say.undecodable(
            media.title, self.player.track_codecs(), bool(media.source and is_url(media.source))
        )

    def check_undecodable(self, now: float, t: float | None, delivered_s: float | None = None) -> None:
        """A local file that "plays" without a picture or time for a while cannot be decoded;
        nor can a stream that does so although the gateway delivered ``delivered_s`` seconds
        of media (None: unknown, libVLC fetches it itself: never judged)."""
        media = self._media
        started = media.playing_since
        if (
            started is None
            or self._sink.state is not PlaybackState.PLAYING
            or self.player.frames.distinct_frames != 0
            or (t and t > 0)
            or not media.source
        ):
            return
        if not is_url(media.source):
            undecodable = now - started > NO_PICTURE_TIMEOUT_S
        else:
            undecodable = (
                delivered_s is not None
                and delivered_s >= NO_PICTURE_STREAM_MEDIA_S
                and now - started > NO_PICTURE_STREAM_TIMEOUT_S
            )
        if undecodable:
            self.fail(self.error_message())

    def _on_end(self) -> None:
        media = self._media
        pos = media.last_position_s
        t = self.player.time_s()
        if t is not None:
            pos = max(pos or 0.0, t)
        media.last_position_s = pos
        length = media.length_s
        frames = self.player.frames.distinct_frames
        self._tracker.feed(media.monitor.on_end(self._sink.clock()))
        if frames == 0 and (length is None or (pos or 0.0) == 0.0):
            self.fail(self.error_message())
            return
        if length and pos is not None and pos < length - max(END_TOLERANCE_S, END_TOLERANCE_RATIO * length):
            self.stop_player()
            self._sink.set_state(PlaybackState.ERROR)
            self._sink.emit(EndedEarly(message=say.ended_early(pos, length), at_s=pos, length_s=length))
            return
        self.stop_player()
        self._sink.set_state(PlaybackState.ENDED)
        self._sink.emit(Ended())
