"""HLS playlist parsing and rewriting (m3u8 library; plain media playlists, nearly all of
them, are read by :mod:`player.net.hls_plain`, which gives the same result ~10x faster).

Every function here is pure (text in, text out) and raises :class:`ManifestError`
with a human-readable message for anything it cannot handle: malformed text,
missing variants or segments, non-HTTP URIs, absurd durations. No other
exception escapes (property-tested with hypothesis).

URIs are always resolved against the playlist's own (final, post-redirect) URL
with :func:`player.net.url_policy.absolute_http_url` (RFC 3986; the rule redirects and
MPDs use too), and only ``http``/``https`` URIs
are accepted, so a playlist can never make the gateway fetch ``file://`` or
other schemes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

import m3u8

from player.net.hls_plain import PlainMedia, RefResolver, dump_plain_media, scan_plain_media
from player.net.pacing import Pacer
from player.net.sniff import is_hls_text, strip_bom
from player.net.url_policy import BadUrl, absolute_http_url

log = logging.getLogger(__name__)

#: Playlists larger than this are refused (bytes of text).
MAX_PLAYLIST_CHARS = 8 * 1024 * 1024
#: A segment longer than this (seconds) is treated as a malformed playlist.
MAX_SEGMENT_S = 3600.0
#: Variants per master: real ones have under 30, and the gateway fetches each one's
#: media playlist (virtual mode), so a hostile master must not list thousands.
MAX_VARIANTS = 64
#: Segments per media playlist: 24 h of 1 s segments; bounds what one playlist may
#: put on the gateway's allowlist.
MAX_SEGMENTS = 86_400
#: Segments across all renditions that the gateway takes on for its own ABR (virtual
#: mode fetches every rendition's playlist up front and keeps them all). 24 h of 2 s
#: segments in 4 renditions is 172 800; MAX_VARIANTS x MAX_SEGMENTS (5.5 M) would be
#: gigabytes. Over it, VLC chooses renditions itself (rewrite mode).
MAX_VIRTUAL_SEGMENTS = 180_000

_T = TypeVar("_T")


class ManifestError(ValueError):
    """A playlist that cannot be used; ``str(err)`` is a message for humans."""


class UriRole(StrEnum):
    """What a URI inside a playlist points at (decides how the gateway treats it)."""

    VARIANT = "variant"  # a media playlist named by a master
    MEDIA = "media"  # EXT-X-MEDIA alternative rendition playlist
    IFRAME = "iframe"  # I-frame-only playlist
    SEGMENT = "segment"
    INIT = "init"  # EXT-X-MAP initialisation section
    KEY = "key"  # EXT-X-KEY / EXT-X-SESSION-KEY
    PART = "part"  # LL-HLS partial segment / preload hint
    REPORT = "report"  # LL-HLS rendition report (another media playlist)


#: ``map_uri(absolute_upstream_uri, role) -> uri to write into the playlist``
UriMapper = Callable[[str, UriRole], str]


@dataclass(frozen=True, slots=True)
class Variant:
    """One ``EXT-X-STREAM-INF`` entry of a master playlist."""

    index: int
    uri: str  # absolute upstream URL of the media playlist
    bandwidth: int  # bits/s, 0 when absent
    resolution: tuple[int, int] | None = None
    codecs: str | None = None
    average_bandwidth: int | None = None


@dataclass(frozen=True, slots=True)
class MediaSegment:
    """One segment of a media playlist."""

    seq: int  # media sequence number
    uri: str  # absolute upstream URL
    duration: float  # seconds (EXTINF)
    start_s: float  # media time of its start, from the playlist's first segment
    discontinuity: bool = False
    init_uri: str | None = None  # absolute URL of its EXT-X-MAP, if any
    byterange: str | None = None
    title: str | None = None


@dataclass(slots=True)
class MasterPlaylist:
    """A parsed master (multivariant) playlist."""

    url: str
    variants: list[Variant]
    has_alternate_media: bool = False  # EXT-X-MEDIA with a URI (separate audio/subs)
    has_session_keys: bool = False
    version: int | None = None


@dataclass(slots=True)
class MediaPlaylist:
    """A parsed media playlist."""

    url: str
    segments: list[MediaSegment]
    media_sequence: int = 0
    target_duration: float = 0.0
    is_live: bool = False  # no EXT-X-ENDLIST
    playlist_type: str | None = None
    version: int | None = None
    has_keys: bool = False
    has_byteranges: bool = False
    discontinuity_sequence: int | None = None
    init_uris: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Sum of the segment durations."""
        return sum(s.duration for s in self.segments)

    def segment(self, seq: int) -> MediaSegment | None:
        """The segment with media sequence ``seq``, if listed."""
        i = seq - self.media_sequence
        if 0 <= i < len(self.segments) and self.segments[i].seq == seq:
            return self.segments[i]
        for s in self.segments:
            if s.seq == seq:
                return s
        return None


