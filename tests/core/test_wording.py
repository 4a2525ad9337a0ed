"""Notice wording: exact texts, softening, and never an IP address."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from player.core import thresholds as T
from player.core.model import Evidence, Segment, Verdict
from player.core.wording import (
    ADJUSTING,
    UNKNOWN_TEXT,
    Notice,
    evidence_summary,
    notice,
    notice_text,
    scrub_addresses,
)
from player.core.wording import evidence as say

SURE = 0.85
SOFT = 0.45


def v(seg: Segment, culprit: str | None, rule: str, conf: float = SURE, ev=None) -> Verdict:
    return Verdict(seg, culprit, conf, "", ev or [], rule=rule)


@pytest.mark.parametrize(
    ("verdict", "text"),
    [
        (
            v(Segment.ISP, "Verizon", "isp_crowded"),
            "The Verizon network is crowded right now. Adjusting video for smoother playback.",
        ),
        (
            v(Segment.ISP, "Verizon", "isp_access"),
            "Your connection to Verizon is full right now. "
            "It may be other devices at home, other downloads on this computer or a limit set in your router.",
        ),
        (
            v(Segment.ISP, "Verizon", "isp_core"),
            "Delays grew inside the Verizon network, beyond your connection to it. "
            "What causes them is not settled.",
        ),
        (  # a stored verdict of the rule before issue 8: where, not why
            v(Segment.ISP, "Verizon", "isp_slow"),
            "The slowdown is in the part of the route run by Verizon. "
            "What causes it is not settled.",
        ),
        (
            v(Segment.INTERCONNECT, "the link between Verizon and ExampleCDN", "interconnect_slow"),
            # before: "The link between Verizon and ExampleCDN is full right now." (the
            # border is read from router names: the queue may be just past the link)
            "The link between Verizon and ExampleCDN, or the network just past it, is full right now.",
        ),
        (
            v(
                Segment.INTERCONNECT,
                "the link between Verizon and ExampleCDN",
                "interconnect_crowded",
            ),
            "The link between Verizon and ExampleCDN, or the network just past it, is congested "
            "right now.",
        ),
        (
            v(Segment.HOME_NETWORK, "your home network", "home_slow"),
            "Your home network (Wi-Fi or router) is slowing this video.",
        ),
        (
            v(Segment.SERVER, "example.com", "server_ttfb"),
            "The video's server (example.com) is responding slowly.",
        ),
        (
            v(Segment.DEVICE, "this computer", "device_drops_cpu"),
            "This computer can't decode the video fast enough.",
        ),
        (v(Segment.UNKNOWN, None, "unknown_flat"), UNKNOWN_TEXT),
        (
            v(Segment.UNKNOWN, None, "unknown_conflict", conf=0.0),
            "Playback stalled. We could not tell which part of the network is to blame.",
        ),
        (v(Segment.NONE, None, "none", conf=1.0), ""),
    ],
)
def test_notice_texts(verdict: Verdict, text: str) -> None:
    assert notice_text(verdict) == text


@pytest.mark.parametrize(
    ("verdict", "soft_word"),
    [
        (v(Segment.ISP, "Verizon", "isp_access", SOFT), "seems to be full"),
        (v(Segment.ISP, "Verizon", "isp_core", SOFT), "Delays seem to grow"),
        (
            v(Segment.INTERCONNECT, "the link between A and B", "interconnect_slow", SOFT),
            "seems to be full",
        ),
        (v(Segment.HOME_NETWORK, "your home network", "home_slow", SOFT), "is probably slowing"),
        (v(Segment.SERVER, "example.com", "server_ttfb", SOFT), "seems to be responding"),
        (v(Segment.DEVICE, "this computer", "device_cpu", SOFT), "probably can't decode"),
    ],
)
def test_low_confidence_softens(verdict: Verdict, soft_word: str) -> None:
    assert soft_word in notice_text(verdict)
    link = verdict.segment is Segment.INTERCONNECT  # a link between companies: a higher bar
    firm = T.INTERCONNECT_FIRM_CONFIDENCE if link else T.SOFT_CONFIDENCE
    sure = Verdict(verdict.segment, verdict.culprit, firm, rule=verdict.rule)
    assert soft_word not in notice_text(sure)


def test_segment_only_verdicts_still_get_a_sentence() -> None:
    # only the segment: where the slowdown is, not a claim about why
    assert notice_text(Verdict(Segment.ISP, "Comcast", 0.9)) == (
        "The slowdown is in the part of the route run by Comcast. What causes it is not settled."
    )
    assert "home network" in notice_text(Verdict(Segment.HOME_NETWORK, None, 0.9))


def test_missing_names_fall_back_to_generic_words() -> None:
    assert notice_text(v(Segment.ISP, None, "isp_crowded")).startswith(
        "Your internet provider's network is crowded"
    )
    assert notice_text(v(Segment.ISP, "your internet provider", "isp_access")).startswith(
        "Your internet connection is full right now."
    )
    assert notice_text(v(Segment.ISP, None, "isp_core")).startswith(
        "Delays grew inside your internet provider's network, beyond your connection to it."
    )
    assert notice_text(v(Segment.SERVER, None, "server_ttfb")) == (
        "The video's server is responding slowly."
    )
    assert notice_text(v(Segment.SERVER, "the video's server", "server_ttfb")) == (
        "The video's server is responding slowly."
    )


def test_adjusting_only_when_the_player_adapts() -> None:
    crowded = v(Segment.ISP, "Verizon", "isp_crowded")
    assert ADJUSTING in notice_text(crowded)
    assert notice_text(crowded, adjusting=False) == "The Verizon network is crowded right now."


def test_notice_has_title_and_evidence_line() -> None:
    ev = [
        Evidence("note", "2 of 3 stalls point here"),
        Evidence(
            "hop_rtt",
            "RTT to 2nd hop (Verizon) rose 14 ms -> 310 ms under load; "
            "1st hop (home router) steady at 1 ms",
        ),
    ]
    n = notice(v(Segment.ISP, "Verizon", "isp_access", ev=ev))
    assert isinstance(n, Notice)
    assert n.title.startswith("Your connection to Verizon is full")
    assert n.detail.startswith("RTT to 2nd hop (Verizon) rose 14 ms -> 310 ms under load")
    assert len(n.detail) <= T.SUMMARY_MAX_CHARS
    assert evidence_summary(v(Segment.UNKNOWN, None, "unknown_flat")) == ""


def test_summary_is_trimmed_to_one_line() -> None:
    long = Evidence("hop_rtt", "x" * 300)
    s = evidence_summary(v(Segment.ISP, "V", "isp_access", ev=[long]))
    assert len(s) == T.SUMMARY_MAX_CHARS and s.endswith("\u2026")


# --------------------------------------------------------------------------- no addresses

ADDRESSES = [
    "192.168.1.1",
    "10.0.0.138",
    "203.0.113.9:8080",
    "2001:db8::1",
    "fe80::1%eth0",
    "[2001:db8::2]:443",
    "::1",
]


def _has_address(text: str) -> bool:
    for token in re.findall(r"[0-9A-Fa-f:.%\[\]]+", text):
        for cand in (
            token.strip("[]."),
            token.strip("[].").split("%")[0],
            token.split("]")[0].strip("["),
            token.rsplit(":", 1)[0],
        ):
            try:
                ipaddress.ip_address(cand)
                return True
            except ValueError:
                pass
    return False


@pytest.mark.parametrize("addr", ADDRESSES)
def test_scrub_addresses(addr: str) -> None:
    assert _has_address(f"server {addr} is slow")
    out = scrub_addresses(f"server {addr} is slow")
    assert out == "server a host is slow"
    assert not _has_address(out)


def test_scrub_keeps_numbers_and_times() -> None:
    text = "throughput 0.6 Mbit/s vs 2.5 Mbit/s needed at 12:30, v1.2.3"
    assert scrub_addresses(text) == text


@settings(max_examples=200, deadline=None)
@given(
    seg=st.sampled_from([s for s in Segment if s is not Segment.NONE]),
    rule=st.sampled_from(
        [
            "",
            "isp_crowded",
            "isp_access",
            "isp_core",
            "isp_slow",
            "interconnect_slow",
            "home_slow",
            "server_ttfb",
            "server_path",
            "device_drops",
            "unknown_flat",
        ]
    ),
    culprit=st.none()
    | st.sampled_from(ADDRESSES)
    | st.text(max_size=20)
    | st.builds(lambda a: f"the link between {a} and Netflix", st.sampled_from(ADDRESSES)),
    conf=st.floats(0.0, 1.0),
    ev_addr=st.sampled_from(ADDRESSES),
)
def test_notice_never_contains_an_ip_address(
    seg: Segment, rule: str, culprit: str | None, conf: float, ev_addr: str
) -> None:
    ev = [Evidence("probe", f"hop probes not permitted: bind {ev_addr} failed")]
    n = notice(Verdict(seg, culprit, conf, "", ev, rule=rule))
    assert n.title
    assert not _has_address(n.title), n.title
    assert not _has_address(n.detail), n.detail


# --------------------------------------------------------------------------- evidence lines


def test_evidence_lines_in_plain_words() -> None:
    assert say.hop_label(1, "home", home=True) == "1st hop (home router)"
    assert say.hop_label(3, None, home=True) == "3rd hop (home network)"
    assert say.hop_label(2, "Verizon", home=False) == "2nd hop (Verizon)"
    assert say.hop_label(12, None, home=False) == "12th hop"
    assert say.rise_line("2nd hop (Verizon)", 8.0, 310.4) == (
        "RTT to 2nd hop (Verizon) rose 8 ms -> 310 ms under load"
    )
    assert say.swing_line("4th hop", 40.0, 220.0) == (
        "RTT to 4th hop swung 40-220 ms under load (a queue; no idle time to compare)"
    )
    assert say.crowded_line("2nd hop", 67.0, 16.0, 28.0, 82.0) == (
        "RTT to 2nd hop already 67 ms while idle, over a 16 ms floor (ranging 28-82 ms)"
    )
    assert say.steady_suffix("1st hop (home router)", 0.44) == (
        "; 1st hop (home router) steady at 0.4 ms"
    )
    assert say.behind_silent_line([], [Segment.ISP, Segment.HOME_NETWORK]) == (
        "the rise starts behind hops without enough answers: "
        "the queue may be in your home network or your provider's network"
    )
    assert say.throughput_line(0.6e6, 2.5e6) == "throughput 0.6 Mbit/s vs 2.5 Mbit/s needed"
    assert say.throughput_line(64e3, None) == "throughput 64 kbit/s"
    assert say.ttfb_line(1800.0, None) == "time to first byte 1800 ms with no RTT measured"
    assert say.cpu_line(None, None) == ""
    assert say.cpu_line(97.0, 75.0) == "system CPU 97 %, player CPU 75 % of the machine"
    assert say.probe_line("not_permitted", "") == "hop probes not permitted"
    assert say.probe_line("silent", "x") == "no hop answered the probes: x"
    assert say.interconnect_culprit(None, None) == (
        "the link between your internet provider and the video's network"
    )
    assert say.stalls_note(2, 3) == "2 of 3 stalls point here"
    assert say.segment_words(Segment.UNKNOWN) == "an unidentified network"


# --- the overlay's one plain line (issue 9) --------------------------------------------
def test_overlay_line_is_plain_for_each_segment() -> None:
    from player.core.wording.evidence import overlay_line

    jargon = ("RTT", "ICMP", "ping_group_range", "TTL", "hop", "0 ms")
    cases = [
        (v(Segment.SERVER, "ExampleCDN", "server_ttfb", ev=[Evidence("ttfb", say.ttfb_line(3439.0, 0.0), 3439.0)]),
         "The server took 3.4 s to start sending each piece of video."),
        (v(Segment.ISP, "Verizon", "isp_access", ev=[Evidence("hop_rtt", say.rise_line("2nd hop (Verizon)", 14, 310), 296.0)]),
         "Delay on your connection to Verizon grew by 296 ms while the video loaded."),
        (v(Segment.ISP, "Verizon", "isp_core", ev=[Evidence("hop_rtt", say.rise_line("3rd hop (Verizon)", 14, 310), 296.0)]),
         "Delay inside Verizon grew by 296 ms while the video loaded."),
        (v(Segment.ISP, "Verizon", "isp_core", ev=[Evidence("hop_rtt", say.crowded_line("3rd hop (Verizon)", 55, 10, 34, 73), 45.0)]),
         "Delay inside Verizon was 45 ms above its lowest even between downloads."),
        (v(Segment.HOME_NETWORK, "your home network", "home_slow", ev=[Evidence("throughput", say.throughput_line(1.2e6, 3e6), 1.2e6)]),
         "Video arrived at 1.2 Mbit/s; this quality needs 3.0 Mbit/s."),
        (v(Segment.DEVICE, "this computer", "device_drops", ev=[Evidence("frames", say.frames_line(40), 40.0)]),
         "40 pictures were dropped while plenty of video was buffered."),
        (v(Segment.UNKNOWN, None, "unknown", ev=[Evidence("probe", say.probe_line("not_permitted", "ICMP not permitted: ping_group_range 1 0 excludes gid 0"))]),
         "This computer does not allow the network test we use, so the route could not be checked."),
        # probes that ran by a fallback method measured the route: nothing to say about them
        (v(Segment.UNKNOWN, None, "unknown", ev=[Evidence("probe", say.probe_degraded_line("ICMP not permitted: ping_group_range 1 0 excludes gid 0"))]),
         "The measurements do not point at one part of the network."),
        (v(Segment.UNKNOWN, None, "unknown"), "The measurements do not point at one part of the network."),
    ]  # fmt: skip
    for verdict, line in cases:
        assert overlay_line(verdict) == line
        assert not any(j in line for j in jargon), line


def test_no_zero_ms_rtt_for_a_reused_connection() -> None:
    assert say.ttfb_line(3439.0, 0.0) == "time to first byte 3439 ms with no RTT measured"
    assert say.ttfb_line(3439.0, 0.2) == "time to first byte 3439 ms with connect RTT under 1 ms"
    degraded = say.probe_degraded_line("ICMP not permitted: ping_group_range 1 0 excludes gid 0")
    assert degraded.startswith("hop probes used a fallback method: this computer does not let")


def test_overlay_notice_buffering_then_verdict_and_adjusting_only_on_step_down() -> None:
    from player.core.wording import ADJUSTING, BUFFERING, overlay_notice

    server = v(Segment.SERVER, "ExampleCDN", "server_ttfb", ev=[Evidence("ttfb", "x", 2500.0)])
    waiting = overlay_notice(None, stalled=True)
    assert waiting.title == BUFFERING and waiting.header == "" and waiting.adjusting == ""
    early_unknown = overlay_notice(v(Segment.UNKNOWN, None, "unknown"), stalled=True, stall_age_s=0.5)
    assert early_unknown.title == BUFFERING, "no 'could not tell' before the probes had a chance"
    late_unknown = overlay_notice(v(Segment.UNKNOWN, None, "unknown"), stalled=True, stall_age_s=T.UNKNOWN_PATIENCE_S)
    assert late_unknown.title.startswith("Playback stalled. We could not tell")
    named = overlay_notice(server, stalled=True, stall_age_s=0.2)
    assert "ExampleCDN" in named.title and named.header == BUFFERING and named.adjusting == ""
    assert ADJUSTING not in named.title
    assert overlay_notice(server, stalled=True, stepped_down=True).adjusting == ADJUSTING
    after = overlay_notice(server, stalled=False, stalls=3)
    assert after.header == "Playing again" and after.detail.startswith("Stalled 3 times in the last minute.")
