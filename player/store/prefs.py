"""User preferences and the recent-items list, persisted as JSON.

Loaded once at start-up; every change is written by a single background writer
thread, so the GUI thread never waits on the disk. The file is replaced
atomically (write to a temporary file, then rename) so a crash never leaves a
half-written file.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import platformdirs

from player.core.redact import safe_url
from player.store.files import write_atomic

log = logging.getLogger(__name__)

APP_NAME = "stallwatch"
RECENT_MAX = 10  # the Open Recent menu stays one screen tall
CONFIG_ENV = "STALLWATCH_CONFIG_DIR"  # tests and portable setups point these elsewhere
CACHE_ENV = "STALLWATCH_CACHE_DIR"


def config_dir() -> Path:
    """Where ``prefs.json`` lives (``$STALLWATCH_CONFIG_DIR`` or the platform's config dir)."""
    return Path(os.environ.get(CONFIG_ENV) or platformdirs.user_config_dir(APP_NAME))


def default_screenshot_dir() -> Path:
    """The user's Pictures/Stallwatch folder (home/Pictures when the platform has none)."""
    try:
        pictures = Path(platformdirs.user_pictures_dir())
    except Exception:  # noqa: BLE001 - some platforms have no pictures dir; fall back
        pictures = Path.home() / "Pictures"
    return pictures / "Stallwatch"


def cache_dir() -> Path:
    """Where generated data (the demo stream) is cached."""
    return Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir(APP_NAME))


@dataclass
class Prefs:
    recent: list[str] = field(default_factory=list)
    volume: int = 80
    muted: bool = False
    show_notices: bool = True  # overlay a notice naming the bottleneck on stalls
    show_stats: bool = False  # the statistics panel
    probe_path: bool = True  # hop discovery and RTT probes (diagnostics)
    rdap_lookup: bool = False  # opt-in: ask RDAP for unknown networks' names
    rdap_url: str = "https://rdap.org/"  # the RDAP service asked when rdap_lookup is on
    org_overrides: dict[str, str] = field(default_factory=dict)
    evidence_card: bool = True  # screenshots get a card with the verdict and key measurements
    redact: bool = True  # screenshots and copies hide addresses, home host names, URL tokens
    auto_screenshot: bool = False  # save a screenshot whenever a notice appears
    screenshot_dir: str = field(default_factory=lambda: str(default_screenshot_dir()))
    rendition: str = "auto"  # "auto" or a pinned rendition's label (e.g. "720p")
    network_caching_ms: int = 1500  # libVLC network cache (as DEFAULT_ARGS); applied on the next open
    first_run_done: bool = False  # the first-run explanation of the probes was shown
    # One player: a second launch hands its files to the running one (player/ui/desktop).
    # On by default: two players on one link share its bandwidth and skew each other's
    # stall diagnosis, and the media keys can only drive one of them.
    single_instance: bool = True

    def add_recent(self, source: str) -> None:
        """Put ``source`` first. A URL is kept without its user:password, token-like path
        parts and credential/signature query parameters (core.redact.safe_url): reopening
        it then works for plain URLs; a signed or password-protected one needs its
        credentials typed again (the origin answers 401/403 without them)."""
        source = safe_url(source, keep_query=True)
        self.recent = [source] + [r for r in self.recent if r != source]
        del self.recent[RECENT_MAX:]


class PrefsStore:
    """Loads ``prefs.json`` and saves changes on a background thread."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "prefs.json"
        self.prefs = self._load()
        self._queue: queue.Queue[dict | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, name="stallwatch-prefs", daemon=True)
        self._writer.start()

    def _load(self) -> Prefs:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Prefs()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable preferences %s: %s", self.path, exc)
            return Prefs()
        prefs = Prefs()
        known = set(asdict(prefs))
        for key, value in raw.items() if isinstance(raw, dict) else ():
            if key in known and isinstance(value, type(getattr(prefs, key))):
                setattr(prefs, key, value)
        # a file written before recent URLs were redacted is cleaned as it is read
        recent = [safe_url(r, keep_query=True) for r in prefs.recent if isinstance(r, str)]
        prefs.recent = list(dict.fromkeys(recent))[:RECENT_MAX]
        return prefs

    def save(self) -> None:
        self._queue.put(asdict(self.prefs))

    def close(self, timeout: float = 1.0) -> None:
        """Flush pending writes (bounded wait) and stop the writer."""
        self._queue.put(None)
        self._writer.join(timeout)

    def _write_loop(self) -> None:
        while True:
            data = self._queue.get()
            if data is None:
                return
            # Coalesce: only the newest pending state matters.
            try:
                while True:
                    nxt = self._queue.get_nowait()
                    if nxt is None:
                        self._write(data)
                        return
                    data = nxt
            except queue.Empty:
                pass
            self._write(data)

    def _write(self, data: dict) -> None:
        try:
            write_atomic(self.path, json.dumps(data, indent=2).encode("utf-8"))
        except OSError as exc:
            log.warning("could not save preferences to %s: %s", self.path, exc)
