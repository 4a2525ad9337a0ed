"""The source being played and what is known about it; a fresh record on every open."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse, urlsplit

from player.core import buffer_health as bh
from player.core.fetch_log import FetchLog
from player.core.redact import looks_like_token

if TYPE_CHECKING:
    from player.net.gateway import Rendition

URL_SCHEMES = ("http", "https", "rtsp", "rtmp", "mms", "udp", "file")
STREAM_TITLE = "Stream"  # a URL with neither a usable file name nor a host
NOTES_KEPT = 20  # stream notes kept for the report (the stats panel shows the last)
# The same note again within this long is counted, not shown again: a retry loop (the
# server's name not resolving, a server gone) would otherwise say the same line once per
# attempt, several times a second; once in 10 s still tells the viewer it goes on.
NOTE_REPEAT_S = 10.0


def title_for(source: str) -> str:
    """THE rule for what a source is called on screen (window title, status bar, queue rows,
    the desktop's track title): a URL's file name, or, when it has none or its name is a
    token, its host name and port. Never a URL's ``user:password@``, query or fragment
    (the host comes from ``hostname``, not ``netloc``). A local path gives its file name."""
    if "://" not in source:
        return Path(source).name or source
    rest = source.split("://", 1)[1]
    try:
        parts = urlsplit(source)
        host, port = parts.hostname or "", parts.port
        path = parts.path
    except ValueError:  # malformed (bad port, bad IPv6 brackets): no host part is shown
        host, port = "", None
        path = "/" + rest.split("/", 1)[1] if "/" in rest else ""
        path = path.split("?", 1)[0].split("#", 1)[0]
    name = Path(unquote(path)).name
    if name and not looks_like_token(name):
        return name
    if not host:
        return name or STREAM_TITLE
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def is_url(source: str) -> bool:
    return urlparse(source).scheme in URL_SCHEMES


@dataclass(slots=True)
class OpenMedia:
    """One open of one source: its title, timing, fetches, renditions and notes.

    Owned by the session's thread. Replaced (never cleared) by every open, so nothing
    of a previous source can leak into the next one."""

    source: str | None = None
    title: str = ""
    gen: int = 0  # the session's generation this record belongs to
    opened_at: float | None = None  # session clock
    monitor: bh.BufferHealthMonitor = field(default_factory=bh.BufferHealthMonitor)
    length_s: float | None = None
    seekable: bool = False
    last_position_s: float | None = None
    playing_since: float | None = None  # first libVLC "playing" of this open
    failed: bool = False
    fetches: FetchLog = field(default_factory=FetchLog)  # bounded: newest records + totals
    renditions: list[Rendition] = field(default_factory=list)
    current_rendition: int | None = None  # gateway index of the last segment served
    step_downs: list[float] = field(default_factory=list)  # session clock of each ABR step down
    per_segment_data: bool = True
    mode_note: str = ""
    notes: list[str] = field(default_factory=list)
    note_shown_at: dict[str, float] = field(default_factory=dict)  # message -> session clock
    notes_repeated: int = 0  # notes not shown again (within NOTE_REPEAT_S of the same one)
    tls_unverified: list[str] = field(default_factory=list)  # host:port reached unverified
    upstream_failure: str = ""  # the gateway's first failure (the source's, or before playing)
    upstream_tls_origin: str | None = (
        None  # https://host:port when that failure was its certificate
    )

    def rendition(self, index: int | None) -> Rendition | None:
        if index is None or not (0 <= index < len(self.renditions)):
            return None
        return self.renditions[index]

    @property
    def playing_rendition(self) -> Rendition | None:
        return self.rendition(self.current_rendition)

    def add_note(self, message: str, now: float) -> bool:
        """Keep ``message`` as the newest note; False (only counted) when the same note was
        kept less than NOTE_REPEAT_S before ``now``."""
        last = self.note_shown_at.get(message)
        if last is not None and now - last < NOTE_REPEAT_S:
            self.notes_repeated += 1
            return False
        if len(self.note_shown_at) >= NOTES_KEPT:  # bounded: forget notes long past
            self.note_shown_at = {
                m: t for m, t in self.note_shown_at.items() if now - t < NOTE_REPEAT_S
            }
        self.note_shown_at[message] = now
        self.notes.append(message)
        del self.notes[:-NOTES_KEPT]
        return True
