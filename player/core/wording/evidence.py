"""The evidence lines under a notice and in "Why?", and the culprit names, in plain words.

Attribution decides which facts are shown; this module only words them. Never an address:
hops are named by their position and organisation ("2nd hop (Verizon)").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from player.core.model import Evidence, Segment, Verdict
from player.core.units import fmt_bitrate, fmt_ms, ordinal

# --- culprits (Verdict.culprit) -------------------------------------------------------
HOME_CULPRIT = "your home network"
DEVICE_CULPRIT = "this computer"
GENERIC_ISP = "your internet provider"  # the ISP when no hop names it
GENERIC_SERVER = "the video's server"
GENERIC_SERVER_NETWORK = "the video's network"

_SEGMENT_WORDS = {
    Segment.HOME_NETWORK: "your home network",
    Segment.ISP: "your provider's network",
    Segment.INTERCONNECT: "the link between networks",
    Segment.SERVER: "the server's network",
}
_PROBE_STATUS = {  # ProbeStatus value -> what went wrong
    "not_permitted": "hop probes not permitted",
    "silent": "no hop answered the probes",
    "not_run": "hop probes did not run",
}
TOO_FEW_ANSWERS = "too few hop answers to judge RTT inflation"
FLAT_PATH = "RTTs along the path stayed flat under load"


def isp_culprit(isp_org: str | None) -> str:
    return isp_org or GENERIC_ISP


def interconnect_culprit(isp_org: str | None, other: str | None) -> str:
    """'the link between Verizon and Netflix'."""
    return f"the link between {isp_culprit(isp_org)} and {other or GENERIC_SERVER_NETWORK}"


def server_culprit(server_name: str | None) -> str:
    return server_name or GENERIC_SERVER


def segment_words(seg: Segment) -> str:
    """'your provider's network', ...; 'an unidentified network' for anything else."""
    return _SEGMENT_WORDS.get(seg, "an unidentified network")


_SEGMENT_LABELS = {  # a segment as a short label (the screenshot card's "Culprit" line)
    Segment.DEVICE: "this computer",
    Segment.HOME_NETWORK: "home network",
    Segment.ISP: "internet provider",
    Segment.INTERCONNECT: "link between networks",
    Segment.SERVER: "video server",
    Segment.UNKNOWN: "not identified",
}


def segment_label(seg: Segment) -> str:
    """'video server', 'home network', ..., 'not identified' ('' for none)."""
    return _SEGMENT_LABELS.get(seg, "")


def hop_label(hop: int, org: str | None, *, home: bool) -> str:
    """'1st hop (home router)', '3rd hop (home network)', '2nd hop (Verizon)', '5th hop'."""
    base = f"{ordinal(hop)} hop"
    if home:
        return f"{base} (home router)" if hop == 1 else f"{base} (home network)"
    if org:
        return f"{base} ({org})"
    return base


def _range(lo: float, hi: float) -> str:
    """'12-40 ms'."""
    return f"{fmt_ms(lo).removesuffix(' ms')}-{fmt_ms(hi)}"


# --- hop RTTs -------------------------------------------------------------------------
def swing_line(label: str, p10_ms: float, p90_ms: float) -> str:
    return (
        f"RTT to {label} swung {_range(p10_ms, p90_ms)} under load"
        " (a queue; no idle time to compare)"
    )


def rise_line(label: str, idle_ms: float, loaded_ms: float) -> str:
    return f"RTT to {label} rose {fmt_ms(idle_ms)} -> {fmt_ms(loaded_ms)} under load"


def crowded_line(label: str, idle_ms: float, floor_ms: float, lo_ms: float, hi_ms: float) -> str:
    return (
        f"RTT to {label} already {fmt_ms(idle_ms)} while idle, over a {fmt_ms(floor_ms)} floor "
        f"(ranging {_range(lo_ms, hi_ms)})"
    )


def steady_suffix(label: str, rtt_ms: float) -> str:
    """Appended to an onset line: the last flat hop before it."""
    return f"; {label} steady at {fmt_ms(rtt_ms)}"


