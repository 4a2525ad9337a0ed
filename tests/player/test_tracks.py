"""Audio tracks, subtitles, speed and frame stepping: real libVLC, media made here with ffmpeg.

The track media is a black video with two audio tracks (a low and a high tone) and an
embedded subtitle track; subtitles are checked by the pixels libVLC renders into the
window's picture (white text in the lower part of a black picture). The frame-step media
encodes each frame's number in its grey level, so the test reads which frame is on screen.
Nothing is mocked except the file dialog of "Add Subtitle File…" (a native dialog cannot be
clicked offscreen); the file it returns is real.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PyQt6.QtCore import QMimeData, QPointF, Qt, QUrl
from PyQt6.QtGui import QDropEvent, QImage
from PyQt6.QtTest import QTest

from player.core.model import PlaybackState
from player.demo.media import ffmpeg_available, run_ffmpeg
from player.playback.tracks import OFF, Track, cycle
from player.ui.speed_frames import SPEED_STEPS, step_speed
from player.ui.tracks_menu import subtitle_paths
from tests.player.conftest import MIN_WAIT_S

pytestmark = [pytest.mark.gui]

CLIP_S = 20
CUE_S = 0.5  # one subtitle cue every half second: a track switched on shows text at once
GREY_STEP = 16  # grey level per frame in the frame-step clip (16 distinct frames, wrapping)
GREY_FRAMES = 256 // GREY_STEP
BRIGHT = 200  # a channel above this is subtitle text on the black picture
MIN_TEXT_PIXELS = 40  # a line of subtitle text lights far more pixels than this
# A paused picture counts as settled only when the view shows the newest picture libVLC
# handed over, the frame number read from it, libVLC's picture count and the frame
# stepper's own idea of the frame on screen all agree and stay so for STILL_S (50 frame
# intervals of the clip, 20x the view's poll). The agreement is the signal; the window only
# rules out a picture or a time update that was already on its way.
STILL_S = 2.0


def srt(text: str, seconds: float = CLIP_S) -> str:
    """An SRT with ``text`` shown from 0 to ``seconds`` in ``CUE_S`` cues."""

    def ts(t: float) -> str:
        ms = round(t * 1000)
        return (
            f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
        )

    cues, i, t = [], 1, 0.0
    while t < seconds:
        cues.append(f"{i}\n{ts(t)} --> {ts(t + CUE_S)}\n{text}\n")
        i, t = i + 1, t + CUE_S
    return "\n".join(cues)


@pytest.fixture(scope="module")
def track_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Black 320x240 video, audio 1 "Low tone" (440 Hz), audio 2 "High tone" (880 Hz), and an
    embedded subtitle track that is not on by default."""
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed")
    d = tmp_path_factory.mktemp("tracks")
    (d / "embedded.srt").write_text(srt("EMBEDDED SUBTITLE"), encoding="utf-8")
    out = d / "tracks.mkv"
    run_ffmpeg([
        "-f", "lavfi", "-i", f"color=c=black:size=320x240:rate=25:duration={CLIP_S}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={CLIP_S}",
        "-f", "lavfi", "-i", f"sine=frequency=880:sample_rate=48000:duration={CLIP_S}",
        "-i", str(d / "embedded.srt"),
        "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
        "-c:a", "aac", "-b:a", "64k", "-c:s", "srt",
        "-metadata:s:a:0", "title=Low tone", "-metadata:s:a:1", "title=High tone",
        "-metadata:s:s:0", "language=eng", "-disposition:s:0", "0",
        "-t", str(CLIP_S), str(out),
    ])  # fmt: skip
    return out


