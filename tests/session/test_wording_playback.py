"""The session's sentences (player.core.wording.playback)."""

from __future__ import annotations

from player.core.wording import playback as say


def test_why_libvlc_could_not_play() -> None:
    assert say.undecodable("a.mkv", [("video", "xyz1"), ("audio", "mp4a")], False) == (
        "Could not play a.mkv: its video format (xyz1) is not supported by this player."
    )
    assert say.undecodable("a.mka", [("audio", "mp4a")], False) == (
        "Could not play a.mka: it has no video Stallwatch can decode (mp4a)."
    )
    assert say.undecodable("x", [], True) == (
        "Could not play x: the server's answer is not a video format Stallwatch can play."
    )
    assert say.undecodable("", [], False) == (
        "Could not play this input: it is not a video, or its format is not supported."
    )


def test_ended_early_and_stream_notes() -> None:
    assert say.ended_early(65.2, 3725.0) == (
        "Playback ended early at 1:05 of 1:02:05: the stream was cut off or a part of it is missing."
    )
    assert say.segment_missing("HTTP 404") == "A part of the video is missing (HTTP 404); skipping it."
    assert say.retrying("HTTP 503") == "The server did not answer properly (HTTP 503); retrying."
    assert say.upstream_failed("timed out") == "The server failed: timed out"
    assert say.resumed() == "The connection to the server dropped; resumed where it stopped."
    assert say.open_crashed("a.mp4", ValueError("boom")) == "Could not open a.mp4: boom"


def test_rendition_labels() -> None:
    assert say.rendition_label(2, 2_270_000, 720) == "720p · 2.27 Mbit/s"
    assert say.rendition_label(0, 400_000, None) == "rendition 1 · 0.40 Mbit/s"
    assert say.rendition_position(1, 3, pinned=True) == "2 of 3 (pinned)"
    assert say.rendition_position(0, 3, pinned=False) == "1 of 3 (auto)"
