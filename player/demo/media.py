"""The demo's media maker: a multi-rendition HLS stream generated with ffmpeg.

Pure subprocess + pathlib (no Qt, VLC or network). The built-in demo serves the stream
on loopback; the test-suite builds its own media on top of :func:`run_ffmpeg`
(``tests/support/media.py``).

Every rendition of :func:`make_hls` is encoded in one ffmpeg run from the same
source with a forced key frame at every segment boundary, so all renditions
share segment timing (same count, same ``EXTINF``) and every segment starts
with an IDR frame: a player may switch rendition at any segment boundary.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
#: Hard limit for one ffmpeg run (seconds): a 60 s three-rendition encode takes ~20 s
#: on a slow machine, so this only catches a hung ffmpeg.
FFMPEG_TIMEOUT_S = 180.0
#: (height, video bits/s): the low rung fits a weak link, the top one needs a good one.
DEFAULT_RENDITIONS: tuple[tuple[int, int], ...] = ((240, 300_000), (360, 700_000), (720, 2_000_000))
AUDIO_BITRATE = "64k"  # a tone: more would only inflate every rendition alike
AUDIO_RATE = 44_100


class MediaError(RuntimeError):
    """ffmpeg is missing or failed."""


def ffmpeg_available() -> bool:
    """True when an ``ffmpeg`` executable is on PATH."""
    return shutil.which(FFMPEG) is not None


def width_for(height: int) -> int:
    """16:9 width for ``height``, rounded to an even number (x264 needs even sizes)."""
    w = round(height * 16 / 9)
    return w - (w % 2)


def run_ffmpeg(args: list[str], timeout: float = FFMPEG_TIMEOUT_S) -> None:
    """Run ffmpeg quietly with ``args`` (overwriting outputs); raise MediaError on failure."""
    if not ffmpeg_available():
        raise MediaError("ffmpeg is not installed")
    cmd = [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    log.debug("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"ffmpeg timed out after {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise MediaError(f"ffmpeg failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def ladder_args(
    seconds: float,
    renditions: Sequence[tuple[int, int]],
    segment_s: float,
    fps: int,
    audio: bool,
    *,
    constant_bitrate: bool = False,
) -> list[str]:
    """ffmpeg's inputs, scaling and encoder arguments for a rendition ladder encoded in one
    run (``renditions``: ``(height, video_bitrate_bps)``): a key frame at every segment
    start and the same timestamps in every rendition, so segments align across them; the
    caller adds its muxer (HLS in MPEG-TS or fMP4, DASH). ``constant_bitrate``: pad every
    rendition to its bitrate (x264 CBR with filler), so a test card that compresses well
    still weighs what the ladder says (benchmarks whose traces must bite)."""
    n = len(renditions)
    max_h = max(h for h, _ in renditions)
    src_v = f"testsrc2=size={width_for(max_h)}x{max_h}:rate={fps}:duration={seconds}"
    args = ["-f", "lavfi", "-i", src_v]
    if audio:
        args += [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate={AUDIO_RATE}:duration={seconds}",
        ]
    split = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n)) if n > 1 else "[0:v]null[s0]"
    scales = ";".join(
        f"[s{i}]scale={width_for(h)}:{h}[o{i}]" for i, (h, _) in enumerate(renditions)
    )
    args += ["-filter_complex", f"{split};{scales}"]
    for i in range(n):
        args += ["-map", f"[o{i}]"]
    if audio:
        for _ in range(n):
            args += ["-map", "1:a"]
    gop = max(1, round(segment_s * fps))
    args += [
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{segment_s})",
    ]  # fmt: skip
    if constant_bitrate:
        args += ["-x264-params", "nal-hrd=cbr"]
    for i, (_, bps) in enumerate(renditions):
        args += [
            f"-b:v:{i}",
            str(bps),
            f"-maxrate:v:{i}",
            str(bps),
            f"-bufsize:v:{i}",
            str(2 * bps),
        ]
        if constant_bitrate:
            args += [f"-minrate:v:{i}", str(bps)]
    if audio:
        args += ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE)]
    return args


def make_hls(
    directory: Path | str,
    seconds: float = 20,
    renditions: Sequence[tuple[int, int]] = DEFAULT_RENDITIONS,
    segment_s: float = 2,
    fps: int = 25,
    audio: bool = True,
    timeout: float = FFMPEG_TIMEOUT_S,
) -> Path:
    """Write a multi-rendition VOD HLS stream into ``directory``; return ``master.m3u8``.

    ``renditions`` are ``(height, video_bitrate_bps)``; rendition ``i`` lives in
    ``v{i}/index.m3u8`` with segments ``v{i}/seg_NNN.ts``. The master lists them
    with ``BANDWIDTH`` and ``RESOLUTION`` in the given order.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if not renditions:
        raise ValueError("at least one rendition is needed")
    n = len(renditions)
    args = ladder_args(seconds, renditions, segment_s, fps, audio)
    if audio:
        vmap = " ".join(f"v:{i},a:{i}" for i in range(n))
    else:
        vmap = " ".join(f"v:{i}" for i in range(n))
    args += [
        "-f", "hls", "-hls_time", str(segment_s), "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(directory / "v%v" / "seg_%03d.ts"),
        "-master_pl_name", "master.m3u8", "-var_stream_map", vmap,
        str(directory / "v%v" / "index.m3u8"),
    ]  # fmt: skip
    run_ffmpeg(args, timeout)
    master = directory / "master.m3u8"
    if not master.exists():
        raise MediaError("ffmpeg did not write master.m3u8")
    return master