@pytest.fixture(scope="module")
def grey_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s, 25 fps; frame N is a flat grey of level (N * GREY_STEP) % 256 (lossless)."""
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed")
    out = tmp_path_factory.mktemp("grey") / "grey.mp4"
    run_ffmpeg([
        "-f", "lavfi", "-i", f"color=c=black:s=64x48:r=25:d=8,format=gray,geq=lum='mod(N*{GREY_STEP}\\,256)'",
        "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-g", "25", str(out),
    ])  # fmt: skip
    return out


# -- reading the picture ----------------------------------------------------------------------
def _green(img: QImage, top: float, bottom: float) -> bytes:
    """The green bytes of the rows between the fractions ``top`` and ``bottom`` (RGB32)."""
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    raw = img.constBits().asstring(img.sizeInBytes())
    bpl = img.bytesPerLine()
    y0, y1 = int(img.height() * top), int(img.height() * bottom)
    return b"".join(raw[y * bpl + 1 : y * bpl + img.width() * 4 : 4] for y in range(y0, y1))


def bright_pixels(img: QImage | None, top: float, bottom: float) -> int:
    if img is None:
        return -1
    return sum(1 for g in _green(img, top, bottom) if g > BRIGHT)


def frame_number(img: QImage | None) -> int | None:
    """Which frame (mod GREY_FRAMES) of the grey clip ``img`` shows."""
    if img is None:
        return None
    g = QImage(img).pixelColor(img.width() // 2, img.height() // 2).green()
    return round(g / GREY_STEP) % GREY_FRAMES


def frames_between(a: int, b: int) -> int:
    """b - a in frames, modulo the clip's grey cycle, in (-GREY_FRAMES/2, GREY_FRAMES/2]."""
    d = (b - a) % GREY_FRAMES
    return d - GREY_FRAMES if d > GREY_FRAMES // 2 else d


def play(h, path: Path, tracks: bool = False) -> None:  # noqa: ANN001
    h.window.open_source(str(path))
    h.wait(
        lambda: h.session.state is PlaybackState.PLAYING and h.window.video.has_picture(),
        15,
        "playing",
    )
    # Window shortcuts fire only in the active window (offscreen activates it asynchronously).
    h.wait(lambda: h.window.isActiveWindow(), MIN_WAIT_S, "the main window active")
    if tracks:
        h.wait(
            lambda: len(h.player.tracks.audio()) == 2 and h.player.tracks.subtitles(),
            15,
            "the tracks",
        )


def text_on_screen(h) -> int:  # noqa: ANN001
    return bright_pixels(h.window.video.current_image(), 0.5, 1.0)


def wait_subtitle(h, shown: bool, what: str) -> None:  # noqa: ANN001
    """Wait for libVLC's picture to show (or no longer show) subtitle text in its lower half;
    the upper half of the black picture stays dark either way."""
    if shown:
        h.wait(lambda: text_on_screen(h) >= MIN_TEXT_PIXELS, 15, what)
    else:
        h.wait(lambda: text_on_screen(h) == 0, 15, what)
    assert bright_pixels(h.window.video.current_image(), 0.0, 0.45) == 0


def menu_entry(menu, text: str):  # noqa: ANN001, ANN201
    menu.aboutToShow.emit()  # what opening the menu does: fill it from libVLC's tracks
    return next(a for a in menu.actions() if a.text() == text)


# -- pure parts -------------------------------------------------------------------------------
def test_cycle_wraps_and_passes_through_off() -> None:
    tracks = [Track(3, "a"), Track(5, "b")]
    assert [cycle(tracks, c, with_off=True) for c in (OFF, 3, 5)] == [3, 5, OFF]
    assert [cycle(tracks, c, with_off=False) for c in (3, 5)] == [5, 3]
    assert cycle(tracks, 99, with_off=False) == 3  # an unknown current: the first track
    assert cycle([Track(1, "only")], 1, with_off=False) is None
    assert cycle([], OFF, with_off=True) is None


def test_speed_steps_are_ordered_and_clamped() -> None:
    assert list(SPEED_STEPS) == sorted(SPEED_STEPS) and 1.0 in SPEED_STEPS
    assert step_speed(1.0, 1) == 1.1 and step_speed(1.0, -1) == 0.9
    assert step_speed(SPEED_STEPS[-1], 1) == SPEED_STEPS[-1]
    assert step_speed(SPEED_STEPS[0], -1) == SPEED_STEPS[0]
    assert step_speed(1.3, 1) == 1.5 and step_speed(1.3, -1) == 1.25  # between two stops
    assert step_speed(0.6699, 1) == 0.75  # libVLC's float for 0.67 is that stop


