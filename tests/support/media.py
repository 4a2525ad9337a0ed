"""Real test media made with ffmpeg (cache it per session in the caller's fixtures).

HLS streams come from the demo's maker (:func:`player.demo.media.make_hls`); the
progressive MP4 and the not-a-video file exist only for the tests.
"""

from __future__ import annotations

from pathlib import Path

from player.demo.media import (
    AUDIO_BITRATE,
    AUDIO_RATE,
    DEFAULT_RENDITIONS,
    FFMPEG_TIMEOUT_S,
    MediaError,
    ffmpeg_available,
    make_hls,
    run_ffmpeg,
)

__all__ = [
    "DEFAULT_RENDITIONS",
    "MediaError",
    "ffmpeg_available",
    "make_hls",
    "make_mp4",
    "make_not_video",
]


def make_mp4(
    path: Path | str,
    seconds: float = 10,
    size: tuple[int, int] = (320, 240),
    fps: int = 25,
    pattern: str = "testsrc2",
    color: str = "blue",
    audio: bool = True,
    faststart: bool = True,
    timeout: float = FFMPEG_TIMEOUT_S,
) -> Path:
    """Write a progressive H.264/AAC MP4 of ``seconds`` and return its path.

    ``pattern`` is ``"testsrc2"`` (moving test card) or ``"color"`` (solid ``color``).
    ``faststart`` puts the ``moov`` atom first, as streaming servers do.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    if pattern == "color":
        src = f"color=c={color}:size={w}x{h}:rate={fps}:duration={seconds}"
    elif pattern == "testsrc2":
        src = f"testsrc2=size={w}x{h}:rate={fps}:duration={seconds}"
    else:
        raise ValueError(f"unknown pattern {pattern!r}")
    args = ["-f", "lavfi", "-i", src]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={AUDIO_RATE}:duration={seconds}"]
    args += ["-map", "0:v"]
    if audio:
        args += ["-map", "1:a", "-c:a", "aac", "-b:a", AUDIO_BITRATE]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(fps)]
    if faststart:
        args += ["-movflags", "+faststart"]
    args += ["-t", str(seconds), str(path)]
    run_ffmpeg(args, timeout)
    return path


def make_not_video(path: Path | str) -> Path:
    """Write a small text file (named as given, e.g. ``.mp4``) that is not video."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("This is not a video.\n" * 20, encoding="utf-8")
    return path
