"""The desktop's recently-used list: opened local files go into ``recently-used.xbel``.

The freedesktop Desktop Bookmark spec's file (``$XDG_DATA_HOME/recently-used.xbel``, read
by file choosers and "Recent" views of GTK, GNOME, KDE and others). Only local files are
written: a URL can carry a token or a password in its path or query, and other programs
show and keep this list, so streams stay out of it (they are in Stallwatch's own Open
Recent menu, in its private prefs). Every other application's bookmark is kept as it is;
ours is added or refreshed (its ``count`` goes up). The file is re-read before each change,
replaced atomically (temporary file + rename in the same folder), and bounded to the
newest :data:`MAX_BOOKMARKS`. An unreadable file is left alone rather than replaced, so
nobody's list is lost. All of this runs on one writer thread, never the GUI's.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import os
import queue
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from player.store.files import write_atomic

log = logging.getLogger(__name__)

FILE_NAME = "recently-used.xbel"
NS_BOOKMARK = "http://www.freedesktop.org/standards/desktop-bookmarks"
NS_MIME = "http://www.freedesktop.org/standards/shared-mime-info"
METADATA_OWNER = "http://freedesktop.org"  # the owner the spec (and GTK) use for this metadata
APP_NAME = "Stallwatch"  # as the desktop entry's Name= (GTK uses the application's name)
APP_EXEC = "'stallwatch %u'"  # GTK's form: the command, quoted, with the spec's %u
# GTK itself never trims the list by count (it drops entries by age); without a bound the
# file grows without end. A thousand bookmarks is far more than any "Recent" view shows.
MAX_BOOKMARKS = 1000
NEW_FILE_MODE = 0o600  # the list says what you opened; an existing file keeps its mode
FLUSH_WAIT_S = 5.0

ET.register_namespace("bookmark", NS_BOOKMARK)
ET.register_namespace("mime", NS_MIME)


def default_path() -> Path:
    """``$XDG_DATA_HOME/recently-used.xbel`` (``~/.local/share`` when unset, as the spec says)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / FILE_NAME


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def add_bookmark(root: ET.Element, path: Path, stamp: str) -> None:
    """Add or refresh ``path``'s bookmark in the ``<xbel>`` tree ``root`` (pure XML work)."""
    href = path.as_uri()
    bm = next((b for b in root.findall("bookmark") if b.get("href") == href), None)
    if bm is None:
        bm = ET.SubElement(root, "bookmark", {"href": href, "added": stamp})
    bm.set("modified", stamp)
    bm.set("visited", stamp)
    info = bm.find("info")
    if info is None:
        info = ET.SubElement(bm, "info")
    meta = next((m for m in info.findall("metadata") if m.get("owner") == METADATA_OWNER), None)
    if meta is None:
        meta = ET.SubElement(info, "metadata", {"owner": METADATA_OWNER})
    if meta.find(_q(NS_MIME, "mime-type")) is None:
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        meta.insert(0, ET.Element(_q(NS_MIME, "mime-type"), {"type": mime}))
    apps = meta.find(_q(NS_BOOKMARK, "applications"))
    if apps is None:
        apps = ET.SubElement(meta, _q(NS_BOOKMARK, "applications"))
    app = next(
        (a for a in apps.findall(_q(NS_BOOKMARK, "application")) if a.get("name") == APP_NAME), None
    )
    if app is None:
        app = ET.SubElement(apps, _q(NS_BOOKMARK, "application"), {"name": APP_NAME, "count": "0"})
    app.set("exec", APP_EXEC)
    app.set("modified", stamp)
    try:
        count = int(app.get("count") or 0)
    except ValueError:
        count = 0
    app.set("count", str(count + 1))
    trim(root, MAX_BOOKMARKS)


def trim(root: ET.Element, keep: int) -> None:
    """Drop the oldest bookmarks (by ``modified``, else ``added``) beyond ``keep``."""
    bookmarks = root.findall("bookmark")
    if len(bookmarks) <= keep:
        return
    newest_first = sorted(
        bookmarks, key=lambda b: b.get("modified") or b.get("added") or "", reverse=True
    )
    for b in newest_first[keep:]:
        root.remove(b)


def new_root() -> ET.Element:
    return ET.Element("xbel", {"version": "1.0"})


class RecentlyUsed:
    """Adds opened files to the desktop's list on its own writer thread."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._queue: queue.Queue[Path | threading.Event | None] = queue.Queue()
        self._thread = threading.Thread(
            target=self._run, name="stallwatch-recently-used", daemon=True
        )
        self._thread.start()

    def add(self, source: str) -> bool:
        """Queue ``source`` if it is a local path (URLs are never written); no disk access
        here: the writer thread skips a path that is not an existing file."""
        if "://" in source or not source:
            return False
        self._queue.put(Path(os.path.abspath(source)))
        return True

    def flush(self, timeout: float = FLUSH_WAIT_S) -> bool:
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 1.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                self._write(item)
            except Exception:  # never let one bad write end the thread
                log.exception("could not update %s", self.path)

    def _write(self, file: Path) -> None:
        if not file.is_file():
            return
        try:
            tree = ET.parse(self.path)
            root = tree.getroot()
            if root.tag != "xbel":
                log.warning("%s is not an XBEL file: not touching it", self.path)
                return
            mode = self.path.stat().st_mode & 0o777
        except FileNotFoundError:
            root, mode = new_root(), NEW_FILE_MODE
        except (ET.ParseError, OSError) as exc:
            log.warning("%s is unreadable (%s): not touching it", self.path, exc)
            return
        add_bookmark(root, file, _now())
        tree = ET.ElementTree(root)
        ET.indent(tree)
        buf = io.BytesIO()
        tree.write(buf, encoding="UTF-8", xml_declaration=True)
        try:
            write_atomic(self.path, buf.getvalue(), mode=mode, dir_mode=None)
        except OSError as exc:
            log.warning("could not update %s: %s", self.path, exc)
            return
        log.debug("added a file to %s", self.path)