# --------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------
def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise ManifestError("playlist is not text")
    if len(text) > MAX_PLAYLIST_CHARS:
        raise ManifestError(f"playlist is too large ({len(text)} characters)")
    if "\x00" in text:
        raise ManifestError("playlist contains binary data")
    if not is_hls_text(text):
        raise ManifestError("not an HLS playlist (it does not start with #EXTM3U)")
    # Counted on the text before the m3u8 parser builds an object per entry (~1 KB each):
    # an 8 MB playlist of tiny entries is ~600 000 segments, over half a gigabyte parsed.
    segments = text.count("#EXTINF")
    if segments > MAX_SEGMENTS:
        raise ManifestError(f"media playlist lists too many segments ({segments})")
    variants = text.count("#EXT-X-STREAM-INF")
    if variants > MAX_VARIANTS:
        raise ManifestError(f"master playlist lists too many variants ({variants})")
    return strip_bom(text)


def _absolute(base_url: str, uri: object, what: str) -> str:
    if not isinstance(uri, str) or not uri.strip():
        raise ManifestError(f"{what} has no URI")
    try:
        return absolute_http_url(base_url, uri)
    except BadUrl as exc:
        raise ManifestError(f"{what} has an {exc}" if exc.malformed else f"{what} {exc}") from None


def _loads(text: str, base_url: str) -> m3u8.M3U8:
    try:
        return m3u8.loads(text, uri=base_url)
    except ManifestError:
        raise
    except Exception as exc:  # the m3u8 parser raises many types on bad input
        raise ManifestError(f"malformed playlist: {type(exc).__name__}: {exc}") from None


def _int_or_none(v: object) -> int | None:
    try:
        return int(v) if v is not None else None  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None


def _master_from(pl: m3u8.M3U8, base_url: str) -> MasterPlaylist:
    if len(pl.playlists) > MAX_VARIANTS:
        raise ManifestError(f"master playlist lists too many variants ({len(pl.playlists)})")
    variants: list[Variant] = []
    for i, p in enumerate(pl.playlists):
        si = p.stream_info
        bw = _int_or_none(getattr(si, "bandwidth", None)) or 0
        if bw < 0:
            raise ManifestError(f"variant {i} has a negative BANDWIDTH")
        res = getattr(si, "resolution", None)
        resolution = None
        if isinstance(res, tuple) and len(res) == 2 and all(isinstance(x, int) for x in res):
            resolution = (int(res[0]), int(res[1]))
        codecs = getattr(si, "codecs", None)
        variants.append(
            Variant(
                index=i,
                uri=_absolute(base_url, p.uri, f"variant {i}"),
                bandwidth=bw,
                resolution=resolution,
                codecs=codecs if isinstance(codecs, str) else None,
                average_bandwidth=_int_or_none(getattr(si, "average_bandwidth", None)),
            )
        )
    if not variants:
        raise ManifestError("master playlist lists no variants")
    has_alt = any(getattr(m, "uri", None) for m in pl.media)
    return MasterPlaylist(
        url=base_url,
        variants=variants,
        has_alternate_media=bool(has_alt),
        has_session_keys=bool(pl.session_keys),
        version=_int_or_none(pl.version),
    )


