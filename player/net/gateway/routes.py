"""Routes: the per-run secret, session ids, URL tokens, the allowlist, and request dispatch.

Every gateway URL is ``BASE/SID/VERB/...`` with ``BASE = http://127.0.0.1:PORT/SECRET``:

``SID/open/NAME``            the entry URL given to VLC (:meth:`Routes.entry_url`)
``SID/r/TOKEN/NAME``         an upstream URL on the session's allowlist; TOKEN is the URL
                             in unpadded urlsafe base64 (:func:`b64`)
``SID/v/index.m3u8``         virtual mode: the virtual media playlist
``SID/v/SEQ.EXT``            virtual mode: virtual segment SEQ

The secret (:func:`secrets.token_urlsafe`) is unguessable and per run; the session id
changes with every :meth:`Routes.new_session`, so an old session's URLs are 403. Upstream
URLs are reachable only when the user opened them or a playlist of this session named them
(the allowlist), so the gateway is not an open proxy. Neither the secret nor a session id
is ever written to a log line (:meth:`Routes.redact`, tracebacks included).

The allowlist is bounded: after a live media playlist is refreshed, segments it no longer
lists (older than :data:`LIVE_KEEP_SEGMENTS` before its window) are dropped
(:meth:`Routes.prune_live`), and beyond :data:`MAX_ALLOWED` entries the oldest segment
entries go. Each session also carries its :class:`~player.net.url_policy.AddressPolicy`
(the address classes of the URL the viewer opened); :meth:`Routes.dispatch` serves each
request inside that session's :func:`~player.net.timing.policy_scope`, so a request of an
old session still running when the next opens stays under its own session's policy.
"""

from __future__ import annotations

import base64
import hmac
import logging
import re
import secrets
import threading
import traceback
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from player.core.redact import loggable
from player.net.gateway.ledger import MediaRun
from player.net.gateway.model import Mode
from player.net.gateway.planner import HlsPlan
from player.net.gateway.server import ClientGone, Handler
from player.net.manifests import MediaPlaylist, MediaSegment, UriRole
from player.net.pacing import Pacer
from player.net.timing import policy_scope
from player.net.transfer import FetchAborted
from player.net.url_policy import AddressPolicy

__all__ = [
    "Allowed",
    "EntryAnswers",
    "MediaAnswers",
    "Routes",
    "Session",
    "b64",
    "ext",
    "name_for",
    "unb64",
]

log = logging.getLogger(__name__)

SECRET_BYTES = 24  # 32 characters: unguessable for anything that can reach loopback
SID_BYTES = 9  # 12 characters: tells this session's URLs from an older one's
MAX_NAME_CHARS = 64  # of the cosmetic last path component
REDACTED = "…"
#: Allowlist entries per session (~300 bytes each: at most ~90 MB). Virtual mode names
#: every rendition's segments up front but re-allows each one VLC asks for; rewrite mode
#: names those of the playlists VLC fetched (a 24 h VOD of 2 s segments is 43 200 per
#: rendition). The bound stops a hostile live playlist that renames every segment.
MAX_ALLOWED = 300_000
#: Segments kept on the allowlist behind a refreshed live window: VLC may still be
#: fetching one the origin just dropped from the playlist.
LIVE_KEEP_SEGMENTS = 6
_PRUNABLE = (UriRole.SEGMENT, UriRole.PART)
ALLOW_CHUNK = 500  # segments allowed per hold of the session lock (~1 ms of work)
_NAME_RE = re.compile(r"[^A-Za-z0-9._-]")


def b64(url: str) -> str:
    """``url`` as an unpadded urlsafe base64 path token."""
    return base64.urlsafe_b64encode(url.encode("utf-8")).rstrip(b"=").decode("ascii")


def unb64(token: str) -> str | None:
    """The URL of a :func:`b64` token; None when it is not one."""
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def name_for(url: str, default: str = "media") -> str:
    """A safe last path component (keeps the extension, which VLC uses as a hint)."""
    path = urllib.parse.urlsplit(url).path
    name = _NAME_RE.sub("_", path.rsplit("/", 1)[-1])[-MAX_NAME_CHARS:]
    return name or default


def ext(url: str) -> str:
    """The lower-case extension of the URL's last path component (``".m3u8"``), or ""."""
    name = urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]
    return ("." + name.rsplit(".", 1)[1].lower()) if "." in name else ""


