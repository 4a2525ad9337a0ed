"""Verdict -> the notice the viewer sees over the video.

Short and in the Netflix manner, but only as strong as the evidence: below
``SOFT_CONFIDENCE`` the sentence says "probably" / "seems", and a verdict of
``unknown`` says that we could not tell. Notice text never contains an IP
address (names only; any address-looking token is removed).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from player.core import thresholds as T
from player.core.crowded_bar import BELOW_BAR_RULE, below_crowded_bar
from player.core.model import Segment, Verdict
from player.core.wording import flow, host
from player.core.wording.evidence import (
    GENERIC_ISP,
    NOTHING_POINTS,
    overlay_line,
    plain_probe,
    rate_text,
    verdict_rate,
)

ADJUSTING = "Adjusting video for smoother playback."
UNKNOWN_TEXT = "Playback stalled. We could not tell which part of the network is to blame."
# A stall while playing faster than normal that the network is not to blame for
# (attribution rule "speed_shortfall"); {rate} is "2×".
SPEED_TEXT = (
    "Playing at {rate} needs more data than your connection delivers right now. "
    "Normal speed should play smoothly.",
    "Playing at {rate} probably needs more data than your connection delivers right now.",
)
# Added to any other stall notice while playing faster than normal.
SPEED_TOO = " This would stall even at normal speed; playing at {rate} needs {rate} the data."

# (sure, soft) templates by rule key; {isp} {Culprit} {paren} are filled in. Each says only
# what its rule's evidence shows (attribution/rules.py) and no more:
# - a queue on the access link (the first ISP hop) is the connection being full, which our
#   own download or other traffic from home can do: never a fact about the ISP;
# - a queue inside the ISP past the access link is "crowded" only above the bar
#   (thresholds.ISP_CROWDED_MIN_CONFIDENCE, seen while idle, persisting); below it the
#   notice says what was measured and that the cause is not settled;
# - a queue at home seen between our downloads may be other traffic or Wi-Fi trouble.
# (the "what may fill it" sentence is then chosen by what was measured: wording.host)
_HOME_OTHERS = host.OTHERS_UNMEASURED
_NOT_SETTLED = "What causes them is not settled."
_LOCAL = "(a port-forward, a local proxy or VPN client)"
_TEMPLATES: dict[str, tuple[str, str]] = {
    "isp_access": (
        f"Your connection to {{isp}} is full right now. {_HOME_OTHERS}",
        f"Your connection to {{isp}} seems to be full right now. {_HOME_OTHERS}",
    ),
    "isp_crowded": (  # only at confidence >= the bar, so never soft (see notice_text)
        "The {isp} network is crowded right now.",
        "The {isp} network is crowded right now.",
    ),
    "isp_core": (
        f"Delays grew inside the {{isp}} network, beyond your connection to it. {_NOT_SETTLED}",
        "Delays seem to grow inside the {isp} network, beyond your connection to it. "
        + _NOT_SETTLED,
    ),
    "isp": (  # only the segment is known (no rule): where, not why
        "The slowdown is in the part of the route run by {isp}. What causes it is not settled.",
        "The slowdown seems to be in the part of the route run by {isp}. "
        "What causes it is not settled.",
    ),
    # the border is read from router names: the queue is at the link or just past it
    "interconnect_crowded": (
        "{Culprit}, or the network just past it, is congested right now.",
        "{Culprit}, or the network just past it, seems to be congested right now.",
    ),
    "interconnect_slow": (
        "{Culprit}, or the network just past it, is full right now.",
        "{Culprit}, or the network just past it, seems to be full right now.",
    ),
    "home_slow": (
        "Your home network (Wi-Fi or router) is slowing this video.",
        "Your home network (Wi-Fi or router) is probably slowing this video.",
    ),
    "home_crowded": (
        "Your home network (Wi-Fi or router) is slow even between this video's downloads: "
        "other traffic at home or a weak Wi-Fi signal may be the cause.",
        "Your home network (Wi-Fi or router) seems to be slow even between this video's "
        "downloads: other traffic at home or a weak Wi-Fi signal may be the cause.",
    ),
    "server_ttfb": (
        "The video's server{paren} is responding slowly.",
        "The video's server{paren} seems to be responding slowly.",
    ),
    "server_path": (
        "The network of the video's server{paren} is congested.",
        "The network of the video's server{paren} seems to be congested.",
    ),
    # loopback is also a port-forward, a local proxy or VPN client: never firm (see _LOCAL)
    "server_local": (
        f"The video's server{{paren}} on this computer, or whatever it relays from {_LOCAL}, "
        "seems to send the video too slowly.",
        f"The video's server{{paren}} on this computer, or whatever it relays from {_LOCAL}, "
        "may be sending the video too slowly.",
    ),
    # the flow's own TCP signals: slow data with no queue and no loss (wording.flow)
    "server_sends_slowly": flow.SENDS_SLOWLY_TEMPLATES,
    "device": (
        "This computer can't decode the video fast enough.",
        "This computer probably can't decode the video fast enough.",
    ),
}
# rule keys that share a template, and the template used when only the segment is known
# ("isp_slow": the rule before issue 8 split it, still found in stored reports)
_ALIASES = {
    "device_drops": "device",
    "device_drops_cpu": "device",
    "device_cpu": "device",
    "isp_slow": "isp",
}
_BY_SEGMENT = {
    Segment.ISP: "isp",
    Segment.INTERCONNECT: "interconnect_crowded",
    Segment.HOME_NETWORK: "home_slow",
    Segment.SERVER: "server_ttfb",
    Segment.DEVICE: "device",
}
# rules whose firm sentence needs more than SOFT_CONFIDENCE (thresholds: the reasons)
_FIRM_FROM = {
    "interconnect_slow": T.INTERCONNECT_FIRM_CONFIDENCE,
    "interconnect_crowded": T.INTERCONNECT_FIRM_CONFIDENCE,
}
# a queue at home: the notice adds this computer's other downloads when they were measured
_HOME_KEYS = {"home_slow", "home_crowded"}
# where the notice also says that we adapt (Netflix's 2014 wording); only in Auto mode
_ADJUSTS = {"isp_crowded"}

_CANDIDATE = re.compile(
    r"\[?[0-9A-Fa-f]*[:.][0-9A-Fa-f:.]*[0-9A-Fa-f](?:%[\w.-]+)?\]?(?::\d{1,5})?"
)


def is_address_literal(text: str) -> bool:
    """True for '192.0.2.7', '2001:db8::1', 'fe80::1%eth0', '[2001:db8::1]:443', '192.0.2.7:80'."""
    core = text.strip()
    if core.startswith("[") and "]" in core:
        core = core[1 : core.index("]")]
    elif core.count(":") == 1:  # IPv4 with a port
        core = core.split(":")[0]
    try:
        ipaddress.ip_address(core.split("%")[0])
    except ValueError:
        return False
    return True


def scrub_addresses(text: str, replacement: str = "a host") -> str:
    """Replace IPv4/IPv6 address literals in ``text`` with ``replacement``."""
    return _CANDIDATE.sub(
        lambda m: replacement if is_address_literal(m.group(0)) else m.group(0), text
    )


def _clean_name(name: str | None) -> str | None:
    """A display name, or None when it holds an address (also a short one such as "::")."""
    if not name:
        return None
    name = name.strip()
    if scrub_addresses(name, "") != name:
        return None
    if any(is_address_literal(t.strip("()[],;.")) for t in name.split()):
        return None
    return name


def _template_key(verdict: Verdict) -> str | None:
    key = _ALIASES.get(verdict.rule, verdict.rule)
    if key in _TEMPLATES:
        return key
    return _BY_SEGMENT.get(verdict.segment)


def is_soft(verdict: Verdict) -> bool:
    """Whether ``verdict``'s sentence is the soft one ("seems to"): below SOFT_CONFIDENCE,
    or below the rule's own firm bar (_FIRM_FROM). The "Why?" window words its parts alike."""
    key = _template_key(verdict)
    return verdict.confidence < _FIRM_FROM.get(key or "", T.SOFT_CONFIDENCE)


