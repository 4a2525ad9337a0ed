"""The loopback HTTP gateway that VLC reads through (see DESIGN.md, "Why a loopback gateway").

VLC is given ``http://127.0.0.1:PORT/SECRET/SID/open/NAME`` by :meth:`Gateway.open`; the
gateway fetches everything from the origin with :class:`~player.net.fetch.Fetcher`
(requests), streams bytes to VLC chunk by chunk as they arrive, and records every
fetch as a :class:`~player.core.model.Fetch`.

Modes (``Gateway.mode``), decided when VLC first asks for the URL it was given:

``hls-virtual``   a master playlist whose renditions share segment timing. VLC gets a
                  one-variant master whose media playlist (``.../v/index.m3u8``) lists
                  *virtual* segments ``.../v/<seq>.ts``. For each segment request the
                  gateway asks ``rendition_chooser(seq) -> index`` (or the locked
                  rendition; default: keep the current one) and fetches that rendition's
                  segment ``seq``. This is how the player, not VLC, chooses renditions.
                  Our generated renditions start every segment with an IDR frame and
                  share timestamps, so no ``EXT-X-DISCONTINUITY`` is needed at a switch.
``hls-rewrite``   fallback when renditions are not aligned (different segment counts or
                  durations, fMP4 init sections, byte ranges, encryption, separate audio
                  renditions), and for a media playlist opened directly: master and media
                  playlists are rewritten so that every URI goes through the gateway, and
                  VLC's own adaptive logic picks variants. ``lock_rendition`` then applies
                  to media playlists VLC fetches after the call.
``progressive``   a plain file; VLC's ``Range`` requests are passed through (seeking works).
                  ``hls-virtual`` also serves DASH: the MPD becomes a one-variant HLS
                  master with the audio set as an audio group; each video segment is
                  served self-initialising (the chosen representation's init segment
                  first) after an ``EXT-X-DISCONTINUITY``, so libVLC restarts its mp4
                  demuxer and decoder at a resolution change (see ``dash``).
``direct``        only an MPD the gateway cannot serve (no separate audio set, encrypted
                  sets, unaligned representations): VLC fetches it itself;
                  ``per_segment_data`` is False and the UI says why.

One job per module:

``server``   the loopback HTTP server, its handler and connection registry, the watchdog
``routes``   the secret, session ids, URL tokens, the allowlist, request dispatch
``entry``    the entry URL: sniffing, progressive pass-through, HLS set-up, DASH
``media``    URLs a session named (rewrite mode) and virtual mode's playlist and segments
``planner``  HLS planning (pure): virtual playlist, rendition choice, substitutes
``dash``     DASH set-up and live refresh over ``dash_objects`` (upstream MPD, index and
             init fetches), ``dash_segments`` and ``dash_audio`` (serving), ``dash_direct``
             (the checked hand-over to VLC); pure parts: ``dash_plan``, ``dash_state``
``relay``    upstream requests, bodies to VLC, the missing segment (empty ``200``)
``ledger``   delivery accounting for the buffer model (pure, injected clock)
``fetch_gate`` the session's deliberate idle gaps: no new segment fetch while one is open
``facade``   :class:`Gateway`, composing the above

Resilience: retries with bounded backoff, Range resume after a cut (VLC never sees a byte
twice), and a segment that stays missing (after retries, and after trying the same
segment of other renditions in virtual mode) is answered with an empty ``200`` so that
VLC moves on, reported as :class:`SegmentMissing`.

Security: binds 127.0.0.1 only; every path starts with an unguessable per-run secret and
the current session id; anything else is 403. Upstream URLs are reachable only if the user
opened them or a playlist of this session named them (the allowlist).

Delivery accounting (for the buffer model): :meth:`Gateway.delivered_media_s`,
:meth:`Gateway.delivered_until_s`, :meth:`Gateway.starving` (no byte for more than
:data:`STARVING_AFTER_S` while waiting on upstream), :meth:`Gateway.bytes_delivered`;
their exact meaning is documented in :mod:`player.net.gateway.ledger`.
:meth:`Gateway.downloading` (one of our media downloads is in flight upstream, the DASH
read-ahead's included) and :attr:`Gateway.fetch_gate` (idle gaps) are for the path monitor.

Events go to ``on_event(event)`` from the gateway's own threads (consumers enqueue):
:class:`FetchRecorded`, :class:`SegmentMissing`, :class:`Resumed`, :class:`Retrying`,
:class:`UpstreamError`, :class:`PlaylistLoaded`, :class:`RenditionSwitched`.
"""

from player.net.events import FetchRecorded, Resumed, Retrying, SegmentMissing, UpstreamError
from player.net.gateway.facade import Gateway
from player.net.gateway.ledger import STARVING_AFTER_S
from player.net.gateway.model import InFlight, Mode, PlaylistLoaded, Rendition, RenditionSwitched
from player.net.gateway.planner import MAX_SUBSTITUTES

__all__ = [
    "MAX_SUBSTITUTES",
    "STARVING_AFTER_S",
    "FetchRecorded",
    "Gateway",
    "InFlight",
    "Mode",
    "PlaylistLoaded",
    "Rendition",
    "RenditionSwitched",
    "Resumed",
    "Retrying",
    "SegmentMissing",
    "UpstreamError",
]
