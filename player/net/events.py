"""Events the fetcher and the gateway report to their ``on_event`` callback (plain values)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from player.core.model import Fetch

__all__ = [
    "CertificateNotVerified",
    "EventSink",
    "FetchRecorded",
    "Resumed",
    "Retrying",
    "SegmentMissing",
    "UpstreamError",
]


@dataclass(frozen=True, slots=True)
class FetchRecorded:
    """A fetch finished (successfully or not); ``fetch`` is the complete record."""

    fetch: Fetch


@dataclass(frozen=True, slots=True)
class SegmentMissing:
    """A segment could not be fetched at all; the player was told to skip it."""

    seq: int | None
    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class Resumed:
    """A body cut mid-transfer was resumed with a Range request from ``at_byte``."""

    url: str
    at_byte: int


@dataclass(frozen=True, slots=True)
class Retrying:
    """A request failed and will be retried after ``delay_s`` (attempt 1 = first retry)."""

    url: str
    attempt: int
    reason: str
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """The origin failed for good: an HTTP error ``status`` or a network ``reason``."""

    url: str
    status: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class CertificateNotVerified:
    """A request went to ``origin`` (``host:port``) without verifying its certificate: the
    viewer exempted it (:mod:`player.net.tls_policy`). Once per origin per fetcher."""

    origin: str


EventSink = Callable[[object], None]
