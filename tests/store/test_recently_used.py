"""The desktop's recently-used list (player/store/recently_used.py): a real XBEL file,
parsed back with ElementTree; other applications' bookmarks survive our writes."""

from __future__ import annotations

import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from player.store import recently_used
from player.store.recently_used import NS_BOOKMARK, NS_MIME, RecentlyUsed, default_path

B = f"{{{NS_BOOKMARK}}}"
M = f"{{{NS_MIME}}}"

# What GTK (GLib's GBookmarkFile) writes for another application's recent file.
OTHER_APPS_XBEL = """<?xml version="1.0" encoding="UTF-8"?>
<xbel version="1.0"
      xmlns:bookmark="http://www.freedesktop.org/standards/desktop-bookmarks"
      xmlns:mime="http://www.freedesktop.org/standards/shared-mime-info"
>
  <bookmark href="file:///home/u/Documents/report.odt" added="2026-11-30T09:00:00.000000Z" modified="2026-11-30T09:00:00.000000Z" visited="2026-11-30T09:00:00.000000Z">
    <info>
      <metadata owner="http://freedesktop.org">
        <mime:mime-type type="application/vnd.oasis.opendocument.text"/>
        <bookmark:groups>
          <bookmark:group>LibreOffice</bookmark:group>
        </bookmark:groups>
        <bookmark:applications>
          <bookmark:application name="LibreOffice" exec="&apos;soffice %u&apos;" modified="2026-11-30T09:00:00.000000Z" count="2"/>
        </bookmark:applications>
      </metadata>
    </info>
  </bookmark>
</xbel>
"""


@pytest.fixture
def video(tmp_path: Path) -> Path:
    p = tmp_path / "videos" / "holiday clip.mp4"
    p.parent.mkdir()
    p.write_bytes(b"\0" * 16)  # the store only needs a file that exists
    return p


def bookmarks(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "xbel" and root.get("version") == "1.0"
    return {b.get("href"): b for b in root.findall("bookmark")}


def our_app(bm: ET.Element) -> ET.Element:
    apps = bm.findall(f"info/metadata/{B}applications/{B}application")
    return next(a for a in apps if a.get("name") == "Stallwatch")


def test_default_path_follows_xdg_data_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "recently-used.xbel"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_path() == Path.home() / ".local/share/recently-used.xbel"


def test_a_new_list_gets_a_valid_bookmark(tmp_path: Path, video: Path) -> None:
    path = tmp_path / "share" / "recently-used.xbel"
    store = RecentlyUsed(path)
    assert store.add(str(video))
    assert store.flush()
    store.close()
    marks = bookmarks(path)
    assert list(marks) == [video.as_uri()]
    assert "%20" in video.as_uri()  # the space is percent-encoded, as the spec's URIs are
    bm = marks[video.as_uri()]
    for attr in ("added", "modified", "visited"):
        assert bm.get(attr, "").endswith("Z")
    meta = bm.find("info/metadata")
    assert meta.get("owner") == "http://freedesktop.org"
    assert meta.find(f"{M}mime-type").get("type") == "video/mp4"
    app = our_app(bm)
    assert app.get("exec") == "'stallwatch %u'" and app.get("count") == "1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_other_apps_entries_are_kept_and_ours_is_refreshed(tmp_path: Path, video: Path) -> None:
    path = tmp_path / "recently-used.xbel"
    path.write_text(OTHER_APPS_XBEL, encoding="utf-8")
    path.chmod(0o644)
    store = RecentlyUsed(path)
    store.add(str(video))
    store.add(str(video))
    assert store.flush()
    store.close()
    marks = bookmarks(path)
    assert set(marks) == {"file:///home/u/Documents/report.odt", video.as_uri()}
    other = marks["file:///home/u/Documents/report.odt"]
    assert other.get("added") == "2026-11-30T09:00:00.000000Z"
    lo = other.find(f"info/metadata/{B}applications/{B}application")
    assert (lo.get("name"), lo.get("exec"), lo.get("count")) == ("LibreOffice", "'soffice %u'", "2")
    assert other.find(f"info/metadata/{B}groups/{B}group").text == "LibreOffice"
    assert our_app(marks[video.as_uri()]).get("count") == "2"  # one bookmark, opened twice
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # the file keeps its mode
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_urls_and_missing_files_are_not_written(tmp_path: Path) -> None:
    path = tmp_path / "recently-used.xbel"
    store = RecentlyUsed(path)
    assert not store.add("https://cdn.example.com/v.m3u8?token=secret")
    store.add(str(tmp_path / "gone.mp4"))  # a path: checked on the writer thread
    assert not store.add("")
    assert store.flush()
    store.close()
    assert not path.exists()


def test_an_unreadable_list_is_left_alone(tmp_path: Path, video: Path) -> None:
    path = tmp_path / "recently-used.xbel"
    path.write_text("<xbel><bookmark", encoding="utf-8")
    store = RecentlyUsed(path)
    store.add(str(video))
    assert store.flush()
    store.close()
    assert path.read_text(encoding="utf-8") == "<xbel><bookmark"


def test_the_list_is_bounded_to_the_newest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recently_used, "MAX_BOOKMARKS", 2)
    stamps = iter(f"2026-12-01T10:00:0{i}.000000Z" for i in range(10))
    monkeypatch.setattr(recently_used, "_now", lambda: next(stamps))
    path = tmp_path / "recently-used.xbel"
    path.write_text(OTHER_APPS_XBEL, encoding="utf-8")  # the oldest entry
    files = []
    for name in ("a.mp4", "b.mp4"):
        f = tmp_path / name
        f.write_bytes(b"\0")
        files.append(f)
    store = RecentlyUsed(path)
    for f in files:
        store.add(str(f))
    assert store.flush()
    store.close()
    assert set(bookmarks(path)) == {f.as_uri() for f in files}
