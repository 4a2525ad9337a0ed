"""The "Why?" window draws and lists the verdict's rule in its own words (review item 2).

A real WhyWindow (offscreen Qt) shows the model :func:`explain` builds for an access-link
verdict: the drawn box and the ruled-out row say "full", the home network "no queue here".
"""

from __future__ import annotations

import pytest
from PyQt6.QtTest import QTest

from player.core.attribution import DeviceEvidence
from player.core.explain import explain
from player.core.model import Hop, Segment, Verdict
from player.core.wording import explain as say
from player.ui.why_window import DISPLAY_COLOURS, RULED_COLOURS, WhyWindow, legend_entries

pytestmark = [pytest.mark.gui]


def access_hops() -> list[Hop]:
    """Home router flat, the ISP's access hop queues, every later hop carries it."""
    return [
        Hop(1, "10.0.1.1", "gw.home.arpa", "home", Segment.HOME_NETWORK, 0.4, 0.6),
        Hop(2, "100.64.1.1", "bras.isp.test", "Testbed ISP", Segment.ISP, 5.1, 180.0),
        Hop(3, "198.51.100.1", "core.isp.test", "Testbed ISP", Segment.ISP, 6.0, 181.0),
        Hop(4, "192.0.2.1", "xe-0.transit.test", "Transit", Segment.INTERCONNECT, 7.5, 183.0),
        Hop(5, "203.0.113.10", "cdn.test", "CDN", Segment.SERVER, 8.0, 184.0),
    ]


def test_an_access_link_verdict_is_drawn_full_with_home_traffic_left_open(qapp) -> None:  # noqa: ANN001
    v = Verdict(Segment.ISP, "Testbed ISP", 0.8, rule="isp_access")
    e = explain(
        v, access_hops(), [], probe_status="ok", device=DeviceEvidence(frames_displayed=500)
    )
    w = WhyWindow(lambda: {})
    w.resize(800, 760)
    w.show()
    w.refresh(e)
    QTest.qWaitForWindowExposed(w)
    rows = [(a.text(), b.text(), c.text()) for a, b, c in w.ruled_labels]
    # before: ("Wi-Fi and home network", "ruled out", ...), ("Your internet provider", "suspected", ...)
    assert rows[0][:2] == ("Wi-Fi and home network", say.NO_QUEUE)
    assert rows[1][:2] == ("This computer's decoding", "ruled out")
    assert rows[2][:2] == ("Your connection to Testbed ISP", say.FULL)
    assert (
        rows[2][2].startswith("Your connection to Testbed ISP is full")
        and "was not measured" in rows[2][2]
    )
    status_label = w.ruled_labels[2][1]
    assert RULED_COLOURS[say.FULL] in status_label.styleSheet()  # coloured, not the default
    text = w.all_text()
    assert say.ACCESS_BOX in text
    assert [p.display for p in w.diagram.parts][1:3] == [say.NO_QUEUE, say.FULL]
    assert say.BLAMED not in text and "Internet provider" not in [p.label for p in w.diagram.parts]
    w.diagram.repaint()  # the painter draws the rule's words (a missing colour would raise)
    w.close()


def test_a_cause_left_open_is_drawn_amber_and_the_legend_says_the_boxes_words(qapp) -> None:  # noqa: ANN001
    hops = access_hops()
    hops[1] = Hop(2, "100.64.1.1", "bras.isp.test", "Testbed ISP", Segment.ISP, 5.1, 5.4)
    v = Verdict(Segment.ISP, "Testbed ISP", 0.8, rule="isp_core")
    e = explain(v, hops, [], probe_status="ok", device=DeviceEvidence(frames_displayed=500))
    w = WhyWindow(lambda: {})
    w.resize(800, 760)
    w.show()
    w.refresh(e)
    QTest.qWaitForWindowExposed(w)
    isp = next(p for p in w.diagram.parts if p.display == say.NOT_SETTLED)
    legend = legend_entries(w.diagram.parts)
    assert (isp.status, say.NOT_SETTLED, DISPLAY_COLOURS[say.NOT_SETTLED]) in legend
    assert [words for _s, words, _c in legend].index(say.NOT_SETTLED) == 2  # after suspect
    w.diagram.repaint()
    w.close()
    full = explain(
        Verdict(Segment.ISP, "Testbed ISP", 0.8, rule="isp_access"),
        access_hops(), [], probe_status="ok", device=DeviceEvidence(frames_displayed=500),
    )  # fmt: skip
    words = [words for _s, words, _c in legend_entries(full.parts)]
    assert say.FULL in words and any(say.NO_QUEUE in w for w in words), words
