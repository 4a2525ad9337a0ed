"""The disk full while the history, a screenshot or the settings are written.

Root only: the window's data, settings and screenshot folders are on a small tmpfs the
test mounts (a real filesystem that really runs out of space: ENOSPC from the kernel, the
same errors SQLite and Qt see on a full disk), then fills. The real window (offscreen)
plays a real stream through the gateway and libVLC meanwhile. Expected: the viewer is told
what could not be saved, nothing crashes, playback goes on, nothing already stored is
lost, and writes succeed again once space is freed.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PyQt6.QtGui import QImage

from player.core.model import PlaybackState
from tests.faults.harness import FaultWindow
from tests.faults.sandbox import require_or_skip

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

MASTER = "hls/master.m3u8"
# Room for the history database with its WAL and shared-memory files, the settings and a
# screenshot (together well under 1 MB), yet small enough to fill in a blink.
DISK_SIZE = "4m"
FILL_CHUNK = 64 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs mounted for this test (root), unmounted after it."""
    if os.geteuid() != 0:
        require_or_skip("mounting a small filesystem to fill needs root")
    if shutil.which("mount") is None:
        require_or_skip("no mount command")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0700", "tmpfs", str(mnt)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if done.returncode != 0:
        require_or_skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem refuses (ENOSPC); returns it (delete it to free)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (FILL_CHUNK, 4096, 1):  # then the last blocks, to the very last byte
            block = b"\0" * size
            while True:
                try:
                    os.write(fd, block)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    finally:
        os.close(fd)
    assert shutil.disk_usage(disk).free < 4096
    return filler


@pytest.fixture
def disk_window(qapp, small_disk: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultWindow]:  # noqa: ANN001
    """A FaultWindow whose history, settings and screenshots are on the small disk."""
    monkeypatch.setenv("STALLWATCH_CONFIG_DIR", str(small_disk / "config"))
    w = FaultWindow(qapp, small_disk / "data")
    w.window.prefs.screenshot_dir = str(small_disk / "shots")
    try:
        yield w
    finally:
        w.close()


def screenshot(w: FaultWindow) -> tuple[Path, str]:  # noqa: D103 - (path, the toast's text)
    toast = w.window.toast
    toast.hide()
    path = w.window.screenshots.take()
    w.wait(lambda: toast.isVisible() and toast.label.text() != "", what="the screenshot's toast")
    return path, toast.label.text()


def test_the_disk_full_while_writing_history_and_a_screenshot(
    disk_window: FaultWindow,
    small_disk: Path,
    origin,
    fault_hls,  # noqa: ANN001
) -> None:
    w = disk_window
    w.open(origin.url(MASTER))
    w.wait_position(1.0)
    # what is stored before the disk fills: a history row with numbers, a screenshot, settings
    recorder = w.window.history.recorder
    recorder.update()
    assert w.history.flush(10.0)
    before = {s["id"]: s for s in w.history.load().result(10.0)["sessions"]}[w.sid]
    assert before["duration_s"] > 0
    shot, said = screenshot(w)
    assert said.startswith("Screenshot saved"), said
    w.window.set_volume(61)  # a settings write (the prefs' writer thread)
    prefs_file = small_disk / "config" / "prefs.json"
    w.wait(
        lambda: prefs_file.exists() and json.loads(prefs_file.read_text())["volume"] == 61,
        what="prefs saved",
    )

    filler = fill(small_disk)
    with w.fault("disk full") as beats:
        failed_shot, said = screenshot(w)
        assert "Screenshot not saved" in said and "on the clipboard" in said, said
        assert not failed_shot.exists() and not list(failed_shot.parent.glob("*.part"))
        recorder.update()  # the history row's refresh (as every 10 s and at the end)
        w.wait(lambda: w.history.error is not None, what="the history write error")
        w.wait(
            lambda: "History could not be saved" in w.window.statusBar().currentMessage(),
            what="the history error in the status bar",
        )
        assert "full" in w.history.error, w.history.error
        w.window.set_volume(33)  # its save fails: the old file must stay whole
        w.window.prefs_store.save()
        position = w.position()
        w.wait_position(position + 1.0)  # playback goes on
    assert beats.responsive, beats
    assert w.state is PlaybackState.PLAYING and w.error_text() == ""
    assert json.loads(prefs_file.read_text())["volume"] == 61  # not lost, not half-written

    filler.unlink()  # space again: the same writes succeed, nothing stored before is lost
    recorder.update()
    assert w.history.flush(10.0)
    after = {s["id"]: s for s in w.history.load().result(10.0)["sessions"]}[w.sid]
    assert after["started_at"] == before["started_at"] and after["source"] == before["source"]
    assert after["duration_s"] >= before["duration_s"]
    assert not QImage(str(shot)).isNull(), "the screenshot saved before the disk filled"
    again, said = screenshot(w)
    assert said.startswith("Screenshot saved") and not QImage(str(again)).isNull(), said
    w.window.set_volume(34)
    w.wait(lambda: json.loads(prefs_file.read_text())["volume"] == 34, what="prefs saved again")
    assert w.wait_done(90) is PlaybackState.ENDED, w.message_text()
    row = w.finish_and_history_row()
    w.check_history(row)
    assert row["duration_s"] >= after["duration_s"]
    w.memory.check_bounded()


def test_a_session_that_starts_on_a_full_disk_plays_and_is_recorded_once_space_is_back(
    disk_window: FaultWindow,
    small_disk: Path,
    origin,
    fault_hls,  # noqa: ANN001
) -> None:
    """The history row cannot even be started: the video still plays, and its row is
    written by the first update once space is back; the rows stored before are all there."""
    w = disk_window
    w.open(origin.url(MASTER))
    w.wait_position(0.5)
    first_sid = w.sid
    w.finish_and_history_row()
    filler = fill(small_disk)
    with w.fault("disk full at open") as beats:
        w.window.open_source(origin.url(MASTER))
        w.wait(lambda: w.recorder_sid() not in (None, first_sid), what="the second session")
        w.sid = w.recorder_sid()
        w.wait_position(1.0)
        w.wait(lambda: w.history.error is not None, what="the history write error")
    assert beats.responsive, beats
    assert w.error_text() == ""
    second = w.sid
    assert second not in {s["id"] for s in w.history.load().result(10.0)["sessions"]}  # not yet
    filler.unlink()
    w.window.open_source(origin.url(MASTER))  # a third session, with space
    w.wait(lambda: w.recorder_sid() not in (None, w.sid), what="the third session")
    w.sid = w.recorder_sid()
    w.wait_position(0.5)
    row = w.finish_and_history_row()
    assert row["ended"] == 1
    sessions = {s["id"] for s in w.history.load().result(10.0)["sessions"]}
    assert first_sid in sessions  # stored before the disk filled: kept
    assert second in sessions  # started on the full disk: written once space was back
    w.memory.check_bounded()
