"""Bad input: a clear message in the window within 2 s, a responsive window, a usable player.

Real servers on loopback (plain HTTP, and HTTPS with a self-signed certificate made
by openssl), real files made by ffmpeg, real libVLC. Nothing is mocked.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from player.core.model import PlaybackState
from tests.support.media import make_mp4
from tests.support.origin import OriginServer, make_self_signed_cert, server_ssl_context

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

MESSAGE_DEADLINE_S = 2.0
MAX_EVENT_LOOP_GAP_S = 0.25


def free_port() -> int:
    """A loopback port with nothing listening on it (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = b"<!doctype html><html><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture
def tls_server(tmp_path: Path):  # noqa: ANN201
    """An HTTPS server on loopback whose self-signed certificate nobody trusts."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    cert, key = make_self_signed_cert(tmp_path)
    with OriginServer(tmp_path, ssl_context=server_ssl_context(cert, key)) as srv:
        yield srv.url("video.mp4")


@pytest.fixture
def html_server():  # noqa: ANN201
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/watch"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def unsupported_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real AVI whose video codec (Snow) libVLC opens but cannot decode."""
    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg is not installed")
    path = tmp_path_factory.mktemp("unsupported") / "snow.avi"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10",
         "-t", "2", "-c:v", "snow", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def check_bad_input(h, source: str, expected: tuple[str, ...], good_file: Path) -> None:  # noqa: ANN001
    from tests.player.conftest import Heartbeat

    beat = Heartbeat()
    t0 = time.monotonic()
    h.window.open_source(source)
    took = h.wait(lambda: h.error_text() != "", 5.0, f"an error message for {source}")
    text = h.error_text()
    h.pump(0.3)
    beat.stop()
    assert took <= MESSAGE_DEADLINE_S, f"message after {took:.2f} s: {text}"
    assert any(e.lower() in text.lower() for e in expected), text
    assert "Traceback" not in text
    assert h.session.state is PlaybackState.ERROR
    assert beat.max_gap() < MAX_EVENT_LOOP_GAP_S, f"event loop stalled {beat.max_gap():.2f} s"
    assert h.window.statusBar().currentMessage()
    assert time.monotonic() - t0 < 10
    # The player is still usable: a good file plays next.
    h.window.open_source(str(good_file))
    h.wait(lambda: h.window.video.has_picture() and h.position() > 0.3, 10, "the good file playing")
    assert h.error_text() == ""


def test_connection_refused(harness, mp4_file) -> None:  # noqa: ANN001
    url = f"http://127.0.0.1:{free_port()}/video.mp4"
    check_bad_input(harness, url, ("could not connect", "refused"), mp4_file)


def test_unknown_host(harness, mp4_file) -> None:  # noqa: ANN001
    # .invalid is reserved (RFC 2606): it never resolves, and no query leaves for a real host.
    check_bad_input(harness, "http://no-such-host.invalid/video.mp4", ("could not find",), mp4_file)


def test_http_404(harness, origin, mp4_file) -> None:  # noqa: ANN001
    check_bad_input(harness, origin.url("missing.mp4"), ("404",), mp4_file)


def test_http_500(harness, origin, mp4_file) -> None:  # noqa: ANN001
    origin.add_fault("*clip.mp4", "status", code=500)
    check_bad_input(harness, origin.url("clip.mp4"), ("500",), mp4_file)


def test_tls_failure(harness, tls_server, mp4_file) -> None:  # noqa: ANN001
    check_bad_input(harness, tls_server, ("secure connection", "certificate"), mp4_file)


def test_web_page_is_not_a_video(harness, html_server, mp4_file) -> None:  # noqa: ANN001
    check_bad_input(harness, html_server, ("web page",), mp4_file)


def test_text_file_is_not_a_video(harness, not_video_file, mp4_file) -> None:  # noqa: ANN001
    check_bad_input(harness, str(not_video_file), ("not a video",), mp4_file)


def test_missing_file(harness, tmp_path, mp4_file) -> None:  # noqa: ANN001
    check_bad_input(harness, str(tmp_path / "nope.mp4"), ("does not exist",), mp4_file)


def test_binary_junk_is_not_a_video(harness, tmp_path, mp4_file) -> None:  # noqa: ANN001
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(bytes(range(256)) * 64)
    check_bad_input(harness, str(junk), ("not a video", "not supported"), mp4_file)


def test_unsupported_format(harness, unsupported_file, mp4_file) -> None:  # noqa: ANN001
    check_bad_input(harness, str(unsupported_file), ("not supported",), mp4_file)


def test_dropped_connection_says_ended_early(harness, origin, mp4_file) -> None:  # noqa: ANN001
    long_clip = make_mp4(origin.root / "long.mp4", seconds=20)
    size = long_clip.stat().st_size
    # The connection drops at 40 % of the file, and from that moment the server refuses
    # the rest (503), however fast or slow playback is: libVLC ends with EndReached and
    # no error, so the session must notice.
    origin.rate_bps = 2_500_000  # ~3x the clip's bitrate: the cut happens during playback
    origin.add_fault("*long.mp4", "cut", after_bytes=int(size * 0.4), then_status=503)
    h = harness
    h.window.open_source(origin.url("long.mp4"))
    h.wait(lambda: h.position() > 0.5, 10, "playback")
    h.wait(lambda: h.error_text() != "", 30, "the ended-early message")
    assert "ended early" in h.error_text().lower()
    assert "of 0:20" in h.error_text()
    assert h.session.state is PlaybackState.ERROR
