"""The "Why?" window and the statistics panel's path, downloads and markers."""

from __future__ import annotations

import json
import re

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication

from player.core.attribution import DeviceEvidence
from player.core.explain import explain, fetch_rows, hop_rows
from player.core.model import Evidence, Fetch, FetchKind, Hop, Segment, Verdict
from player.core.wording import explain as say
from player.session import StatsView
from player.ui.stats_panel import STALL_COLOUR, SWITCH_COLOUR, StatsPanel
from player.ui.why_window import STATUS_COLOURS, WhyWindow

pytestmark = [pytest.mark.gui]

IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")
IPV6 = re.compile(r"\b[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}\b")


def assert_no_address(text: str) -> None:
    assert "127.0.0.1" not in text
    assert not IPV4.search(text), IPV4.search(text)
    assert not [m for m in IPV6.findall(text) if m.count(":") >= 2], IPV6.findall(text)


def make_testbed_hops() -> list[Hop]:
    """What the namespace testbed's path looks like after naming: home router, ISP access
    and core (the core queues under load), a transit interconnect, the CDN server."""
    return [
        Hop(1, "10.0.1.1", "gw.home.arpa", "home", Segment.HOME_NETWORK, 0.4, 0.6),
        Hop(2, "100.64.1.1", "bras-100-64-1-1.isp.test", "Testbed ISP", Segment.ISP, 5.1, 6.0),
        Hop(3, "198.51.100.1", "core.isp.test", "Testbed ISP", Segment.ISP, 6.0, 88.0),
        Hop(4, "192.0.2.1", "xe-0.transit.test", "Transit", Segment.INTERCONNECT, 7.5, 90.1),
        Hop(5, "203.0.113.10", "cdn.test", "CDN", Segment.SERVER, 8.0, 91.0),
    ]


def fetches() -> list[Fetch]:
    return [
        Fetch(
            url=f"http://203.0.113.10/v1/seg_{i}.ts?token=abc", kind=FetchKind.SEGMENT, started_at=i * 4.0,
            host="203.0.113.10", rendition_bitrate_bps=2_500_000, media_sequence=i, media_duration_s=4.0,
            status=200, bytes=400_000, dns_ms=None, connect_ms=3.0 if i == 0 else None, ttfb_ms=35.0, transfer_ms=6000.0,
            reused_connection=i > 0, retries=1 if i == 3 else 0, finished_at=i * 4.0 + 6,
        )  # fmt: skip
        for i in range(5)
    ]


def pixel_status(window: WhyWindow) -> list[str]:
    """The status each drawn box shows, read back from the painted pixels' colour."""
    img = window.diagram.grab().toImage()
    fills = {status: fill for status, (fill, _b) in STATUS_COLOURS.items()}
    found = []
    for r in window.diagram.box_rects():
        c = img.pixelColor(int(r.x() + 8), int(r.y() + r.height() - 8))  # inside the box, off the text
        name = c.name()
        found.append(next((s for s, fill in fills.items() if fill == name), name))
    return found


