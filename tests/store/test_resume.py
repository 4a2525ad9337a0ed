"""The resume store (player/store/resume.py): a real file on disk, its real writer thread."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

from player.store import resume
from player.store.resume import ResumeStore, source_key

# Deadline of the waits on the store's thread: it only ends a hang (rules: >= 15 s).
WAIT_S = 15.0
SECRET_URL = "https://cdn.example.com/v/abc/master.m3u8?token=s3cr3t-T0KEN&sig=xyz"


def reopen(path: Path) -> ResumeStore:
    store = ResumeStore(path)
    assert store.wait_loaded(WAIT_S)
    return store


def test_a_point_survives_a_restart_and_the_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "resume.json"
    store = reopen(path)
    store.put("/videos/film.mp4", 754.3, 5400.0)
    store.put(SECRET_URL, 120.0, 600.0)
    assert store.flush(WAIT_S)
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    # No source in clear: not the path, not the URL, not its token, not its host.
    for clear in ("film.mp4", "/videos", "s3cr3t", "token", "cdn.example.com", "master.m3u8"):
        assert clear not in text
    assert source_key(SECRET_URL) in json.loads(text)["entries"]
    again = reopen(path)
    point = again.get("/videos/film.mp4")
    assert point is not None and point.position_s == 754.3 and point.length_s == 5400.0
    assert again.get(SECRET_URL).position_s == 120.0
    assert again.get("/videos/other.mp4") is None
    again.close()


def test_the_key_is_the_exact_source(tmp_path: Path) -> None:
    store = reopen(tmp_path / "resume.json")
    store.put("http://h/a.mp4?t=1", 50.0, 100.0)
    assert store.get("http://h/a.mp4?t=2") is None
    assert store.get("http://h/a.mp4?t=1") is not None
    assert source_key("a") != source_key("a ") and len(source_key("a")) == 64
    store.close()


def test_forget_removes_the_point_on_disk_too(tmp_path: Path) -> None:
    path = tmp_path / "resume.json"
    store = reopen(path)
    store.put("/v/a.mp4", 40.0, 100.0)
    store.put("/v/b.mp4", 41.0, 100.0)
    store.forget("/v/a.mp4")
    store.forget("/v/never.mp4")  # nothing to forget: fine
    assert store.flush(WAIT_S)
    store.close()
    again = reopen(path)
    assert again.get("/v/a.mp4") is None and again.get("/v/b.mp4") is not None
    again.close()


def test_the_store_keeps_the_newest_entries(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(resume, "MAX_ENTRIES", 3)
    clock = iter(range(1000, 2000))
    monkeypatch.setattr(resume.time, "time", lambda: float(next(clock)))
    path = tmp_path / "resume.json"
    store = reopen(path)
    for name in "abcde":
        store.put(f"/v/{name}.mp4", 60.0, 100.0)
    assert len(store) == 3
    assert store.flush(WAIT_S)
    store.close()
    again = reopen(path)
    assert [again.get(f"/v/{n}.mp4") is not None for n in "abcde"] == [
        False,
        False,
        True,
        True,
        True,
    ]
    again.close()


def test_an_unreadable_file_is_ignored_and_nothing_is_written_without_a_change(
    tmp_path: Path,
) -> None:
    path = tmp_path / "resume.json"
    path.write_text("{not json")
    store = reopen(path)
    assert len(store) == 0 and store.get("/v/a.mp4") is None
    assert store.flush(WAIT_S)
    assert path.read_text() == "{not json"  # no change, no write
    store.put("/v/a.mp4", 60.0, 100.0)
    assert store.flush(WAIT_S)
    store.close()
    assert reopen(path).get("/v/a.mp4") is not None


class HeldLoad(ResumeStore):
    """A store whose file read waits for the test (a slow disk at start-up); the load
    itself, the thread and the callbacks are the real ones."""

    def __init__(self, path: Path, gate: threading.Event) -> None:
        self.gate = gate
        super().__init__(path)

    def _load(self) -> dict:
        assert self.gate.wait(WAIT_S), "the test never released the load"
        return super()._load()


def test_loaded_callbacks_run_once_the_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "resume.json"
    first = reopen(path)
    first.put("/videos/a.mp4", 300.0, 900.0)
    assert first.flush(WAIT_S)
    first.close()
    gate = threading.Event()
    store = HeldLoad(path, gate)
    called = threading.Event()
    store.on_loaded(called.set)
    assert not store.wait_loaded(0) and not called.is_set()
    assert store.get("/videos/a.mp4") is None  # not read yet
    gate.set()
    assert called.wait(WAIT_S)
    assert store.wait_loaded(0) and store.get("/videos/a.mp4").position_s == 300.0
    late: list[bool] = []
    store.on_loaded(lambda: late.append(True))  # already loaded: called at once
    assert late == [True]
    store.close()