def _duration(v: object, what: str) -> float:
    try:
        d = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ManifestError(f"{what} has no valid duration") from None
    if not math.isfinite(d) or d < 0 or d > MAX_SEGMENT_S:
        raise ManifestError(f"{what} has an invalid duration {v!r}")
    return d


def _media_from(pl: m3u8.M3U8, base_url: str) -> MediaPlaylist:
    if pl.is_variant:
        raise ManifestError("expected a media playlist, got a master playlist")
    seq0 = _int_or_none(pl.media_sequence) or 0
    if seq0 < 0:
        raise ManifestError("negative EXT-X-MEDIA-SEQUENCE")
    if len(pl.segments) > MAX_SEGMENTS:
        raise ManifestError(f"media playlist lists too many segments ({len(pl.segments)})")
    segments: list[MediaSegment] = []
    init_uris: list[str] = []
    t = 0.0
    has_keys = any(k is not None and getattr(k, "uri", None) for k in pl.keys)
    has_byteranges = False
    for i, s in enumerate(pl.segments):
        seq = seq0 + i
        what = f"segment {seq}"
        dur = _duration(s.duration, what)
        init_uri = None
        init = getattr(s, "init_section", None)
        if init is not None:
            init_uri = _absolute(base_url, getattr(init, "uri", None), f"{what} EXT-X-MAP")
            if init_uri not in init_uris:
                init_uris.append(init_uri)
        if getattr(s, "byterange", None):
            has_byteranges = True
        title = s.title if isinstance(s.title, str) else None
        segments.append(
            MediaSegment(
                seq=seq,
                uri=_absolute(base_url, s.uri, what),
                duration=dur,
                start_s=t,
                discontinuity=bool(s.discontinuity),
                init_uri=init_uri,
                byterange=str(s.byterange) if s.byterange else None,
                title=title,
            )
        )
        t += dur
    return _media_playlist(
        base_url,
        segments,
        seq0,
        endlist=bool(pl.is_endlist),
        target_duration=pl.target_duration,
        playlist_type=pl.playlist_type if isinstance(pl.playlist_type, str) else None,
        version=_int_or_none(pl.version),
        has_keys=has_keys,
        has_byteranges=has_byteranges,
        discontinuity_sequence=_int_or_none(pl.discontinuity_sequence),
        init_uris=init_uris,
    )


def _media_playlist(  # noqa: PLR0913 - the playlist's facts, by name
    base_url: str,
    segments: list[MediaSegment],
    seq0: int,
    *,
    endlist: bool,
    target_duration: object,
    playlist_type: str | None,
    version: int | None,
    has_keys: bool,
    has_byteranges: bool,
    discontinuity_sequence: int | None,
    init_uris: list[str],
) -> MediaPlaylist:
    """The one rule for what both readers found: an ended playlist needs segments, a
    missing target duration is the longest segment, a VOD playlist type is never live."""
    is_live = not endlist
    if not segments and not is_live:
        raise ManifestError("media playlist lists no segments")
    td = target_duration
    target = _duration(td, "EXT-X-TARGETDURATION") if td is not None else 0.0
    if target == 0.0 and segments:
        target = max(s.duration for s in segments)
    return MediaPlaylist(
        url=base_url,
        segments=segments,
        media_sequence=seq0,
        target_duration=target,
        is_live=is_live and (playlist_type or "").lower() != "vod",
        playlist_type=playlist_type,
        version=version,
        has_keys=has_keys,
        has_byteranges=has_byteranges,
        discontinuity_sequence=discontinuity_sequence,
        init_uris=init_uris,
    )


def parse_master(text: str, base_url: str) -> MasterPlaylist:
    """Parse a master playlist fetched from ``base_url``."""
    pl = _loads(_check_text(text), base_url)
    if not pl.is_variant:
        raise ManifestError("expected a master playlist, got a media playlist")
    return _guard(lambda: _master_from(pl, base_url))


