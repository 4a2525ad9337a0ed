"""Where unfinished videos were left: positions to offer on the next open, as JSON.

Keyed by the SHA-256 of the exact source (path or URL), so the file names no video and
keeps no URL token in clear. The file is loaded and written by one background thread (the
GUI thread only touches the in-memory table), replaced atomically, 0600 in a 0700 folder,
and bounded to the newest :data:`MAX_ENTRIES`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from player.store.files import write_atomic
from player.store.history import data_dir

log = logging.getLogger(__name__)

FILE_NAME = "resume.json"
FORMAT_VERSION = 1
# Enough for months of viewing; the newest win. 500 entries are ~60 KB of JSON, read once.
MAX_ENTRIES = 500
LOAD_WAIT_S = 2.0  # tests' and shutdown's bounded wait for the first load


def source_key(source: str) -> str:
    """The one key of a source: the hex SHA-256 of its exact text."""
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class ResumePoint:
    position_s: float
    length_s: float
    saved_at: float  # wall clock (time.time), for keeping the newest


class ResumeStore:
    """The resume table in memory (any thread, under a lock) and its writer thread."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / FILE_NAME
        self._lock = threading.Lock()
        self._points: dict[str, ResumePoint] = {}
        self._dirty = False  # changed since the last write
        self._loaded = threading.Event()
        self._on_loaded: list[Callable[[], None]] = []  # called once the file is loaded
        self._queue: queue.Queue[str | threading.Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="stallwatch-resume", daemon=True)
        self._thread.start()

    # -- the table (GUI thread) ------------------------------------------------------------
    def get(self, source: str) -> ResumePoint | None:
        """The remembered point of ``source``; None when none (or the file is still loading)."""
        with self._lock:
            return self._points.get(source_key(source))

    def put(self, source: str, position_s: float, length_s: float) -> None:
        with self._lock:
            self._points[source_key(source)] = ResumePoint(
                round(position_s, 2), round(length_s, 2), time.time()
            )
            self._trim()
            self._dirty = True
        self._queue.put("save")

    def forget(self, source: str) -> None:
        with self._lock:
            if self._points.pop(source_key(source), None) is None:
                return
            self._dirty = True
        self._queue.put("save")

    def __len__(self) -> int:
        with self._lock:
            return len(self._points)

    # -- the writer thread -----------------------------------------------------------------
    def wait_loaded(self, timeout: float = LOAD_WAIT_S) -> bool:
        """True once the file is loaded (``timeout`` 0: only ask, never wait)."""
        return self._loaded.wait(timeout)

    def on_loaded(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the file is loaded: now (in this thread) if it is, else on
        the store's thread when the load finishes (a GUI caller emits a queued signal)."""
        with self._lock:
            if not self._loaded.is_set():
                self._on_loaded.append(callback)
                return
        callback()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is on disk (tests and shutdown)."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 1.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        loaded = self._load()
        with self._lock:
            # Entries put before the load finished are newer than the file's.
            self._points = {**loaded, **self._points}
            self._trim()
            self._loaded.set()
            callbacks, self._on_loaded = self._on_loaded, []
        for cb in callbacks:
            try:
                cb()
            except Exception:  # a closed window's signal: the store thread goes on
                log.exception("resume store: a loaded callback failed")
        while True:
            batch = [self._queue.get()]
            try:  # coalesce: one write covers every change queued so far
                while True:
                    batch.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            self._write()
            for item in batch:
                if isinstance(item, threading.Event):
                    item.set()
            if None in batch:
                return

    def _load(self) -> dict[str, ResumePoint]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            entries = (
                raw["entries"]
                if isinstance(raw, dict) and raw.get("version") == FORMAT_VERSION
                else {}
            )
            return {
                k: ResumePoint(float(v["position_s"]), float(v["length_s"]), float(v["saved_at"]))
                for k, v in entries.items()
                if isinstance(k, str) and len(k) == 64 and isinstance(v, dict)
            }
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable resume positions %s: %s", self.path, exc)
            return {}

    def _trim(self) -> None:
        """Keep the newest MAX_ENTRIES (caller holds the lock)."""
        if len(self._points) > MAX_ENTRIES:
            newest = sorted(self._points.items(), key=lambda kv: kv[1].saved_at, reverse=True)
            self._points = dict(newest[:MAX_ENTRIES])

    def _write(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            data = {
                "version": FORMAT_VERSION,
                "entries": {k: asdict(v) for k, v in self._points.items()},
            }
        try:
            write_atomic(self.path, json.dumps(data, indent=1).encode("utf-8"))
        except OSError as exc:
            log.warning("could not save resume positions to %s: %s", self.path, exc)