@dataclass(slots=True)
class Allowed:
    """An upstream URL that this session may fetch, and what it is."""

    url: str
    role: UriRole
    rendition: int | None = None
    seq: int | None = None
    duration: float | None = None


@dataclass(slots=True)
class Session:
    """One opened URL: its id, routing mode, allowlist, HLS plan and delivery run."""

    sid: str
    url: str
    kind_hint: str | None
    name: str
    run: MediaRun
    mode: Mode = Mode.PENDING
    allowed: dict[str, Allowed] = field(default_factory=dict)
    plan: HlsPlan = field(default_factory=HlsPlan)
    lock: threading.RLock = field(default_factory=threading.RLock)
    policy: AddressPolicy | None = None  # set by new_session: the opened URL's classes
    reopened: bool = False  # libVLC opened this URL again at a position (Gateway.reopened)

    def __post_init__(self) -> None:
        if self.policy is None:
            self.policy = AddressPolicy(self.url)


class EntryAnswers(Protocol):
    """What answers the entry URL (:mod:`player.net.gateway.entry`)."""

    def serve_entry(self, h: Handler, sess: Session, head: bool) -> None: ...


class MediaAnswers(Protocol):
    """What answers the URLs a session named (:mod:`player.net.gateway.media`)."""

    def serve_allowed(self, h: Handler, sess: Session, a: Allowed, head: bool) -> None: ...

    def serve_virtual_index(self, h: Handler, sess: Session, head: bool) -> None: ...

    def serve_virtual_segment(self, h: Handler, sess: Session, seq: int, head: bool) -> None: ...


