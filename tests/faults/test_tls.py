"""A TLS certificate error, and the viewer's "Open anyway (not secure)", through the window.

Real HTTPS origins on loopback (tests/support/origin.py) with certificates signed by a CA
the test makes (trustme) and nobody trusts, the real window (offscreen), the real gateway
and real libVLC decoding ffmpeg-made HLS. Verification fails for real: the system's trust
store does not know the test's CA. Widget state is read as the viewer would see it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from player.core.model import PlaybackState
from player.core.tls_origin import TlsOrigin
from player.report import to_json
from player.session import CertificateUnverified, PlaybackFailed
from tests.support.local_ca import LocalCA
from tests.support.origin import OriginServer

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

MASTER = "hls/master.m3u8"


@pytest.fixture
def ca(tmp_path: Path) -> LocalCA:
    return LocalCA(tmp_path / "ca")


@pytest.fixture
def tls_origin(fault_media: Path, ca: LocalCA) -> Iterator[OriginServer]:
    """The fault stream over HTTPS, with a certificate from the untrusted CA."""
    with OriginServer(fault_media, ssl_context=ca.server_context()) as srv:
        yield srv


@pytest.fixture
def other_tls_origin(fault_media: Path, ca: LocalCA) -> Iterator[OriginServer]:
    """The same stream on another port of the same host: another origin, same CA."""
    with OriginServer(fault_media, ssl_context=ca.server_context()) as srv:
        yield srv


def label_of(srv: OriginServer) -> str:
    origin = TlsOrigin.of(srv.url(""))
    assert origin is not None
    return origin.label


def report_of(row: dict) -> dict:
    assert row["report_json"], row
    return json.loads(row["report_json"])


def check_refused(w, srv: OriginServer) -> str:  # noqa: ANN001 - a FaultWindow
    """The certificate error as the viewer sees it: a plain message, the offer, no picture."""
    text = w.wait_error()
    assert "secure connection" in text and "certificate" in text.lower(), text
    assert "Traceback" not in text
    assert w.state is PlaybackState.ERROR
    assert not w.window.video.has_picture()
    band = w.window.tls_band
    w.wait(lambda: band.kind == "offer", what="the Open anyway offer")
    assert band.isVisible() and band.open_anyway.isVisible()
    assert band.open_anyway.text() == "Open anyway (not secure)"
    assert label_of(srv) in band.text.text()
    failed = w.of_type(PlaybackFailed)[-1]
    assert failed.tls_origin == f"https://{label_of(srv)}"
    return text


def test_a_certificate_error_is_a_clear_message_and_nothing_plays(fault_window, tls_origin) -> None:  # noqa: ANN001
    w = fault_window
    with w.fault("tls certificate error") as beats:
        w.open(tls_origin.url(MASTER))
        check_refused(w, tls_origin)
    assert beats.responsive, beats
    assert not tls_origin.requests_for("*.ts"), "no segment was fetched"
    assert not w.window.tls.status.isVisible()  # nothing was opened unverified
    assert w.session.tls.origins() == []  # no exception without the viewer's click
    row = w.finish_and_history_row()
    assert row["ended"] == 1
    assert report_of(row)["tls_unverified"] == []
    w.memory.check_bounded()


def test_open_anyway_plays_with_a_visible_persistent_warning(
    fault_window,
    tls_origin,
    other_tls_origin,  # noqa: ANN001
) -> None:
    w = fault_window
    label = label_of(tls_origin)
    warning = f"Certificate not verified for {label}"
    w.open(tls_origin.url(MASTER))
    check_refused(w, tls_origin)
    first_sid = w.sid
    with w.fault("tls open anyway") as beats:
        w.window.tls_band.open_anyway.click()
        w.wait(
            lambda: w.recorder_sid() not in (None, first_sid), what="the new session's history row"
        )
        w.sid = w.recorder_sid()
        w.wait_position(1.0)
    assert beats.responsive, beats
    assert w.error_text() == ""
    # the warning, everywhere the viewer looks, while this video plays
    band, status = w.window.tls_band, w.window.tls.status
    assert band.kind == "active" and band.isVisible() and not band.open_anyway.isVisible()
    assert warning in band.text.text() and "Other servers are still verified" in band.text.text()
    assert status.isVisible() and status.text() == warning
    w.window.show_why()
    w.window.set_stats_visible(True)
    w.wait(lambda: warning in w.window.why.window.windowTitle(), what="the Why? title")
    w.wait(lambda: warning in w.window.stats_panel.windowTitle(), what="the statistics title")
    assert [e.origin for e in w.of_type(CertificateUnverified)] == [label]
    assert w.session.tls_unverified == [label]
    assert to_json(w.session.report())["tls_unverified"] == [label]
    assert tls_origin.requests_for("/hls/v*/seg_*.ts"), "the segments came from the exempted origin"
    assert w.wait_done(90) is PlaybackState.ENDED, w.message_text()
    assert band.kind == "active" and status.isVisible()  # persistent to the end
    row = w.finish_and_history_row()
    w.check_history(row)
    assert report_of(row)["tls_unverified"] == [label]
    w.window.why.close()

    # Another origin (the same host, another port) is still verified: refused, offered anew.
    w.open(other_tls_origin.url(MASTER))
    check_refused(w, other_tls_origin)
    assert not status.isVisible() and band.kind == "offer"
    assert label_of(other_tls_origin) in band.text.text()
    assert [o.label for o in w.session.tls.origins()] == [label]
    assert not other_tls_origin.requests_for("*")
    w.memory.check_bounded()


def test_segments_on_another_origin_are_still_verified(
    fault_window,
    tls_origin,
    other_tls_origin,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    """A playlist on the exempted origin naming segments on another origin: those fail
    verification (a missing part each, said so), and no byte of them is fetched."""
    w = fault_window
    playlist = (Path(other_tls_origin.root) / "hls" / "v0" / "index.m3u8").read_text()
    seg_base = other_tls_origin.url("hls/v0/")
    lines = [seg_base + ln if ln.endswith(".ts") else ln for ln in playlist.splitlines()]
    cross = tmp_path / "cross"
    cross.mkdir()
    (cross / "index.m3u8").write_text("\n".join(lines) + "\n")
    with OriginServer(tmp_path, ssl_context=LocalCA(tmp_path / "ca2").server_context()) as entry:
        origin = TlsOrigin.of(entry.url(""))
        assert origin is not None
        w.session.skip_tls_verification(origin)  # as the button does
        w.open(entry.url("cross/index.m3u8"))
        with w.fault("tls other origin") as beats:
            note = w.wait_note("missing")
            w.wait_done(90)
        assert beats.responsive, beats
        assert "TLS" in note, note
        assert w.window.tls.status.text() == f"Certificate not verified for {origin.label}"
        assert entry.requests_for("/cross/index.m3u8")
    assert not other_tls_origin.requests_for("*"), (
        "a segment host that failed verification got a request"
    )
    row = w.finish_and_history_row()
    assert row["ended"] == 1
    assert report_of(row)["tls_unverified"] == [origin.label]
    w.memory.check_bounded()


def test_diagnose_refuses_then_reports_the_exception(tls_origin) -> None:  # noqa: ANN001
    """``diagnose``: exit 2 with the reason and the flag that opens it anyway; with the flag
    it plays and the JSON report lists the origin whose certificate was not verified."""
    from tests.player.test_cli import run_cli

    url = tls_origin.url(MASTER)
    origin_url = f"https://{label_of(tls_origin)}"
    refused = run_cli("diagnose", url, "--duration", "2", "--json")
    assert refused.returncode == 2, refused.stderr
    error = json.loads(refused.stdout)["error"]
    assert "certificate" in error and f"--insecure-tls-origin {origin_url}" in error, error
    assert not tls_origin.requests_for("*.ts")
    ok = run_cli("diagnose", url, "--duration", "2", "--json", "--insecure-tls-origin", origin_url)
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["tls_unverified"] == [label_of(tls_origin)]
    assert report["played_s"] > 0
    assert tls_origin.requests_for("/hls/v*/seg_*.ts")
    bad = run_cli("diagnose", url, "--insecure-tls-origin", "http://example.com")
    assert bad.returncode == 2 and "needs an https URL" in bad.stderr


def test_a_playlist_naming_an_unverified_server_offers_that_server(
    fault_window, tls_origin
) -> None:  # noqa: ANN001
    """The master comes over plain http and passes; its renditions are on an https server
    whose certificate fails. The message names that server, the offer is for it, and once
    exempted the stream plays with the warning."""
    from tests.support.hostile import HostileOrigin

    w = fault_window
    label = label_of(tls_origin)
    master = (Path(tls_origin.root) / "hls" / "master.m3u8").read_text()
    lines = [
        tls_origin.url(f"hls/{ln}") if ln.endswith(".m3u8") else ln for ln in master.splitlines()
    ]
    with HostileOrigin() as plain:
        plain.route(
            "/master.m3u8",
            headers={"Content-Type": "application/vnd.apple.mpegurl"},
            body=("\n".join(lines) + "\n").encode(),
        )
        w.open(plain.url("master.m3u8"))
        with w.fault("tls failure of a rendition host") as beats:
            text = w.wait_error()
            band = w.window.tls_band
            w.wait(lambda: band.kind == "offer", what="the offer for the rendition host")
        assert beats.responsive, beats
        assert f"secure connection to {label}" in text and "certificate" in text, text
        assert label in band.text.text()
        assert not tls_origin.requests_for("*")  # no handshake completed
        band.open_anyway.click()
        w.wait(lambda: w.window.tls.status.isVisible(), what="the warning")
        w.wait_position(1.0)
        assert w.window.tls.status.text() == f"Certificate not verified for {label}"
        assert w.error_text() == ""
        assert tls_origin.requests_for("/hls/v*/seg_*.ts")
    w.memory.check_bounded()