def _media_from_plain(p: PlainMedia, base_url: str) -> MediaPlaylist:
    """:func:`_media_from` for a playlist :func:`scan_plain_media` read: the same checks,
    in the same order, so the same result or the same error."""
    seq0 = p.media_sequence
    if seq0 < 0:
        raise ManifestError("negative EXT-X-MEDIA-SEQUENCE")
    if len(p.segments) > MAX_SEGMENTS:
        raise ManifestError(f"media playlist lists too many segments ({len(p.segments)})")
    resolve = RefResolver(base_url)
    pace = Pacer()  # a gateway thread: give the GIL away every few ms (player.net.pacing)
    segments: list[MediaSegment] = []
    t = 0.0
    for seq, (dur, title, ref, discontinuity) in enumerate(p.segments, seq0):
        pace()
        if not 0.0 <= dur <= MAX_SEGMENT_S:  # NaN too: what _duration refuses
            _duration(dur, f"segment {seq}")  # raises with its message
        try:
            uri = resolve(ref)
        except BadUrl:
            uri = _absolute(base_url, ref, f"segment {seq}")  # raises with its message
        segments.append(MediaSegment(seq, uri, dur, t, discontinuity, None, None, title))
        t += dur
    return _media_playlist(
        base_url,
        segments,
        seq0,
        endlist=p.is_endlist,
        target_duration=p.target_duration,
        playlist_type=p.playlist_type,
        version=p.version,
        has_keys=False,
        has_byteranges=False,
        discontinuity_sequence=p.discontinuity_sequence,
        init_uris=[],
    )


def parse_media(text: str, base_url: str) -> MediaPlaylist:
    """Parse a media playlist fetched from ``base_url``. A plain one (nearly all are) is
    read without the m3u8 library (:mod:`player.net.hls_plain`): the same result, ~10x
    faster, and the thread gives the GIL away as it goes."""
    checked = _check_text(text)
    plain = scan_plain_media(checked, base_url)
    if plain is not None:
        return _guard(lambda: _media_from_plain(plain, base_url))
    return _parse_media_m3u8(checked, base_url)


def _parse_media_m3u8(checked: str, base_url: str) -> MediaPlaylist:
    """:func:`parse_media` through the m3u8 library (``checked``: :func:`_check_text`-ed)."""
    pl = _loads(checked, base_url)
    return _guard(lambda: _media_from(pl, base_url))


def parse_playlist(text: str, base_url: str) -> MasterPlaylist | MediaPlaylist:
    """Parse either kind of HLS playlist."""
    pl = _loads(_check_text(text), base_url)
    if pl.is_variant:
        return _guard(lambda: _master_from(pl, base_url))
    return _guard(lambda: _media_from(pl, base_url))


def _guard(fn: Callable[[], _T]) -> _T:
    """Run ``fn``; turn any unexpected exception into :class:`ManifestError` (logged)."""
    try:
        return fn()
    except ManifestError:
        raise
    except Exception as exc:  # safety net: malformed input must never crash the gateway
        log.debug("unexpected playlist failure", exc_info=True)
        raise ManifestError(f"malformed playlist: {type(exc).__name__}: {exc}") from None


# --------------------------------------------------------------------------------------
# rewriting
# --------------------------------------------------------------------------------------
def _map(mapper: UriMapper, base_url: str, uri: object, role: UriRole, what: str) -> str:
    return mapper(_absolute(base_url, uri, what), role)


def _rewrite_key(key: object, mapper: UriMapper, base_url: str) -> None:
    if key is None:
        return
    uri = getattr(key, "uri", None)
    method = str(getattr(key, "method", "") or "").upper()
    if uri and method != "NONE":
        if isinstance(uri, str) and uri.startswith(("skd:", "data:")):
            return  # key systems / inline keys are not fetched over HTTP
        key.uri = _map(mapper, base_url, uri, UriRole.KEY, "EXT-X-KEY")  # type: ignore[attr-defined]


