"""The history database: rows, crash safety (SIGKILL), migrations, file modes, exports."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from player.core.model import Evidence, QoE, Segment, SessionReport, Stall, Verdict
from player.session.events import NoticeChanged, Opening, StallBegan, StallFinished
from player.store import history as h
from player.store.recorder import HistoryRecorder

REPO = Path(__file__).resolve().parents[2]
TOKEN_URL = "https://cdn.example/v/AbC123dEf456GhI789jkl/index.m3u8?token=s3cret"


def _store(tmp_path: Path) -> h.HistoryStore:
    return h.HistoryStore(tmp_path / "data" / h.DB_NAME)


def _rows(path: Path) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute("SELECT * FROM sessions")), list(conn.execute("SELECT * FROM stalls"))
    finally:
        conn.close()


def test_rows_written_and_redacted(tmp_path: Path) -> None:
    store = _store(tmp_path)
    sid = store.start_session(started_at=1_700_000_000.0, source=TOKEN_URL, title="index")
    store.put_stall(sid, 0, started_at=1_700_000_010.0, segment="unknown")
    store.put_stall(sid, 0, duration_s=2.5, segment="isp", confidence=0.8, headline="Your ISP", evidence="RTT rose")
    store.update_session(sid, duration_s=60.0, stall_count=1, stall_s=2.5, isp="Examplenet", ignored_field=1)
    assert store.flush()
    sessions, stalls = _rows(store.path)
    store.close()
    assert len(sessions) == 1 and len(stalls) == 1
    s = sessions[0]
    assert (s["host"], s["isp"], s["stall_count"], s["duration_s"]) == ("cdn.example", "Examplenet", 1, 60.0)
    assert "s3cret" not in s["source"] and "AbC123" not in s["source"] and s["source"].endswith("/index.m3u8")
    st = stalls[0]
    assert (st["segment"], st["duration_s"], st["evidence"]) == ("isp", 2.5, "RTT rose")
    assert st["started_at"] == 1_700_000_010.0, "an update keeps the fields it does not name"


def test_file_and_folder_modes_and_wal(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.start_session(started_at=1.0, source="/home/me/clip.mp4")
    assert store.flush()
    store.close()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == h.SCHEMA_VERSION
    assert conn.execute("SELECT source FROM sessions").fetchone()[0] == "clip.mp4"


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from player.store.history import HistoryStore
    store = HistoryStore(Path(sys.argv[1]))
    sid = store.start_session(started_at=1700000000.0, source="https://cdn.example/a.m3u8", title="crash")
    store.put_stall(sid, 0, started_at=1700000005.0, segment="isp", evidence="loaded RTT tripled")
    assert store.flush()
    print(sid, flush=True)
    sys.stdin.read()  # mid-session: wait to be killed
    """
)


def test_sigkill_mid_session_leaves_a_readable_database(tmp_path: Path) -> None:
    db = tmp_path / "data" / h.DB_NAME
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        sid = child.stdout.readline().strip()
        assert sid, "the child did not record its session"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT id, title FROM sessions").fetchall() == [(sid, "crash")]
    assert conn.execute("SELECT session_id, segment, evidence FROM stalls").fetchall() == [
        (sid, "isp", "loaded RTT tripled")
    ]
    conn.close()
    store = h.HistoryStore(db)  # and the app reopens it
    assert len(store.load().result(5)["sessions"]) == 1
    store.close()


APP_KILL_DEADLINE_S = 45.0  # a cold start of Qt + libVLC on a busy 2-core CI box; < --quit-after
APP_QUIT_AFTER_S = 60  # the child quits on its own if the test never kills it


def _session_rows(db: Path) -> list[tuple[str, str]]:
    """The sessions table read-only (never creates or writes the file); [] while absent."""
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
        try:
            return conn.execute("SELECT id, title FROM sessions").fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError:  # not created yet, or mid-migration
        return []


