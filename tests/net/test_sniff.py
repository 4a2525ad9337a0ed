"""The one HLS / DASH sniffer that the parser, the gateway and preflight share."""

from __future__ import annotations

import pytest

from player.net.preflight import sniff as preflight_sniff
from player.net.sniff import is_dash_type, is_hls_type, manifest_kind

MPD = b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"></MPD>\n'


@pytest.mark.parametrize(
    ("head", "ctype", "kind"),
    [
        (b"#EXTM3U\n#EXT-X-VERSION:3\n", "application/octet-stream", "hls"),
        (b"\xef\xbb\xbf  #EXTM3U\n", "", "hls"),  # BOM and whitespace first
        (MPD, "text/xml", "dash"),
        (b"#EXTM3U\n", "application/dash+xml", "hls"),  # the text decides, not the label
        (MPD, "application/vnd.apple.mpegurl", "dash"),
        (b"", "application/x-mpegURL", "hls"),  # only the label says so
        (b"", "application/dash+xml; charset=utf-8", "dash"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4", None),
    ],
)
def test_manifest_kind(head: bytes, ctype: str, kind: str | None) -> None:
    assert manifest_kind(head, ctype) == kind


def test_content_types() -> None:
    assert is_hls_type("audio/mpegurl") and is_hls_type("Application/VND.Apple.MpegURL")
    assert not is_hls_type(None) and not is_hls_type("video/mp2t")
    assert is_dash_type("application/dash+xml") and not is_dash_type("application/xml")


def test_preflight_uses_the_same_answer() -> None:
    assert preflight_sniff(MPD, "application/vnd.apple.mpegurl", "x") == ("dash", None)
    kind, problem = preflight_sniff(b"<p>hi</p>", "application/x-mpegurl", "x")
    assert kind == "hls" and problem is not None and "#EXTM3U" in problem