class Routes:
    """The secret, the current session, URL building and dispatch (see module doc)."""

    def __init__(self, base_url: Callable[[], str]) -> None:
        self.secret = secrets.token_urlsafe(SECRET_BYTES)
        self._base_url = base_url
        self._session: Session | None = None
        self._sids: list[str] = []  # every id handed out (for redact)

    # --- sessions -----------------------------------------------------------------------
    def new_session(self, url: str, kind_hint: str | None, name: str, run: MediaRun) -> Session:
        """A new current session for ``url`` (the user opened it: it is allowed)."""
        sess = Session(secrets.token_urlsafe(SID_BYTES), url, kind_hint, name, run)
        sess.allowed[url] = Allowed(url, UriRole.VARIANT)
        self._sids.append(sess.sid)
        self._session = sess
        return sess

    @property
    def current(self) -> Session | None:
        return self._session

    # --- URLs ---------------------------------------------------------------------------
    def entry_url(self, sess: Session) -> str:
        return f"{self._base_url()}/{sess.sid}/open/{sess.name}"

    def virtual_index_url(self, sess: Session) -> str:
        return f"{self._base_url()}/{sess.sid}/v/index.m3u8"

    def virtual_segment_url(self, sess: Session, seq: int, upstream_uri: str) -> str:
        return f"{self._base_url()}/{sess.sid}/v/{seq}{ext(upstream_uri) or '.ts'}"

    def allow(self, sess: Session, url: str, role: UriRole, **meta: Any) -> str:
        """Put ``url`` on the session's allowlist; return the gateway URL for it."""
        with sess.lock:
            entry = sess.allowed.get(url)
            if entry is None or role in (UriRole.VARIANT, UriRole.SEGMENT):
                sess.allowed.pop(url, None)  # re-inserted: the newest entry
                sess.allowed[url] = Allowed(url, role, **meta)
                if len(sess.allowed) > MAX_ALLOWED:
                    self._evict(sess)
        return f"{self._base_url()}/{sess.sid}/r/{b64(url)}/{name_for(url)}"

    def allow_segments(
        self, sess: Session, rendition: int, segments: Sequence[MediaSegment]
    ) -> None:
        """:meth:`allow` for each of a rendition's segments, in order (virtual mode names
        every one up front): the same entries, without building the gateway URL of each
        (nobody asks for them), and the lock taken per chunk, so a request of the session
        waits for one chunk, not 50 000 entries."""
        allowed = sess.allowed
        pace = Pacer()  # a gateway thread: give the GIL away every few ms (player.net.pacing)
        for start in range(0, len(segments), ALLOW_CHUNK):
            pace()
            with sess.lock:
                for seg in segments[start : start + ALLOW_CHUNK]:
                    allowed.pop(seg.uri, None)  # re-inserted: the newest entry
                    allowed[seg.uri] = Allowed(
                        seg.uri, UriRole.SEGMENT, rendition, seg.seq, seg.duration
                    )
                    if len(allowed) > MAX_ALLOWED:
                        self._evict(sess)

    @staticmethod
    def _evict(sess: Session) -> None:
        """Drop the oldest segment entries until the allowlist is back under its bound."""
        excess = len(sess.allowed) - MAX_ALLOWED + MAX_ALLOWED // 10  # not again at once
        old = [u for u, a in sess.allowed.items() if a.role in _PRUNABLE][:excess]
        for u in old:
            del sess.allowed[u]
        log.info(
            "gateway: allowlist over %d entries; dropped %d old segments", MAX_ALLOWED, len(old)
        )

    def prune_live(self, sess: Session, rendition: int | None, mp: MediaPlaylist) -> int:
        """After a refresh of a live media playlist: drop rendition ``rendition``'s segment
        entries the playlist no longer lists and that are more than LIVE_KEEP_SEGMENTS
        before its window (or have no sequence number). Returns how many went."""
        if not mp.is_live or not mp.segments:
            return 0
        listed = {seg.uri for seg in mp.segments}
        floor = mp.segments[0].seq - LIVE_KEEP_SEGMENTS
        with sess.lock:
            gone = [
                u
                for u, a in sess.allowed.items()
                if a.role in _PRUNABLE
                and a.rendition == rendition
                and u not in listed
                and (a.seq is None or a.seq < floor)
            ]
            for u in gone:
                del sess.allowed[u]
        return len(gone)

    def redact(self, text: str) -> str:
        """``text`` without the secret and any session id (for log lines)."""
        for token in (self.secret, *self._sids):
            text = text.replace(token, REDACTED)
        return text

    # --- dispatch -----------------------------------------------------------------------
    def dispatch(self, h: Handler, head: bool, entry: EntryAnswers, media: MediaAnswers) -> None:
        """Check the secret and session id of ``h.path``; hand it to the right handler."""
        path = urllib.parse.urlsplit(h.path).path
        parts = path.split("/")
        # ["", secret, sid, verb, ...]
        if len(parts) < 4 or not hmac.compare_digest(parts[1].encode(), self.secret.encode()):
            log.warning("gateway: refused %s (no secret)", self.redact(path)[:80])
            h.send_simple(403, "forbidden\n", head)
            return
        sess = self._session
        if sess is None or not hmac.compare_digest(parts[2].encode(), sess.sid.encode()):
            h.send_simple(403, "forbidden: not the current session\n", head)
            return
        with policy_scope(sess.policy):  # every fetch for this request: its session's policy
            self._serve(h, head, entry, media, sess, parts, path)

    def _serve(
        self,
        h: Handler,
        head: bool,
        entry: EntryAnswers,
        media: MediaAnswers,
        sess: Session,
        parts: list[str],
        path: str,
    ) -> None:
        verb = parts[3]
        try:
            if verb == "open":
                entry.serve_entry(h, sess, head)
            elif verb == "r" and len(parts) >= 5:
                url = unb64(parts[4])
                allowed = sess.allowed.get(url) if url else None
                if allowed is None:
                    log.warning("gateway: refused unnamed URL %s", loggable(url or "?")[:120])
                    h.send_simple(403, "forbidden: URL not named by this session\n", head)
                    return
                media.serve_allowed(h, sess, allowed, head)
            elif verb == "v" and len(parts) == 5 and sess.mode is Mode.HLS_VIRTUAL:
                leaf = parts[4]
                if leaf == "index.m3u8":
                    media.serve_virtual_index(h, sess, head)
                else:
                    seq_txt = leaf.split(".", 1)[0]
                    if not seq_txt.isdigit():
                        h.send_simple(404, "not found\n", head)
                        return
                    media.serve_virtual_segment(h, sess, int(seq_txt), head)
            else:
                h.send_simple(404, "not found\n", head)
        except ClientGone:
            log.debug("gateway: player closed %s", self.redact(path)[:80])
            h.close_connection = True
        except FetchAborted:
            h.close_connection = True
        except Exception as e:
            # the traceback is redacted too: an exception's text may quote a gateway URL
            tb = self.redact("".join(traceback.format_exception(e)))
            log.error("gateway: error serving %s\n%s", self.redact(path)[:80], tb)
            h.close_connection = True
            try:
                h.send_simple(500, "gateway error\n", head)
            except Exception:
                pass
