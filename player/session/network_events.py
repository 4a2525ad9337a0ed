"""The gateway's events of the current open -> what the session knows and tells the viewer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from player.core.tls_origin import TlsOrigin
from player.core.wording import errors as words
from player.core.wording import playback as say
from player.core.wording import tls as say_tls
from player.core.wording.errors import ErrorKind
from player.net import gateway as gw
from player.net.events import CertificateNotVerified
from player.session.events import CertificateUnverified, EventSink, RenditionsKnown, StreamNote
from player.session.media import OpenMedia

log = logging.getLogger(__name__)

TLS_REASON = words.reason(ErrorKind.TLS)  # the fetcher's reason for a certificate failure


@dataclass(frozen=True, slots=True)
class ExemptionUnusable:
    """The opener's own event: libVLC fetches an exempted ``origin`` (``host:port``) itself
    (no gateway), so the viewer's certificate exception cannot apply to it."""

    origin: str


def apply_gateway_event(ev: object, media: OpenMedia, sink: EventSink) -> None:
    """Record fetches and renditions; word retries, resumes and gaps as stream notes."""
    if isinstance(ev, gw.FetchRecorded):
        media.fetches.append(ev.fetch)
    elif isinstance(ev, CertificateNotVerified):
        if ev.origin not in media.tls_unverified:
            media.tls_unverified.append(ev.origin)
            sink.emit(CertificateUnverified(origin=ev.origin))
    elif isinstance(ev, ExemptionUnusable):
        _note(say_tls.direct_only(ev.origin), media, sink)
    elif isinstance(ev, gw.PlaylistLoaded):
        media.renditions = list(ev.renditions)
        media.per_segment_data = ev.mode is not gw.Mode.DIRECT
        media.mode_note = ev.note
        if ev.mode is gw.Mode.DIRECT:  # libVLC fetches the MPD's segments itself
            for origin in media.tls_unverified:
                _note(say_tls.direct_only(origin), media, sink)
        if ev.renditions:
            sink.emit(RenditionsKnown(labels=[rendition_label(r) for r in ev.renditions]))
    elif isinstance(ev, gw.RenditionSwitched):
        log.debug("rendition %s -> %s at segment %d", ev.from_index, ev.to_index, ev.seq)
        before, after = media.rendition(ev.from_index), media.rendition(ev.to_index)
        if before is not None and after is not None and after.bandwidth < before.bandwidth:
            media.step_downs.append(sink.clock())  # the notice's "Adjusting video ..."
    elif isinstance(ev, gw.SegmentMissing):
        _note(say.segment_missing(ev.reason), media, sink)
    elif isinstance(ev, gw.Resumed):
        _note(say.resumed(), media, sink)
    elif isinstance(ev, gw.Retrying):
        _note(say.retrying(ev.reason), media, sink)
    elif isinstance(ev, gw.UpstreamError):
        # the source itself, or anything before it played (a variant playlist): a libVLC
        # error that follows is this one, not a "format" problem
        if not media.upstream_failure and (ev.url == media.source or media.playing_since is None):
            media.upstream_failure = ev.reason
            origin = TlsOrigin.of(ev.url) if ev.reason == TLS_REASON else None
            media.upstream_tls_origin = origin.url if origin is not None else None
        _note(say.upstream_failed(ev.reason), media, sink)


def rendition_label(r: gw.Rendition) -> str:
    return say.rendition_label(r.index, r.bandwidth, r.resolution[1] if r.resolution else None)


def _note(message: str, media: OpenMedia, sink: EventSink) -> None:
    if not media.add_note(message, sink.clock()):
        log.debug("stream note repeated: %s", message)
        return
    log.info("stream note: %s", message)
    sink.emit(StreamNote(message=message))
