"""Settings: every setting persists across a restart and acts without one; diagnostics off
sends nothing (watched at the socket layer, with the same hook proving it sees probes when on)."""

from __future__ import annotations

import socket
import threading
from dataclasses import asdict

import pytest
from PyQt6.QtWidgets import QLabel

from player.core.wording import Notice
from player.net.path.sockets import IP_RECVERR
from player.session import NoticeChanged
from player.store.prefs import Prefs, PrefsStore
from player.ui.first_run import FirstRunDialog
from player.ui.settings_dialog import SettingsDialog

pytestmark = [pytest.mark.gui]

LABELS = ["240p", "360p", "720p"]


class ProbeWatch:
    """Counts probe traffic where it leaves Python: datagram ``sendto`` calls and the
    ``IP_RECVERR``/``IP_TTL`` options every probe socket sets (real sockets, only watched)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sends: list[tuple[int, object]] = []
        self.options: list[int] = []
        self._lock = threading.Lock()
        real_sendto, real_setsockopt = socket.socket.sendto, socket.socket.setsockopt

        def sendto(sock: socket.socket, *args: object) -> int:
            if sock.type in (socket.SOCK_DGRAM, socket.SOCK_RAW):
                with self._lock:
                    self.sends.append((sock.type, args[-1]))
            return real_sendto(sock, *args)

        def setsockopt(sock: socket.socket, level: int, opt: int, *args: object) -> None:
            if (level, opt) in ((socket.IPPROTO_IP, IP_RECVERR), (socket.IPPROTO_IP, socket.IP_TTL)):
                with self._lock:
                    self.options.append(opt)
            return real_setsockopt(sock, level, opt, *args)

        monkeypatch.setattr(socket.socket, "sendto", sendto)
        monkeypatch.setattr(socket.socket, "setsockopt", setsockopt)

    def count(self) -> int:
        with self._lock:
            return len(self.sends) + len(self.options)


def _apply(window, **values) -> None:  # noqa: ANN001
    """Change settings through the dialog's widgets and press OK."""
    dlg = SettingsDialog(window.prefs, window, renditions=window._rendition_labels)
    widgets = {
        "show_notices": dlg.show_notices, "probe_path": dlg.probe_path, "rdap_lookup": dlg.rdap,
        "evidence_card": dlg.evidence_card, "redact": dlg.redact, "auto_screenshot": dlg.auto_screenshot,
        "single_instance": dlg.single_instance,
    }  # fmt: skip
    for key, value in values.items():
        if key in widgets:
            widgets[key].setChecked(value)
        elif key == "screenshot_dir":
            dlg.screenshot_dir.setText(value)
        elif key == "network_caching_ms":
            dlg.caching.setValue(value)
        elif key == "rendition":
            dlg.rendition.setCurrentIndex(dlg.rendition.findData(value))
        elif key == "org_overrides":
            dlg.overrides.setPlainText("\n".join(f"{k} = {v}" for k, v in value.items()))
    dlg._accept()
    assert dlg.result() == SettingsDialog.DialogCode.Accepted
    window.settings_changed()


def test_every_setting_persists_across_a_restart(harness, tmp_path) -> None:  # noqa: ANN001
    h = harness
    changed = {
        "show_notices": False, "probe_path": False, "rdap_lookup": True, "evidence_card": False,
        "redact": False, "auto_screenshot": True, "screenshot_dir": str(tmp_path / "shots"),
        "network_caching_ms": 3000, "rendition": "360p", "org_overrides": {"example-isp.net": "My ISP"},
        "single_instance": False,
    }  # fmt: skip
    defaults = Prefs()
    assert all(getattr(defaults, k) != v for k, v in changed.items()), "each change must be a change"
    h.window._fill_quality_menu(LABELS)  # a video with three qualities is open
    _apply(h.window, **changed)
    h.prefs.close()
    again = PrefsStore(h.prefs.path).prefs  # a restart: a new store on the same folder
    for key, value in changed.items():
        assert getattr(again, key) == value, key
    assert again.first_run_done is False
    assert asdict(again) == asdict(h.window.prefs)


def test_settings_act_without_a_restart(harness) -> None:  # noqa: ANN001
    h = harness
    w = h.window
    w._on_session_event(NoticeChanged(notice=Notice("Your ISP is slow", "RTT rose")))
    assert w.video.notice is not None
    _apply(w, show_notices=False)
    assert not h.session.show_notices
    h.wait(lambda: w.video.notice is None, 3, "the notice fades out at once")
    w._on_session_event(NoticeChanged(notice=Notice("Your ISP is slow", "RTT rose")))
    assert w.video.notice is None
    _apply(w, show_notices=True)
    w._on_session_event(NoticeChanged(notice=Notice("Your ISP is slow", "RTT rose")))
    assert w.video.notice is not None

    _apply(w, network_caching_ms=2500)
    assert h.player.network_caching_ms == 2500  # the next open's :network-caching option

    w._fill_quality_menu(LABELS)  # the playing video's qualities are known
    _apply(w, rendition="720p")
    assert h.session.pinned_rendition == 2
    checked = [a.text() for a in w.quality_menu.actions() if a.isChecked()]
    assert checked == ["720p"], "the Quality menu mirrors the setting"
    auto = w.quality_menu.actions()[0]
    auto.trigger()  # and the menu writes the setting back
    assert h.session.pinned_rendition is None and w.prefs.rendition == "auto"

    _apply(w, org_overrides={"example-isp.net": "My ISP"}, rdap_lookup=True)
    assert ("example-isp.net", "My ISP") in h.session.opening.namer_key[0]
    assert h.session.opening.namer_key[1] == w.prefs.rdap_url


