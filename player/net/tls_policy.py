"""Which requests skip certificate verification: only those to an exempted origin.

Verification is on for every request by default. The viewer can exempt one exact
:class:`~player.core.tls_origin.TlsOrigin` (https, host, port) for the rest of the run
(the window's "Open anyway (not secure)", or ``--insecure-tls-origin``); nothing is
remembered across runs. The fetcher and preflight ask :meth:`TlsExemptions.covers` for
*every* request and every redirect hop, so a redirect to another origin, another port of
the same host or any other host is verified as usual (never a session-wide
``verify=False``). requests keys its connection pools by the verification mode too, so a
pooled unverified connection is never reused for a verified request.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterable

import urllib3

from player.core.tls_origin import DEFAULT_HTTPS_PORT, TlsOrigin

__all__ = ["TlsExemptions", "TlsOrigin"]

log = logging.getLogger(__name__)


class TlsExemptions:
    """The origins whose certificate is not verified, by the viewer's choice (thread-safe:
    the gateway's handler threads ask while the GUI thread adds)."""

    def __init__(self, origins: Iterable[TlsOrigin] = ()) -> None:
        self._lock = threading.Lock()
        self._origins: set[TlsOrigin] = set()
        for origin in origins:
            self.exempt(origin)

    def exempt(self, origin: TlsOrigin) -> None:
        """Stop verifying certificates of ``origin`` (this run only)."""
        with self._lock:
            if origin in self._origins:
                return
            self._origins.add(origin)
        _quiet_urllib3()
        log.warning("certificate verification is OFF for %s (the viewer's choice)", origin.label)

    def revoke(self, origin: TlsOrigin) -> None:
        with self._lock:
            self._origins.discard(origin)

    def origins(self) -> list[TlsOrigin]:
        with self._lock:
            return sorted(self._origins)

    def covers(self, url: str) -> TlsOrigin | None:
        """The exempted origin ``url`` belongs to, or None (verify it)."""
        origin = TlsOrigin.of(url)
        if origin is None or origin != _connected_origin(url):
            return None
        with self._lock:
            return origin if origin in self._origins else None


def _connected_origin(url: str) -> TlsOrigin | None:
    """The origin urllib3 (which opens the connection) reads in ``url``: an exception
    applies only when it agrees with :meth:`TlsOrigin.of`, so no odd spelling of a URL can
    make one host's exception cover a connection to another."""
    try:
        u = urllib3.util.parse_url(url.strip())
    except urllib3.exceptions.LocationParseError:
        return None
    if (u.scheme or "").lower() != "https" or not u.host:
        return None
    return TlsOrigin(u.host.strip("[]").lower(), u.port or DEFAULT_HTTPS_PORT)


def _quiet_urllib3() -> None:
    """urllib3 warns on every unverified request; the viewer sees our own persistent
    warning instead and the log has one line per origin, so its warning is silenced once an
    origin is exempted (never before: a stray unverified request elsewhere would show).
    ``filterwarnings`` replaces an identical filter, so calling it again adds nothing."""
    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
