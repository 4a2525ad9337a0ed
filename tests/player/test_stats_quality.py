"""The statistics panel, the quality menu and the stall notice in the window."""

from __future__ import annotations

import re

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest

from player.core.model import FetchKind
from player.ui.settings_dialog import format_overrides, parse_overrides

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

SEGMENT = re.compile(r"/hls/v(\d)/seg_(\d+)\.ts$")


def gateway_segments(session) -> dict[int, int]:  # noqa: ANN001
    """The gateway's segment records as {media sequence: rendition index}."""
    g = session.gateway
    found: dict[int, int] = {}
    for f in g.fetches() if g is not None else []:
        m = SEGMENT.search(f.url)
        if f.kind is FetchKind.SEGMENT and m:
            found[int(m.group(2))] = int(m.group(1))
    return found


def test_stats_panel_shows_numbers_and_live_graphs(harness, origin, hls_master) -> None:  # noqa: ANN001
    h = harness
    h.window.open_source(origin.url("hls/master.m3u8"))
    h.wait(lambda: h.position() > 2.0, 15, "playback")
    QTest.keyClick(h.window, Qt.Key.Key_I)
    h.wait(lambda: h.window.stats_panel.isVisible(), 2, "the panel after pressing I")
    assert h.window.act_stats.isChecked()
    v = h.window.stats_panel.values
    plot = h.window.stats_panel.plots["buffer"]
    h.wait(
        lambda: all(v[k].text() != "—" for k in ("rendition", "bitrate", "throughput", "ttfb", "buffer"))
        and plot.getData()[0] is not None and len(plot.getData()[0]) >= 3,
        10, "the panel filled and three points in the graphs",
    )  # fmt: skip
    assert "of 3" in v["rendition"].text()
    assert "x" in v["resolution"].text()
    assert "bit/s" in v["bitrate"].text() and "bit/s" in v["throughput"].text()
    assert v["buffer"].text().endswith(" s")
    assert v["host"].text() == "127.0.0.1"
    assert v["reuse"].text() in ("new", "reused")
    assert v["ttfb"].text().endswith(" ms")
    xs, ys = h.window.stats_panel.plots["buffer"].getData()
    assert xs is not None and len(xs) >= 3 and max(xs) == 0.0
    # the last downloads, the codecs libVLC reports, CPU, no verdict before a stall
    panel = h.window.stats_panel
    h.wait(lambda: panel.fetch_table.rowCount() >= 2 and v["codecs"].text() != "—", 5, "downloads and codecs")
    first = [panel.fetch_table.item(0, c).text() for c in range(panel.fetch_table.columnCount())]
    assert first[0].startswith("#") and first[4].endswith(" ms") and first[9] == "200"
    assert "video" in v["codecs"].text()
    assert v["verdict"].text() == "no stall so far" and v["confidence"].text() == "—"
    assert re.fullmatch(r"(\d+ %|—) / (\d+ %|—)", v["cpu"].text())
    QTest.keyClick(h.window, Qt.Key.Key_I)
    h.wait(lambda: not h.window.stats_panel.isVisible(), 2, "the panel hidden again")


def test_quality_menu_pins_a_rendition(harness, origin, hls_master) -> None:  # noqa: ANN001
    # Segments wait at the origin until the pin is made, so the (12 s) stream cannot be
    # fetched completely before the pin takes effect. VLC fetches one segment at a time:
    # while it waits for a held one, no other is in flight, so every segment after the
    # ones already asked for is chosen under the pin.
    hold = origin.add_fault("/hls/v*/seg_*.ts", "hold")
    h = harness
    h.window.open_source(origin.url("hls/master.m3u8"))
    h.wait(lambda: len(h.window.quality_menu.actions()) == 4, 10, "Auto + 3 renditions in the menu")
    labels = [a.text() for a in h.window.quality_menu.actions()]
    assert labels[0].startswith("Auto") and h.window.quality_menu.actions()[0].isChecked()
    h.wait(lambda: hold.waiting, 15, "VLC waiting for a held segment")
    paths = [*hold.waiting, *(r[1] for r in origin.requests)]
    asked = [int(m.group(2)) for p in paths if (m := SEGMENT.search(p))]
    top = next(a for a in h.window.quality_menu.actions() if a.text().startswith("720p"))
    top.trigger()
    assert h.session.pinned_rendition == 2
    hold.release()
    later = range(max(asked) + 1, max(asked) + 3)  # two segments chosen after the pin
    h.wait(lambda: set(later) <= gateway_segments(h.session).keys(), 20, f"segments {list(later)}")
    segs = gateway_segments(h.session)
    assert all(segs[seq] == 2 for seq in segs if seq > max(asked)), segs
    assert "(pinned)" in h.session.stats().rendition


def test_stall_notice_is_painted_over_the_video(harness, origin) -> None:  # noqa: ANN001
    from tests.support.media import make_mp4

    clip = make_mp4(origin.root / "stall-notice.mp4", seconds=16)
    size = clip.stat().st_size
    origin.rate_bps = int(size * 8 / 16 * 1.25)
    # The server stops sending at 30 % of the file until the notice is up: a stall
    # however fast or slow playback started.
    pause = origin.add_fault("*stall-notice.mp4", "pause", after_bytes=int(size * 0.3), seconds=None)
    h = harness
    h.window.open_source(origin.url("stall-notice.mp4"))
    h.wait(lambda: h.window.video.notice is not None, 30, "a stall notice")
    notice = h.window.video.notice
    assert notice.kind == "notice" and notice.title
    assert not any(ch.isdigit() and "." in notice.title for ch in notice.title.split())  # no addresses
    shot = h.window.video.grab().toImage()
    # The notice box is drawn at the top left over the picture: dark translucent box.
    c = shot.pixelColor(24, 22)  # inside the box, left of the text
    assert c.red() < 120 and c.green() < 120 and c.blue() < 120
    pause.release()
    h.wait(lambda: h.window.video.notice is None, 20, "the notice to go after the stall")


def test_override_lines_round_trip() -> None:
    mapping, bad = parse_overrides("example-isp.net = My ISP\n# comment\n\n203.0.113.0/24 = Office\nbad line")
    assert mapping == {"example-isp.net": "My ISP", "203.0.113.0/24": "Office"}
    assert bad == ["bad line"]
    assert parse_overrides(format_overrides(mapping))[0] == mapping