@pytest.mark.vlc
def test_sigkill_of_the_app_mid_session_leaves_its_session_row(tmp_path: Path) -> None:
    """The real app (Qt offscreen, real libVLC, the real recorder and store) playing a
    local MP4 is SIGKILLed once its session row is in the database: the file must be
    intact and the row still there."""
    from tests.support.media import ffmpeg_available, make_mp4

    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed")
    clip = make_mp4(tmp_path / "clip.mp4", seconds=20)
    data, config, cache = tmp_path / "data", tmp_path / "config", tmp_path / "cache"
    config.mkdir()
    (config / "prefs.json").write_text(json.dumps({"first_run_done": True}))
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        h.DATA_ENV: str(data),
        "STALLWATCH_CONFIG_DIR": str(config),
        "STALLWATCH_CACHE_DIR": str(cache),
    }
    db = data / h.DB_NAME
    child = subprocess.Popen(
        [sys.executable, "-m", "player", str(clip), "--quit-after", str(APP_QUIT_AFTER_S)],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + APP_KILL_DEADLINE_S
        rows = _session_rows(db)
        while not rows:
            assert time.monotonic() < deadline, "the app wrote no session row in time"
            try:  # waits for the child to exit, at most one poll interval
                child.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
            else:
                pytest.fail(f"the app exited ({child.returncode}) before its session row: {child.stderr.read()[-2000:]}")
            rows = _session_rows(db)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        child.stderr.close()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        after = conn.execute("SELECT id, title, source FROM sessions").fetchall()
    finally:
        conn.close()
    assert [(sid, title) for sid, title, _source in after] == rows
    assert len(after) == 1 and "clip.mp4" in (after[0][1] + after[0][2])


@pytest.mark.parametrize("start_version", [0, 1])
def test_migrations_from_older_versions(tmp_path: Path, start_version: int) -> None:
    db = tmp_path / h.DB_NAME
    conn = sqlite3.connect(db, isolation_level=None)
    for step in range(start_version):
        conn.executescript(f"BEGIN; {h.MIGRATIONS[step]} PRAGMA user_version = {step + 1}; COMMIT;")
    if start_version == 1:
        conn.execute("INSERT INTO sessions (id, started_at, host) VALUES ('old', 5.0, 'cdn.example')")
        conn.execute("INSERT INTO stalls (session_id, idx, started_at, segment) VALUES ('old', 0, 6.0, 'isp')")
    conn.close()
    store = h.HistoryStore(db)
    data = store.load().result(5)
    store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == h.SCHEMA_VERSION == 2
    cols = {r[1] for r in conn.execute("PRAGMA table_info(sessions)")}
    assert {"isp", "video_network", "throughput_kbps", "report_json"} <= cols
    if start_version == 1:
        assert [s["id"] for s in data["sessions"]] == ["old"] and data["sessions"][0]["isp"] is None
        assert data["stalls"][0]["segment"] == "isp" and data["stalls"][0]["evidence"] is None


def test_newer_schema_is_refused_not_clobbered(tmp_path: Path) -> None:
    db = tmp_path / h.DB_NAME
    sqlite3.connect(db).execute("PRAGMA user_version = 99")
    errors: list[str] = []
    store = h.HistoryStore(db, on_error=errors.append)
    assert not store.flush()
    store.close()
    assert len(errors) == 1 and "newer" in errors[0]
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == 99


def test_write_errors_are_reported_once_never_raised(tmp_path: Path) -> None:
    errors: list[str] = []
    store = h.HistoryStore(tmp_path / h.DB_NAME, on_error=errors.append)
    sid = store.start_session(started_at=1.0, source="x.mp4")
    assert store.flush()
    store.submit(lambda c: c.execute("DROP TABLE nope"))  # an sqlite error on the writer
    store.submit(lambda c: c.execute("DROP TABLE nope_either"))
    store.update_session(sid, duration_s=2.0)  # still accepted afterwards
    assert store.flush()
    store.close()
    assert len(errors) == 1 and "could not be saved" in errors[0]


def test_exports_round_trip(tmp_path: Path) -> None:
    store = _store(tmp_path)
    a = store.start_session(started_at=100.0, source=TOKEN_URL, title="a, with comma")
    store.put_stall(a, 0, started_at=101.0, duration_s=1.5, segment="isp", evidence='said "why", twice')
    store.put_stall(a, 1, started_at=102.0, segment="server")
    b = store.start_session(started_at=200.0, source="/v/clip.mp4")
    store.update_session(a, isp="Examplenet", video_network="ExampleCDN", stall_count=2, throughput_kbps=4200.5)
    out_json = store.export(tmp_path / "h.json", "json").result(5)
    out_csv = store.export(tmp_path / "h.csv", "csv").result(5)
    store.close()
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    by_id = {s["id"]: s for s in doc["sessions"]}
    assert set(by_id) == {a, b}
    assert by_id[a]["isp"] == "Examplenet" and by_id[a]["throughput_kbps"] == 4200.5
    assert [(s["idx"], s["segment"]) for s in by_id[a]["stalls"]] == [(0, "isp"), (1, "server")]
    assert by_id[a]["stalls"][0]["evidence"] == 'said "why", twice' and by_id[b]["stalls"] == []
    assert "s3cret" not in out_json.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
    assert len(rows) == 3  # two stall lines for a, one line for b
    a_rows = [r for r in rows if r["id"] == a]
    assert [r["stall_segment"] for r in a_rows] == ["isp", "server"]
    assert a_rows[0]["title"] == "a, with comma" and a_rows[0]["stall_evidence"] == 'said "why", twice'
    assert float(a_rows[0]["throughput_kbps"]) == 4200.5
    assert [r for r in rows if r["id"] == b][0]["stall_idx"] == ""


def test_delete_all(tmp_path: Path) -> None:
    store = _store(tmp_path)
    sid = store.start_session(started_at=1.0, source="x.mp4")
    store.put_stall(sid, 0, started_at=2.0)
    store.delete_all().result(5)
    data = store.load().result(5)
    store.close()
    assert data == {"sessions": [], "stalls": []}


class _Reports:
    """The session's report() as the recorder sees it (the session itself is tested elsewhere)."""

    def __init__(self) -> None:
        self.report = lambda: SessionReport(url=TOKEN_URL)


def test_recorder_writes_from_session_events(tmp_path: Path) -> None:
    store = _store(tmp_path)
    src = _Reports()
    now = [1000.0]
    rec = HistoryRecorder(store, src, wall=lambda: now[0], clock=lambda: now[0])
    rec.on_event(Opening(source=TOKEN_URL, title="index"))
    now[0] = 1010.0
    rec.on_event(StallBegan(start_s=5.0))
    verdict = Verdict(Segment.ISP, culprit="Examplenet", confidence=0.7, evidence=[Evidence("hop_rtt", "RTT at the ISP rose")])
    rec.on_event(NoticeChanged(notice=None, verdict=verdict))
    stall = Stall(start_s=10.0, duration_s=3.0, verdict=verdict)
    src.report = lambda: SessionReport(url=TOKEN_URL, qoe=QoE(stall_count=1, stall_s=3.0), stalls=[stall], verdict=verdict)
    now[0] = 1013.0
    rec.on_event(StallFinished(start_s=5.0, duration_s=3.0))
    rec.finish()
    assert store.flush()
    sessions, stalls = _rows(store.path)
    store.close()
    s = sessions[0]
    assert (s["stall_count"], s["duration_s"], s["verdict"], s["ended"]) == (1, 13.0, "isp", 1)
    assert "s3cret" not in (s["report_json"] or "")
    assert [(r["segment"], r["duration_s"], r["evidence"]) for r in stalls] == [("isp", 3.0, "RTT at the ISP rose")]
    assert "Examplenet" in stalls[0]["headline"]