def test_testbed_path_is_drawn_with_each_part_status(qapp) -> None:  # noqa: ANN001
    v = Verdict(
        Segment.ISP, culprit="Testbed ISP", confidence=0.82, rule="isp_crowded",
        evidence=[Evidence("hop_rtt", "delay rose at the 3rd hop (Testbed ISP) from 6 ms to 88 ms")],
    )  # fmt: skip
    device = DeviceEvidence(frames_displayed=500, system_cpu_pct=12.0)
    e = explain(v, make_testbed_hops(), fetches(), probe_status="ok", device=device)
    w = WhyWindow(lambda: {"verdict": {"segment": "isp"}})
    w.resize(800, 760)
    w.show()
    w.refresh(e)
    QTest.qWaitForWindowExposed(w)
    assert [p.label for p in w.diagram.parts] == [say.PART_LABELS[s] for s in (
        Segment.DEVICE, Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT, Segment.SERVER)]  # fmt: skip
    assert pixel_status(w) == [say.FINE, say.FINE, say.SUSPECT, say.FINE, say.FINE]
    assert w.hop_table.rowCount() == 5
    assert [w.hop_table.item(r, 2).text() for r in range(5)] == [
        "your home network", "Testbed ISP", "Testbed ISP", "Transit", "CDN"]  # fmt: skip
    assert w.hop_table.item(2, 4).text() == "6 ms" and w.hop_table.item(2, 5).text() == "88 ms"
    assert w.hop_table.item(1, 1).text() == "a router of Testbed ISP"  # its name spelled its address
    assert "fairly sure" in w.confidence.text()
    assert [w.ruled_labels[i][1].text() for i in range(5)] == [
        "ruled out", "ruled out", "suspected", "ruled out", "ruled out"]  # fmt: skip
    assert "needs 2.5 Mbit/s" in w.throughput.text() and "only" in w.throughput.text()
    assert w.ttfb.text() == "The server started sending 35 ms after each request; connecting to it took 3 ms."
    text = w.all_text()
    assert "Testbed ISP" in text and "Wi-Fi and home network" in text
    assert_no_address(text)
    assert "token" not in text
    w.copy_button.click()
    assert json.loads(QApplication.clipboard().text()) == {"verdict": {"segment": "isp"}}
    assert w.copied.text() == "Copied to the clipboard"
    # probes not permitted: the route's parts are drawn "not measured", the others are not
    v2 = Verdict(Segment.UNKNOWN, rule="unknown_no_probes")
    w.refresh(explain(v2, [Hop(1, None)], fetches(), probe_status="not_permitted", device=device))
    w.diagram.repaint()
    assert pixel_status(w) == [say.FINE, say.NOT_MEASURED, say.NOT_MEASURED, say.NOT_MEASURED, say.FINE]
    assert say.NOT_PERMITTED[1:] in w.all_text()
    w.close()


def test_stats_panel_shows_path_downloads_and_markers(qapp) -> None:  # noqa: ANN001
    panel = StatsPanel()
    history = [(100.0 + i, 5.0, 1e6, 2.5e6 if i < 6 else 1.2e6) for i in range(10)]
    view = StatsView(
        state="stalled", history=history, hops=hop_rows(make_testbed_hops()), last_fetches=fetch_rows(fetches()),
        codecs=[("video", "h264"), ("audio", "mp4a")], cpu_player_pct=35.0, cpu_system_pct=20.0,
        verdict="Your Testbed ISP connection is crowded.", confidence="fairly sure",
        stall_marks=[104.0], switch_marks=[106.0],
    )  # fmt: skip
    panel.refresh(view)
    assert panel.values["codecs"].text() == "video h264, audio mp4a"
    assert panel.values["cpu"].text() == "35 % / 20 %"
    assert panel.values["verdict"].text().startswith("Your Testbed ISP")
    assert panel.values["confidence"].text() == "fairly sure"
    assert panel.hop_table.rowCount() == 5 and panel.hop_table.item(3, 3).text() == "Between networks"
    assert panel.fetch_table.rowCount() == 5
    row = [panel.fetch_table.item(3, c).text() for c in range(panel.fetch_table.columnCount())]
    assert row == ["#3", "reused", "reused", "reused", "35 ms", "6.0 s", "4.0 s", "1", "0", "200"]
    assert panel.fetch_table.item(3, 5).foreground().color().name() == STALL_COLOUR  # slower than the media
    lines = panel.markers["buffer"]
    assert sorted((ln.value(), ln.pen.color().name()) for ln in lines) == [(-5.0, STALL_COLOUR), (-3.0, SWITCH_COLOUR)]
    assert len(panel.rtt_bars) == 2  # quiet and loaded bars
    assert list(panel.rtt_bars[1].opts["height"]) == [0.6, 6.0, 88.0, 90.1, 91.0]
    panel.refresh(StatsView())  # a new open: no markers, empty tables
    assert panel.markers["buffer"] == [] and panel.hop_table.rowCount() == 0


