"""The viewing history: one SQLite database in the user data dir, written off the GUI thread.

Each session is a row written when it starts and updated as it goes; each stall is its own
row, inserted when it begins and updated when it ends. Every write is its own short
transaction on a WAL database, so a crash (even SIGKILL) mid-session leaves that session
readable up to its last write. One writer thread owns the one connection; callers put work
on its queue. Reads and exports also run there and come back as futures, so the GUI never
waits on the disk. Disk-full and locked-database errors are logged and reported once
(``on_error``), never raised into the caller.

The schema is versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` holds one step per
version and opening an older file applies the missing ones in order.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import queue
import sqlite3
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import platformdirs

from player.core.isp_index import SessionRow, StallRow
from player.core.redact import redact_source
from player.store.files import DIR_MODE, FILE_MODE
from player.store.prefs import APP_NAME

log = logging.getLogger(__name__)

DATA_ENV = "STALLWATCH_DATA_DIR"  # tests and portable setups point this elsewhere
DB_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 2000  # another process (a second window) holding the lock: wait this long
# Sessions whose own INSERT failed (disk full at the open), kept so a later update can
# write the row once space is back: one window has one live session, a few spare.
UNWRITTEN_KEPT = 16

# One entry per schema version: MIGRATIONS[i] takes the file from version i to i + 1.
MIGRATIONS: list[str] = [
    # 1: sessions and their stalls
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        started_at REAL NOT NULL,
        duration_s REAL NOT NULL DEFAULT 0,
        host TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        stall_count INTEGER NOT NULL DEFAULT 0,
        stall_s REAL NOT NULL DEFAULT 0
    );
    CREATE TABLE stalls (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        started_at REAL NOT NULL,
        duration_s REAL,
        segment TEXT NOT NULL DEFAULT 'unknown',
        PRIMARY KEY (session_id, idx)
    );
    """,
    # 2: network names, QoE numbers, verdict wording and evidence, the last report
    """
    ALTER TABLE sessions ADD COLUMN isp TEXT;
    ALTER TABLE sessions ADD COLUMN video_network TEXT;
    ALTER TABLE sessions ADD COLUMN ended INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN startup_s REAL;
    ALTER TABLE sessions ADD COLUMN rebuffer_ratio REAL;
    ALTER TABLE sessions ADD COLUMN throughput_kbps REAL;
    ALTER TABLE sessions ADD COLUMN bitrate_kbps REAL;
    ALTER TABLE sessions ADD COLUMN verdict TEXT;
    ALTER TABLE sessions ADD COLUMN report_json TEXT;
    ALTER TABLE stalls ADD COLUMN confidence REAL;
    ALTER TABLE stalls ADD COLUMN headline TEXT;
    ALTER TABLE stalls ADD COLUMN evidence TEXT;
    CREATE INDEX sessions_started ON sessions(started_at);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

SESSION_FIELDS = (
    "duration_s", "host", "source", "title", "stall_count", "stall_s", "isp", "video_network",
    "ended", "startup_s", "rebuffer_ratio", "throughput_kbps", "bitrate_kbps", "verdict", "report_json",
)  # fmt: skip
STALL_FIELDS = ("started_at", "duration_s", "segment", "confidence", "headline", "evidence")
EXPORT_SESSION_COLUMNS = ("id", "started_at", *[f for f in SESSION_FIELDS if f != "report_json"])


_INSERT_SESSION = (
    "INSERT OR IGNORE INTO sessions (id, started_at, host, source, title) VALUES (?, ?, ?, ?, ?)"
)


def data_dir() -> Path:
    """Where ``history.sqlite3`` lives (``$STALLWATCH_DATA_DIR`` or the platform's data dir)."""
    return Path(os.environ.get(DATA_ENV) or platformdirs.user_data_dir(APP_NAME))


def migrate(conn: sqlite3.Connection) -> int:
    """Bring ``conn``'s schema to :data:`SCHEMA_VERSION`, one transaction per step."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"history file is from a newer Stallwatch (schema {version})")
    for step in range(version, SCHEMA_VERSION):
        try:
            conn.executescript(
                f"BEGIN; {MIGRATIONS[step]} PRAGMA user_version = {step + 1}; COMMIT;"
            )
        except sqlite3.Error:
            if conn.in_transaction:
                conn.rollback()
            raise
        log.info("history schema migrated to version %d", step + 1)
    return SCHEMA_VERSION


def open_db(path: Path) -> sqlite3.Connection:
    """Open (creating with mode 0600 in a 0700 folder) and migrate the history at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path.parent, DIR_MODE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: survives a process crash
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    for side in ("-wal", "-shm"):  # SQLite creates these with the umask's mode
        p = path.with_name(path.name + side)
        if p.exists():
            os.chmod(p, FILE_MODE)
    return conn


def read_all(conn: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    """Every session (newest first) and stall as plain dicts."""
    sessions = [dict(r) for r in conn.execute("SELECT * FROM sessions ORDER BY started_at DESC")]
    stalls = [dict(r) for r in conn.execute("SELECT * FROM stalls ORDER BY session_id, idx")]
    return {"sessions": sessions, "stalls": stalls}


def to_json_text(data: dict[str, list[dict[str, Any]]]) -> str:
    sessions = [{k: s.get(k) for k in EXPORT_SESSION_COLUMNS} for s in data["sessions"]]
    by_session: dict[str, list[dict]] = {}
    for st in data["stalls"]:
        by_session.setdefault(st["session_id"], []).append(
            {k: st.get(k) for k in ("idx", *STALL_FIELDS)}
        )
    for s in sessions:
        s["stalls"] = by_session.get(s["id"], [])
    return json.dumps({"schema": SCHEMA_VERSION, "sessions": sessions}, indent=2)


def to_csv_text(data: dict[str, list[dict[str, Any]]]) -> str:
    """One line per stall (a session without stalls: one line with empty stall columns)."""
    buf = io.StringIO()
    stall_cols = [f"stall_{k}" for k in ("idx", *STALL_FIELDS)]
    w = csv.writer(buf)
    w.writerow([*EXPORT_SESSION_COLUMNS, *stall_cols])
    by_session: dict[str, list[dict]] = {}
    for st in data["stalls"]:
        by_session.setdefault(st["session_id"], []).append(st)
    for s in data["sessions"]:
        base = [s.get(k) for k in EXPORT_SESSION_COLUMNS]
        for st in by_session.get(s["id"], []) or [None]:
            w.writerow(
                base
                + ([st.get(k) for k in ("idx", *STALL_FIELDS)] if st else [None] * len(stall_cols))
            )
    return buf.getvalue()


def index_rows(data: dict[str, list[dict[str, Any]]]) -> list[SessionRow]:
    """The loaded history as the ISP index's input rows."""
    stalls: dict[str, list[StallRow]] = {}
    for st in data["stalls"]:
        stalls.setdefault(st["session_id"], []).append(
            StallRow(st["started_at"], st.get("segment") or "unknown")
        )
    return [
        SessionRow(
            started_at=s["started_at"],
            duration_s=s.get("duration_s") or 0.0,
            isp=s.get("isp"),
            video_network=s.get("video_network"),
            throughput_kbps=s.get("throughput_kbps"),
            stalls=tuple(stalls.get(s["id"], ())),
        )
        for s in data["sessions"]
    ]


class HistoryStore:
    """The history database behind a writer thread (the one connection lives there)."""

    def __init__(
        self, path: Path | None = None, on_error: Callable[[str], None] | None = None
    ) -> None:
        self.path = path or data_dir() / DB_NAME
        self.on_error = on_error
        self.error: str | None = None  # the last write error (reported once per failing run)
        self._failing = False  # the last write failed: the next failure is not reported again
        # sid -> the INSERT values of a session whose INSERT raised; the writer thread's own
        # (read and written only there, so no lock), emptied by delete_all
        self._unwritten: dict[str, tuple[str, float, str, str, str]] = {}
        self._queue: queue.Queue[tuple[Callable[[sqlite3.Connection], Any], Future] | None] = (
            queue.Queue()
        )
        self._ready = threading.Event()
        self._conn: sqlite3.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="stallwatch-history", daemon=True)
        self._thread.start()

    # -- writes (any thread; return at once) ----------------------------------------------
    def start_session(self, *, started_at: float, source: str, title: str = "") -> str:
        """A new session row now (``started_at``: Unix time); returns its id."""
        sid = uuid.uuid4().hex
        host, redacted = redact_source(source)
        row = (sid, started_at, host, redacted, title)

        def run(c: sqlite3.Connection) -> None:
            try:
                c.execute(_INSERT_SESSION, row)
            except (OSError, sqlite3.Error):
                self._unwritten[sid] = row  # a later update writes it (space back)
                for old in list(self._unwritten)[:-UNWRITTEN_KEPT]:
                    del self._unwritten[old]
                raise  # reported by the writer loop

        self.submit(run)
        return sid

    def update_session(self, sid: str, **fields: Any) -> None:
        cols = [k for k in fields if k in SESSION_FIELDS]
        if not cols:
            return
        sql = f"UPDATE sessions SET {', '.join(f'{k} = ?' for k in cols)} WHERE id = ?"
        values = [fields[k] for k in cols] + [sid]

        def run(c: sqlite3.Connection) -> None:
            # no row: deleted (delete_all) and then nothing to do, or its INSERT failed
            if c.execute(sql, values).rowcount == 0 and self._write_unwritten(c, sid):
                c.execute(sql, values)

        self.submit(run)

    def put_stall(self, sid: str, idx: int, **fields: Any) -> None:
        """Insert (with ``started_at``) or update stall ``idx`` of session ``sid``."""
        cols = [k for k in STALL_FIELDS if k in fields]
        if not cols:
            return
        if "started_at" not in fields:  # an update of a stall already written
            sql = f"UPDATE stalls SET {', '.join(f'{k} = ?' for k in cols)} WHERE session_id = ? AND idx = ?"
            values = [fields[k] for k in cols] + [sid, idx]
            self.submit(lambda c: c.execute(sql, values))
            return
        sql = (
            f"INSERT INTO stalls (session_id, idx, {', '.join(cols)}) VALUES (?, ?, {', '.join('?' * len(cols))}) "
            f"ON CONFLICT (session_id, idx) DO UPDATE SET {', '.join(f'{k} = excluded.{k}' for k in cols)}"
        )
        values = [sid, idx] + [fields[k] for k in cols]

        def run(c: sqlite3.Connection) -> None:
            self._write_unwritten(c, sid)
            if c.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone() is None:
                return  # its session was deleted (delete_all): it stays deleted
            c.execute(sql, values)

        self.submit(run)

    def delete_all(self) -> Future:
        """Delete every row; the sessions still going stay deleted (their later updates and
        stalls write nothing)."""

        def run(c: sqlite3.Connection) -> None:
            self._unwritten.clear()  # on the writer thread, in order with every write
            c.executescript("BEGIN; DELETE FROM stalls; DELETE FROM sessions; COMMIT;")

        return self.submit(run)

    def _write_unwritten(self, c: sqlite3.Connection, sid: str) -> bool:
        """(Writer thread) Insert ``sid``'s row if its own INSERT had failed; True if done."""
        row = self._unwritten.get(sid)
        if row is None:
            return False
        c.execute(_INSERT_SESSION, row)  # raises again while the disk is still full
        del self._unwritten[sid]
        return True

    # -- reads and exports (results as futures) --------------------------------------------
    def load(self) -> Future:
        """A future of ``{"sessions": [...], "stalls": [...]}``."""
        return self.submit(read_all)

    def export(self, path: Path, fmt: str) -> Future:
        """Write the whole history to ``path`` as ``csv`` or ``json``; the future gives the path."""
        render = to_csv_text if fmt == "csv" else to_json_text

        def run(c: sqlite3.Connection) -> Path:
            Path(path).write_text(render(read_all(c)), encoding="utf-8", newline="")
            return Path(path)

        return self.submit(run)

    # -- the writer thread ---------------------------------------------------------------
    def submit(self, fn: Callable[[sqlite3.Connection], Any]) -> Future:
        fut: Future = Future()
        self._queue.put((fn, fut))
        return fut

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written (tests and shutdown)."""
        try:
            self.submit(lambda c: None).result(timeout)
            return True
        except Exception:  # noqa: BLE001 - a timeout or a failed open: not flushed
            return False

    def close(self, timeout: float = 1.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._conn = open_db(self.path)
        except (OSError, sqlite3.Error) as exc:
            self._report(f"History is off: cannot open {self.path}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a bug: the history is off, the thread lives on
            log.exception("history: opening %s failed", self.path)
            self._report(f"History is off: cannot open {self.path} ({type(exc).__name__})")
        while True:
            item = self._queue.get()
            if item is None:
                break
            fn, fut = item
            if not fut.set_running_or_notify_cancel():
                continue  # the caller cancelled it before it ran
            if self._conn is None:
                fut.set_exception(RuntimeError(self.error or "history unavailable"))
                continue
            self._do(self._conn, fn, fut)
        if self._conn is not None:
            self._conn.close()

    def _do(
        self, conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], Any], fut: Future
    ) -> None:
        """Run one job; whatever it raises goes to its future, never out of the writer thread."""
        try:
            result = fn(conn)
        except (OSError, sqlite3.Error) as exc:  # disk full, locked, read-only...
            self._rollback(conn)
            self._report(f"History could not be saved: {exc}")
            self._failing = True
            fut.set_exception(exc)
        except Exception as exc:  # noqa: BLE001 - a bug in a job: logged, the writer lives on
            log.exception("history: a write failed unexpectedly")
            self._rollback(conn)
            fut.set_exception(exc)
        else:
            self._failing = False  # writes work again: a new failure is told again
            fut.set_result(result)

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.rollback()
        except sqlite3.Error:
            log.warning("history: rollback failed", exc_info=True)

    def _report(self, message: str) -> None:
        log.warning("%s", message)
        if self._failing or (self.error is not None and self._conn is None):
            return  # told already (this run of failures, or the history is off)
        self.error = message
        if self.on_error is not None:
            try:
                self.on_error(message)
            except Exception:
                log.exception("history error callback failed")