def test_only_subtitle_files_make_a_subtitle_drop(tmp_path: Path) -> None:
    md = QMimeData()
    md.setUrls(
        [QUrl.fromLocalFile(str(tmp_path / "a.SRT")), QUrl.fromLocalFile(str(tmp_path / "b.vtt"))]
    )
    assert [p.name for p in subtitle_paths(md)] == ["a.SRT", "b.vtt"]
    md.setUrls(
        [QUrl.fromLocalFile(str(tmp_path / "a.srt")), QUrl.fromLocalFile(str(tmp_path / "v.mp4"))]
    )
    assert subtitle_paths(md) == []
    md.setUrls([QUrl("https://example.invalid/a.srt")])
    assert subtitle_paths(md) == []


# -- with libVLC --------------------------------------------------------------------------------
@pytest.mark.vlc
def test_audio_tracks_switch_by_keys_and_menu(harness, track_media) -> None:  # noqa: ANN001
    h = harness
    play(h, track_media, tracks=True)
    low, high = (t.id for t in h.player.tracks.audio())
    assert [t.name.split(" - ")[0] for t in h.player.tracks.audio()] == ["Low tone", "High tone"]
    h.wait(lambda: h.player.mp.audio_get_track() == low, MIN_WAIT_S, "the first audio track on")
    QTest.keyClick(h.window, Qt.Key.Key_B)
    h.wait(lambda: h.player.mp.audio_get_track() == high, MIN_WAIT_S, "B: the second audio track")
    assert h.window.toast.isVisible() and "High tone" in h.window.toast.label.text()
    QTest.keyClick(h.window, "#")
    h.wait(
        lambda: h.player.mp.audio_get_track() == low,
        MIN_WAIT_S,
        "#: back to the first (audio never goes off)",
    )
    entry = menu_entry(
        h.window.tracks.audio_menu, next(t.name for t in h.player.tracks.audio() if t.id == high)
    )
    assert not entry.isChecked()
    entry.trigger()
    h.wait(lambda: h.player.mp.audio_get_track() == high, MIN_WAIT_S, "the menu's entry")
    assert menu_entry(h.window.tracks.audio_menu, entry.text()).isChecked()
    assert "Off" not in [a.text() for a in h.window.tracks.audio_menu.actions()]
    h.wait(lambda: h.position() > 1.0, MIN_WAIT_S, "playback going on with the other track")


@pytest.mark.vlc
def test_subtitles_switch_on_and_off_in_the_picture(harness, track_media) -> None:  # noqa: ANN001
    h = harness
    play(h, track_media, tracks=True)
    assert h.player.mp.video_get_spu() == OFF
    wait_subtitle(h, False, "no text while subtitles are off")
    QTest.keyClick(h.window, Qt.Key.Key_V)
    h.wait(lambda: h.player.mp.video_get_spu() != OFF, MIN_WAIT_S, "V: a subtitle track on")
    wait_subtitle(h, True, "the embedded subtitle's text in the picture")
    assert "Subtitles: Track 1" in h.window.toast.label.text()
    QTest.keyClick(h.window, Qt.Key.Key_J)  # the only track, then "Off"
    h.wait(lambda: h.player.mp.video_get_spu() == OFF, MIN_WAIT_S, "J: subtitles off")
    wait_subtitle(h, False, "the text gone with subtitles off")
    assert h.window.toast.label.text() == "Subtitles: Off"
    menu = h.window.tracks.subtitle_menu
    assert menu_entry(menu, "Off").isChecked()
    menu_entry(menu, "Track 1 - [English]").trigger()
    wait_subtitle(h, True, "the menu's subtitle entry")
    menu_entry(menu, "Off").trigger()
    wait_subtitle(h, False, "the menu's Off")


@pytest.mark.vlc
def test_dropped_srt_is_added_and_shown(harness, track_media, tmp_path) -> None:  # noqa: ANN001
    h = harness
    ext = tmp_path / "external.srt"
    ext.write_text(srt("EXTERNAL SUBTITLE FILE"), encoding="utf-8")
    play(h, track_media, tracks=True)
    wait_subtitle(h, False, "no text before the drop")
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(ext))])
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        md,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    h.window.dropEvent(drop)
    h.wait(
        lambda: len(h.player.tracks.subtitles()) == 2,
        MIN_WAIT_S,
        "the dropped file as a second subtitle track",
    )
    added = h.player.tracks.subtitles()[-1].id
    h.wait(lambda: h.player.mp.video_get_spu() == added, MIN_WAIT_S, "the dropped file selected")
    wait_subtitle(h, True, "the dropped file's text in the picture")
    assert h.session.source == str(track_media), "dropping subtitles must not open them as a video"
    assert "external.srt" in h.window.toast.label.text()
    QTest.keyClick(h.window, Qt.Key.Key_V)  # after the last track: Off
    wait_subtitle(h, False, "V after the last track: off")


