"""The recent list keeps no URL credentials or tokens (what is stored, and what is reopened)."""

from __future__ import annotations

import json
from pathlib import Path

from player.store.prefs import PrefsStore

SIGNED = (
    "https://bob:hunter2@cdn.example/v/a9f3c2e1b7d4e5f6a7b8c9d0aa11/index.m3u8"
    "?token=Zx81kq93LmPq20aa&id=42&X-Amz-Signature=deadbeef#t=10"
)
KEPT = "https://cdn.example/v/…/index.m3u8?id=42"


def test_a_url_is_stored_without_credentials_or_tokens(tmp_path: Path) -> None:
    store = PrefsStore(tmp_path / "prefs.json")
    store.prefs.add_recent(SIGNED)
    store.prefs.add_recent("/home/viewer/Videos/holiday?.mp4")  # a local path: as it is
    store.prefs.add_recent("http://127.0.0.1:8000/hls/master.m3u8")  # nothing secret: as it is
    store.save()
    store.close()
    text = (tmp_path / "prefs.json").read_text()
    for secret in ("hunter2", "bob", "Zx81kq93LmPq20aa", "deadbeef", "a9f3c2e1b7d4"):
        assert secret not in text
    assert json.loads(text)["recent"] == [
        "http://127.0.0.1:8000/hls/master.m3u8",
        "/home/viewer/Videos/holiday?.mp4",
        KEPT,
    ]
    store.prefs.add_recent(SIGNED)  # reopened: the same (redacted) entry moves up, no copy
    assert store.prefs.recent.count(KEPT) == 1 and store.prefs.recent[0] == KEPT


def test_an_older_file_is_cleaned_when_read(tmp_path: Path) -> None:
    path = tmp_path / "prefs.json"
    path.write_text(json.dumps({"recent": [SIGNED, "https://cdn.example/v/…/index.m3u8?id=42"]}))
    store = PrefsStore(path)
    assert store.prefs.recent == [KEPT]
    store.close()
