"""The benchmark's one media ladder: fMP4 segments that a DASH MPD and an HLS master both
list, so every player (Stallwatch, libVLC, hls.js, dash.js, Shaka) fetches the same bytes.

One ffmpeg run (the dash muxer with ``-hls_playlist``) encodes three H.264 video
representations and one AAC audio representation from the same test card, with a key frame
at every 2 s segment boundary, and writes ``manifest.mpd`` (video and audio adaptation sets,
``SegmentTemplate``) and ``master.m3u8`` (an ``EXT-X-MEDIA`` audio group; ``EXT-X-MAP``
media playlists) over the same ``chunk-stream{R}-{N}.m4s`` files. The video is CBR with
filler data (``nal-hrd=cbr``) so each segment really weighs its nominal bitrate: the test
card compresses so well that without filler the "6 Mbit/s" rendition would be a fraction of
that, and the traces would test nothing. Filler costs the decoder nothing, so the ladder is
cheap to play on two shared cores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from player.demo.media import MediaError, ladder_args, run_ffmpeg

#: (height, video bits/s): about 1, 3 and 6 Mbit/s; the heights keep decoding light.
RENDITIONS: tuple[tuple[int, int], ...] = ((360, 1_000_000), (540, 3_000_000), (720, 6_000_000))
SEGMENT_S = 2.0
FPS = 25
#: ``chunk-stream{representation}-{number}.m4s``: ffmpeg's dash muxer's default names.
SEGMENT_RE = re.compile(r"/chunk-stream(\d+)-(\d+)\.m4s$")


@dataclass(frozen=True)
class Ladder:
    directory: Path
    mpd: Path
    master: Path
    bitrates_bps: tuple[int, ...]  # nominal video bitrate of representation 0..n-1
    segment_s: float

    def segment_of(self, path: str) -> tuple[int, int] | None:
        """(video representation, segment number) of a request path, None otherwise
        (audio, init segments, manifests, pages)."""
        m = SEGMENT_RE.search(path.split("?", 1)[0])
        if m is None:
            return None
        rep, number = int(m.group(1)), int(m.group(2))
        return (rep, number) if rep < len(self.bitrates_bps) else None


def make_ladder(directory: Path, seconds: float) -> Ladder:
    """Encode the ladder (``seconds`` long) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    args = ladder_args(seconds, RENDITIONS, SEGMENT_S, FPS, audio=True, constant_bitrate=True)
    args += [
        "-f", "dash", "-seg_duration", str(SEGMENT_S), "-use_template", "1", "-use_timeline", "0",
        "-adaptation_sets", "id=0,streams=v id=1,streams=a", "-hls_playlist", "1",
        "-t", str(seconds), str(directory / "manifest.mpd"),
    ]  # fmt: skip
    run_ffmpeg(args)
    mpd, master = directory / "manifest.mpd", directory / "master.m3u8"
    if not (mpd.exists() and master.exists()):
        raise MediaError("ffmpeg did not write manifest.mpd and master.m3u8")
    return Ladder(directory, mpd, master, tuple(b for _, b in RENDITIONS), SEGMENT_S)