def test_first_run_explains_and_switches(harness) -> None:  # noqa: ANN001
    h = harness
    assert h.window.prefs.first_run_done is False
    dlg = h.window.show_first_run()
    assert isinstance(dlg, FirstRunDialog) and dlg.isVisible()
    words = " ".join(label.text() for label in dlg.findChildren(QLabel)).lower()
    for needle in (
        "udp, icmp or tcp packets",
        "the video's server",
        "nothing is ever sent to us",
        "while a video plays",
        "your system's dns resolver",
        "reverse name look-ups",
        "only if you turn it on",
    ):
        assert needle in words, needle
    assert "nothing else leaves this computer" not in words, "reverse DNS and RDAP do leave it"
    dlg.probe_path.setChecked(False)
    dlg.accept()
    assert h.window.prefs.first_run_done and not h.window.prefs.probe_path and not h.session.probe_path
    h.prefs.close()
    again = PrefsStore(h.prefs.path).prefs
    assert again.first_run_done and not again.probe_path


def test_settings_hints_say_what_is_sent_and_show_the_rdap_url_as_text(qapp) -> None:  # noqa: ANN001
    from PyQt6.QtCore import Qt

    url = "https://rdap.example/<b>x</b>"
    dlg = SettingsDialog(Prefs(rdap_url=url))
    labels = dlg.findChildren(QLabel)
    rdap = [label for label in labels if url in label.text()]
    assert rdap and rdap[0].textFormat() == Qt.TextFormat.PlainText, "a URL from the prefs file is not markup"
    assert " AS " not in rdap[0].text(), "there are no AS look-ups"
    words = " ".join(label.text() for label in labels).lower()
    assert "your system's dns resolver" in words and "nothing is sent to us" in words
    assert "nothing else leaves this computer" not in words
    dlg.close()


@pytest.mark.vlc
@pytest.mark.parametrize("diagnostics", [True, False], ids=["on", "off"])
def test_diagnostics_off_sends_no_probe(harness, origin, hls_master, monkeypatch, diagnostics) -> None:  # noqa: ANN001
    """A real session over loopback HLS; the socket hook must see probes when diagnostics
    are on (so it can fail) and none at all when they are off."""
    h = harness
    _apply(h.window, probe_path=diagnostics)
    watch = ProbeWatch(monkeypatch)
    h.window.open_source(origin.url("hls/master.m3u8"))
    if diagnostics:
        h.wait(lambda: watch.count() > 0, 15, "probe packets with diagnostics on")
        assert h.session.path is not None
        assert any(kind == socket.SOCK_DGRAM for kind, _ in watch.sends)
    else:
        h.wait(lambda: h.position() > 4.0, 20, "four seconds of playback")  # > 8 probe intervals
        assert h.session.path is None
        assert watch.count() == 0, f"probe traffic with diagnostics off: {watch.sends[:3]} {watch.options[:3]}"
        assert h.session.report().probe["status"] == "not_run"


@pytest.mark.vlc
def test_diagnostics_off_stops_the_running_sessions_probes(harness, origin, hls_master, monkeypatch) -> None:  # noqa: ANN001
    h = harness
    watch = ProbeWatch(monkeypatch)
    h.window.open_source(origin.url("hls/master.m3u8"))
    h.wait(lambda: h.session.path is not None and watch.count() > 0, 15, "probing")
    monitor = h.session.path
    _apply(h.window, probe_path=False)
    assert h.session.path is None, "the session lets go of its path monitor at once"
    h.wait(
        lambda: not any(t.name in ("stallwatch-path", "stallwatch-probes") for t in threading.enumerate()),
        10, "the path monitor's and prober's threads end",
    )  # fmt: skip
    sent = watch.count()
    playing_at = h.position()
    h.wait(lambda: h.position() > playing_at + 2.0, 15, "two more seconds of playback")  # > 4 probe intervals
    assert watch.count() == sent, "a probe left after diagnostics were switched off"
    assert monitor.snapshot() is not None  # the stopped monitor still answers (no crash)
    _apply(h.window, probe_path=True)  # and on again: probing resumes for the same video
    h.wait(lambda: h.session.path is not None and watch.count() > sent, 15, "probing again")


def test_prefs_file_is_private(tmp_path) -> None:  # noqa: ANN001
    store = PrefsStore(tmp_path / "cfg" / "prefs.json")
    store.prefs.add_recent("https://cdn.example/private.m3u8")
    store.save()
    store.close()
    assert oct(store.path.stat().st_mode & 0o777) == oct(0o600)
    assert oct(store.path.parent.stat().st_mode & 0o777) == oct(0o700)
    assert PrefsStore(store.path).prefs.recent == ["https://cdn.example/private.m3u8"]