def carried_line(confirmed: int, later: int) -> str:
    return f"{confirmed} of {later} later answering hops show the same rise"


def behind_silent_line(silent_labels: Iterable[str], segments: Iterable[Segment]) -> str:
    """The queue cannot be placed: it starts behind hops that did not answer enough."""
    silent = ", ".join(silent_labels)
    names = " or ".join(sorted({segment_words(s) for s in segments}))
    return (
        f"the rise starts behind {silent or 'hops without enough answers'}: "
        f"the queue may be in {names}"
    )


def isolated_line(label: str, idle_ms: float, loaded_ms: float) -> str:
    return (
        f"RTT to {label} rose {fmt_ms(idle_ms)} -> {fmt_ms(loaded_ms)}"
        " but later hops did not: a router slow to answer, not a queue"
    )


# --- playback speed ---------------------------------------------------------------------
SPEED_KIND = "speed"  # the evidence line saying the player plays faster than normal


def rate_text(rate: float) -> str:
    """'2×', '1.5×', '1.25×'."""
    return f"{rate:g}\u00d7"


def speed_line(rate: float) -> str:
    """'Playing at 2× needs 2× the video's bitrate' (evidence kind SPEED_KIND, value rate)."""
    r = rate_text(rate)
    return f"Playing at {r} needs {r} the video's bitrate"


def verdict_rate(verdict: Verdict) -> float | None:
    """The faster-than-normal rate a verdict was made at (its speed line), else None."""
    for e in verdict.evidence:
        if e.kind == SPEED_KIND and e.value:
            return e.value
    return None


# --- fetches, device, probes ----------------------------------------------------------
def throughput_line(bps: float, needed_bps: float | None) -> str:
    if needed_bps:
        return f"throughput {fmt_bitrate(bps)} vs {fmt_bitrate(needed_bps)} needed"
    return f"throughput {fmt_bitrate(bps)}"


def ttfb_line(ttfb_ms: float, rtt_ms: float | None) -> str:
    """A reused connection has no connect time: never 'connect RTT 0 ms'."""
    if rtt_ms is None or rtt_ms <= 0:
        rtt = "no RTT measured"
    elif rtt_ms < 1:
        rtt = "connect RTT under 1 ms"
    else:
        rtt = f"connect RTT {fmt_ms(rtt_ms)}"
    return f"time to first byte {fmt_ms(ttfb_ms)} with {rtt}"


def frames_line(dropped: int) -> str:
    return f"{dropped} pictures dropped while the buffer was healthy"


def cpu_line(system_pct: float | None, player_pct_of_machine: float | None) -> str:
    """'system CPU 97 %, player CPU 75 % of the machine' ('' when neither is known)."""
    parts = []
    if system_pct is not None:
        parts.append(f"system CPU {system_pct:.0f} %")
    if player_pct_of_machine is not None:
        parts.append(f"player CPU {player_pct_of_machine:.0f} % of the machine")
    return ", ".join(parts)


def probe_line(status: str, reason: str) -> str:
    """Why there is no hop evidence (``status``: a ProbeStatus value other than ok)."""
    what = _PROBE_STATUS[str(status)]
    return f"{what}: {reason}" if reason else what


def plain_probe_reason(reason: str) -> str:
    """A probe failure's technical reason in a person's words ('' when there is none)."""
    low = (reason or "").lower()
    if not low:
        return ""
    if "ping_group_range" in low or "icmp not permitted" in low or "operation not permitted" in low:
        return "this computer does not let ordinary programs send pings"
    if "permission" in low or "not permitted" in low:
        return "this computer does not allow the probes"
    if "timeout" in low or "timed out" in low or "no answer" in low:
        return "the routers did not answer in time"
    return "the probes could not run normally"


def probe_degraded_line(reason: str) -> str:
    """Probes ran, but by a slower fallback method: plain words first, then the technical
    reason for the report (the notice never shows this line: see :func:`overlay_line`)."""
    why = plain_probe_reason(reason)
    if not why:
        return "hop probes used a fallback method"
    return f"hop probes used a fallback method: {why} ({reason})"


