"""Fetch records as a long live session makes them (for the FetchLog tests)."""

from __future__ import annotations

from player.core.model import Fetch, FetchKind

# A live stream's mix: per 2 s, a video playlist, a video segment (names its rendition's
# bitrate), an audio playlist, an audio segment (names none).
PATTERN = (
    (FetchKind.PLAYLIST, None),
    (FetchKind.SEGMENT, 2_500_000),
    (FetchKind.PLAYLIST, None),
    (FetchKind.SEGMENT, None),
)


def live_fetch(i: int) -> Fetch:
    """The ``i``-th fetch of a long live session: distinct URLs (as a real one has),
    now and then a failure, a retry, a resume, a new connection."""
    kind, bitrate = PATTERN[i % len(PATTERN)]
    seg = i // len(PATTERN)
    media = kind is FetchKind.SEGMENT
    return Fetch(
        url=f"https://cdn.example.com/live/{'v' if bitrate else 'a'}/{kind.value}_{i:08d}.ts",
        kind=kind,
        started_at=2.0 * seg + 0.1 * (i % len(PATTERN)),
        host="cdn.example.com",
        rendition_bitrate_bps=bitrate if bitrate is None else bitrate + 1000 * (seg % 3),
        media_sequence=seg if media else None,
        media_duration_s=2.0 if media else None,
        status=200,
        bytes=(600_000 if bitrate else 40_000) if media else 900,
        ttfb_ms=15.0 + (i * 7919) % 97,
        transfer_ms=80.0 + (i * 104_729) % 211 if media else 1.0,
        retries=1 if i % 53 == 0 else 0,
        resumed=1 if i % 101 == 0 else 0,
        reused_connection=i % 17 != 0,
        error="HTTP 503" if i % 89 == 0 else None,
        finished_at=2.0 * seg + 0.1 * (i % len(PATTERN)) + 0.2,
    )
