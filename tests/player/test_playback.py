"""The player plays real media through real libVLC into the Qt window (offscreen).

Media comes from ffmpeg (tests/support/media.py); HTTP comes from a real loopback
server (tests/support/origin.py). Nothing is mocked.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from PyQt6.QtGui import QColor, QImage

from player.core.model import PlaybackState

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

# testsrc2 draws six static colour bars across the picture; these are their colours
# left to right. Moving elements may cover one sample point, so 5 of 6 must match.
BARS = [(255, 0, 0), (0, 255, 0), (255, 255, 0), (0, 0, 255), (255, 0, 255), (0, 255, 255)]
BAR_Y = 0.38  # fraction of the picture height where the bars are clear
COLOUR_TOLERANCE = 70


def bar_matches(img: QImage, rect) -> int:  # noqa: ANN001 - QRectF
    """How many of the six bars have the expected colour at their centre in ``img``."""
    hits = 0
    for i, expected in enumerate(BARS):
        x = int(rect.left() + rect.width() * (i + 0.5) / 6)
        y = int(rect.top() + rect.height() * BAR_Y)
        c = QColor(img.pixel(x, y))
        if all(abs(a - b) <= COLOUR_TOLERANCE for a, b in zip((c.red(), c.green(), c.blue()), expected, strict=True)):
            hits += 1
    return hits


def assert_plays_pattern(h, min_position: float = 1.5) -> None:  # noqa: ANN001
    h.wait(lambda: h.window.video.has_picture(), 10, "the first frame in the widget")
    h.wait(lambda: h.position() >= min_position, 15, f"position >= {min_position}")
    assert h.session.state is PlaybackState.PLAYING
    shot = h.window.video.grab().toImage()
    rect = h.window.video.video_rect()
    assert rect.width() > 100 and rect.height() > 50
    if bar_matches(shot, rect) < 5:
        shot.save(str(Path(tempfile.gettempdir()) / "stallwatch-pattern-mismatch.png"))
    assert bar_matches(shot, rect) >= 5, "the painted picture does not show the test pattern"
    # Letterbox: the window is wider than 4:3 / taller than 16:9 somewhere -> black bars.
    if rect.left() >= 2:
        c = QColor(shot.pixel(1, int(rect.center().y())))
        assert (c.red(), c.green(), c.blue()) == (0, 0, 0)
    p1 = h.position()
    # A rendition switch may freeze the picture ~1 s (libVLC rebuilds its video output).
    h.wait(lambda: h.position() > p1 + 0.4, 3.0, "the position to advance")


def test_plays_mp4_file(harness, mp4_file) -> None:  # noqa: ANN001
    harness.window.open_source(str(mp4_file))
    assert_plays_pattern(harness)
    assert harness.window.seek_slider.isEnabled()
    assert harness.window.total_label.text() == "0:08"


def test_plays_mp4_over_http(harness, origin) -> None:  # noqa: ANN001
    harness.window.open_source(origin.url("clip.mp4"))
    assert_plays_pattern(harness)


def test_plays_hls_master_with_three_renditions(harness, origin, hls_master) -> None:  # noqa: ANN001
    text = hls_master.read_text()
    assert text.count("#EXT-X-STREAM-INF") == 3
    harness.window.open_source(origin.url("hls/master.m3u8"))
    assert_plays_pattern(harness, min_position=2.5)
    assert any(r[1].endswith(".ts") for r in origin.requests)


def test_resizing_keeps_aspect(harness, mp4_file) -> None:  # noqa: ANN001
    harness.window.open_source(str(mp4_file))
    harness.wait(lambda: harness.window.video.has_picture(), 10, "a frame")
    view = harness.window.video
    for w, hgt in ((900, 400), (400, 700)):
        before = view.size()
        harness.window.resize(w, hgt)
        harness.wait(lambda b=before: view.size() != b, 5, f"the view resized for {w}x{hgt}")
        r = view.video_rect()
        img = view.current_image()
        assert abs(r.width() / r.height() - img.width() / img.height()) < 0.02
        assert r.width() <= view.width() + 0.5 and r.height() <= view.height() + 0.5
        assert abs(r.width() - view.width()) < 1 or abs(r.height() - view.height()) < 1


def test_pause_freezes_position_and_frames(harness, mp4_file) -> None:  # noqa: ANN001
    h = harness
    h.window.open_source(str(mp4_file))
    h.wait(lambda: h.position() >= 1.0, 10, "playback")
    h.window.toggle_pause()
    h.wait(lambda: h.session.state is PlaybackState.PAUSED, 3, "paused state")
    h.wait(lambda: h.player.state() == "paused", 3, "libVLC paused")
    # Frames already decoded may still arrive: wait for a quiet moment, then look at a
    # whole second, in which a paused player shows nothing new.
    deadline = time.monotonic() + 5
    while True:
        pos, frames = h.position(), h.player.frames.distinct_frames
        h.pump(0.3)
        if h.player.frames.distinct_frames == frames:
            break
        assert time.monotonic() < deadline, "frames kept coming after the pause"
    h.pump(1.0)
    assert h.position() == pytest.approx(pos, abs=0.05)
    assert h.player.frames.distinct_frames == frames
    h.window.toggle_pause()
    h.wait(lambda: h.position() > pos + 0.3, 5, "resumed playback")
    assert h.player.frames.distinct_frames > frames
    assert h.session.monitor.stalls == [], "a pause was counted as a stall"


@pytest.mark.parametrize("target", [5.0, 1.0])
def test_seek_lands_within_one_second(harness, mp4_file, target: float) -> None:  # noqa: ANN001
    h = harness
    h.window.open_source(str(mp4_file))
    h.wait(lambda: h.position() >= 0.5 and h.session.seekable, 10, "seekable playback")
    h.session.seek_s(target)
    h.wait(lambda: abs(h.player.time_s() - target) <= 1.0, 5, f"the position near {target} s")
    landed = h.player.time_s()
    h.wait(lambda: h.player.time_s() > landed + 0.3, 5, "playback going on after the seek")
    assert h.session.monitor.stalls == [], "a seek was counted as a stall"


def test_keyboard_seek_moves_five_seconds(harness, mp4_file) -> None:  # noqa: ANN001
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    h = harness
    h.window.open_source(str(mp4_file))
    h.wait(lambda: h.position() >= 0.5 and h.session.seekable, 10, "seekable playback")
    before = h.player.time_s()
    QTest.keyClick(h.window, Qt.Key.Key_Right)
    h.wait(lambda: h.player.time_s() >= before + 3.5, 5, "Right to jump ahead")
    ahead = h.player.time_s()
    assert ahead <= before + 5.0 + 1.2 + 0.5, f"{before} -> {ahead}"  # 5 s, plus play time
    QTest.keyClick(h.window, Qt.Key.Key_Left)
    h.wait(lambda: h.player.time_s() <= ahead - 3.5, 5, "Left to jump back")
    assert abs(h.player.time_s() - (ahead - 5.0)) <= 1.5


def test_volume_and_mute_reach_libvlc(harness, mp4_file) -> None:  # noqa: ANN001
    h = harness
    h.window.open_source(str(mp4_file))
    h.wait(lambda: h.position() >= 0.5, 10, "playback")
    h.window.set_volume(37)
    h.wait(lambda: h.player.audio_state()[0] == 37, 2, "volume 37 applied by libVLC")
    h.window.set_muted(True)
    h.wait(lambda: h.player.audio_state()[1] is True, 2, "mute applied by libVLC")
    assert h.window.mute_button.isChecked()
    h.window.volume_slider.setValue(64)  # the slider drives the same path
    h.wait(lambda: h.player.audio_state()[0] == 64, 2, "volume 64 from the slider")
    h.window.set_muted(False)
    h.wait(lambda: h.player.audio_state()[1] is False, 2, "unmute")


def test_plays_to_the_end(harness, mp4_file) -> None:  # noqa: ANN001
    h = harness
    h.window.open_source(str(mp4_file))
    h.wait(lambda: h.position() >= 0.5 and h.session.seekable, 10, "playback")
    h.session.seek_s(6.5)
    h.wait(lambda: h.session.state is PlaybackState.ENDED, 6, "the end")
    assert h.error_text() == ""