# --- notes ----------------------------------------------------------------------------
def conflict_note(rival_doc: str, rival_segment: Segment) -> str:
    return f"conflicting evidence: also {rival_doc} ({segment_words(rival_segment)})"


def stalls_note(count: int, total: int) -> str:
    return f"{count} of {total} stalls point here"


# --- the one line under the notice -----------------------------------------------------
_BITRATE = r"([0-9.]+ [kM]bit/s)"
_THROUGHPUT = re.compile(rf"throughput {_BITRATE}(?: vs {_BITRATE} needed)?")
_WHERE = {  # where a rising delay was seen, by the verdict's segment
    Segment.HOME_NETWORK: "in your home network",
    Segment.ISP: "inside {culprit}",
    Segment.INTERCONNECT: "on {culprit}",
    Segment.SERVER: "near {culprit}",
}
_OVERLAY_KINDS = {  # which evidence the overlay line prefers, by segment
    Segment.HOME_NETWORK: ("hop_rtt", "throughput"),
    Segment.ISP: ("hop_rtt", "throughput"),
    Segment.INTERCONNECT: ("hop_rtt", "throughput"),
    Segment.SERVER: ("ttfb", "hop_rtt", "throughput"),
    Segment.DEVICE: ("frames", "cpu"),
    Segment.UNKNOWN: (SPEED_KIND, "throughput", "ttfb", "hop_rtt", "probe"),
}
NOTHING_POINTS = "The measurements do not point at one part of the network."
NOT_CHECKED = "The route to the server could not be checked from this computer."


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else fmt_ms(ms)


def _plain(e: Evidence, verdict: Verdict) -> str:
    """One evidence fact as a viewer reads it ('' when it has no plain form)."""
    culprit = verdict.culprit or segment_words(verdict.segment)
    if e.kind == "ttfb" and e.value:
        return f"The server took {_seconds(e.value)} to start sending each piece of video."
    if e.kind == "throughput":
        m = _THROUGHPUT.search(e.text)
        if m and m.group(2):
            rate = verdict_rate(verdict)
            at = f" at {rate_text(rate)}" if rate else ""
            return f"Video arrived at {m.group(1)}; this quality{at} needs {m.group(2)}."
        if m:
            return f"Video arrived at {m.group(1)}."
        return ""
    if e.kind == "hop_rtt":
        if e.text == FLAT_PATH:
            return "Delays along the route stayed flat while the video loaded."
        if e.value is None or "not a queue" in e.text:
            return ""
        where = _WHERE.get(verdict.segment, "along the route").format(culprit=culprit)
        return f"Delay {where} grew by {fmt_ms(e.value)} while the video loaded."
    if e.kind == "frames" and e.value:
        return f"{e.value:.0f} pictures were dropped while plenty of video was buffered."
    if e.kind == "cpu":
        return "This computer's processor was busy."
    if e.kind == "probe":
        return NOT_CHECKED
    if e.kind == SPEED_KIND and e.value:
        return f"{speed_line(e.value)}."
    return ""


def plain_lines(verdict: Verdict, limit: int = 2) -> list[str]:
    """Up to ``limit`` plain evidence lines of different kinds, strongest first (the
    screenshot's card; the first is :func:`overlay_line`)."""
    out: list[str] = []
    kinds = _OVERLAY_KINDS.get(verdict.segment, ())
    for kind in kinds:
        for e in verdict.evidence:
            if e.kind == kind and (text := _plain(e, verdict)):
                out.append(text)
                break
        if len(out) >= limit:
            break
    return out


def overlay_line(verdict: Verdict) -> str:
    """The one plain-language evidence line under the notice: no addresses, no probe
    jargon, no round-trip time of a reused connection ('' when nothing plain fits)."""
    kinds = _OVERLAY_KINDS.get(verdict.segment, ())
    for kind in kinds:
        for e in verdict.evidence:
            if e.kind == kind:
                text = _plain(e, verdict)
                if text:
                    return text
    return NOTHING_POINTS if verdict.segment is Segment.UNKNOWN else ""
