"""Which requests skip certificate verification: only those to an exempted origin.

Verification is on for every request by default. The viewer can exempt one exact
:class:`~player.core.tls_origin.TlsOrigin` (https, host, port) for the rest of the run
(the window's "Open anyway (not secure)", or ``--insecure-tls-origin``); nothing is
remembered across runs. The fetcher and preflight ask :meth:`TlsExemptions.covers` for
*every* request and every redirect hop, so a redirect to another origin, another port of
the same host or any other host is verified as usual (never a session-wide
``verify=False``). requests keys its connection pools by the verification mode too, so a
pooled unverified connection is never reused for a verified request (requests >= 2.32;
before, a pool opened with ``verify=False`` served later verified requests to the same
host: CVE-2024-35195, hence ``requests>=2.32.2`` in pyproject.toml).

urllib3 warns (``InsecureRequestWarning``) on every unverified request. An exempted origin
gets one warning line of ours in the log instead (here, and once per fetcher in
player/net/fetch.py) and the viewer a persistent one; urllib3's is ignored for that
origin's host only, so an unverified request to any other host still warns.
"""

from __future__ import annotations

import logging
import re
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
        _quiet_urllib3_for(origin)
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


def insecure_warning_pattern(origin: TlsOrigin) -> str:
    """The start of urllib3's InsecureRequestWarning for a request to ``origin``'s host
    (connectionpool.py: "Unverified HTTPS request is being made to host '<host>'. ...",
    the host without IPv6 brackets or a trailing dot), as a regular expression."""
    return re.escape(f"Unverified HTTPS request is being made to host '{origin.host.rstrip('.')}'.")


def _quiet_urllib3_for(origin: TlsOrigin) -> None:
    """Ignore urllib3's warning for requests to ``origin``'s host (never before it is
    exempted, never for another host). One ``warnings`` filter, added once per origin: not
    ``catch_warnings`` around each request, which swaps the process's filters and is not
    thread-safe. urllib3's text names the host, not the port: another port of that host is
    matched too, but only exempted origins are ever fetched unverified, and the filter
    stays after a :meth:`TlsExemptions.revoke` for the same reason (those requests are
    verified again, so there is no warning to ignore). ``filterwarnings`` replaces an
    identical filter, so an origin exempted twice adds nothing."""
    warnings.filterwarnings(
        "ignore",
        message=insecure_warning_pattern(origin),
        category=urllib3.exceptions.InsecureRequestWarning,
        module=r"urllib3\.",
    )
