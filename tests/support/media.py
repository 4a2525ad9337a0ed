"""Real test media made with ffmpeg (cache it per session in the caller's fixtures).

HLS streams come from the demo's maker (:func:`player.demo.media.make_hls`); the
progressive MP4 and the not-a-video file exist only for the tests.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from pathlib import Path

from player.demo.media import (
    AUDIO_BITRATE,
    AUDIO_RATE,
    DEFAULT_RENDITIONS,
    FFMPEG_TIMEOUT_S,
    MediaError,
    ffmpeg_available,
    ladder_args,
    make_hls,
    run_ffmpeg,
    width_for,
)

__all__ = [
    "DEFAULT_RENDITIONS",
    "MediaError",
    "ffmpeg_available",
    "make_dash",
    "make_hls",
    "make_hls_fmp4",
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
        args += [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate={AUDIO_RATE}:duration={seconds}",
        ]
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


#: (height, video bps) of the DASH makers' default representations.
DASH_RENDITIONS = ((180, 250_000), (360, 800_000))


def make_dash(
    directory: Path | str,
    seconds: float = 12,
    renditions: Sequence[tuple[int, int]] = DASH_RENDITIONS,
    segment_s: float = 2,
    fps: int = 25,
    layout: str = "template",
    timeout: float = FFMPEG_TIMEOUT_S,
) -> Path:
    """Write a VOD DASH stream (video representations ``v0..`` + one audio) with ffmpeg's
    dash muxer into ``directory``; return ``manifest.mpd``.

    ``layout`` is ``"template"`` (SegmentTemplate, ``$Number%05d$``, one file per segment)
    or ``"base"`` (one file per representation, ``SegmentBase`` with ``indexRange``: ffmpeg
    writes that layout as a SegmentList, so the MPD is written here from the files'
    ``sidx`` boxes). Representation ids are ``0..n-1`` (video, in the given order) and
    ``n`` (audio).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    n = len(renditions)
    max_h = max(h for h, _ in renditions)
    args = [
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width_for(max_h)}x{max_h}:rate={fps}:duration={seconds}",
    ]
    args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={AUDIO_RATE}:duration={seconds}"]
    for _ in range(n):
        args += ["-map", "0:v"]
    args += ["-map", "1:a"]
    gop = max(1, round(segment_s * fps))
    args += [
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
    ]  # fmt: skip
    for i, (h, bps) in enumerate(renditions):
        args += [f"-s:v:{i}", f"{width_for(h)}x{h}", f"-b:v:{i}", str(bps)]
        args += [f"-maxrate:v:{i}", str(bps), f"-bufsize:v:{i}", str(2 * bps)]
    args += ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE)]
    args += ["-f", "dash", "-seg_duration", str(segment_s), "-use_timeline", "0"]
    args += ["-adaptation_sets", "id=0,streams=v id=1,streams=a"]
    if layout == "template":
        args += ["-use_template", "1"]
    elif layout == "base":
        args += ["-use_template", "0", "-single_file", "1", "-global_sidx", "1"]
    else:
        raise ValueError(f"unknown layout {layout!r}")
    mpd = directory / "manifest.mpd"
    args += ["-t", str(seconds), str(mpd)]
    run_ffmpeg(args, timeout)
    if not mpd.exists():
        raise MediaError("ffmpeg did not write manifest.mpd")
    if layout == "base":
        _write_segment_base_mpd(directory, mpd, renditions, seconds)
    return mpd


def _sidx_span(path: Path) -> tuple[int, int]:
    """(offset, size) of the top-level ``sidx`` box of an MP4 file."""
    data = path.read_bytes()
    i = 0
    while i + 8 <= len(data):
        size, typ = struct.unpack_from(">I4s", data, i)
        if typ == b"sidx":
            return i, size
        if size < 8:
            break
        i += size
    raise MediaError(f"{path.name} has no sidx box")


def _write_segment_base_mpd(
    directory: Path, mpd: Path, renditions: Sequence[tuple[int, int]], seconds: float
) -> None:
    def rep(i: int, attrs: str) -> str:
        f = directory / f"manifest-stream{i}.mp4"
        off, size = _sidx_span(f)
        return (
            f'<Representation id="{i}" {attrs}><BaseURL>{f.name}</BaseURL>'
            f'<SegmentBase indexRange="{off}-{off + size - 1}">'
            f'<Initialization range="0-{off - 1}"/></SegmentBase></Representation>'
        )

    n = len(renditions)
    codecs = re.findall(r'codecs="([^"]+)"', mpd.read_text(encoding="utf-8"))  # ffmpeg's, in order
    if len(codecs) != n + 1:
        raise MediaError(f"ffmpeg's MPD names {len(codecs)} codecs for {n + 1} streams")
    video = "".join(
        rep(i, f'mimeType="video/mp4" codecs="{codecs[i]}" bandwidth="{bps}" '
               f'width="{width_for(h)}" height="{h}"')
        for i, (h, bps) in enumerate(renditions)
    )  # fmt: skip
    audio = rep(n, f'mimeType="audio/mp4" codecs="{codecs[n]}" bandwidth="64000"')
    mpd.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" '
        f'mediaPresentationDuration="PT{seconds:.1f}S" minBufferTime="PT2S"><Period start="PT0S">'
        f'<AdaptationSet contentType="video" segmentAlignment="true">{video}</AdaptationSet>'
        f'<AdaptationSet contentType="audio">{audio}</AdaptationSet>'
        "</Period></MPD>\n",
        encoding="utf-8",
    )


def make_hls_fmp4(
    directory: Path | str,
    seconds: float = 12,
    renditions: Sequence[tuple[int, int]] = DASH_RENDITIONS,
    segment_s: float = 2,
    fps: int = 25,
    timeout: float = FFMPEG_TIMEOUT_S,
) -> Path:
    """Write a VOD fMP4 HLS stream (``EXT-X-MAP`` init sections, audio muxed into every
    rendition) into ``directory``; return ``master.m3u8``. Rendition ``i`` lives in
    ``v{i}/`` (``init_{i}.mp4``, ``seg_NNN.m4s``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    n = len(renditions)
    args = ladder_args(seconds, renditions, segment_s, fps, audio=True)
    args += [
        "-f", "hls", "-hls_time", str(segment_s), "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4", "-hls_segment_filename", str(directory / "v%v" / "seg_%03d.m4s"),
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", " ".join(f"v:{i},a:{i}" for i in range(n)),
        str(directory / "v%v" / "index.m3u8"),
    ]  # fmt: skip
    run_ffmpeg(args, timeout)
    master = directory / "master.m3u8"
    if not master.exists():
        raise MediaError("ffmpeg did not write master.m3u8")
    return master