@pytest.mark.vlc
def test_add_subtitle_file_from_the_file_menu(harness, track_media, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from PyQt6.QtWidgets import QFileDialog

    h = harness
    vtt = tmp_path / "chosen.vtt"
    vtt.write_text("WEBVTT\n\n" + srt("CHOSEN WEBVTT FILE").replace(",", "."), encoding="utf-8")
    asked: list[str] = []
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", lambda *a, **k: (asked.append(a[3]) or str(vtt), "")
    )
    play(h, track_media, tracks=True)
    h.window.tracks.act_add_subtitle.trigger()
    assert asked and "*.srt" in asked[0] and "*.vtt" in asked[0]
    h.wait(
        lambda: len(h.player.tracks.subtitles()) == 2,
        MIN_WAIT_S,
        "the chosen file as a subtitle track",
    )
    wait_subtitle(h, True, "the chosen WebVTT file's text in the picture")
    menu = h.window.tracks.subtitle_menu
    menu.aboutToShow.emit()
    assert h.window.tracks.act_add_subtitle in menu.actions(), "the Subtitles menu offers it too"
    assert [a.text() for a in menu.actions() if a.isCheckable() and a.isChecked()] == ["Track 2"]


@pytest.mark.vlc
def test_speed_keys_change_libvlc_rate(harness, mp4_file) -> None:  # noqa: ANN001
    h = harness
    play(h, mp4_file)
    rate = h.player.mp.get_rate
    label = h.window.speed.speed_label
    assert rate() == pytest.approx(1.0) and label.isHidden()
    QTest.keyClick(h.window, Qt.Key.Key_BracketRight)
    h.wait(lambda: rate() == pytest.approx(1.1, abs=0.01), MIN_WAIT_S, "] to 1.1x")
    QTest.keyClick(h.window, Qt.Key.Key_BracketRight)
    h.wait(lambda: rate() == pytest.approx(1.25, abs=0.01), MIN_WAIT_S, "] to 1.25x")
    assert label.isVisible() and label.text() == "Speed 1.25×"
    assert h.window.toast.label.text() == "Speed 1.25×"
    for _ in range(4):
        QTest.keyClick(h.window, Qt.Key.Key_BracketLeft)
    h.wait(lambda: rate() == pytest.approx(0.75, abs=0.01), MIN_WAIT_S, "[ four times to 0.75x")
    assert "Speed 0.75×" in h.window.statusBar().currentMessage()
    QTest.keyClick(h.window, Qt.Key.Key_Backspace)
    h.wait(lambda: rate() == pytest.approx(1.0), MIN_WAIT_S, "Backspace back to 1x")
    assert label.isHidden()
    for _ in range(len(SPEED_STEPS)):
        QTest.keyClick(h.window, Qt.Key.Key_BracketRight)
    h.wait(
        lambda: rate() == pytest.approx(SPEED_STEPS[-1], abs=0.01),
        MIN_WAIT_S,
        "] stops at the fastest step",
    )
    p0 = h.player.time_s()
    h.wait(lambda: h.player.time_s() >= p0 + 2.0, MIN_WAIT_S, "playback running at 4x")
    # Like VLC and mpv, the speed stays for the next video, and the status bar says so.
    h.window.open_source(str(mp4_file))
    h.wait(lambda: h.session.state is PlaybackState.PLAYING, 15, "the next video playing")
    assert rate() == pytest.approx(SPEED_STEPS[-1], abs=0.01)
    assert label.isVisible() and label.text() == f"Speed {SPEED_STEPS[-1]:g}×"
    # The label says what libVLC plays at: a rate beyond its range is clamped.
    h.window.speed.set_speed(0.1)
    assert rate() == pytest.approx(0.25) and label.text() == "Speed 0.25×"


