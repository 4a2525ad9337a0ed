""" "Delete history" stays deleted for the session in progress; a session whose own INSERT
failed is still written later; nothing a job raises stops the writer thread.

Real SQLite files throughout. The failed INSERT is a real one: a second connection (as a
second window would) holds the database's write lock, so the store's INSERT waits its busy
timeout and gets "database is locked", an ``sqlite3.OperationalError`` like the full disk's
"database or disk is full" (the real full disk: tests/faults/test_disk_full.py, root only).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from player.store import history as h

# The writer waits BUSY_TIMEOUT_MS for the lock, then fails; a slow shared box gets more.
FLUSH_S = 30.0


def _store(tmp_path: Path, errors: list[str] | None = None) -> h.HistoryStore:
    return h.HistoryStore(
        tmp_path / "data" / h.DB_NAME, on_error=None if errors is None else errors.append
    )


def _ids(store: h.HistoryStore) -> tuple[list[str], list[tuple[str, int]]]:
    data = store.load().result(FLUSH_S)
    return [s["id"] for s in data["sessions"]], [
        (st["session_id"], st["idx"]) for st in data["stalls"]
    ]


@contextmanager
def _write_locked(store: h.HistoryStore) -> Iterator[None]:
    """Another connection holds the write lock while the block runs."""
    assert store.flush(FLUSH_S)  # the file exists and is migrated
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        if other.in_transaction:
            other.rollback()
        other.close()


def test_a_live_session_stays_deleted(tmp_path: Path) -> None:
    errors: list[str] = []
    store = _store(tmp_path, errors)
    try:
        sid = store.start_session(started_at=1.0, source="https://cdn.example/a.m3u8")
        store.put_stall(sid, 0, started_at=2.0, segment="isp")
        assert _ids(store) == ([sid], [(sid, 0)])
        store.delete_all().result(FLUSH_S)
        # the session goes on: its periodic update, the stall's end, a new stall
        store.update_session(sid, duration_s=10.0, stall_count=1)
        store.put_stall(sid, 0, duration_s=1.5, segment="isp")
        store.put_stall(sid, 1, started_at=12.0, segment="server")
        store.update_session(sid, duration_s=20.0, stall_count=2, ended=1)
        assert _ids(store) == ([], [])
        assert errors == [] and store.error is None  # nothing to tell the viewer
        later = store.start_session(started_at=30.0, source="clip.mp4")  # the next one is kept
        store.put_stall(later, 0, started_at=31.0)
        assert _ids(store) == ([later], [(later, 0)])
    finally:
        store.close()


def test_a_session_whose_insert_failed_is_written_by_its_next_update(tmp_path: Path) -> None:
    errors: list[str] = []
    store = _store(tmp_path, errors)
    try:
        with _write_locked(store):
            sid = store.start_session(started_at=1.0, source="clip.mp4", title="locked out")
            assert store.flush(FLUSH_S)
        assert len(errors) == 1 and "could not be saved" in errors[0]
        assert _ids(store) == ([], [])
        store.update_session(sid, duration_s=5.0)
        store.put_stall(sid, 0, started_at=2.0)
        data = store.load().result(FLUSH_S)
        assert [(s["id"], s["title"], s["duration_s"]) for s in data["sessions"]] == [
            (sid, "locked out", 5.0)
        ]
        assert [st["session_id"] for st in data["stalls"]] == [sid]
    finally:
        store.close()


def test_a_stall_writes_the_row_of_a_session_whose_insert_failed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    try:
        with _write_locked(store):
            sid = store.start_session(started_at=1.0, source="clip.mp4")
            assert store.flush(FLUSH_S)
        store.put_stall(sid, 0, started_at=2.0)
        assert _ids(store) == ([sid], [(sid, 0)])
    finally:
        store.close()


def test_delete_forgets_a_session_whose_insert_failed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    try:
        with _write_locked(store):
            sid = store.start_session(started_at=1.0, source="clip.mp4")
            assert store.flush(FLUSH_S)
        store.delete_all().result(FLUSH_S)
        store.update_session(sid, duration_s=5.0)
        store.put_stall(sid, 0, started_at=2.0)
        assert _ids(store) == ([], [])
    finally:
        store.close()


def test_an_unexpected_exception_or_a_cancelled_job_never_stops_the_writer(tmp_path: Path) -> None:
    errors: list[str] = []
    store = _store(tmp_path, errors)
    try:
        bug = store.submit(lambda c: {}["missing"])  # a bug in a job: KeyError
        with pytest.raises(KeyError):
            bug.result(FLUSH_S)
        gate = threading.Event()
        busy = store.submit(lambda c: gate.wait(FLUSH_S))  # holds the writer
        cancelled = store.submit(lambda c: None)
        assert cancelled.cancel()  # still queued behind the busy job: cancellable
        gate.set()
        assert busy.result(FLUSH_S) is True
        sid = store.start_session(started_at=1.0, source="clip.mp4")
        assert store.flush(FLUSH_S), "the writer thread died"
        assert _ids(store) == ([sid], [])
        assert errors == []  # a bug is logged, not told to the viewer as a disk problem
    finally:
        store.close()
