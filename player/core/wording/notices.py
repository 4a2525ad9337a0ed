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
from player.core.model import Segment, Verdict
from player.core.wording.evidence import GENERIC_ISP

ADJUSTING = "Adjusting video for smoother playback."
UNKNOWN_TEXT = "Playback stalled. We could not tell which part of the network is to blame."

# (sure, soft) templates by rule key; {isp} {name} {culprit} are filled in.
_TEMPLATES: dict[str, tuple[str, str]] = {
    "isp_crowded": (
        "The {isp} network is crowded right now.",
        "The {isp} network seems to be crowded right now.",
    ),
    "isp_slow": (
        "Your {isp} connection can't carry this video's bitrate right now.",
        "Your {isp} connection probably can't carry this video's bitrate right now.",
    ),
    "interconnect_crowded": ("{Culprit} is congested.", "{Culprit} seems to be congested."),
    "interconnect_slow": ("{Culprit} is congested.", "{Culprit} seems to be congested."),
    "home_slow": (
        "Your home network (Wi-Fi or router) is slowing this video.",
        "Your home network (Wi-Fi or router) is probably slowing this video.",
    ),
    "home_crowded": (
        "Other traffic on your home network (Wi-Fi or router) is slowing this video.",
        "Other traffic on your home network (Wi-Fi or router) is probably slowing this video.",
    ),
    "server_ttfb": (
        "The video's server{paren} is responding slowly.",
        "The video's server{paren} seems to be responding slowly.",
    ),
    "server_path": (
        "The network of the video's server{paren} is congested.",
        "The network of the video's server{paren} seems to be congested.",
    ),
    "device": (
        "This computer can't decode the video fast enough.",
        "This computer probably can't decode the video fast enough.",
    ),
}
# rule keys that share a template, and the template used when only the segment is known
_ALIASES = {"device_drops": "device", "device_drops_cpu": "device", "device_cpu": "device"}
_BY_SEGMENT = {
    Segment.ISP: "isp_slow",
    Segment.INTERCONNECT: "interconnect_crowded",
    Segment.HOME_NETWORK: "home_slow",
    Segment.SERVER: "server_ttfb",
    Segment.DEVICE: "device",
}
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
    if not name:
        return None
    name = name.strip()
    return None if scrub_addresses(name, "") != name else name


def _template_key(verdict: Verdict) -> str | None:
    key = _ALIASES.get(verdict.rule, verdict.rule)
    if key in _TEMPLATES:
        return key
    return _BY_SEGMENT.get(verdict.segment)


def notice_text(verdict: Verdict, *, adjusting: bool = True) -> str:
    """The notice line for ``verdict`` ('' for ``none``: nothing to show).

    ``adjusting`` says whether the player adapts the rendition (Auto mode); the
    "Adjusting video ..." sentence is only added when that is true.
    """
    if verdict.segment is Segment.NONE:
        return ""
    key = _template_key(verdict)
    if verdict.segment is Segment.UNKNOWN or key is None:
        return UNKNOWN_TEXT
    soft = verdict.confidence < T.SOFT_CONFIDENCE
    template = _TEMPLATES[key][1 if soft else 0]
    culprit = _clean_name(verdict.culprit)
    isp = culprit if culprit and culprit != GENERIC_ISP else None
    text = template
    if "{isp}" in text:
        if isp is None:  # no name: "The network of your internet provider is ..."
            text = text.replace("The {isp} network", "Your internet provider's network")
            text = text.replace("Your {isp} connection", "Your internet connection")
        else:
            text = text.replace("{isp}", isp)
    if "{Culprit}" in text:
        who = culprit or "the link between your provider and the video's network"
        text = text.replace("{Culprit}", who[:1].upper() + who[1:])
    if "{paren}" in text:
        generic = culprit is None or culprit.startswith("the video's")
        text = text.replace("{paren}", "" if generic else f" ({culprit})")
    if adjusting and key in _ADJUSTS:
        text = f"{text} {ADJUSTING}"
    return scrub_addresses(text)


def evidence_summary(verdict: Verdict, max_chars: int = T.SUMMARY_MAX_CHARS) -> str:
    """One line of the strongest evidence, for the notice's second line."""
    if not verdict.evidence:
        return ""
    lines = [e for e in verdict.evidence if e.kind != "note"] or verdict.evidence
    text = scrub_addresses(lines[0].text.strip())
    if len(text) > max_chars and "; " in text:
        text = text.split("; ")[0]
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "\u2026"
    return text[:1].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class Notice:
    """What the overlay shows: a headline and the evidence line under it."""

    title: str
    detail: str


def notice(verdict: Verdict, *, adjusting: bool = True) -> Notice:
    """Headline and detail line for ``verdict``."""
    return Notice(notice_text(verdict, adjusting=adjusting), evidence_summary(verdict))