@pytest.mark.vlc
def test_why_window_during_a_real_stall_shows_the_path_and_no_address(harness, origin) -> None:  # noqa: ANN001
    from tests.support.media import make_mp4

    clip = make_mp4(origin.root / "why-stall.mp4", seconds=16)
    size = clip.stat().st_size
    origin.rate_bps = int(size * 8 / 16 * 1.25)
    pause = origin.add_fault("*why-stall.mp4", "pause", after_bytes=int(size * 0.3), seconds=None)
    h = harness
    h.window.open_source(origin.url("why-stall.mp4"))
    h.wait(lambda: h.window.video.notice is not None, 30, "a stall notice")
    QTest.keyClick(h.window, Qt.Key.Key_W)
    h.wait(lambda: h.window.why.window is not None and h.window.why.window.isVisible(), 3, "W opens Why?")
    w = h.window.why.window
    h.wait(lambda: w.explanation is not None and w.explanation.segment is not Segment.NONE, 10, "the stall's verdict")
    parts = w.diagram.parts
    assert [p.segment for p in parts] == [
        Segment.DEVICE, Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT, Segment.SERVER]  # fmt: skip
    assert all(p.status in (say.FINE, say.SUSPECT, say.NOT_MEASURED) and p.reason for p in parts)
    drawn = pixel_status(w)
    assert drawn == [p.status for p in parts]
    assert len([lab for lab, _s, _r in w.ruled_labels if lab.text()]) == 5
    assert w.throughput.text() and w.ttfb.text() and w.confidence.text().startswith("Confidence")
    assert_no_address(w.all_text())
    assert h.window.act_why.shortcut().toString() == "W"
    w.copy_button.click()
    report = json.loads(QApplication.clipboard().text())
    assert report["url"].endswith("why-stall.mp4") and report["stalls"]
    # the statistics panel during the same stall: verdict and the last downloads
    QTest.keyClick(h.window, Qt.Key.Key_I)
    panel = h.window.stats_panel
    h.wait(lambda: panel.values["verdict"].text() != "no stall so far", 5, "the verdict in the statistics")
    assert panel.values["confidence"].text() in ("fairly sure", "probably", "not sure", "could not tell")
    # (the progressive download is still in flight: its row comes when it finishes)
    h.wait(lambda: panel.markers["buffer"], 5, "a stall marker on the buffer graph")
    assert panel.markers["buffer"][0].pen.color().name() == STALL_COLOUR
    pause.release()


def test_view_menu_and_the_notices_why_button_open_the_window(harness) -> None:  # noqa: ANN001
    h = harness
    assert "&Why?" in [a.text() for a in h.window.view_menu.actions()]
    assert h.window.why.window is None  # made on first use only
    h.window.video.why_requested.emit()
    h.wait(lambda: h.window.why.window is not None and h.window.why.window.isVisible(), 3, "the notice's Why?")
    w = h.window.why.window
    assert w.headline.text() == say.NO_STALL  # nothing played: nothing to explain, nothing made up
    assert [p.status for p in w.diagram.parts][1:4] == [say.NOT_MEASURED] * 3
    w.close()
    h.window.act_why.trigger()
    h.wait(lambda: w.isVisible(), 3, "View → Why? opens it again")
    assert h.window.why.window is w


def test_switch_marks_are_where_the_playing_bitrate_changes() -> None:
    from player.session.metrics import switch_marks

    history = [(1.0, 3.0, None, None), (2.0, 3.0, None, 8e5), (3.0, 3.0, None, 8e5), (4.0, 1.0, None, 4e5),
               (5.0, 1.0, None, None), (6.0, 1.0, None, 8e5)]  # fmt: skip
    assert switch_marks(history) == [4.0, 6.0]
    assert switch_marks([]) == []
