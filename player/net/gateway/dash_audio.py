"""The audio group of a DASH session (:class:`DashAudio`): its media playlist, init
segments and segments, answered under the entry URL's directory."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from player.core.model import FetchKind
from player.net.gateway.dash_objects import AUDIO_TYPE, UpstreamObjects
from player.net.gateway.dash_state import AUDIO_PLAYLIST, PREFIX, DashState
from player.net.gateway.routes import Session
from player.net.gateway.server import Handler
from player.net.manifests import MediaPlaylist

__all__ = ["DashAudio"]


class DashAudio:
    """The audio group of a DASH session, answered under the entry URL's directory:
    :data:`AUDIO_PLAYLIST`, ``dash~ai~K.mp4`` (init segment K) and ``dash~a~SEQ.mp4``."""

    def __init__(
        self,
        objects: UpstreamObjects,
        refresh: Callable[[Session, int], MediaPlaylist | None],
        leaf_url: Callable[[Session, str], str],
    ) -> None:
        self.objects = objects
        self.relay = objects.relay
        self.ledger = objects.relay.ledger
        self.refresh = refresh
        self.leaf_url = leaf_url

    def serve_sub(self, h: Handler, sess: Session, leaf: str, head: bool) -> bool:
        """Answer a ``dash~...`` leaf; False when ``leaf`` is not one of ours."""
        state: DashState | None = sess.plan.dash
        leaf = urllib.parse.unquote(leaf)
        if state is None or not leaf.startswith(PREFIX):
            return False
        if leaf == AUDIO_PLAYLIST:
            if state.is_live:
                self.refresh(sess, 0)
            text = state.audio_playlist(lambda name: self.leaf_url(sess, name))
            if text is None:
                h.send_simple(404, "no audio\n", head)
            else:
                self.relay.send_text(h, text, head)
            return True
        parts = leaf[len(PREFIX) :].rsplit(".", 1)[0].split("~")
        if len(parts) != 2 or not parts[1].isdigit() or parts[0] not in ("a", "ai"):
            h.send_simple(404, "not found\n", head)
            return True
        n = int(parts[1])
        if parts[0] == "ai":
            self._serve_audio_init(h, state, n, head)
        else:
            self._serve_audio_segment(h, sess, state, n, head)
        return True

    def _serve_audio_init(self, h: Handler, state: DashState, k: int, head: bool) -> None:
        ref = state.audio_init(k)
        if ref is None:
            h.send_simple(404, "no such init segment\n", head)
            return
        key = self.ledger.begin(FetchKind.INIT, client=h.connection)
        try:
            body = self.objects.init_bytes(state, ref, key)
        finally:
            self.ledger.end(key)
        if body is None:
            h.send_simple(502, "upstream failed\n", head)
            return
        self.relay.send_bytes(h, body, head, AUDIO_TYPE)

    def _serve_audio_segment(
        self, h: Handler, sess: Session, state: DashState, seq: int, head: bool
    ) -> None:
        pair = state.audio(seq)
        if pair is None and state.is_live:
            self.refresh(sess, 0)
            pair = state.audio(seq)
        if pair is None:
            h.send_simple(404, "no such segment\n", head)
            return
        if head:
            h.send_simple(200, "", True, ctype=AUDIO_TYPE)
            return
        ref = pair[0]
        key = self.ledger.begin(FetchKind.SEGMENT, seq, client=h.connection)
        try:
            # no rendition bitrate: audio is not a video rendition (average bitrate, ABR)
            kw = {"media_sequence": seq, "media_duration_s": ref.duration_s}
            reasons: list[str] = []
            if self.objects.relay_segment(h, key, ref, b"", AUDIO_TYPE, kw, seq, reasons) is None:
                self.objects.missing(h, seq, ref.url, reasons, AUDIO_TYPE)
        finally:
            self.ledger.end(key)
