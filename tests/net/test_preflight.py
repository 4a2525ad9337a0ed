"""preflight(): classify URLs and explain failures in plain words."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from player.net.preflight import preflight, sniff
from tests.support.hostile import HostileOrigin
from tests.support.origin import OriginServer, make_self_signed_cert, server_ssl_context

MPD = '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"></MPD>\n'


@pytest.fixture
def site(media_dir: Path) -> Path:
    (media_dir / "page.html").write_text("<!DOCTYPE html><html><body>Hello</body></html>")
    (media_dir / "stream.mpd").write_text(MPD)
    return media_dir


def test_recognises_hls_dash_and_progressive(origin: OriginServer, site: Path) -> None:
    hls = preflight(origin.url("hls/master.m3u8"))
    assert (
        hls.ok and hls.kind == "hls" and hls.status == 200 and "mpegurl" in (hls.content_type or "")
    )
    assert preflight(origin.url("stream.mpd")).kind == "dash"
    mp4 = preflight(origin.url("clip.mp4"))
    assert mp4.ok and mp4.kind == "progressive" and mp4.message == ""
    ts = preflight(origin.url("hls/v0/seg_000.ts"))
    assert ts.ok and ts.kind == "progressive"


def test_dns_failure() -> None:
    r = preflight("http://example.invalid/video.mp4", timeout=3)
    assert not r.ok and r.message.startswith("Could not find the server example.invalid")


def test_connection_refused() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = preflight(f"http://127.0.0.1:{port}/v.mp4", timeout=2)
    assert not r.ok and r.message == f"The server 127.0.0.1 refused the connection on port {port}."


def test_slow_answer_is_not_bad_input(origin: OriginServer) -> None:
    # A server that accepts the connection but answers late is congested or overloaded:
    # playback goes ahead (and the stall, if any, is attributed), with the reason noted.
    origin.add_fault("/clip.mp4", "slow_first_byte", seconds=3)
    r = preflight(origin.url("clip.mp4"), timeout=0.3)
    assert r.ok and r.kind == "unknown"
    assert "127.0.0.1" in r.message and "0.3 s" in r.message


def test_tls_failure(media_dir: Path, tmp_path: Path) -> None:
    cert, key = make_self_signed_cert(tmp_path)
    with OriginServer(media_dir, ssl_context=server_ssl_context(cert, key)) as srv:
        r = preflight(srv.url("clip.mp4"), timeout=3)
    assert not r.ok
    assert r.message.startswith("The secure connection to 127.0.0.1 failed: certificate")
    assert "self-signed" in r.message


@pytest.mark.parametrize(
    ("code", "text"), [(404, "404 Not Found"), (500, "500 Internal Server Error")]
)
def test_http_errors(origin: OriginServer, code: int, text: str) -> None:
    origin.add_fault("/clip.mp4", "status", code=code)
    r = preflight(origin.url("clip.mp4"))
    assert not r.ok and r.status == code and r.message == f"The server answered {text}."


def test_not_video(origin: OriginServer, site: Path) -> None:
    page = preflight(origin.url("page.html"))
    assert not page.ok and page.message.endswith("is a web page, not a video.")
    text = preflight(origin.url("not_video.mp4"))  # served as video/mp4, but it is text
    assert not text.ok and "not a video" in text.message


def test_local_files(mp4_file: Path, not_video_file: Path, tmp_path: Path) -> None:
    assert preflight(str(mp4_file)).kind == "progressive"
    assert preflight(mp4_file.as_uri()).ok
    assert not preflight(str(not_video_file)).ok
    assert "does not exist" in preflight(str(tmp_path / "nope.mp4")).message


def test_sniff_signatures() -> None:
    assert sniff(b"\x00\x00\x00\x18ftypmp42", "", "x")[0] == "progressive"
    assert sniff(b"\x1a\x45\xdf\xa3\x01", "", "x")[0] == "progressive"  # Matroska / WebM
    ts = bytearray(376)
    ts[0] = ts[188] = 0x47
    assert sniff(bytes(ts), "", "x")[0] == "progressive"
    assert sniff(b"Go away", "text/plain", "x")[1] is not None
    assert sniff(b"#EXTM3U\n", "text/plain", "x") == ("hls", None)


def test_redirects_are_checked_like_the_fetchers(tmp_path: Path) -> None:
    """Preflight follows redirects with the Fetcher's loop: https never goes to http, and
    a malformed or non-http Location is refused without any request to it."""
    cert, key = make_self_signed_cert(tmp_path / "certs")
    with HostileOrigin() as plain, HostileOrigin(ssl_context=server_ssl_context(cert, key)) as tls:
        plain.route("/clip.mp4", headers={"Content-Type": "video/mp4"}, body=b"\x00" * 64)
        tls.route("/down", status=302, headers={"Location": plain.url("clip.mp4")})
        tls.route("/file", status=302, headers={"Location": "file:///etc/passwd"})
        tls.route("/up", status=301, headers={"Location": "/clip.mp4"})
        tls.route("/clip.mp4", headers={"Content-Type": "video/mp4"}, body=b"\x00" * 64)
        down = preflight(tls.url("down"), timeout=5, verify=str(cert))
        assert not down.ok and "https to unencrypted http" in down.message
        bad = preflight(tls.url("file"), timeout=5, verify=str(cert))
        assert not bad.ok and "redirected to a file address" in bad.message
        up = preflight(tls.url("up"), timeout=5, verify=str(cert))
        assert up.ok and up.kind == "progressive" and up.final_url == tls.url("clip.mp4")
        assert not plain.seen("/clip.mp4")