@pytest.mark.vlc
def test_frame_step_forward_and_back_while_paused(harness, grey_clip) -> None:  # noqa: ANN001
    h = harness
    painted = [0]  # the sequence number of the newest picture the view painted
    h.window.video.frame_painted.connect(lambda seq: painted.__setitem__(0, seq))
    play(h, grey_clip)
    h.wait(lambda: h.position() >= 1.5 and h.session.seekable, 15, "seekable playback")
    QTest.keyClick(h.window, Qt.Key.Key_Space)
    h.wait(
        lambda: h.player.state() == "paused" and h.session.state is PlaybackState.PAUSED,
        MIN_WAIT_S,
        "paused",
    )
    shown = lambda: frame_number(h.window.video.current_image())  # noqa: E731
    stepper = h.player.stepper
    frame_ms = 1000.0 / stepper.fps()

    def state() -> tuple:
        """The frame read from the picture, libVLC's count of new pictures, the stepper's
        estimate of the frame on screen."""
        return (shown(), h.player.frames.distinct_frames, stepper.shown_ms())

    def view_current() -> bool:
        """The view painted the newest picture libVLC handed over (none in transit)."""
        return h.player.frames.latest(painted[0]) is None

    def settle() -> int:
        """The frame on screen once it is still (see STILL_S): frames decoded before the
        pause, or a step's picture, may still be on their way."""
        last: list = [None, time.monotonic()]

        def still() -> bool:
            now = state()
            if now != last[0]:
                last[:] = [now, time.monotonic()]
                return False
            return time.monotonic() - last[1] >= STILL_S and view_current()

        h.wait(still, MIN_WAIT_S + STILL_S, "a still picture")
        on_screen, _, at_ms = last[0]
        # the stepper's estimate lands on the picture or the one before (frame_step.py)
        assert frames_between(round(at_ms // frame_ms) % GREY_FRAMES, on_screen) in (0, 1)
        return on_screen

    def press(key: Qt.Key, expect, what: str) -> int:  # noqa: ANN001
        before = settle()
        QTest.keyClick(h.window, key)
        h.wait(lambda: frames_between(before, shown()) in expect, 15, what)
        return settle()

    start = settle()
    a = press(Qt.Key.Key_Period, (1,), ". shows the next frame")
    b = press(Qt.Key.Key_Period, (1,), ". again, one more")
    assert frames_between(start, b) == 2
    # The first step back after libVLC's own steps may land a frame further (libVLC's time
    # trails the picture after a pause); from there every step is exactly one frame.
    c = press(Qt.Key.Key_Comma, (-1, -2), ", steps back")
    d = press(Qt.Key.Key_Comma, (-1,), ", back exactly one frame")
    e = press(Qt.Key.Key_Period, (1,), ". after , goes forward one frame")
    assert frames_between(c, d) == -1 and frames_between(d, e) == 1 and a != b
    assert h.player.state() == "paused" and h.session.state is PlaybackState.PAUSED
    QTest.keyClick(h.window, Qt.Key.Key_Space)
    h.wait(lambda: h.session.state is PlaybackState.PLAYING, MIN_WAIT_S, "Space plays again")
    p = h.player.time_s()
    h.wait(lambda: h.player.time_s() > p + 0.5, MIN_WAIT_S, "playback after stepping")
    assert h.session.monitor.stalls == [], "frame stepping was counted as a stall"


@pytest.mark.vlc
def test_next_frame_while_playing_pauses(harness, grey_clip) -> None:  # noqa: ANN001
    h = harness
    play(h, grey_clip)
    QTest.keyClick(h.window, Qt.Key.Key_Period)
    h.wait(
        lambda: h.player.state() == "paused" and h.session.state is PlaybackState.PAUSED,
        MIN_WAIT_S,
        ". pauses",
    )


def test_subtitles_dropped_with_nothing_playing_are_not_opened(harness, tmp_path) -> None:  # noqa: ANN001
    h = harness
    sub = tmp_path / "lonely.srt"
    sub.write_text(srt("NOTHING TO SHOW ON"), encoding="utf-8")
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(sub))])
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        md,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    h.window.dropEvent(drop)
    assert h.session.source is None, "a subtitle file is not a video to open"
    assert "Open a video first" in h.window.statusBar().currentMessage()
