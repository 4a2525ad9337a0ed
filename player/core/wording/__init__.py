"""Every sentence the viewer reads, in one package: notices, evidence lines, errors, notes.

- ``notices``: verdict -> the notice over the video (sure/soft templates, ``unknown``).
- ``evidence``: the evidence lines under a notice and in "Why?" (plain words, no addresses).
- ``errors``: bad input and network failures as one-line reasons (the error taxonomy's words).
- ``playback``: what the session says about a stream (ended early, not a video, notes).
"""

from player.core.wording.errors import ErrorKind
from player.core.wording.notices import (
    ADJUSTING,
    BUFFERING,
    UNKNOWN_TEXT,
    Notice,
    evidence_summary,
    is_address_literal,
    notice,
    notice_text,
    overlay_notice,
    scrub_addresses,
)

__all__ = [
    "ADJUSTING",
    "BUFFERING",
    "UNKNOWN_TEXT",
    "ErrorKind",
    "Notice",
    "evidence_summary",
    "is_address_literal",
    "notice",
    "notice_text",
    "overlay_notice",
    "scrub_addresses",
]