def notice_text(verdict: Verdict, *, adjusting: bool = True) -> str:
    """The notice line for ``verdict`` ('' for ``none``: nothing to show).

    ``adjusting`` says whether the player adapts the rendition (Auto mode); the
    "Adjusting video ..." sentence is only added when that is true.
    """
    if verdict.segment is Segment.NONE:
        return ""
    rate = verdict_rate(verdict)
    if verdict.rule == "speed_shortfall":  # names no segment: sure only with a throughput
        # (a throughput against the bitrate needed: it met the normal-speed bitrate)
        soft = not any(e.kind == "throughput" and "needed" in e.text for e in verdict.evidence)
        return SPEED_TEXT[1 if soft else 0].format(rate=rate_text(rate) if rate else "this speed")
    too = SPEED_TOO.format(rate=rate_text(rate)) if rate else ""
    key = _template_key(verdict)
    if verdict.segment is Segment.UNKNOWN or key is None:
        return UNKNOWN_TEXT + too
    if below_crowded_bar(key, verdict.confidence):
        key = BELOW_BAR_RULE  # below the bar: what was measured, not "crowded"
    soft = verdict.confidence < _FIRM_FROM.get(key, T.SOFT_CONFIDENCE)
    template = _TEMPLATES[key][1 if soft else 0]
    culprit = _clean_name(verdict.culprit)
    isp = culprit if culprit and culprit != GENERIC_ISP else None
    text = template
    if "{isp}" in text:
        if isp is None:  # no name: "Your internet provider's network is ..."
            text = text.replace("The {isp} network", "Your internet provider's network")
            text = text.replace("the {isp} network", "your internet provider's network")
            text = text.replace("Your connection to {isp}", "Your internet connection")
            text = text.replace("run by {isp}", "run by your internet provider")
        else:
            text = text.replace("{isp}", isp)
    if "{Culprit}" in text:
        who = culprit or "the link between your provider and the video's network"
        text = text.replace("{Culprit}", who[:1].upper() + who[1:])
    if "{paren}" in text:
        generic = culprit is None or culprit.startswith("the video's")
        text = text.replace("{paren}", "" if generic else f" ({culprit})")
    if key == "isp_access":  # this computer's own traffic, where it was measured
        text = text.replace(_HOME_OTHERS, host.others_sentence(verdict.evidence))
    elif key in _HOME_KEYS and (busy := host.busy_sentence(verdict.evidence, short=True)):
        text = f"{text} {busy}"
    if adjusting and key in _ADJUSTS:
        text = f"{text} {ADJUSTING}"
    return scrub_addresses(text + too)