def rewrite_master(text: str, base_url: str, mapper: UriMapper) -> tuple[str, MasterPlaylist]:
    """Rewrite every URI of a master playlist through ``mapper``.

    Returns the new text and the parsed playlist (with *upstream* absolute URIs).
    """
    pl = _loads(_check_text(text), base_url)
    if not pl.is_variant:
        raise ManifestError("expected a master playlist, got a media playlist")

    def work() -> tuple[str, MasterPlaylist]:
        parsed = _master_from(pl, base_url)
        for i, p in enumerate(pl.playlists):
            p.uri = _map(mapper, base_url, p.uri, UriRole.VARIANT, f"variant {i}")
        for i, p in enumerate(pl.iframe_playlists):
            if p.uri:
                p.uri = _map(mapper, base_url, p.uri, UriRole.IFRAME, f"I-frame playlist {i}")
        for m in pl.media:
            if getattr(m, "uri", None):
                m.uri = _map(mapper, base_url, m.uri, UriRole.MEDIA, "EXT-X-MEDIA")
        for k in pl.session_keys:
            _rewrite_key(k, mapper, base_url)
        out = pl.dumps()
        _loads(out, base_url)  # what the player gets must parse (e.g. an I-frame entry without URI)
        return out, parsed

    return _guard(work)


def rewrite_media(text: str, base_url: str, mapper: UriMapper) -> tuple[str, MediaPlaylist]:
    """Rewrite every URI of a media playlist (segments, maps, keys, parts) through ``mapper``
    (a plain one without the m3u8 library, as :func:`parse_media`: the same text out)."""
    checked = _check_text(text)
    plain = scan_plain_media(checked, base_url)
    if plain is None:
        return _rewrite_media_m3u8(checked, base_url, mapper)

    def work_plain() -> tuple[str, MediaPlaylist]:
        parsed = _media_from_plain(plain, base_url)
        pace = Pacer()  # a gateway thread: give the GIL away every few ms (player.net.pacing)
        uris = []
        for seg in parsed.segments:
            pace()
            uris.append(mapper(seg.uri, UriRole.SEGMENT))
        return dump_plain_media(plain, uris), parsed

    return _guard(work_plain)


def _rewrite_media_m3u8(
    checked: str, base_url: str, mapper: UriMapper
) -> tuple[str, MediaPlaylist]:
    """:func:`rewrite_media` through the m3u8 library (``checked``: :func:`_check_text`-ed)."""
    pl = _loads(checked, base_url)
    if pl.is_variant:
        raise ManifestError("expected a media playlist, got a master playlist")

    def work() -> tuple[str, MediaPlaylist]:
        parsed = _media_from(pl, base_url)
        for seg in pl.segments:
            seg.uri = _map(mapper, base_url, seg.uri, UriRole.SEGMENT, "segment")
            init = getattr(seg, "init_section", None)
            if init is not None and init.uri:
                init.uri = _map(mapper, base_url, init.uri, UriRole.INIT, "EXT-X-MAP")
            _rewrite_key(getattr(seg, "key", None), mapper, base_url)
            for part in getattr(seg, "parts", None) or []:
                if getattr(part, "uri", None):
                    part.uri = _map(mapper, base_url, part.uri, UriRole.PART, "EXT-X-PART")
        for init in pl.segment_map or []:
            if init is not None and init.uri:
                init.uri = _map(mapper, base_url, init.uri, UriRole.INIT, "EXT-X-MAP")
        for k in pl.keys:
            _rewrite_key(k, mapper, base_url)
        hint = pl.preload_hint
        if hint is not None and getattr(hint, "uri", None):
            hint.uri = _map(mapper, base_url, hint.uri, UriRole.PART, "EXT-X-PRELOAD-HINT")
        for r in pl.rendition_reports or []:
            if getattr(r, "uri", None):
                r.uri = _map(mapper, base_url, r.uri, UriRole.REPORT, "EXT-X-RENDITION-REPORT")
        return pl.dumps(), parsed

    return _guard(work)
