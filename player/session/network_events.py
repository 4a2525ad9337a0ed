"""The gateway's events of the current open -> what the session knows and tells the viewer."""

from __future__ import annotations

import logging

from player.core.wording import playback as say
from player.net import gateway as gw
from player.session.events import EventSink, RenditionsKnown, StreamNote
from player.session.media import OpenMedia

log = logging.getLogger(__name__)


def apply_gateway_event(ev: object, media: OpenMedia, sink: EventSink) -> None:
    """Record fetches and renditions; word retries, resumes and gaps as stream notes."""
    if isinstance(ev, gw.FetchRecorded):
        media.fetches.append(ev.fetch)
    elif isinstance(ev, gw.PlaylistLoaded):
        media.renditions = list(ev.renditions)
        media.per_segment_data = ev.mode is not gw.Mode.DIRECT
        media.mode_note = ev.note
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
        _note(say.upstream_failed(ev.reason), media, sink)


def rendition_label(r: gw.Rendition) -> str:
    return say.rendition_label(r.index, r.bandwidth, r.resolution[1] if r.resolution else None)


def _note(message: str, media: OpenMedia, sink: EventSink) -> None:
    log.info("stream note: %s", message)
    media.add_note(message)
    sink.emit(StreamNote(message=message))