def evidence_summary(verdict: Verdict, max_chars: int = T.SUMMARY_MAX_CHARS) -> str:
    """One line of the strongest evidence, for the notice's second line and the history.

    The notice's plain line (:func:`overlay_line`) where there is one; else the first
    evidence line, a probe line in plain words (what could not be measured, never the probe
    method or its error: that stays in the report's evidence text)."""
    if not verdict.evidence:
        return ""
    lines = [e for e in verdict.evidence if e.kind != "note"] or verdict.evidence
    first = lines[0]
    raw = plain_probe(first.text) if first.kind == "probe" else first.text
    plain = overlay_line(verdict)
    text = scrub_addresses((plain if plain and plain != NOTHING_POINTS else raw).strip())
    if not text:
        return ""
    if len(text) > max_chars and "; " in text:
        text = text.split("; ")[0]
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "\u2026"
    return text[:1].upper() + text[1:]


BUFFERING = "Buffering\u2026"
LOOKING = "Looking for the cause\u2026"
PLAYING_AGAIN = "Playing again"


@dataclass(frozen=True, slots=True)
class Notice:
    """What the overlay shows: a headline and the evidence line under it.

    ``status`` is "buffering" while the stall lasts, "recovered" after it (the band
    lingers), "" for a notice outside a stall. ``serial`` numbers the band's appearances:
    stalls merged into one band share it. ``adjusting`` is the "Adjusting video ..." line
    (only when the player really stepped down a rendition)."""

    title: str
    detail: str
    status: str = ""
    serial: int = 0
    stalls: int = 1
    segment: str = ""
    adjusting: str = ""

    @property
    def kind(self) -> str:
        """The overlay kind (the view's messages are "info" / "error" / "busy")."""
        return "notice"

    @property
    def header(self) -> str:
        """The small line above the headline: "Buffering…" / "Playing again" / ""."""
        if self.status == "buffering":
            return "" if self.title == BUFFERING else BUFFERING
        if self.status == "recovered":
            return PLAYING_AGAIN
        return ""

    @property
    def lines(self) -> list[str]:
        """Everything the band says, top to bottom (tests, screenshots, accessibility)."""
        return [t for t in (self.header, self.title, self.detail, self.adjusting) if t]


def notice(verdict: Verdict, *, adjusting: bool = True) -> Notice:
    """Headline and detail line for ``verdict``."""
    return Notice(notice_text(verdict, adjusting=adjusting), evidence_summary(verdict))


def repeated_line(stalls: int) -> str:
    """'Stalled 3 times in the last minute.'"""
    return f"Stalled {stalls} times in the last minute."


def overlay_notice(
    verdict: Verdict | None,
    *,
    stalled: bool,
    stall_age_s: float = 0.0,
    stepped_down: bool = False,
    stalls: int = 1,
    serial: int = 0,
) -> Notice:
    """The band over the video: "Buffering…" until there is a verdict worth saying, then
    the verdict's sentence in the viewer's words with one plain evidence line."""
    status = "buffering" if stalled else "recovered"
    adjusting = ADJUSTING if stepped_down else ""
    waiting = (
        verdict is None
        or verdict.segment is Segment.NONE
        or (
            verdict.segment is Segment.UNKNOWN
            and verdict.rule != "speed_shortfall"  # the speed is known at once: say it
            and stalled
            and stall_age_s < T.UNKNOWN_PATIENCE_S
        )
    )
    if waiting:
        return Notice(BUFFERING, LOOKING if stalled else "", status, serial, stalls, "", adjusting)
    title = notice_text(verdict, adjusting=False)
    detail = overlay_line(verdict)
    if stalls > 1:
        detail = f"{repeated_line(stalls)} {detail}".strip()
    return Notice(title, detail, status, serial, stalls, verdict.segment.value, adjusting)
